"""Pages: a story's training page (anyone may watch) and the admins' job list."""
from flask import Blueprint, render_template
from flask_login import current_user

from app.admin.views import admin_page
from app.jobs import services as jobs
from app.jobs.kinds import CANCELLABLE_KINDS
from app.jobs.schemas import JobSchema
from app.stories.services import get_story
from app.training import bases, judges, lineage, services
from app.training.schemas import BaseVersionSchema, ModelVersionSchema

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
                           base_ready=lineage.resolve_base() is not None)


def bases_context() -> dict:
    """The starter base and judges sections of /admin/jobs (templates/training/_bases.html)."""
    starter, judging = bases.starter_status(), judges.judges_status()
    return {"starter": starter, "judges": judging, "starter_job": job_body(starter["job"]),
            "judge_job": job_body(judging["job"]),
            "curve_versions": BaseVersionSchema(many=True, only=("name", "active", "parent", "curve",
                                                                 "offset_seconds")).dump(starter["versions"])}


@bp.route("/admin/jobs")
@admin_page
def admin_jobs():
    return render_template("training/admin_jobs.html", rows=jobs.job_list(current_user),
                           cancellable=CANCELLABLE_KINDS, **bases_context())


@bp.route("/admin/jobs/bases")
@admin_page
def admin_bases():
    """The same sections alone: the page asks for them again when a pretrain or judges job ends
    or an admin switches the base, so they are written in one place (the template)."""
    return render_template("training/_bases.html", **bases_context())
