"""Jobs: the rows that track every Celery task that trains or generates.

A job is sent to the broker only after the transaction that created it has committed, so a
worker never looks for a row that is not there yet. If sending fails the row stays ``queued``
without a celery id and the tick sends it again; if a worker dies the stale sweep marks the
job failed so its round can be retried. Nothing waits for ever."""
import logging
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, select, update

from app.database import transaction, utcnow
from app.extensions import db
from app.errors import Conflict, Forbidden, NotFound
from app.jobs.kinds import KINDS
from app.jobs.models import ACTIVE_STATUSES, Job, JobPoint
from app.stories.models import Story

log = logging.getLogger(__name__)

STALE_REASON = "작업이 응답하지 않아 중단되었습니다."
CANCELLED_REASON = "관리자가 작업을 취소했습니다."
MAX_POINTS = 500


def dispatch(job: Job) -> None:
    """Send a committed job to its Celery task; a broker failure leaves it for the tick.

    ``ignore_result``: the job row is the result. Without it send_task subscribes to the Redis
    result backend for every call, and while Redis is away that retries for about 20 s and
    then leaves the backend broken until the process restarts."""
    celery = current_app.extensions["celery"]
    kind = KINDS[job.kind]
    try:
        result = celery.send_task(kind.task, args=[job.round_id if kind.takes_round else job.id], ignore_result=True)
    except Exception:  # the broker is down: the tick re-sends queued jobs without a celery id
        log.exception("could not send job %s to the broker", job.id)
        return
    db.session.execute(update(Job).where(Job.id == job.id).values(celery_id=result.id))
    db.session.commit()


def send_light_task(name: str, *args) -> None:
    """A small task without a job row (the default queue); losing one costs only a detail."""
    try:
        current_app.extensions["celery"].send_task(name, args=list(args), ignore_result=True)
    except Exception:
        log.exception("could not send %s%s to the broker", name, args)


def claim(job_id: int, celery_id: str | None, worker: str | None = None) -> Job | None:
    """Mark a job running for this delivery; None when it is already finished (a redelivery
    after success or failure has nothing to do). ``worker``: the Celery node that took it,
    kept in the job's metrics (which machine ran what, after a redelivery too)."""
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(("queued", "waiting", "running")))
        .values(status="running", attempts=Job.attempts + 1, updated_at=utcnow(), error=None,
                celery_id=celery_id)
    ).rowcount
    db.session.commit()
    if not claimed:
        return None
    job = db.session.get(Job, job_id)
    if worker:
        job.metrics = {**(job.metrics or {}), "worker": worker}
        db.session.commit()
    return job


def mark_succeeded(job: Job, metrics: dict | None = None) -> None:
    job.status, job.progress, job.error = "succeeded", 1.0, None
    job.metrics = {**(job.metrics or {}), **(metrics or {})}
    job.updated_at = job.finished_at = utcnow()


def mark_failed(job: Job, reason: str) -> None:
    job.status, job.error = "failed", reason[:2000]
    job.updated_at = job.finished_at = utcnow()


def mark_cancelled(job: Job, reason: str = CANCELLED_REASON) -> None:
    job.status, job.error = "cancelled", reason
    job.updated_at = job.finished_at = utcnow()


def mark_waiting(job: Job, reason: str) -> None:
    job.status, job.error = "waiting", reason
    job.updated_at = utcnow()


def is_retryable(job: Job, now: datetime) -> bool:
    """Failed, or silent for longer than JOB_STALE_SECONDS (a job waiting for a base model is
    not: it goes on by itself once there is one)."""
    if job.status == "failed":
        return True
    stale = now - timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
    return job.status in ("queued", "running") and job.updated_at < stale


def stale_jobs(now: datetime) -> list[int]:
    stale = now - timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
    return list(db.session.scalars(
        select(Job.id).where(Job.status.in_(("queued", "running")), Job.updated_at < stale)
    ))


def unsent_jobs(now: datetime) -> list[Job]:
    """Queued jobs whose send to the broker failed (no celery id) JOB_RESEND_SECONDS ago."""
    grace_seconds = current_app.config.get("JOB_RESEND_SECONDS", 30)
    return list(db.session.scalars(
        select(Job).where(Job.status == "queued", Job.celery_id.is_(None),
                          Job.created_at < now - timedelta(seconds=grace_seconds))
    ))


def waiting_jobs() -> list[Job]:
    return list(db.session.scalars(select(Job).where(Job.status == "waiting")))


