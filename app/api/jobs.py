from flask import request
from flask_restful import Resource

from app.api import api
from app.api.auth import caller, login_required
from app.api.limits import rate_limit
from app.jobs import services
from app.jobs.schemas import JobSchema, LossPointSchema

JOB, POINTS = JobSchema(), LossPointSchema(many=True)


class JobDetail(Resource):
    """Polled every ~2 s by the training pages: status, progress, metrics and the loss curve."""

    def get(self, job_id: int):
        job = services.get_job(job_id)
        return {**JOB.dump(job), "points": POINTS.dump(services.loss_points(job.id))}


class JobCancel(Resource):
    method_decorators = [rate_limit("RATELIMIT_WRITE"), login_required]

    def post(self, job_id: int):
        return JOB.dump(services.cancel(job_id, caller())), 200


class AdminJobList(Resource):
    """Admin: the latest jobs (``?limit=``, at most 100), polled by /admin/jobs to follow them
    (JobListSchema: each job as GET /jobs/<id> has it, without points, plus its story's title)."""

    method_decorators = [login_required]

    def get(self):
        rows = services.job_list(caller(), request.args.get("limit", 100, type=int))
        return {"items": [{**JOB.dump(row["job"]), "story_title": row["story_title"]} for row in rows]}


api.add_resource(AdminJobList, "/admin/jobs")
api.add_resource(JobDetail, "/jobs/<int:job_id>")
api.add_resource(JobCancel, "/jobs/<int:job_id>/cancel")
