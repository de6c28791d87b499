"""Pages: a story's training page (anyone may watch) and the admins' job list."""
from flask import Blueprint, abort, render_template
from flask_login import current_user

from app.jobs import services as jobs
from app.jobs.schemas import JobSchema
from app.stories.models import Story
from app.stories.services import get_story
from app.extensions import db
from app.training import services
from app.training.schemas import ModelVersionSchema

bp = Blueprint("training", __name__)


def job_body(job) -> dict | None:
    if job is None:
        return None
    return {**JobSchema().dump(job), "points": jobs.loss_points(job.id)}


@bp.route("/stories/<int:story_id>/training")
def story_training(story_id: int):
    story = get_story(story_id)
    versions = ModelVersionSchema(many=True).dump(services.versions_of(story_id))
    return render_template("training/story.html", story=story, versions=versions,
                           job=job_body(services.latest_training_job(story_id)),
                           is_admin=current_user.is_authenticated and current_user.is_admin)


@bp.route("/admin/jobs")
def admin_jobs():
    if not current_user.is_authenticated:
        abort(401)
    if not current_user.is_admin:
        abort(403)
    recent = jobs.recent_jobs()
    titles = dict(db.session.execute(
        db.select(Story.id, Story.title).where(Story.id.in_({j.story_id for j in recent if j.story_id}))).all())
    return render_template("training/admin_jobs.html", jobs=recent, titles=titles, starter=services.starter_status(),
                           cancellable=jobs.CANCELLABLE_KINDS)
