"""The site's line of models: which base serves, and a story's versions on it as the database
holds them: the claim of a job that trains a new version, the rule that decides whether the
version serves by itself, the one transaction that records it, who writes for a story, and an
admin's activation or rollback.

A worker runs a training job as claim → model_server → record: ``claim_story_job`` reads all
the job needs as plain values and ends its transaction, the model trains with no ORM object
and no open transaction, and ``record_version`` (or ``jobs.end_unfinished``) writes the result.
"""
import json
import logging
import math
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from flask import current_app
from sqlalchemy import func, select, update

from app.database import transaction
from app.errors import NotFound
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import Job
from app.particles import particle
from app.rounds import machine
from app.stories.models import Story, TrainingText
from app.training import services as training
from app.training.models import BASE_VERSION_NAME, ModelVersion
from model_server import paths

log = logging.getLogger(__name__)
ROUND_UNDER_WAY = "라운드가 이미 진행 중이라 이어 쓴 글은 넣지 않았습니다. 새 버전은 기록했습니다."
STORY_MOVED_ON = "그사이 이야기에 다른 글이 이어져 이어 쓴 글은 넣지 않았습니다. 새 버전은 기록했습니다."
STORY_FINISHED = "그사이 이야기가 완결되어 이어 쓴 글은 넣지 않았습니다. 새 버전은 기록했습니다."


@dataclass(frozen=True)
class Claim:
    """A story's training job claimed for this delivery, as plain values."""
    job_id: int
    story_id: int
    base: str                    # the serving base it trains on
    params: dict
    from_adapter: str | None     # the active adapter it goes on from, when that carries over
    parent_id: int | None
    out_dir: Path                # where the new version is written
    material: Any = None         # what the job's ``read`` returned


@dataclass(frozen=True)
class Writer:
    """Which model writes a passage: an adapter folder (None: the bare base) on a base, and the
    ModelVersion row the passage names."""
    adapter: str | None
    base: str
    version_id: int
    name: str


@dataclass
class Decision:
    metrics: dict
    activate: bool


def models_dir() -> Path:
    return Path(current_app.config["DATA_DIR"]) / "models"


def resolve_base() -> str | None:
    """The base model to load, or None on a fresh install whose starter is not trained yet.
    model_server.paths is torch-free, so web processes and the tick may ask."""
    return paths.resolve_base(current_app.config["MODEL_NAME"], models_dir())


def claim_with_base(job_id: int, celery_id: str | None, worker: str | None) -> tuple[Job | None, str | None]:
    """A training job claimed for this delivery, and the base it trains on. ``(None, None)``:
    nothing to do (a redelivery of a finished job); ``(job, None)``: no base model yet, so
    the job now waits for one (the tick re-queues it once an admin has trained the starter)."""
    job = jobs.claim(job_id, celery_id, worker)
    if job is None:
        return None, None
    base = resolve_base()
    if base is None:
        jobs.mark_waiting(job, machine.NO_MODEL_NOTICE)
        db.session.commit()
    return job, base


def claim_story_job(job_id: int, celery_id: str | None, worker: str | None,
                    read: Callable[[Claim, Story], Any] | None = None,
                    refuse: Callable[[dict], str | None] | None = None) -> Claim | str:
    """A retrain, preference or learning job claimed with what it starts from; else why there
    is nothing to do now ("already done", "waiting for a base model", "failed"). It trains on
    the serving base, from the story's active adapter when that was trained on a version of the
    same lineage (one tokenizer and one shape: the adapter carries over), else from a fresh
    adapter. ``refuse(params)``, asked first, may give a reason (Korean) to fail the job instead;
    ``read(claim, story)`` returns the job's material as plain values. The transaction ends
    before this returns."""
    job, base = claim_with_base(job_id, celery_id, worker)
    if job is None:
        return "already done"
    reason = refuse(dict(job.params)) if refuse is not None else None
    if reason:
        jobs.mark_failed(job, reason)
        db.session.commit()
        return "failed"
    if base is None:
        return "waiting for a base model"
    story = db.session.get(Story, job.story_id)
    active = story.active_model_version
    carries = active is not None and bool(active.path) and paths.same_lineage(active.base, base)
    claim = Claim(job_id=job.id, story_id=story.id, base=base, params=dict(job.params),
                  from_adapter=active.path if carries else None, parent_id=active.id if carries else None,
                  out_dir=models_dir() / str(story.id) / f"job-{job.id}")
    material = read(claim, story) if read is not None else None
    db.session.commit()
    jobs.clear_points(job_id)
    return replace(claim, material=material)


