from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.database import utcnow
from app.extensions import db

NOVEL_STATUSES = ("visible", "hidden")


class Novel(db.Model):
    """An uploaded novel, stored decoded and cleaned; ``sha256`` is of that cleaned text, so
    the same novel in another encoding is the same row."""

    __tablename__ = "novels"
    __table_args__ = (CheckConstraint("status IN ('visible', 'hidden')", name="ck_novels_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(100))
    licence: Mapped[str] = mapped_column(String(500))
    # Shown to people only; never used as a path.
    original_filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    encoding: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    chars: Mapped[int] = mapped_column(Integer)
    # Counted by a light worker with model_server.text.sentences; None until it has.
    sentences: Mapped[int | None] = mapped_column(Integer)
    dialogue_share: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="visible", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    uploader: Mapped[User] = relationship()


class TrainingVote(db.Model):
    """One user's vote that a story's model should learn from a novel."""

    __tablename__ = "training_votes"
    __table_args__ = (UniqueConstraint("story_id", "novel_id", "user_id", name="uq_training_votes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    novel_id: Mapped[int] = mapped_column(ForeignKey("novels.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
