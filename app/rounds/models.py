from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.database import utcnow
from app.extensions import db

PHASES = ("proposing", "voting", "generating", "choosing", "closed")


class Round(db.Model):
    __tablename__ = "rounds"
    __table_args__ = (
        UniqueConstraint("story_id", "number", name="uq_rounds_story_number"),
        CheckConstraint(
            "phase IN ('proposing', 'voting', 'generating', 'choosing', 'closed')", name="ck_rounds_phase"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(16), default="proposing")
    # When the current phase ends by itself; None = only by hand.
    deadline: Mapped[datetime | None] = mapped_column(index=True)
    winning_proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposals.id", use_alter=True, name="fk_rounds_winning_proposal")
    )
    winning_candidate_id: Mapped[int | None] = mapped_column(
        ForeignKey("candidates.id", use_alter=True, name="fk_rounds_winning_candidate")
    )
    # The generation job of this round (the latest one, after retries).
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", use_alter=True, name="fk_rounds_job"))
    # A message for participants while the round cannot go on by itself (e.g. no model yet).
    notice: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    phase_started_at: Mapped[datetime] = mapped_column(default=utcnow)

    story = relationship("Story")
    winning_proposal = relationship("Proposal", foreign_keys=[winning_proposal_id])
    job = relationship("Job", foreign_keys=[job_id])


class Proposal(db.Model):
    """What comes next: a keyword and a length in sentences, or a passage written by hand."""

    __tablename__ = "proposals"
    __table_args__ = (
        UniqueConstraint("round_id", "user_id", name="uq_proposals_round_user"),
        CheckConstraint(
            "(text IS NULL AND keyword IS NOT NULL AND sentences BETWEEN 1 AND 10) OR "
            "(text IS NOT NULL AND keyword IS NULL AND sentences IS NULL)",
            name="ck_proposals_kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    keyword: Mapped[str | None] = mapped_column(String(20))
    sentences: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    # Sentences in ``text``, counted by a worker with model_server.text (the Korean analyser is
    # too heavy for web processes); None until counted.
    text_sentences: Mapped[int | None] = mapped_column(Integer)
    # The mood a keyword proposal asks the AI for (model_server.mood.MOODS); None: any.
    mood: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    @property
    def is_human_text(self) -> bool:
        return self.text is not None


class Candidate(db.Model):
    """One AI-written passage the crowd chooses among."""

    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def notes(self) -> list[str]:
        """The names of the story bible's notes its prompt held (none for candidates from before)."""
        return (self.params or {}).get("notes", [])


class Vote(db.Model):
    """One vote per user per stage of a round; voting again moves it (an upsert)."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("round_id", "stage", "user_id", name="uq_votes_round_stage_user"),
        CheckConstraint(
            "(stage = 'proposal' AND proposal_id IS NOT NULL AND candidate_id IS NULL) OR "
            "(stage = 'candidate' AND candidate_id IS NOT NULL AND proposal_id IS NULL)",
            name="ck_votes_target",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
