"""The story bible's page (인물·배경 노트): everyone reads the notes; the owner adds, edits, pins
and deletes them and accepts or rejects suggestions; a signed-in participant suggests one and
votes for the others' suggestions.
Plain forms, so no script is needed; the rules live in app/stories/bible.py."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from app.errors import AppError, first_validation_message
from app.extensions import limiter
from app.stories import bible, services
from app.stories.schemas import BibleEntryInSchema, BibleEntryPatchSchema

bp = Blueprint("bible", __name__)
write_limit = limiter.limit(lambda: current_app.config["RATELIMIT_WRITE"], methods=["POST"])
vote_limit = limiter.limit(lambda: current_app.config["RATELIMIT_VOTE"], methods=["POST"])


@bp.route("/stories/<int:story_id>/bible")
def page(story_id: int):
    story = services.get_story(story_id)
    found = bible.entries_of(story_id, current_user)
    curates = bible.may_curate(story, current_user)
    candidates = bible.automatic_suggestions(story_id, current_user) if curates else []
    return render_template("stories/bible.html", story=story, bible=found, curates=curates, candidates=candidates)


def form_entry(partial: bool = False) -> dict:
    """The form's fields as the API's JSON would carry them: triggers as one comma-separated line."""
    data = {key: request.form[key] for key in ("name", "text") if key in request.form}
    if "triggers" in request.form:
        data["triggers"] = [word.strip() for word in request.form["triggers"].split(",") if word.strip()]
    if not partial or "pinned_field" in request.form:  # an unticked box sends nothing
        data["pinned"] = bool(request.form.get("pinned"))
    schema = BibleEntryPatchSchema() if partial else BibleEntryInSchema()
    return schema.load(data)


def act(story_id: int, do, done: str | None):
    """Run one service call; a refusal or bad input is a Korean message on the page (``done``:
    the message on success, None when ``do`` says it itself)."""
    try:
        do()
    except ValidationError as e:
        flash(first_validation_message(e.messages), "error")
    except AppError as e:
        flash(e.message, "error")
    else:
        if done:
            flash(done, "success")
    return redirect(url_for("bible.page", story_id=story_id))


@bp.route("/stories/<int:story_id>/bible", methods=["POST"])
@login_required
@write_limit
def add(story_id: int):
    name = request.form.get("name", "").strip()
    return act(story_id, lambda: bible.add_entry(story_id, current_user, form_entry()),
               f"「{name}」 노트를 더했습니다.")


@bp.route("/stories/<int:story_id>/bible/suggest", methods=["POST"])
@login_required
@write_limit
def suggest(story_id: int):
    name = request.form.get("name", "").strip()
    return act(story_id, lambda: bible.suggest_entry(story_id, current_user, form_entry()),
               f"「{name}」 노트를 제안했습니다. 이야기 주인이 받아들이거나 찬성이 모이면 AI가 읽습니다.")


@bp.route("/stories/<int:story_id>/bible/<int:entry_id>/edit", methods=["POST"])
@login_required
@write_limit
def edit(story_id: int, entry_id: int):
    return act(story_id, lambda: bible.edit_entry(story_id, entry_id, current_user, form_entry(partial=True)),
               "노트를 고쳤습니다.")


@bp.route("/stories/<int:story_id>/bible/<int:entry_id>/delete", methods=["POST"])
@login_required
@write_limit
def delete(story_id: int, entry_id: int):
    return act(story_id, lambda: bible.delete_entry(story_id, entry_id, current_user), "노트를 지웠습니다.")


@bp.route("/stories/<int:story_id>/bible/<int:entry_id>/accept", methods=["POST"])
@login_required
@write_limit
def accept(story_id: int, entry_id: int):
    return act(story_id, lambda: bible.accept_suggestion(story_id, entry_id, current_user),
               "제안을 노트로 받아들였습니다. 이제 AI가 읽습니다.")


@bp.route("/stories/<int:story_id>/bible/<int:entry_id>/reject", methods=["POST"])
@login_required
@write_limit
def reject(story_id: int, entry_id: int):
    return act(story_id, lambda: bible.reject_suggestion(story_id, entry_id, current_user), "제안을 거절했습니다.")


@bp.route("/stories/<int:story_id>/bible/<int:entry_id>/vote", methods=["POST"])
@login_required
@vote_limit
def vote(story_id: int, entry_id: int):
    def do():
        entry = bible.vote_for_suggestion(story_id, entry_id, current_user)
        if entry.status == "accepted":
            flash(f"표가 모여 「{entry.name}」 노트를 받아들였습니다. 이제 AI가 읽습니다.", "success")
        else:
            flash(f"「{entry.name}」 제안에 찬성했습니다.", "success")

    return act(story_id, do, None)


@bp.route("/stories/<int:story_id>/bible/<int:entry_id>/unvote", methods=["POST"])
@login_required
@vote_limit
def unvote(story_id: int, entry_id: int):
    return act(story_id, lambda: bible.withdraw_vote(story_id, entry_id, current_user), "찬성을 거두었습니다.")
