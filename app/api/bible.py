"""A story's bible (인물·배경 노트): list the notes, add, edit, pin and delete them (owner),
suggest one and vote for a suggestion (participants), accept or reject a suggestion (owner),
and the proper nouns the story repeats without a note (owner)."""
from flask_restful import Resource

from app.api import api, json_body
from app.api.auth import caller, login_required
from app.api.limits import rate_limit
from app.stories import bible
from app.stories.schemas import (BibleCandidateListSchema, BibleEntryInSchema, BibleEntryPatchSchema,
                                 BibleEntrySchema, BibleSchema)

WRITES = [rate_limit("RATELIMIT_WRITE"), login_required]
VOTES = [rate_limit("RATELIMIT_VOTE"), login_required]


def bible_body(story_id: int) -> dict:
    return BibleSchema().dump(bible.entries_of(story_id, caller(required=False)))


class Bible(Resource):
    method_decorators = {"post": WRITES}

    def get(self, story_id: int):
        return bible_body(story_id)

    def post(self, story_id: int):
        data = BibleEntryInSchema().load(json_body())
        return BibleEntrySchema().dump(bible.add_entry(story_id, caller(), data)), 201


class Suggest(Resource):
    method_decorators = WRITES

    def post(self, story_id: int):
        data = BibleEntryInSchema().load(json_body())
        return BibleEntrySchema().dump(bible.suggest_entry(story_id, caller(), data)), 201


class Candidates(Resource):
    method_decorators = [login_required]

    def get(self, story_id: int):
        return BibleCandidateListSchema().dump({"candidates": bible.automatic_suggestions(story_id, caller())})


class Entry(Resource):
    method_decorators = WRITES

    def patch(self, story_id: int, entry_id: int):
        data = BibleEntryPatchSchema().load(json_body())
        return BibleEntrySchema().dump(bible.edit_entry(story_id, entry_id, caller(), data))

    def delete(self, story_id: int, entry_id: int):
        bible.delete_entry(story_id, entry_id, caller())
        return bible_body(story_id)


class Accept(Resource):
    method_decorators = WRITES

    def post(self, story_id: int, entry_id: int):
        return BibleEntrySchema().dump(bible.accept_suggestion(story_id, entry_id, caller()))


class Reject(Resource):
    method_decorators = WRITES

    def post(self, story_id: int, entry_id: int):
        bible.reject_suggestion(story_id, entry_id, caller())
        return bible_body(story_id)


class Vote(Resource):
    method_decorators = VOTES

    def post(self, story_id: int, entry_id: int):
        return BibleEntrySchema().dump(bible.vote_for_suggestion(story_id, entry_id, caller()))

    def delete(self, story_id: int, entry_id: int):
        return BibleEntrySchema().dump(bible.withdraw_vote(story_id, entry_id, caller()))


api.add_resource(Bible, "/stories/<int:story_id>/bible")
api.add_resource(Suggest, "/stories/<int:story_id>/bible/suggest")
api.add_resource(Candidates, "/stories/<int:story_id>/bible/suggestions")
api.add_resource(Entry, "/stories/<int:story_id>/bible/<int:entry_id>")
api.add_resource(Accept, "/stories/<int:story_id>/bible/<int:entry_id>/accept")
api.add_resource(Reject, "/stories/<int:story_id>/bible/<int:entry_id>/reject")
api.add_resource(Vote, "/stories/<int:story_id>/bible/<int:entry_id>/vote")