def writer_of(story: Story, serving: str) -> Writer:
    """Who writes for ``story``: its active adapter on the base it was trained on (or, that base
    gone, on the serving version of its lineage); a story without one, or whose adapter fits no
    base left, writes with the bare serving base."""
    version = story.active_model_version
    if version is not None and version.path:
        if version.base == serving or paths.is_model_dir(Path(version.base)):
            return Writer(version.path, version.base, version.id, version.name)
        if paths.same_lineage(version.base, serving):
            return Writer(version.path, serving, version.id, version.name)
    bare = base_version(serving)
    return Writer(None, serving, bare.id, bare.name)


def base_version(base: str) -> ModelVersion:
    """The ModelVersion row standing for the bare base, so its passages say what wrote them.
    Participants read its name beside every passage it wrote, so it is "기본 모델", not the
    MODEL_NAME setting (``base`` keeps which base it was)."""
    row = db.session.scalar(
        select(ModelVersion).where(ModelVersion.story_id.is_(None), ModelVersion.base == base)
        .order_by(ModelVersion.id).limit(1)
    )
    if row is None:
        row = ModelVersion(story_id=None, name=BASE_VERSION_NAME, base=base, path=None, data={}, metrics={})
        db.session.add(row)
        db.session.flush()
    return row


# ---------------------------------------------------------------- whether a version serves by itself

def finite(metrics: dict) -> dict:
    """JSON columns take no NaN or infinity (PostgreSQL refuses them): those become None."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}


def decide(out_dir: Path, heldout_passages: int, threshold: float, min_heldout_rounds: int = 1) -> Decision:
    """Whether the new version in ``out_dir`` becomes active by itself: unless its held-out loss
    is worse than the active one's by more than ``threshold``; a story too young to hold
    passages out activates it and says so. A preference-trained version judged on
    ``min_heldout_rounds`` held-out rounds or more must also rank the crowd's pick first in
    more of them than the active one; on fewer, the loss decides (``preference_decision``)."""
    metrics = finite(json.loads((out_dir / "version.json").read_text(encoding="utf-8"))["metrics"])
    if metrics.get("kind") == "preference":
        measured = heldout_passages > 0
        activate, reason = preference_decision(
            metrics.get("preference_accuracy"), metrics.get("preference_accuracy_before"),
            metrics.get("val_loss") if measured else None, metrics.get("val_loss_before") if measured else None,
            threshold, rounds=metrics.get("heldout_rounds") or 0, min_rounds=min_heldout_rounds)
    elif heldout_passages:
        activate, reason = activation_decision(metrics.get("val_loss"), metrics.get("val_loss_before"), threshold)
    else:
        activate, reason = True, "이야기 글이 적어 검증용으로 남길 글이 없습니다. 바로 적용했습니다."
    metrics.update(heldout_passages=heldout_passages, active_val_loss=metrics.get("val_loss_before"),
                   activated=activate, decision=reason, threshold=threshold)
    return Decision(metrics, activate)


def activation_decision(new_loss: float | None, active_loss: float | None, threshold: float) -> tuple[bool, str]:
    """Whether a new version becomes active by itself, and why (shown on the training page).

    It waits for an admin only when both losses on the held-out passages are known and the new
    one is worse than the active version's by more than ``threshold`` (relative)."""
    if new_loss is None or not math.isfinite(new_loss):
        return True, "검증 글에서 새 버전의 손실을 잴 수 없어 비교 없이 바로 적용했습니다."
    if active_loss is None or not math.isfinite(active_loss):
        # e.g. a 4-bit base: bitsandbytes cannot evaluate and then train, so train() skips it
        return True, "현재 버전의 검증 손실을 잴 수 없어 비교 없이 바로 적용했습니다."
    limit = active_loss * (1 + threshold)
    if new_loss > limit:
        return False, (f"검증 손실 {new_loss:.3f}{particle(f'{new_loss:.3f}', '이')} 현재 버전의 {active_loss:.3f}보다 "
                       f"{threshold:.0%} 넘게 나빠 관리자 확인을 기다립니다.")
    return True, f"검증 손실 {active_loss:.3f} → {new_loss:.3f}: 자동으로 적용했습니다."


