"""Retraining, preference training and model versions (admins start; everyone may watch)."""
from flask import Response
from flask_restful import Resource

from app.api import api
from app.api.auth import caller, login_required
from app.api.limits import rate_limit
from app.jobs.schemas import JobAcceptedSchema
from app.training import lineage, services
from app.training.preferences import jsonl_lines
from app.training.schemas import ModelVersionListSchema, ModelVersionSchema, PreferenceListSchema

WRITES = [rate_limit("RATELIMIT_WRITE"), login_required]


class Retrain(Resource):
    method_decorators = WRITES

    def post(self, story_id: int):
        job = services.start_retrain(story_id, caller())
        return JobAcceptedSchema().dump({"job_id": job.id}), 202


class Prefer(Resource):
    method_decorators = WRITES

    def post(self, story_id: int):
        job = services.start_preference(story_id, caller())
        return JobAcceptedSchema().dump({"job_id": job.id}), 202


class Preferences(Resource):
    method_decorators = [login_required]

    def get(self, story_id: int):
        rounds = services.preference_data(story_id, caller())
        return PreferenceListSchema().dump({"items": rounds, "rounds": len(rounds),
                                            "pairs": sum(r.pairs for r in rounds)})


class PreferencesExport(Resource):
    method_decorators = [login_required]

    def get(self, story_id: int):
        rounds = services.preference_data(story_id, caller())
        return Response("".join(jsonl_lines(rounds)), mimetype="application/x-ndjson", headers={
            "Content-Disposition": f'attachment; filename="story-{story_id}-preferences.jsonl"'})


class ModelVersions(Resource):
    def get(self, story_id: int):
        latest = services.latest_training_job(story_id)
        return ModelVersionListSchema().dump({"items": services.versions_of(story_id),
                                              "job_id": latest.id if latest else None})


class ActivateVersion(Resource):
    method_decorators = WRITES

    def post(self, story_id: int, version_id: int):
        lineage.activate_version(story_id, version_id, caller())
        version = next(v for v in services.versions_of(story_id) if v["id"] == version_id)
        return ModelVersionSchema().dump(version), 200


api.add_resource(Retrain, "/stories/<int:story_id>/retrain")
api.add_resource(Prefer, "/stories/<int:story_id>/prefer")
api.add_resource(Preferences, "/stories/<int:story_id>/preferences")
api.add_resource(PreferencesExport, "/stories/<int:story_id>/preferences.jsonl")
api.add_resource(ModelVersions, "/stories/<int:story_id>/models")
api.add_resource(ActivateVersion, "/stories/<int:story_id>/models/<int:version_id>/activate")
