"""Chapters and the end of a story: its owner (or an admin) closes the open chapter with a
title, and finishes the story.

A chapter holds the passages after the previous chapter's end up to its own; the passages after
the last closed chapter form the open chapter, which has no row and no title yet. Closing is
allowed at any time: a round under way has added nothing yet (its passage is appended when the
round closes), so whatever it adds opens the next chapter.
"""
from sqlalchemy import select

from app.accounts.models import User
from app.database import transaction, utcnow
from app.errors import Conflict, Forbidden, NotFound
from app.extensions import db
from app.rounds import events, machine
from app.stories.models import Chapter, Story
from app.stories.services import get_story

LAST_CHAPTER_TITLE = "마지막 장"
FINISHED_MESSAGE = "완결된 이야기입니다. 더는 장을 닫거나 이어 쓸 수 없습니다."


def chapters_of(story_id: int) -> list[dict]:
    """Every chapter in order with the range of passages it holds (seqs ``first_seq`` to
    ``last_seq``); the open chapter comes last (``closed`` false, no title) when passages
    follow the last closed one."""
    rows = db.session.scalars(select(Chapter).where(Chapter.story_id == story_id).order_by(Chapter.number)).all()
    last_seq = machine.last_seq(story_id)
    chapters, first = [], 1
    for row in rows:
        chapters.append(_chapter(row.number, row.title, first, row.end_seq, row.created_at))
        first = row.end_seq + 1
    if last_seq >= first:
        chapters.append(_chapter(len(rows) + 1, None, first, last_seq, None))
    return chapters


def _chapter(number: int, title: str | None, first: int, last: int, closed_at) -> dict:
    # Seqs run without gaps (app.rounds.machine.append_passage), so a range's length is its count.
    return {"number": number, "title": title, "first_seq": first, "last_seq": last, "passages": last - first + 1,
            "closed": closed_at is not None, "closed_at": closed_at}


def story_chapters(story_id: int) -> dict:
    """What GET /api/v1/stories/<id>/chapters answers."""
    story = get_story(story_id)
    return {"story_id": story.id, "finished": story.finished, "finished_at": story.finished_at,
            "chapters": chapters_of(story.id)}


def close_chapter(story_id: int, user: User, title: str) -> dict:
    """Close the open chapter at the story's last passage, under ``title`` (already NFC and
    1-100 characters: app.stories.schemas.ChapterInSchema)."""
    with transaction():
        story = db.session.scalar(select(Story).where(Story.id == story_id).with_for_update())
        _check_may_close(story, user, "장을 닫을")
        chapter = _close_open_chapter(story, title)
        if chapter is None:
            raise Conflict("지난 장을 닫은 뒤로 새 글이 없어 닫을 장이 없습니다.", code="empty_chapter")
    return next(c for c in chapters_of(story_id) if c["number"] == chapter.number)


def finish_story(story_id: int, user: User, title: str | None = None) -> Story:
    """Finish the story: its open chapter, if it holds passages, is closed under ``title`` (or
    "마지막 장"), and its current round ends where it stands, with no round after it."""
    with transaction():
        story, round_ = machine.lock_story_round(story_id)
        _check_may_close(story, user, "이야기를 완결할")
        _close_open_chapter(story, title or LAST_CHAPTER_TITLE)
        now = utcnow()
        machine.end_rounds(round_, now)
        story.finished_at = now
    events.changed(story_id)  # open story pages see the round close
    return story


def _check_may_close(story: Story | None, user: User, action: str) -> None:
    if story is None:
        raise NotFound("이야기를 찾을 수 없습니다.")
    if not (user.is_admin or story.owner_id == user.id):
        raise Forbidden(f"이야기 주인이나 관리자만 {action} 수 있습니다.", code="not_owner")
    if story.finished:
        raise Conflict(FINISHED_MESSAGE, code="story_finished")


def _close_open_chapter(story: Story, title: str) -> Chapter | None:
    """The new chapter, or None when no passage follows the last one. The caller holds the
    story's lock, so two owners' clicks cannot both take the same passages."""
    last_seq = machine.last_seq(story.id)
    last_chapter = db.session.execute(
        select(Chapter.number, Chapter.end_seq).where(Chapter.story_id == story.id)
        .order_by(Chapter.number.desc()).limit(1)
    ).first()
    number, end_seq = last_chapter if last_chapter else (0, 0)
    if last_seq <= end_seq:
        return None
    chapter = Chapter(story_id=story.id, number=number + 1, title=title, end_seq=last_seq)
    db.session.add(chapter)
    db.session.flush()
    return chapter
