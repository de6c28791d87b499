from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from app.accounts.models import User
from app.database import utcnow
from app.extensions import db


# Minutes each phase of a new story's rounds stays open unless its owner says otherwise: a
# crowd then never waits for an owner who is away (0 would mean "until advanced by hand").
DEFAULT_MINUTES = {"proposing": 10, "voting": 5, "choosing": 5}


class Story(db.Model):
    __tablename__ = "stories"
    __table_args__ = (
        CheckConstraint("candidates_k BETWEEN 1 AND 5", name="ck_stories_candidates_k"),
        CheckConstraint("training_quorum >= 1", name="ck_stories_training_quorum"),
        CheckConstraint(
            "proposing_minutes >= 0 AND voting_minutes >= 0 AND choosing_minutes >= 0",
            name="ck_stories_minutes",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Settings: minutes each phase stays open (0 = until advanced by hand), AI candidates per round.
    proposing_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_MINUTES["proposing"])
    voting_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_MINUTES["voting"])
    choosing_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_MINUTES["choosing"])
    candidates_k: Mapped[int] = mapped_column(Integer, default=3)
    # Votes a novel needs to join this story's training set.
    training_quorum: Mapped[int] = mapped_column(Integer, default=1)
    # Votes of participants that accept a suggested bible note without the owner.
    bible_quorum: Mapped[int] = mapped_column(Integer, default=3)
    # The adapter that writes this story's AI passages; None = the bare base model.
    active_model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", use_alter=True, name="fk_stories_active_model_version")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When its owner finished it (app/stories/chapters.py): no round opens after that.
    finished_at: Mapped[datetime | None]

    owner: Mapped[User] = relationship()
    active_model_version = relationship("ModelVersion", foreign_keys=[active_model_version_id])

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def phase_minutes(self, phase: str) -> int:
        return {"proposing": self.proposing_minutes, "voting": self.voting_minutes,
                "choosing": self.choosing_minutes}.get(phase, 0)


class Passage(db.Model):
    __tablename__ = "passages"
    __table_args__ = (
        UniqueConstraint("story_id", "seq", name="uq_passages_story_seq"),
        CheckConstraint("author_kind IN ('human', 'ai')", name="ck_passages_author_kind"),
        CheckConstraint(
            "(author_kind = 'human' AND author_id IS NOT NULL) OR "
            "(author_kind = 'ai' AND model_version_id IS NOT NULL)",
            name="ck_passages_author",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author_kind: Mapped[str] = mapped_column(String(8))
    # The human who wrote it (for an AI passage: None).
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"))
    # Hidden by an admin: not shown, not learned from; kept so it can be restored.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Any change to the row moves it; the story page's cache of rendered passages keys on it.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    author: Mapped[User | None] = relationship()
    model_version = relationship("ModelVersion")


class Chapter(db.Model):
    """A closed chapter: the story's passages after the previous chapter's ``end_seq`` up to and
    including its own. The passages after the last chapter form the open one, which has no row."""

    __tablename__ = "chapters"
    __table_args__ = (
        UniqueConstraint("story_id", "number", name="uq_chapters_story_number"),
        # Two chapters ending at one passage: the second would be empty.
        UniqueConstraint("story_id", "end_seq", name="uq_chapters_story_end_seq"),
        CheckConstraint("number >= 1 AND end_seq >= 1", name="ck_chapters_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(100))
    end_seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainingText(db.Model):
    """A human passage queued as training text for its story's next adapter.

    ``used_by_version_id`` is set once a model version has learned from it."""

    __tablename__ = "training_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    passage_id: Mapped[int] = mapped_column(ForeignKey("passages.id", ondelete="CASCADE"), unique=True)
    used_by_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    passage: Mapped[Passage] = relationship()


class BibleEntry(db.Model):
    """A note of the story bible (인물·배경 노트): who or what ``name`` is, in a line or two.
    Generation reads the accepted ones whose name or a trigger word the recent story holds, and
    the pinned ones always (app/stories/bible.py). A participant's suggestion waits, status
    "suggested", until the owner accepts it or the story's ``bible_quorum`` of votes does."""

    __tablename__ = "bible_entries"
    __table_args__ = (
        UniqueConstraint("story_id", "name", name="uq_bible_entries_story_name"),
        CheckConstraint("status IN ('accepted', 'suggested')", name="ck_bible_entries_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(30))
    # Words (NFC, 0-10) that call the note up besides its name, which always does.
    triggers: Mapped[list] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(String(300))
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="accepted")
    suggested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    suggested_by: Mapped[User | None] = relationship()


class BibleVote(db.Model):
    """A participant's vote for a suggested note; the story's ``bible_quorum`` of them accept it."""

    __tablename__ = "bible_votes"
    __table_args__ = (UniqueConstraint("entry_id", "user_id", name="uq_bible_votes_entry_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("bible_entries.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Defined here, once both tables are: how many votes a note has (0 for the owner's own notes).
BibleEntry.votes = column_property(
    select(func.count(BibleVote.id)).where(BibleVote.entry_id == BibleEntry.id).correlate_except(BibleVote)
    .scalar_subquery())
