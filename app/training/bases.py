"""The site's starter base: its versions, the pretrain that makes each, and which one serves.

The first pretrain writes ``models/starter``; every later one goes on from the version that
serves (its tokenizer, weights and held-out passages) and writes ``models/starter-<job>``.
A continued version serves by itself only if it reads text it never saw better than the one
that serves (held-out bits per character, ``STARTER_IMPROVE_THRESHOLD``); an admin may switch
to any version. Stories' adapters run on the base they were trained on, and a retrain carries
them over to the serving one (model_server.paths.same_lineage).

While the site is quiet and its library has changed since the serving base read it, the tick
queues a continued pretrain by itself (``improve_when_quiet``). The paths are torch-free.
"""
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.database import transaction, utcnow
from app.errors import Conflict, NotFound
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.kinds import STORY_TRAINING_KINDS
from app.jobs.models import ACTIVE_STATUSES, Job
from app.novels.models import Novel
from app.training import lineage
from app.training import services as training
from model_server import paths

BY_TICK = "tick"


def _require_starter() -> None:
    name = current_app.config["MODEL_NAME"]
    if name != "starter":
        raise Conflict(f"MODEL_NAME이 '{name}'입니다. 기본 모델 학습은 MODEL_NAME=starter일 때만 할 수 있습니다.",
                       code="not_starter")


# ---------------------------------------------------------------- the library the base reads

@dataclass
class Library:
    shas: set[str]        # the visible novels' texts (Novel.sha256, as starter.json's "data" has them)
    fingerprint: str      # one value for that set

    def differs_from(self, version: dict) -> tuple[int, int] | None:
        """(novels added, novels gone) since ``version`` (a starter.json) read its text; None when
        it read this very library."""
        read = {d.get("sha256") for d in version.get("data") or []}
        if read == self.shas:
            return None
        return len(self.shas - read), len(read - self.shas)


def library() -> Library:
    shas = set(db.session.scalars(select(Novel.sha256).where(Novel.status == "visible")))
    return Library(shas, hashlib.sha256("\n".join(sorted(shas)).encode()).hexdigest()[:16])


# ---------------------------------------------------------------- pretrain jobs

def pretrain_job() -> int | None:
    return db.session.scalar(select(Job.id).where(Job.kind == "pretrain", Job.status.in_(ACTIVE_STATUSES)))


def latest_pretrain_job() -> Job | None:
    """The starter pretrain the admin page shows: the unfinished one, else the latest."""
    query = select(Job).where(Job.kind == "pretrain")
    return (db.session.scalar(query.where(Job.status.in_(ACTIVE_STATUSES)).order_by(Job.id.desc()).limit(1))
            or db.session.scalar(query.order_by(Job.id.desc()).limit(1)))


def budget(passes: float | None = None, by_tick: bool = False) -> dict:
    """A pretrain's budget: passes over the text (STARTER_STEPS steps instead, in tests)."""
    config = current_app.config
    if config.get("STARTER_STEPS"):
        return {"steps": int(config["STARTER_STEPS"])}
    default = config["STARTER_IMPROVE_PASSES"] if by_tick else config["STARTER_PASSES"]
    return {"passes": float(passes or default)}


def budget_text(budget_: dict) -> str:
    if "steps" in budget_:
        return f"{budget_['steps']:,}단계"
    return f"{budget_['passes']:g}번"


def start_pretrain(user, passes: float | None = None) -> Job:
    """Admin: the first starter base, or (once one serves) a continued one from it."""
    training.require_admin(user, "기본 모델을 학습시킬")
    _require_starter()
    return queue_pretrain(user.id, budget(passes), reason="관리자가 요청했습니다.", by="admin")


