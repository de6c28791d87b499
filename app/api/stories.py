from flask import request
from flask_restful import Resource

from app.api import api, json_body
from app.api.auth import caller, login_required
from app.api.limits import rate_limit
from app.stories import services
from app.stories.schemas import (PassageSchema, PassagesArgsSchema, StoryCreateSchema, StoryDetailSchema,
                                 StoryListArgsSchema, StorySettingsSchema, StorySummarySchema)

# flask-restful applies these in order, so login_required (last) runs first and the rate limit
# can key on the caller.
write_limit = rate_limit("RATELIMIT_WRITE")
WRITES = [write_limit, login_required]


def shows_hidden() -> bool:
    viewer = caller(required=False)
    return viewer is not None and viewer.is_admin


def story_body(story) -> dict:
    return StoryDetailSchema().dump(services.StoryPage(story, services.passages_of(story.id, show_hidden=shows_hidden())))


class StoryList(Resource):
    method_decorators = {"post": WRITES}

    def get(self):
        finished = StoryListArgsSchema().load(request.args)["finished"]
        return {"stories": StorySummarySchema(many=True).dump(services.list_stories(finished=finished))}

    def post(self):
        data = StoryCreateSchema().load(json_body())
        story = services.create_story(caller(), data["title"], data["opening"], data["settings"])
        return story_body(story), 201


class StoryDetail(Resource):
    method_decorators = {"patch": WRITES}

    def get(self, story_id: int):
        return story_body(services.get_story(story_id))

    def patch(self, story_id: int):
        settings = StorySettingsSchema().load(json_body().get("settings", {}))
        return story_body(services.update_settings(story_id, caller(), settings))


class PassageList(Resource):
    """Passages after a seq: how a page that is open catches up without a reload."""

    def get(self, story_id: int):
        services.get_story(story_id)
        after = PassagesArgsSchema().load(request.args)["after"]
        return {"passages": PassageSchema(many=True).dump(services.passages_of(story_id, after_seq=after,
                                                                                  show_hidden=shows_hidden()))}


api.add_resource(StoryList, "/stories")
api.add_resource(StoryDetail, "/stories/<int:story_id>")
api.add_resource(PassageList, "/stories/<int:story_id>/passages")