def mark_queued(job: Job) -> None:
    """Back in the queue (a job that waited for a base model): what it waited for is no longer
    its error."""
    job.status, job.error, job.updated_at, job.celery_id = "queued", None, utcnow(), None


def requeue(job: Job) -> None:
    mark_queued(job)
    db.session.commit()
    dispatch(job)


def get_job(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound("작업을 찾을 수 없습니다.")
    return job


def cancel(job_id: int, user) -> Job:
    """Admin: a job not started yet is cancelled at once (a later delivery finds nothing to
    do); a running one is asked to stop, and its worker stops at its next check."""
    if not user.is_admin:
        raise Forbidden("관리자만 작업을 취소할 수 있습니다.", code="admin_only")
    with_lock = select(Job).where(Job.id == job_id).with_for_update()
    job = db.session.scalar(with_lock)
    if job is None:
        db.session.rollback()
        raise NotFound("작업을 찾을 수 없습니다.")
    if not KINDS[job.kind].cancellable:
        db.session.rollback()
        raise Conflict("AI 후보 작성 작업은 취소할 수 없습니다. 라운드에서 다시 시도하세요.", code="not_cancellable")
    if job.status not in ACTIVE_STATUSES:
        db.session.rollback()
        raise Conflict("이미 끝난 작업입니다.", code="job_finished", details={"status": job.status})
    if job.status == "running":
        job.cancel_requested = True
    else:
        mark_cancelled(job)
    db.session.commit()
    return job


def record_progress(job_id: int, progress: float, metrics: dict, points: list[tuple[int, float, float]]) -> bool:
    """A running job's progress, metrics and new loss points, in one transaction; returns
    whether an admin has asked it to stop (the worker's should_cancel)."""
    values = {"progress": max(0.0, min(1.0, progress)), "metrics": metrics, "updated_at": utcnow()}
    db.session.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(**values))
    for step, loss, tokens_per_s in points:
        db.session.add(JobPoint(job_id=job_id, step=step, loss=loss, tokens_per_s=tokens_per_s))
    cancel_requested = db.session.scalar(select(Job.cancel_requested).where(Job.id == job_id))
    db.session.commit()
    return bool(cancel_requested)


def clear_points(job_id: int) -> None:
    """A new attempt of a job starts its loss curve again."""
    db.session.execute(delete(JobPoint).where(JobPoint.job_id == job_id))
    db.session.commit()


def loss_points(job_id: int, limit: int = MAX_POINTS) -> list[dict]:
    """The job's loss curve, evenly thinned to at most ``limit`` points (last point kept)."""
    rows = db.session.execute(
        select(JobPoint.step, JobPoint.loss).where(JobPoint.job_id == job_id).order_by(JobPoint.step, JobPoint.id)
    ).all()
    if len(rows) > limit:
        stride = len(rows) / limit
        rows = [rows[int(i * stride)] for i in range(limit - 1)] + [rows[-1]]
    return [{"step": step, "loss": loss} for step, loss in rows]


def job_list(user, limit: int = 100) -> list[dict]:
    """Admin: the latest jobs, newest first, each with its story's title (the /admin/jobs
    rows, which the page polls to follow them)."""
    if not user.is_admin:
        raise Forbidden("관리자만 작업 목록을 볼 수 있습니다.", code="admin_only")
    rows = db.session.execute(
        select(Job, Story.title).outerjoin(Story, Story.id == Job.story_id).order_by(Job.id.desc())
        .limit(max(1, min(limit, 100)))
    ).all()
    return [{"job": job, "story_title": title} for job, title in rows]


def fail_running(job_id: int, reason: str) -> str:
    """A running job ends failed for ``reason`` (Korean, shown to admins)."""
    with transaction():
        job = db.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job.status == "running":
            mark_failed(job, reason)
    return "failed"


def end_unfinished(job_id: int, error: Exception, leftovers: Path | None = None) -> str:
    """A run that raised: cancelled when it was asked to stop (model_server's Cancelled), else
    failed with the error; ``leftovers``, what it had written, is removed."""
    from model_server.progress import Cancelled

    if leftovers is not None:
        shutil.rmtree(leftovers, ignore_errors=True)
    with transaction():
        job = db.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job.status != "running":
            return "already finished"
        if isinstance(error, Cancelled):
            mark_cancelled(job)
            return "cancelled"
        log.error("job %s failed", job_id, exc_info=error)
        mark_failed(job, f"{type(error).__name__}: {error}")
    return "failed"