def queue_pretrain(created_by_id: int | None, budget_: dict, reason: str, by: str) -> Job:
    active = lineage.resolve_base()
    shelf = library()
    try:
        with transaction():
            busy = pretrain_job()
            if busy is not None:
                raise Conflict(f"기본 모델을 이미 학습 중입니다 (작업 {busy}).", code="already_pretraining",
                               details={"job_id": busy})
            if not shelf.shas:
                raise Conflict("학습할 소설이 없습니다. 먼저 소설을 올려 주세요.", code="no_novels")
            job = Job(kind="pretrain", created_by_id=created_by_id, params={
                **budget_, "config": current_app.config["STARTER_CONFIG"],
                "parent": Path(active).name if active else None, "library": shelf.fingerprint,
                "novels": len(shelf.shas), "threshold": current_app.config["STARTER_IMPROVE_THRESHOLD"],
                "by": by, "reason": reason})
            db.session.add(job)
            db.session.flush()
            # the version it writes: the first base, or one named after the job
            first = active is None and not paths.starter_dir(lineage.models_dir()).exists()
            job.params = {**job.params, "version": "starter" if first else f"starter-{job.id}"}
    except IntegrityError:  # another admin (or the tick) won the race (uq_jobs_one_pretrain)
        raise Conflict("기본 모델을 이미 학습 중입니다.", code="already_pretraining")
    jobs.dispatch(job)
    return job


# ---------------------------------------------------------------- versions and which one serves

def _version_jobs() -> dict[str, Job]:
    """The succeeded pretrain that wrote each version, by version name."""
    found = {}
    for job in db.session.scalars(select(Job).where(Job.kind == "pretrain", Job.status == "succeeded")
                                  .order_by(Job.id)):
        metrics = job.metrics or {}
        name = metrics.get("version") or (Path(metrics["path"]).name if metrics.get("path") else None)
        if name:
            found[name] = job
    return found


METRICS_SHOWN = ("steps", "passes", "total_passes", "heldout_bpc", "val_loss", "seconds", "total_seconds",
                 "tokens_per_s", "heldout_passages")


def base_versions() -> list[dict]:
    """Every starter version, oldest first, with its figures, its curve and whether it serves."""
    active = lineage.resolve_base() if current_app.config["MODEL_NAME"] == "starter" else None
    made_by = _version_jobs()
    rows = []
    for version in paths.starter_versions(lineage.models_dir()):
        starter, name = version["starter"], version["name"]
        metrics = starter.get("metrics") or {}
        job = made_by.get(name)
        job_metrics = (job.metrics or {}) if job else {}
        made = job.finished_at if job and job.finished_at else datetime.fromtimestamp(
            os.path.getmtime(Path(version["path"], paths.STARTER_FILE)), timezone.utc).replace(tzinfo=None)
        seconds, total = metrics.get("seconds"), metrics.get("total_seconds")
        rows.append({
            "name": name, "active": version["path"] == active, "parent": starter.get("parent"),
            "job_id": job.id if job else None, "created_at": made, "novels": len(starter.get("data") or []),
            "metrics": {k: metrics.get(k) for k in METRICS_SHOWN},
            "curve": metrics.get("curve") or [],
            # where this version's curve starts on the lineage's time axis: its parents' training
            "offset_seconds": (total - seconds) if isinstance(total, (int, float)) and isinstance(
                seconds, (int, float)) else 0.0,
            "decision": job_metrics.get("decision"), "applied_by_admin": job_metrics.get("applied_by_admin"),
            "reason": (job.params or {}).get("reason") if job else None,
        })
    return rows


def activate_base(name: str, user) -> dict:
    """Admin: serve starter version ``name`` (any complete one). Stories' adapters keep running on
    the base they were trained on; new stories and retrains use this one."""
    from app.training import judges

    training.require_admin(user, "기본 모델을 바꿀")
    _require_starter()
    if not paths.is_starter_name(name) or not paths.is_complete_starter(Path(lineage.models_dir(), name)):
        raise NotFound("그런 기본 모델 버전이 없습니다.")
    paths.set_active_starter(lineage.models_dir(), name)
    job = _version_jobs().get(name)
    if job is not None and not (job.metrics or {}).get("activated"):
        # its decision said it would not serve by itself: the list says who switched to it
        job.metrics = {**job.metrics, "applied_by_admin": user.username}
        db.session.commit()
    judges.queue_for_new_base(f"관리자({user.username})가 기본 모델을 바꿨습니다 ({name}).")
    return next(v for v in base_versions() if v["name"] == name)


