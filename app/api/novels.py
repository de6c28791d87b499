"""The library over the API: upload a novel, list and read novels, vote a story's training set.

Uploads are one file per request (``file``); the upload page sends one request per chosen file,
so each file is accepted or refused on its own and a refusal never stops the others."""
import hashlib
import json

from flask import current_app, request
from flask_restful import Resource

from app.api import api, json_body
from app.api.auth import caller, login_required
from app.api.limits import rate_limit
from app.novels import services, training_set
from app.novels.library import library_page
from app.novels.schemas import (NovelDetailSchema, NovelListQuerySchema, NovelPageSchema, NovelUploadSchema,
                                TrainingSetSchema, TrainingTallySchema, TrainingVoteInSchema, TrainingVoteOutSchema)
from app.novels.uploads import accepts_upload, uploaded_file

write_limit = rate_limit("RATELIMIT_WRITE")
vote_limit = rate_limit("RATELIMIT_VOTE")


def novel_body(row: dict) -> dict:
    return NovelDetailSchema().dump({**row, "preview": services.preview(row["novel"])})


class NovelList(Resource):
    # Applied in order: accepts_upload (last) runs first, before anything reads the body.
    method_decorators = {"post": [write_limit, login_required, accepts_upload]}

    def get(self):
        args = NovelListQuerySchema().load(request.args.to_dict())
        return NovelPageSchema().dump(library_page(caller(required=False), **args))

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
        return TrainingSetSchema().dump(training_set.training_set_of(story_id))

    def post(self, story_id: int):
        data = TrainingVoteInSchema().load(json_body())
        result = training_set.set_training_vote(story_id, data["novel_id"], caller(), data.get("voted"))
        return TrainingVoteOutSchema().dump(result), 200


class TrainingTally(Resource):
    """Polled every few seconds by the story's novels page: 304 while nothing changed."""

    def get(self, story_id: int):
        body = TrainingTallySchema().dump(training_set.training_tally(story_id, caller(required=False)))
        response = current_app.json.response(body)
        response.set_etag(hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest())
        # my_vote is the caller's: no shared cache may answer for someone else.
        response.headers["Cache-Control"] = "private, no-cache"
        response.vary.update(("Cookie", "Authorization"))
        return response.make_conditional(request)


api.add_resource(NovelList, "/novels")
api.add_resource(NovelDetail, "/novels/<int:novel_id>")
api.add_resource(TrainingSet, "/stories/<int:story_id>/training-set")
api.add_resource(TrainingTally, "/stories/<int:story_id>/training-set/votes")
