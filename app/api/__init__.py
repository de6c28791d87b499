"""The JSON REST API under /api/v1 (flask-restful resources, marshmallow schemas)."""
from flask import Blueprint, request
from flask_restful import Api

from app.api.errors import api_error_response
from app.errors import Invalid

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class RelayApi(Api):
    def handle_error(self, e):
        return api_error_response(e)


# Not catch_all_404s: that hands every unmatched address, /stories/abc included, to the API's JSON
# errors. An unknown /api/ address still gets JSON from the site's own handler (app/__init__.py,
# is_api_request); any other gets the Korean error page.
api = RelayApi(bp)


def json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid("JSON 객체를 본문으로 보내 주세요.", code="bad_json")
    return data


def optional_body() -> dict:
    """The JSON object sent, or {} for an empty body (the buttons send none)."""
    return json_body() if request.get_data() else {}


from app.api import accounts, admin, bases, bible, chapters, jobs, novels, rounds, stories, training, openapi  # noqa: E402,F401  (registers resources)
