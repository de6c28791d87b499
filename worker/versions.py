"""Training a story's new model version and recording it: the one way both a retrain and
put_Human_txt do it.

Claim the job and read what it needs as plain values (the caller), then here: train with
live progress (worker/reporting.py), decide by the held-out passages whether the version may
replace the active one by itself (the same rule for both), and record the version, that
decision and, for put_Human_txt, the AI's continuation, in one transaction. A cancelled or
failed run leaves no version and no folder behind.
"""
import json
import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update

from app.database import transaction
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import Job
from app.rounds import machine
from app.stories.models import Story, TrainingText
from app.training import services as training
from worker.material import activation_decision, preference_decision
from app.training.models import ModelVersion
from model_server.paths import same_lineage
from worker.reporting import JobReporter

log = logging.getLogger(__name__)
ROUND_UNDER_WAY = "라운드가 이미 진행 중이라 이어 쓴 글은 넣지 않았습니다. 새 버전은 기록했습니다."


@dataclass
class StoryJob:
    job: Job
    base: str
    story: Story
    from_adapter: str | None   # the active adapter to continue, unless trained on a base of another lineage
    parent_id: int | None


def claim_story_job(job_id: int, celery_id: str | None, worker: str | None) -> StoryJob | str:
    """A retrain or preference job claimed with what it starts from; else why there is
    nothing to do now ("already done", "waiting for a base model"). It trains on the serving
    base, from the story's adapter when that was trained on a version of the same lineage (one
    tokenizer and one shape: the adapter carries over), else from a fresh adapter."""
    job, base = training.claim_with_base(job_id, celery_id, worker)
    if job is None:
        return "already done"
    if base is None:
        return "waiting for a base model"
    story = db.session.get(Story, job.story_id)
    active = story.active_model_version
    from_adapter = active.path if active is not None and active.path and same_lineage(active.base, base) else None
    return StoryJob(job, base, story, from_adapter, active.id if from_adapter else None)


def finite(metrics: dict) -> dict:
    """JSON columns take no NaN or infinity (PostgreSQL refuses them): those become None."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}


def train_version(job_id: int, base: str, texts: list, heldout_text: str, out_dir: Path,
                  from_adapter: str | None, budget: dict, worker: str | None = None) -> None:
    """Train ``texts`` (model_server SourceText) into ``out_dir``, measuring the active
    adapter (``from_adapter``, or the bare base) and the new one on ``heldout_text``."""
    from model_server.training import TrainSettings, SourceText, train

    validation = [SourceText(f"job-{job_id}-heldout", heldout_text)] if heldout_text else None
    settings = TrainSettings(seed=0, progress_interval=1.0, **budget)
    with JobReporter(job_id, worker=worker) as reporter:
        train(base, texts, out_dir, from_adapter=from_adapter, settings=settings, progress=reporter.progress,
              should_cancel=reporter.should_cancel, validation=validation)


def prefer_version(job_id: int, base: str, rounds: list, heldout_rounds: list, heldout_text: str, out_dir: Path,
                   from_adapter: str | None, budget: dict, worker: str | None = None) -> None:
    """DPO on ``rounds`` (app.training.preferences rows) into ``out_dir``, measuring the active
    adapter and the new one on ``heldout_rounds`` and ``heldout_text``."""
    from model_server.preference import PreferenceRound, PreferSettings, train_preferences
    from model_server.training import SourceText

    def plain(r) -> PreferenceRound:
        return PreferenceRound(r.context, r.keyword, r.sentences, r.chosen.text, [o.text for o in r.rejected])

    validation = [SourceText(f"job-{job_id}-heldout", heldout_text)] if heldout_text else None
    settings = PreferSettings(seed=0, progress_interval=1.0, **budget)
    with JobReporter(job_id, worker=worker) as reporter:
        train_preferences(base, [plain(r) for r in rounds], out_dir, from_adapter, settings,
                          heldout_rounds=[plain(r) for r in heldout_rounds], validation=validation,
                          progress=reporter.progress, should_cancel=reporter.should_cancel)


@dataclass
class Decision:
    metrics: dict
    activate: bool


def decide(out_dir: Path, heldout_passages: int, threshold: float, min_heldout_rounds: int = 1) -> Decision:
    """Whether the new version becomes active by itself: unless its held-out loss is worse
    than the active one's by more than ``threshold``; a story too young to hold passages out
    activates it and says so. A preference-trained version judged on ``min_heldout_rounds``
    held-out rounds or more must also rank the crowd's pick first in more of them than the
    active one; on fewer, the loss decides (worker.material.preference_decision)."""
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


def record_version(job_id: int, story_id: int, base: str, parent_id: int | None, out_dir: Path, decision: Decision,
                   data: dict, continuation: str | None = None, writer_id: int | None = None) -> str:
    """One transaction: the new version (active, or held for an admin), the story's human
    passages it learned marked used, and ``continuation`` appended as the next passage,
    written by version ``writer_id`` (None: the new version), unless a round is under way."""
    with transaction():
        job = db.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job.status != "running":
            return "already recorded"
        if job.cancel_requested:  # asked to stop while the version was being saved
            jobs.mark_cancelled(job)
            recorded = None
        else:
            story = db.session.scalar(select(Story).where(Story.id == story_id).with_for_update())
            version = ModelVersion(story_id=story_id, name=training.next_version_name(story_id), base=base,
                                   parent_id=parent_id, path=str(out_dir), held_for_admin=not decision.activate,
                                   metrics=decision.metrics, data={"job": job_id, **data})
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
                if machine.round_not_started(story_id):
                    passage = machine.append_passage(story, continuation, model_version_id=writer_id or version.id)
                    done["passage_id"] = passage.id
                else:
                    done["note"] = ROUND_UNDER_WAY
            jobs.mark_succeeded(job, metrics=done)
            recorded = version.name
    if recorded is None:
        shutil.rmtree(out_dir, ignore_errors=True)
        return "cancelled"
    log.info("job %s: %s (%s)", job_id, recorded, decision.metrics["decision"])
    return "done"


def not_trained(job_id: int, error: Exception, out_dir: Path | None = None) -> str:
    """Cancelled or failed: the job says which; nothing of the run is left behind."""
    from model_server.progress import Cancelled

    if out_dir is not None:
        shutil.rmtree(out_dir, ignore_errors=True)
    with transaction():
        job = db.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job.status != "running":
            return "already finished"
        if isinstance(error, Cancelled):
            jobs.mark_cancelled(job)
            return "cancelled"
        log.error("training job %s failed", job_id, exc_info=error)
        jobs.mark_failed(job, f"{type(error).__name__}: {error}")
    return "failed"
