"""Admin calls under /api/v1/admin: 401 for anonymous callers, 403 for participants, always
checked here on the server (the admin page hides nothing that matters)."""
from functools import wraps

from flask_restful import Resource

from app.admin import services
from app.admin.schemas import AdminUserSchema
from app.api import api
from app.api.auth import caller
from app.api.limits import rate_limit
from app.errors import Forbidden, NotFound
from app.novels.schemas import NovelSchema
from app.novels.services import list_novels
from app.stories.schemas import PassageSchema
from app.stories.services import get_story, passages_of

write_limit = rate_limit("RATELIMIT_WRITE")


def admin_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not caller(required=True).is_admin:
            raise Forbidden("관리자만 할 수 있습니다.", code="admin_only")
        return view(*args, **kwargs)

    return wrapper


ADMIN_READ = [admin_required]
ADMIN_WRITE = [write_limit, admin_required]  # admin_required (last) runs first


class Users(Resource):
    method_decorators = ADMIN_READ

    def get(self):
        return {"users": AdminUserSchema(many=True).dump(services.list_users())}


USER_ACTIONS = {
    "block": lambda admin, user_id: services.set_blocked(admin, user_id, True),
    "unblock": lambda admin, user_id: services.set_blocked(admin, user_id, False),
    "make-admin": lambda admin, user_id: services.make_admin(user_id),
}


class UserAction(Resource):
    method_decorators = ADMIN_WRITE

    def post(self, user_id: int, action: str):
        if action not in USER_ACTIONS:
            raise NotFound("알 수 없는 작업입니다.")
        return AdminUserSchema().dump(USER_ACTIONS[action](caller(), user_id)), 200


class StoryPassages(Resource):
    """Every passage of a story with its text, hidden ones too (marked)."""

    method_decorators = ADMIN_READ

    def get(self, story_id: int):
        get_story(story_id)
        return {"passages": PassageSchema(many=True).dump(passages_of(story_id, show_hidden=True))}


class PassageAction(Resource):
    method_decorators = ADMIN_WRITE

    def post(self, passage_id: int, action: str):
        if action not in ("hide", "restore"):
            raise NotFound("알 수 없는 작업입니다.")
        passage = services.set_passage_hidden(passage_id, action == "hide")
        return {"id": passage.id, "story_id": passage.story_id, "seq": passage.seq, "hidden": passage.hidden}, 200


class Novels(Resource):
    method_decorators = ADMIN_READ

    def get(self):
        return {"novels": NovelSchema(many=True).dump(list_novels(caller()))}


class NovelAction(Resource):
    method_decorators = ADMIN_WRITE

    def post(self, novel_id: int, action: str):
        if action not in ("hide", "restore"):
            raise NotFound("알 수 없는 작업입니다.")
        novel = services.set_novel_status(novel_id, "hidden" if action == "hide" else "visible")
        return {"id": novel.id, "title": novel.title, "status": novel.status}, 200


api.add_resource(Users, "/admin/users")
api.add_resource(UserAction, "/admin/users/<int:user_id>/<string:action>")
api.add_resource(StoryPassages, "/admin/stories/<int:story_id>/passages")
api.add_resource(PassageAction, "/admin/passages/<int:passage_id>/<string:action>")
api.add_resource(Novels, "/admin/novels")
api.add_resource(NovelAction, "/admin/novels/<int:novel_id>/<string:action>")
