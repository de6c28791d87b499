from flask_restful import Resource

from app.api import api
from app.errors import NotFound
from app.extensions import db
from app.jobs.models import Job
from app.jobs.schemas import JobSchema


class JobDetail(Resource):
    def get(self, job_id: int):
        job = db.session.get(Job, job_id)
        if job is None:
            raise NotFound("작업을 찾을 수 없습니다.")
        return JobSchema().dump(job)


api.add_resource(JobDetail, "/jobs/<int:job_id>")
