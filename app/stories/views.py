"""Pages: the story list, opening a story, reading one with its live round panel, its past rounds;
the reading view, and the owner's forms that close a chapter and finish the story."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from app.errors import Conflict, first_validation_message
from app.extensions import limiter
from app.particles import particle
from app.rounds import services as rounds
from app.rounds.guide import PHASE_NAMES
from app.rounds.history import story_history
from app.rounds.schemas import HistoryArgsSchema, RoundSchema
from app.stories import chapters, services
from app.stories.book import book_of
from app.stories.forms import StoryForm
from app.stories.page_cache import passages_html
from app.stories.schemas import ChapterInSchema, FinishInSchema, StoryCreateSchema
from model_server.mood import MOODS

bp = Blueprint("stories", __name__)
write_limit = limiter.limit(lambda: current_app.config["RATELIMIT_WRITE"], methods=["POST"])


@bp.route("/")
def index():
    return render_template("stories/index.html", stories=services.list_stories(finished=False),
                           finished=services.list_stories(finished=True))


@bp.route("/stories/new", methods=["GET", "POST"])
@login_required
@write_limit
def new():
    form = StoryForm()
    if form.validate_on_submit():
        settings = {name: getattr(form, name).data for name in services.SETTING_NAMES
                    if getattr(form, name).data is not None}
        try:
            data = StoryCreateSchema().load({"title": form.title.data, "opening": form.opening.data,
                                             "settings": settings})
        except ValidationError as e:
            flash(first_validation_message(e.messages), "error")
        else:
            story = services.create_story(current_user, data["title"], data["opening"], data["settings"])
            return redirect(url_for("stories.show", story_id=story.id))
    return render_template("stories/new.html", form=form)


@bp.route("/stories/<int:story_id>")
def show(story_id: int):
    story = services.get_story(story_id)
    user = current_user if current_user.is_authenticated else None
    round_state = RoundSchema().dump(rounds.snapshot(story_id, user))
    html = passages_html(story_id, show_hidden=user is not None and user.is_admin)
    can_manage = user is not None and (user.is_admin or user.id == story.owner_id)
    story_chapters = chapters.chapters_of(story_id)
    open_chapter = story_chapters[-1] if story_chapters and not story_chapters[-1]["closed"] else None
    return render_template("stories/show.html", story=story, passages_html=html, round_state=round_state,
                           phase_names=PHASE_NAMES, can_manage=can_manage, open_chapter=open_chapter,
                           next_chapter=len(story_chapters) + (open_chapter is None), moods=MOODS)


@bp.route("/stories/<int:story_id>/read")
def read(story_id: int):
    """The story as a book: chapter headings, the AI/human marks (a switch hides them), the credits."""
    return render_template("stories/read.html", book=book_of(story_id))


@bp.route("/stories/<int:story_id>/chapters", methods=["POST"])
@login_required
@write_limit
def close_chapter(story_id: int):
    try:
        title = ChapterInSchema().load({"title": request.form.get("title", "")})["title"]
        chapter = chapters.close_chapter(story_id, current_user, title)
    except ValidationError as e:
        flash(f"장 제목: {first_validation_message(e.messages)}", "error")
    except Conflict as e:
        flash(e.message, "error")
    else:
        flash(f"제{chapter['number']}장 「{title}」{particle(title, '을')} 닫았습니다.", "success")
    return redirect(url_for("stories.show", story_id=story_id))


@bp.route("/stories/<int:story_id>/finish", methods=["POST"])
@login_required
@write_limit
def finish(story_id: int):
    if not request.form.get("confirm"):
        flash("완결하려면 확인란에 표시해 주세요.", "error")
        return redirect(url_for("stories.show", story_id=story_id))
    title = request.form.get("title", "").strip()
    try:
        data = FinishInSchema().load({"title": title} if title else {})
        chapters.finish_story(story_id, current_user, data.get("title"))
    except ValidationError as e:
        flash(f"마지막 장 제목: {first_validation_message(e.messages)}", "error")
    except Conflict as e:
        flash(e.message, "error")
    else:
        flash("이야기를 완결했습니다. 이제 책으로 읽고 내려받을 수 있습니다.", "success")
        return redirect(url_for("stories.read", story_id=story_id))
    return redirect(url_for("stories.show", story_id=story_id))


@bp.route("/stories/<int:story_id>/history")
def history(story_id: int):
    """The story's past rounds, newest first (the same as GET /api/v1/stories/<id>/rounds)."""
    story = services.get_story(story_id)
    try:
        page = HistoryArgsSchema().load(request.args)["page"]
    except ValidationError:
        page = 1
    admin = current_user.is_authenticated and current_user.is_admin
    return render_template("stories/history.html", story=story,
                           history=story_history(story_id, page, show_hidden=admin))
