"""The starter base and the judges (admins): pretrain or continue the base, list and switch its
versions, train the judges that rank the AI's candidates."""
from flask_restful import Resource

from app.api import api, optional_body
from app.api.admin import ADMIN_READ
from app.api.auth import caller, login_required
from app.api.limits import rate_limit
from app.jobs.schemas import JobAcceptedSchema
from app.training import bases, judges
from app.training.schemas import BaseListSchema, BaseVersionSchema, JudgesSchema, StarterInSchema

WRITES = [rate_limit("RATELIMIT_WRITE"), login_required]


class StarterPretrain(Resource):
    method_decorators = WRITES

    def post(self):
        data = StarterInSchema().load(optional_body())
        job = bases.start_pretrain(caller(), data["passes"])
        return JobAcceptedSchema().dump({"job_id": job.id}), 202


def base_list() -> dict:
    status = bases.starter_status()
    active = status["active"]
    return BaseListSchema().dump({"active": active["name"] if active else None, "versions": status["versions"],
                                  "library_changed": None if status["base"] is None
                                  else status["library_change"] is not None})


class BaseList(Resource):
    method_decorators = ADMIN_READ

    def get(self):
        return base_list()


class BaseActivate(Resource):
    method_decorators = WRITES

    def post(self, name: str):
        return BaseVersionSchema().dump(bases.activate_base(name, caller())), 200


class Judges(Resource):
    method_decorators = {"get": ADMIN_READ, "post": WRITES}

    def get(self):
        return JudgesSchema().dump(judges.judges_status())

    def post(self):
        job = judges.start_judges(caller())
        return JobAcceptedSchema().dump({"job_id": job.id}), 202


api.add_resource(StarterPretrain, "/admin/starter")
api.add_resource(BaseList, "/admin/bases")
api.add_resource(BaseActivate, "/admin/bases/<string:name>/activate")
api.add_resource(Judges, "/admin/judges")
