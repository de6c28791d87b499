"""A story's training set: which novels its model learns from, and the votes that decide it.
A novel belongs to the set when it is visible and has at least the story's quorum of votes."""
from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from app.database import transaction
from app.errors import Conflict, NotFound
from app.extensions import db
from app.fields import MAX_ID
from app.novels.library import paged_library
from app.novels.models import Novel, TrainingVote
from app.novels.schemas import LIBRARY_PER_PAGE
from app.novels.services import _is_admin, get_novel
from app.stories.models import Story


def _get_story(story_id: int) -> Story:
    story = db.session.get(Story, story_id) if 0 < story_id <= MAX_ID else None
    if story is None:
        raise NotFound("이야기를 찾을 수 없습니다.")
    return story


def story_novels_page(story_id: int, viewer, q: str = "", sort: str = "votes", page: int = 1,
                      per_page: int = LIBRARY_PER_PAGE) -> tuple[Story, dict]:
    """The story's page of novels, searched, ordered and paged as the library is; each row has
    this story's votes (``vote``). The default order, most of this story's votes first, puts
    the training set on top."""
    story = _get_story(story_id)
    library = paged_library(viewer, q, sort, page, per_page, story_id=story.id)
    for row in library["novels"]:
        entry = (row["training"] or [{"story_id": story.id, "story_title": story.title,
                                      "quorum": story.training_quorum, "votes": 0, "my_vote": False}])[0]
        entry["in_training_set"] = row["novel"].status == "visible" and entry["votes"] >= story.training_quorum
        row["vote"] = entry
    return story, library


def training_set(story: Story) -> list[Novel]:
    """The story's training set: visible novels with at least the story's quorum of votes."""
    votes = func.count(TrainingVote.id)
    return list(db.session.scalars(
        select(Novel)
        .join(TrainingVote, (TrainingVote.novel_id == Novel.id) & (TrainingVote.story_id == story.id))
        .where(Novel.status == "visible")
        .group_by(Novel.id)
        .having(votes >= story.training_quorum)
        .order_by(Novel.id)
    ))


def training_set_of(story_id: int) -> dict:
    story = _get_story(story_id)
    novels = training_set(story)
    counts = dict(db.session.execute(
        select(TrainingVote.novel_id, func.count()).where(TrainingVote.story_id == story.id)
        .group_by(TrainingVote.novel_id)
    ).all())
    return {"story_id": story.id, "quorum": story.training_quorum,
            "novels": [{"id": n.id, "title": n.title, "author": n.author, "chars": n.chars, "votes": counts[n.id]}
                       for n in novels]}


def training_tally(story_id: int, viewer) -> dict:
    """Every novel with votes in this story (that the viewer may see): its count, the
    viewer's vote and whether it is in the set. The story's novels page polls this to follow
    other people's votes; a novel not listed has no votes."""
    story = _get_story(story_id)
    mine = func.max(case((TrainingVote.user_id == (viewer.id if viewer else -1), 1), else_=0))
    query = (
        select(TrainingVote.novel_id, Novel.status, func.count(TrainingVote.id), mine)
        .join(Novel, Novel.id == TrainingVote.novel_id)
        .where(TrainingVote.story_id == story.id)
        .group_by(TrainingVote.novel_id, Novel.status)
        .order_by(TrainingVote.novel_id)
    )
    if not _is_admin(viewer):
        query = query.where(Novel.status == "visible")
    quorum = story.training_quorum
    return {"story_id": story.id, "quorum": quorum, "novels": [
        {"novel_id": novel_id, "votes": votes, "my_vote": bool(my_vote),
         "in_training_set": status == "visible" and votes >= quorum}
        for novel_id, status, votes, my_vote in db.session.execute(query)]}


def set_training_vote(story_id: int, novel_id: int, user, voted: bool | None = None) -> dict:
    """Vote that the story's model learns from the novel, or take the vote back. ``voted``
    None toggles; True/False set it (idempotent). One row per (story, novel, user), kept so
    by the UNIQUE constraint: a double click inserts nothing twice."""
    with transaction():
        story = _get_story(story_id)
        novel = get_novel(novel_id, user)
        if novel.status == "hidden":
            raise Conflict("관리자가 숨긴 소설에는 투표할 수 없습니다.", code="novel_hidden")
        mine = (TrainingVote.story_id == story.id) & (TrainingVote.novel_id == novel.id) & (TrainingVote.user_id == user.id)
        if voted is None:
            voted = db.session.scalar(select(TrainingVote.id).where(mine)) is None
        if voted:
            connection = db.session.connection()
            insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(TrainingVote.__table__)
            connection.execute(insert.values(story_id=story.id, novel_id=novel.id, user_id=user.id)
                               .on_conflict_do_nothing(index_elements=["story_id", "novel_id", "user_id"]))
        else:
            db.session.execute(delete(TrainingVote).where(mine))
        votes = db.session.scalar(select(func.count()).select_from(TrainingVote)
                                  .where(TrainingVote.story_id == story.id, TrainingVote.novel_id == novel.id))
        quorum = story.training_quorum
    return {"story_id": story_id, "novel_id": novel_id, "voted": voted, "votes": votes, "quorum": quorum,
            "in_training_set": votes >= quorum}
