"""The library over the API: upload a novel, list and read novels, vote a story's training set."""
from flask_restful import Resource

from app.api import api, json_body
from app.api.auth import caller, login_required
from app.api.limits import rate_limit
from app.novels import services
from app.novels.schemas import (NovelDetailSchema, NovelSchema, NovelUploadSchema, TrainingSetSchema,
                                TrainingVoteInSchema, TrainingVoteOutSchema)
from app.novels.uploads import accepts_upload, uploaded_file

write_limit = rate_limit("RATELIMIT_WRITE")
vote_limit = rate_limit("RATELIMIT_VOTE")


def novel_body(row: dict) -> dict:
    return NovelDetailSchema().dump({**row, "preview": services.preview(row["novel"])})


class NovelList(Resource):
    # Applied in order: accepts_upload (last) runs first, before anything reads the body.
    method_decorators = {"post": [write_limit, login_required, accepts_upload]}

    def get(self):
        return {"novels": NovelSchema(many=True).dump(services.list_novels(caller(required=False)))}

    def post(self):
        data, filename, form = uploaded_file()
        fields = NovelUploadSchema().load(form)
        user = caller()
        novel = services.upload_novel(user, data, filename, **fields)
        return novel_body({"novel": novel, "uploader": user.username, "training": []}), 201


class NovelDetail(Resource):
    def get(self, novel_id: int):
        return novel_body(services.novel_detail(novel_id, caller(required=False)))


class TrainingSet(Resource):
    method_decorators = {"post": [vote_limit, login_required]}

    def get(self, story_id: int):
        story, novels = services.training_set_of(story_id)
        return TrainingSetSchema().dump({"story_id": story.id, "quorum": story.training_quorum, "novels": novels})

    def post(self, story_id: int):
        data = TrainingVoteInSchema().load(json_body())
        result = services.set_training_vote(story_id, data["novel_id"], caller(), data.get("voted"))
        return TrainingVoteOutSchema().dump(result), 200


api.add_resource(NovelList, "/novels")
api.add_resource(NovelDetail, "/novels/<int:novel_id>")
api.add_resource(TrainingSet, "/stories/<int:story_id>/training-set")