def preference_decision(accuracy: float | None, active_accuracy: float | None, new_loss: float | None,
                        active_loss: float | None, threshold: float, *, rounds: int,
                        min_rounds: int) -> tuple[bool, str]:
    """Whether a preference-trained version becomes active by itself, and which rule said so.

    With at least ``min_rounds`` held-out rounds: only when it ranks the crowd's pick first in
    more of them than the active version does, and its held-out passage loss is not worse by
    more than ``threshold``. With fewer, the accuracy says little (over one round it is 0 % or
    100 %, so a tie is certain), and the held-out passage loss decides alone, as for a retrain;
    a version measured by neither waits for an admin."""
    if rounds < min_rounds:
        few = (f"검증 라운드가 {rounds}개뿐이라(선호 정확도는 {min_rounds}개부터 봅니다) "
               "선호 정확도 대신 검증 손실로 판단했습니다.")
        if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in (new_loss, active_loss)):
            return False, f"{few} 검증 손실도 잴 수 없어 관리자 확인을 기다립니다."
        activate, loss_reason = activation_decision(new_loss, active_loss, threshold)
        return activate, f"{few} {loss_reason}"
    if accuracy is None or active_accuracy is None:
        return False, "검증용으로 남긴 라운드에서 선호 정확도를 잴 수 없어 관리자 확인을 기다립니다."
    if accuracy <= active_accuracy:
        return False, (f"검증 라운드 {rounds}개의 선호 정확도가 {active_accuracy:.0%} → {accuracy:.0%}로 나아지지 않아 "
                       "관리자 확인을 기다립니다.")
    loss_ok, loss_reason = activation_decision(new_loss, active_loss, threshold)
    if not loss_ok:
        return False, f"선호 정확도 {active_accuracy:.0%} → {accuracy:.0%}. 하지만 {loss_reason}"
    return True, f"검증 라운드 {rounds}개의 선호 정확도 {active_accuracy:.0%} → {accuracy:.0%}. {loss_reason}"


# ---------------------------------------------------------------- recording, activation

@dataclass(frozen=True)
class Continuation:
    """put_Human_txt's passage: appended after passage ``after_seq`` if it is still the story's last."""
    text: str
    writer_id: int | None        # None: the version being recorded wrote it
    after_seq: int
    notes: list[str]             # the story bible's notes its prompt held, kept on the job


def record_version(claim: Claim, decision: Decision, data: dict, continuation: Continuation | None = None) -> str:
    """One transaction: the new version (active, or held for an admin), the story's human
    passages it learned marked used, and ``continuation`` appended as the next passage, unless
    a round is under way or the story went on meanwhile."""
    with transaction():
        job = db.session.scalar(select(Job).where(Job.id == claim.job_id).with_for_update())
        if job.status != "running":
            return "already recorded"
        if job.cancel_requested:  # asked to stop while the version was being saved
            jobs.mark_cancelled(job)
            recorded = None
        else:
            story = db.session.scalar(select(Story).where(Story.id == claim.story_id).with_for_update())
            version = ModelVersion(story_id=claim.story_id, name=next_version_name(claim.story_id), base=claim.base,
                                   parent_id=claim.parent_id, path=str(claim.out_dir),
                                   held_for_admin=not decision.activate, metrics=decision.metrics,
                                   data={"job": claim.job_id, **data})
            db.session.add(version)
            db.session.flush()
            if decision.activate:
                story.active_model_version_id = version.id
            db.session.execute(
                update(TrainingText).where(TrainingText.passage_id.in_(data.get("passages", [])),
                                           TrainingText.used_by_version_id.is_(None))
                .values(used_by_version_id=version.id))
            done = {**(job.metrics or {}), **decision.metrics, "stage": "done", "version": version.name,
                    "version_id": version.id}
            if continuation is not None:
                done.update(notes=continuation.notes, **_append(story, continuation, version.id))
            jobs.mark_succeeded(job, metrics=done)
            recorded = version.name
    if recorded is None:
        shutil.rmtree(claim.out_dir, ignore_errors=True)
        return "cancelled"
    log.info("job %s: %s (%s)", claim.job_id, recorded, decision.metrics["decision"])
    return "done"


def _append(story: Story, continuation: Continuation, version_id: int) -> dict:
    if story.finished:
        return {"note": STORY_FINISHED}
    if not machine.round_not_started(story.id):
        return {"note": ROUND_UNDER_WAY}
    if machine.last_seq(story.id) != continuation.after_seq:
        return {"note": STORY_MOVED_ON}
    passage = machine.append_passage(story, continuation.text, model_version_id=continuation.writer_id or version_id)
    return {"passage_id": passage.id}


def next_version_name(story_id: int) -> str:
    count = db.session.scalar(select(func.count()).select_from(ModelVersion).where(ModelVersion.story_id == story_id))
    return f"이야기{story_id}-v{count + 1}"


def activate_version(story_id: int, version_id: int, user) -> ModelVersion:
    """Admin: make a version of this story the active one (activate a held one, or roll back)."""
    training.require_admin(user, "모델 버전을 바꿀")
    with transaction():
        story = db.session.scalar(select(Story).where(Story.id == story_id).with_for_update())
        version = db.session.get(ModelVersion, version_id)
        if story is None or version is None or version.story_id != story_id:
            raise NotFound("이 이야기의 모델 버전을 찾을 수 없습니다.")
        story.active_model_version_id = version.id
        if version.held_for_admin:
            # its decision said it waits for an admin: the pages say who applied it instead
            version.metrics = {**(version.metrics or {}), "applied_by_admin": user.username}
        version.held_for_admin = False
    return version
