"""What admins do: block users and make admins, hide and restore passages and novels.

Who may call these is checked by the front ends (app/admin/views.py, app/api/admin.py) with
one rule each; the rules about *what* may be done (an admin cannot block themself) live here."""
from sqlalchemy import func, select

from app.accounts.models import User
from app.accounts.services import forget_cached_tokens
from app.database import transaction
from app.errors import Invalid, NotFound
from app.extensions import db
from app.novels.models import Novel
from app.stories.models import Passage, Story


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.id)))


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("사용자를 찾을 수 없습니다.")
    return user


def set_blocked(admin, user_id: int, blocked: bool) -> User:
    """A blocked user can no longer log in, and their session and API tokens stop working."""
    if blocked and user_id == admin.id:
        raise Invalid("자기 자신은 차단할 수 없습니다.", code="cannot_block_self")
    with transaction():
        user = _user(user_id)
        user.blocked = blocked
    forget_cached_tokens(user_id)
    return user


def make_admin(user_id: int) -> User:
    with transaction():
        user = _user(user_id)
        user.role = "admin"
    forget_cached_tokens(user_id)
    return user


def set_passage_hidden(passage_id: int, hidden: bool) -> Passage:
    """A hidden passage keeps its place in the story (participants see a placeholder) but is
    neither shown nor read by the model as context or training text; restoring undoes it."""
    with transaction():
        passage = db.session.get(Passage, passage_id)
        if passage is None:
            raise NotFound("글을 찾을 수 없습니다.")
        passage.hidden = hidden
    return passage


def set_novel_status(novel_id: int, status: str) -> Novel:
    """A hidden novel leaves every training set and the library of participants."""
    with transaction():
        novel = db.session.get(Novel, novel_id)
        if novel is None:
            raise NotFound("소설을 찾을 수 없습니다.")
        novel.status = status
    return novel


def stories_for_picker() -> list[tuple[int, str, int]]:
    """(id, title, hidden passages) of every story, newest first, for finding passages."""
    hidden = (select(Passage.story_id, func.count().label("n")).where(Passage.hidden.is_(True))
              .group_by(Passage.story_id).subquery())
    return [tuple(row) for row in db.session.execute(
        select(Story.id, Story.title, func.coalesce(hidden.c.n, 0))
        .outerjoin(hidden, hidden.c.story_id == Story.id).order_by(Story.id.desc())
    )]
