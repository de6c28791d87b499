"""Stories: opening one, listing them, reading one with all its passages."""
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.accounts.models import User
from app.database import transaction, utcnow
from app.errors import Forbidden, NotFound
from app.extensions import db
from app.fields import MAX_ID
from app.rounds import events, machine
from app.rounds.models import Proposal, Round
from app.stories.models import Passage, Story
from app.training.models import ModelVersion

SETTING_NAMES = ("proposing_minutes", "voting_minutes", "choosing_minutes", "candidates_k", "training_quorum",
                 "bible_quorum")
HIDDEN_PLACEHOLDER = "관리자가 숨긴 글입니다."


def create_story(owner: User, title: str, opening: str, settings: dict | None = None) -> Story:
    """A story with its owner's opening passage and its first round, in one transaction."""
    with transaction():
        story = Story(title=title, owner_id=owner.id, **{k: v for k, v in (settings or {}).items() if k in SETTING_NAMES})
        db.session.add(story)
        db.session.flush()
        machine.append_passage(story, opening, author=owner)
        machine.open_round(story, 1, utcnow())
    return story


def update_settings(story_id: int, user: User, settings: dict) -> Story:
    with transaction():
        story = get_story(story_id)
        if not (user.is_admin or story.owner_id == user.id):
            raise Forbidden("이야기 주인이나 관리자만 설정을 바꿀 수 있습니다.", code="not_owner")
        for name in SETTING_NAMES:
            if name in settings:
                setattr(story, name, settings[name])
    events.changed(story_id)
    return story


def get_story(story_id: int) -> Story:
    story = db.session.get(Story, story_id) if 0 < story_id <= MAX_ID else None
    if story is None:
        raise NotFound("이야기를 찾을 수 없습니다.")
    return story


def list_stories(limit: int = 100, finished: bool | None = None) -> list[dict]:
    """Newest first, with passage count and the current round's phase; ``finished``: only the
    finished stories, the last finished first (True), or only those still being written (False)."""
    passages = select(Passage.story_id, func.count().label("n")).group_by(Passage.story_id).subquery()
    latest = select(Round.story_id, func.max(Round.number).label("number")).group_by(Round.story_id).subquery()
    current = aliased(Round)
    query = (
        select(Story, User.username, passages.c.n, current.phase, current.number)
        .join(User, User.id == Story.owner_id)
        .outerjoin(passages, passages.c.story_id == Story.id)
        .outerjoin(latest, latest.c.story_id == Story.id)
        .outerjoin(current, (current.story_id == Story.id) & (current.number == latest.c.number))
    )
    if finished is not None:
        query = query.where(Story.finished_at.is_not(None) if finished else Story.finished_at.is_(None))
    newest = (Story.finished_at.desc(), Story.id.desc()) if finished else (Story.id.desc(),)
    rows = db.session.execute(query.order_by(*newest).limit(limit)).all()
    return [
        {"story": story, "owner": owner, "passages": n or 0, "phase": phase, "round": number,
         "finished": story.finished, "finished_at": story.finished_at}
        for story, owner, n, phase, number in rows
    ]


@dataclass(frozen=True)
class StoryPage:
    """A story and its passages as one viewer may see them: what StoryDetailSchema dumps."""
    story: Story
    passages: list[dict]

    def __getattr__(self, name: str):  # the story's own fields (title, owner, settings …)
        return getattr(self.story, name)


def passages_of(story_id: int, after_seq: int = 0, show_hidden: bool = False) -> list[dict]:
    """Every passage in order with who wrote it, and for an AI passage the proposal it was
    written for (keyword, length, who proposed it); plain rows (no ORM objects) because a long
    story's page renders a thousand of them. A passage an admin has hidden keeps its place
    with a placeholder, so the sequence stays readable; admins (``show_hidden``) see its text."""
    proposer = aliased(User)
    rows = db.session.execute(
        select(Passage.id, Passage.seq, Passage.text, Passage.author_kind, Passage.hidden, User.username,
               ModelVersion.name, Proposal.keyword, Proposal.sentences, proposer.username.label("proposer"))
        .outerjoin(User, User.id == Passage.author_id)
        .outerjoin(ModelVersion, ModelVersion.id == Passage.model_version_id)
        .outerjoin(Round, Round.id == Passage.round_id)
        .outerjoin(Proposal, (Proposal.id == Round.winning_proposal_id) & (Passage.author_kind == "ai"))
        .outerjoin(proposer, proposer.id == Proposal.user_id)
        .where(Passage.story_id == story_id, Passage.seq > after_seq)
        .order_by(Passage.seq)
    ).all()
    return [
        {"id": r.id, "seq": r.seq, "text": HIDDEN_PLACEHOLDER if r.hidden and not show_hidden else r.text,
         "author_kind": r.author_kind, "author": r.username if r.author_kind == "human" else "AI",
         "model_version": r.name, "hidden": r.hidden,
         "proposal": {"keyword": r.keyword, "sentences": r.sentences, "author": r.proposer} if r.keyword else None}
        for r in rows
    ]


def context_before(story_id: int, before_seq: int | None = None) -> str:
    """The end of the story as the model reads it (CONTEXT_CHARS characters): passages an admin
    hid are left out; with ``before_seq``, only the passages before that one."""
    query = select(Passage.text).where(Passage.story_id == story_id, Passage.hidden.is_(False))
    if before_seq is not None:
        query = query.where(Passage.seq < before_seq)
    texts = db.session.scalars(query.order_by(Passage.seq.desc()).limit(50)).all()
    return "\n\n".join(reversed(texts))[-current_app.config["CONTEXT_CHARS"]:]
