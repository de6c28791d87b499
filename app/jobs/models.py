from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import utcnow
from app.extensions import db
from app.jobs.kinds import JOB_KINDS, KINDS, STORY_TRAINING_KINDS

# waiting: blocked on something outside the job (no base model yet); the tick re-queues it.
JOB_STATUSES = ("queued", "waiting", "running", "succeeded", "failed", "cancelled")
ACTIVE_STATUSES = ("queued", "waiting", "running")
_ACTIVE = "status IN ('queued', 'waiting', 'running')"


def _listed(names) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _one_at_a_time() -> list[Index]:
    """At most one unfinished training job per story, and one unfinished job of each site-wide
    kind (the starter pretrain, the judges): the services check first (for a clear 409), these
    partial unique indexes settle any race."""
    story = f"kind IN ({_listed(STORY_TRAINING_KINDS)}) AND {_ACTIVE}"
    indexes = [Index("uq_jobs_one_training_per_story", "story_id", unique=True,
                     sqlite_where=text(story), postgresql_where=text(story))]
    for kind in (k for k in KINDS.values() if k.one_at_a_time == "site"):
        one = f"kind = '{kind.name}' AND {_ACTIVE}"
        indexes.append(Index(f"uq_jobs_one_{kind.name}", "kind", unique=True,
                             sqlite_where=text(one), postgresql_where=text(one)))
    return indexes


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_listed(JOB_KINDS)})", name="ck_jobs_kind"),
        CheckConstraint(f"status IN ({_listed(JOB_STATUSES)})", name="ck_jobs_status"),
        *_one_at_a_time(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    celery_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Set by an admin; the running task polls it and stops at its next step.
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped by every sign of life (claim, progress); the stale-job sweep reads it.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    @property
    def done(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")


class JobPoint(db.Model):
    """One point of a training job's loss curve, written as it runs, so a reload or a worker
    restart shows the whole history."""

    __tablename__ = "job_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    loss: Mapped[float] = mapped_column(Float)
    tokens_per_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkerHeartbeat(db.Model):
    """Written by worker processes; /healthz reads it to know a worker is there."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
