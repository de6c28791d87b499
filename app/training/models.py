from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db


# What participants see beside a passage the bare base wrote (no setting names on pages).
BASE_VERSION_NAME = "기본 모델"


class ModelVersion(db.Model):
    """Something that wrote passages: a story's LoRA adapter, or (story_id None) a bare base."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    base: Mapped[str] = mapped_column(String(500))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    # The adapter folder under DATA_DIR; None for a bare base.
    path: Mapped[str | None] = mapped_column(String(1000))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    # A finished version whose validation loss was worse than the active one's by more than
    # the threshold: it waits for an admin instead of becoming active by itself.
    held_for_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent = relationship("ModelVersion", remote_side=[id])