# ---------------------------------------------------------------- improving while the site is quiet

def improve_when_quiet(now: datetime | None = None) -> Job | None:
    """The tick: queue a continued pretrain (STARTER_IMPROVE_PASSES passes) when MODEL_NAME is
    starter, a base serves, no pretrain or judges job is unfinished, nobody has asked for AI
    writing or training for STARTER_QUIET_MINUTES, and the visible novels differ from what the
    serving base read. The same library is tried once (more passes over the same novels do not
    pay); a run that stopped because the site woke up is tried again."""
    config = current_app.config
    if config["STARTER_IMPROVE"] != "auto" or config["MODEL_NAME"] != "starter":
        return None
    active = lineage.resolve_base()
    if active is None:
        return None
    now = now or utcnow()
    busy = db.session.scalar(select(Job.id).where(Job.kind.in_(("pretrain", "judge")),
                                                  Job.status.in_(ACTIVE_STATUSES)).limit(1))
    quiet_since = now - timedelta(minutes=config["STARTER_QUIET_MINUTES"])
    recent = db.session.scalar(select(Job.id).where(Job.kind.in_(("generate",) + STORY_TRAINING_KINDS),
                                                    Job.created_at > quiet_since).limit(1))
    if busy is not None or recent is not None:
        return None
    shelf = library()
    change = shelf.differs_from(paths.read_starter(active))
    if change is None or not shelf.shas or _tried(shelf):
        return None
    added, gone = change
    reason = (f"{config['STARTER_QUIET_MINUTES']:g}분 동안 AI 작성·학습 요청이 없었고, 지금 쓰는 기본 모델이 읽은 뒤로 "
              f"서재가 바뀌었습니다 (새 소설 {added}편, 빠진 소설 {gone}편).")
    try:
        return queue_pretrain(None, budget(by_tick=True), reason=reason, by=BY_TICK)
    except Conflict:
        return None


def _tried(shelf: Library) -> bool:
    """Whether a version already read this library, or a pretrain for it was queued (and did not
    stop only because the site woke up)."""
    for version in paths.starter_versions(lineage.models_dir()):
        if shelf.differs_from(version["starter"]) is None:
            return True
    for params, metrics in db.session.execute(select(Job.params, Job.metrics).where(Job.kind == "pretrain")):
        if (params or {}).get("library") == shelf.fingerprint and not (metrics or {}).get("yielded"):
            return True
    return False


# ---------------------------------------------------------------- what the admin page says

def starter_status() -> dict:
    """What /admin/jobs says about the starter base, and why "기본 모델 학습" cannot be pressed now
    (``blocker``): not_starter, running (a pretrain is unfinished), no_novels, or None."""
    config = current_app.config
    counts = dict(db.session.execute(select(Novel.status, func.count()).group_by(Novel.status)).all())
    is_starter = config["MODEL_NAME"] == "starter"
    base = lineage.resolve_base() if is_starter else None
    job = latest_pretrain_job()
    running = job is not None and job.status in ACTIVE_STATUSES
    visible = counts.get("visible", 0)
    blocker = ("not_starter" if not is_starter else "running" if running else "no_novels" if not visible else None)
    versions = base_versions() if is_starter else []
    active = next((v for v in versions if v["active"]), None)
    change = library().differs_from(paths.read_starter(base)) if base else None
    return {"model_name": config["MODEL_NAME"], "is_starter": is_starter, "base": base, "active": active,
            "versions": versions, "novels": visible,
            "hidden_novels": sum(n for status, n in counts.items() if status != "visible"),
            "library_change": change, "job_id": job.id if running else None, "job": job, "blocker": blocker,
            "budget": budget_text(budget()), "improve": config["STARTER_IMPROVE"] == "auto",
            "quiet_minutes": config["STARTER_QUIET_MINUTES"], "ceiling_minutes": config["STARTER_MAX_MINUTES"]}
