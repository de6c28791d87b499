from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import utcnow
from app.extensions import db

# train: put_Human_txt (learn one passage, then continue); retrain: a story's adapter on its
# training set; prefer: a story's adapter tuned on the crowd's choices (DPO); pretrain: the
# site's starter base; judge: the judges that rank candidates (model_server.judges); generate: a
# round's candidates.
JOB_KINDS = ("train", "retrain", "prefer", "pretrain", "judge", "generate")
# waiting: blocked on something outside the job (no base model yet); the tick re-queues it.
JOB_STATUSES = ("queued", "waiting", "running", "succeeded", "failed", "cancelled")
ACTIVE_STATUSES = ("queued", "waiting", "running")
TRAINING_KINDS = ("train", "retrain", "prefer")  # kinds that write a story's next adapter: one at a time
_ACTIVE = "status IN ('queued', 'waiting', 'running')"


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("kind IN ('train', 'retrain', 'prefer', 'pretrain', 'judge', 'generate')", name="ck_jobs_kind"),
        CheckConstraint(
            "status IN ('queued', 'waiting', 'running', 'succeeded', 'failed', 'cancelled')",
            name="ck_jobs_status",
        ),
        # At most one unfinished training job per story, one unfinished starter pretrain and
        # one unfinished judges job on the site: the services check first (for a clear 409),
        # these settle any race.
        Index("uq_jobs_one_training_per_story", "story_id", unique=True,
              sqlite_where=text(f"kind IN ('train', 'retrain', 'prefer') AND {_ACTIVE}"),
              postgresql_where=text(f"kind IN ('train', 'retrain', 'prefer') AND {_ACTIVE}")),
        Index("uq_jobs_one_pretrain", "kind", unique=True,
              sqlite_where=text(f"kind = 'pretrain' AND {_ACTIVE}"),
              postgresql_where=text(f"kind = 'pretrain' AND {_ACTIVE}")),
        Index("uq_jobs_one_judge", "kind", unique=True,
              sqlite_where=text(f"kind = 'judge' AND {_ACTIVE}"),
              postgresql_where=text(f"kind = 'judge' AND {_ACTIVE}")),
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
