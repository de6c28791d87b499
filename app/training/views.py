"""Pages: a story's training page (anyone may watch) and the admins' job list."""
from flask import Blueprint, render_template
from flask_login import current_user

from app.admin.views import admin_page
from app.jobs import services as jobs
from app.jobs.schemas import JobSchema
from app.stories.services import get_story
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
    rows = services.versions_of(story_id)
    is_admin = current_user.is_authenticated and current_user.is_admin
    return render_template("training/story.html", story=story, version_rows=rows,
                           versions=ModelVersionSchema(many=True).dump(rows),
                           job=job_body(services.latest_training_job(story_id)), is_admin=is_admin,
                           preference=services.preference_summary(story_id) if is_admin else None,
                           base_ready=services.resolve_base() is not None)


@bp.route("/admin/jobs")
@admin_page
def admin_jobs():
    starter = services.starter_status()
    return render_template("training/admin_jobs.html", rows=jobs.job_list(current_user), starter=starter,
                           starter_job=job_body(starter["job"]), cancellable=jobs.CANCELLABLE_KINDS)
