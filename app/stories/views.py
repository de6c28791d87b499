"""Pages: the story list, opening a story, reading one with its live round panel, its past rounds."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from app.errors import first_validation_message
from app.extensions import limiter
from app.rounds import services as rounds
from app.rounds.guide import PHASE_NAMES
from app.rounds.history import story_history
from app.rounds.schemas import HistoryArgsSchema, RoundSchema
from app.stories import services
from app.stories.forms import StoryForm
from app.stories.page_cache import passages_html
from app.stories.schemas import StoryCreateSchema

bp = Blueprint("stories", __name__)


@bp.route("/")
def index():
    return render_template("stories/index.html", stories=services.list_stories())


@bp.route("/stories/new", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_WRITE"], methods=["POST"])
def new():
    form = StoryForm()
    if form.validate_on_submit():
        settings = {name: getattr(form, name).data for name in
                    ("proposing_minutes", "voting_minutes", "choosing_minutes", "candidates_k", "training_quorum")
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
    return render_template("stories/show.html", story=story, passages_html=html, round_state=round_state,
                           phase_names=PHASE_NAMES)


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
