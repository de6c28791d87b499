"""The library a page at a time: search by title or author, an order, and paging.

Only the page asked for is read (and only its rows' votes); the text of the novels stays in
the database. Hidden novels are there for admins only, as everywhere else. A story's page of
novels (app/novels/training_set.py) is the same search with that story's votes."""
import math
import unicodedata

from sqlalchemy import func, or_, select

from app.accounts.models import User
from app.extensions import db
from app.novels.models import Novel, TrainingVote
from app.novels.schemas import LIBRARY_PER_PAGE
from app.novels.services import _is_admin, _row, _votes_by_story


def _search_filters(viewer, q: str) -> list:
    filters = [] if _is_admin(viewer) else [Novel.status == "visible"]
    # Every word must be in the title or the author: "김유정 동백" finds 동백꽃 by 김유정.
    # icontains is lower() LIKE lower() (ILIKE on PostgreSQL), with % and _ taken literally.
    for word in unicodedata.normalize("NFC", q).split():
        filters.append(or_(Novel.title.icontains(word, autoescape=True),
                           Novel.author.icontains(word, autoescape=True)))
    return filters


def _ordered(query, sort: str, story_id: int | None = None):
    """The page's rows in the asked order; ties (and the default) go newest first. "votes"
    counts training votes over every story, or over ``story_id``'s only."""
    newest = Novel.id.desc()
    if sort == "title":
        return query.order_by(func.lower(Novel.title), newest)
    if sort == "author":
        return query.order_by(func.lower(Novel.author), func.lower(Novel.title), newest)
    if sort == "chars":
        return query.order_by(Novel.chars.desc(), newest)
    if sort == "votes":
        # Training votes: what people most want their stories (or this story) to read.
        counted = select(TrainingVote.novel_id, func.count().label("votes"))
        if story_id is not None:
            counted = counted.where(TrainingVote.story_id == story_id)
        votes = counted.group_by(TrainingVote.novel_id).subquery()
        return (query.outerjoin(votes, votes.c.novel_id == Novel.id)
                .order_by(func.coalesce(votes.c.votes, 0).desc(), newest))
    return query.order_by(newest)


def paged_library(viewer, q: str, sort: str, page: int, per_page: int, story_id: int | None = None) -> dict:
    """One page of the search as the viewer may see it, each row with its training votes (every
    story's, or ``story_id``'s only). A page past the last is empty (its number is kept, so a
    client sees where it asked); ``pages`` is at least 1."""
    q = " ".join(unicodedata.normalize("NFC", q).split())
    filters = _search_filters(viewer, q)
    total = db.session.scalar(select(func.count()).select_from(Novel).where(*filters))
    pages = max(1, math.ceil(total / per_page))
    rows: list[tuple[Novel, str]] = []
    if page <= pages and total:
        query = select(Novel, User.username).join(User, User.id == Novel.uploader_id).where(*filters)
        query = _ordered(query, sort, story_id).limit(per_page).offset((page - 1) * per_page)
        rows = [tuple(row) for row in db.session.execute(query)]
    votes = _votes_by_story([novel.id for novel, _ in rows], viewer, story_id=story_id)
    return {
        "novels": [_row(novel, name, votes.get(novel.id, [])) for novel, name in rows],
        "total": total, "page": page, "pages": pages, "per_page": per_page, "q": q, "sort": sort,
        # 1-based positions of this page's first and last novel in the whole search (0 when empty)
        "first": (page - 1) * per_page + 1 if rows else 0,
        "last": (page - 1) * per_page + len(rows),
    }


def library_page(viewer, q: str = "", sort: str = "newest", page: int = 1, per_page: int = LIBRARY_PER_PAGE) -> dict:
    """One page of the library as the viewer may see it."""
    return paged_library(viewer, q, sort, page, per_page)
