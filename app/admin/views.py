"""The admin page: users, passages (found by story) and novels, each with its buttons.
Anonymous visitors get 401 and participants 403 on every route, checked here."""
from functools import wraps

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin import services
from app.errors import Forbidden, NotFound, Unauthorized
from app.extensions import limiter
from app.novels.services import list_novels
from app.particles import particle
from app.stories.services import get_story, passages_of

bp = Blueprint("admin", __name__, url_prefix="/admin")
write_limit = limiter.limit(lambda: current_app.config["RATELIMIT_WRITE"])


def admin_page(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            raise Unauthorized("로그인이 필요합니다.", code="login_required")
        if not current_user.is_admin:
            raise Forbidden("관리자만 볼 수 있는 페이지입니다.", code="admin_only")
        return view(*args, **kwargs)

    return wrapper


@bp.route("")
@admin_page
def index():
    story_id = request.args.get("story", type=int)
    story = get_story(story_id) if story_id else None
    return render_template(
        "admin/index.html", users=services.list_users(), novels=list_novels(current_user),
        stories=services.stories_for_picker(), story=story,
        passages=passages_of(story.id, show_hidden=True) if story else [],
    )


def back(story_id: int | None = None):
    return redirect(url_for("admin.index", story=story_id) + ("#passages" if story_id else ""))


@bp.route("/users/<int:user_id>/<action>", methods=["POST"])
@admin_page
@write_limit
def user_action(user_id: int, action: str):
    if action == "block":
        user = services.set_blocked(current_user, user_id, True)
        flash(f"{user.username}님을 차단했습니다.", "success")
    elif action == "unblock":
        user = services.set_blocked(current_user, user_id, False)
        flash(f"{user.username}님의 차단을 풀었습니다.", "success")
    elif action == "make-admin":
        user = services.make_admin(user_id)
        flash(f"{user.username}님을 관리자로 만들었습니다.", "success")
    else:
        raise NotFound("알 수 없는 작업입니다.")
    return back()


@bp.route("/passages/<int:passage_id>/<action>", methods=["POST"])
@admin_page
@write_limit
def passage_action(passage_id: int, action: str):
    if action not in ("hide", "restore"):
        raise NotFound("알 수 없는 작업입니다.")
    passage = services.set_passage_hidden(passage_id, action == "hide")
    flash(f"{passage.seq}번째 글을 {'숨겼습니다' if passage.hidden else '되살렸습니다'}.", "success")
    return back(passage.story_id)


@bp.route("/novels/<int:novel_id>/<action>", methods=["POST"])
@admin_page
@write_limit
def novel_action(novel_id: int, action: str):
    if action not in ("hide", "restore"):
        raise NotFound("알 수 없는 작업입니다.")
    novel = services.set_novel_status(novel_id, "hidden" if action == "hide" else "visible")
    flash(f"「{novel.title}」{particle(novel.title, '을')} {'숨겼습니다' if novel.status == 'hidden' else '되살렸습니다'}.",
          "success")
    return back()
