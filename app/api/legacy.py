"""``/put_Human_txt``: the original project's call, kept for its clients.

GET is accepted because the old clients use it, but a GET never carries a CSRF token, so
only a Bearer token authenticates it; from the site's own pages use POST."""
from flask import Blueprint, current_app, jsonify, request

from app.api.auth import caller
from app.errors import Invalid
from app.extensions import csrf, limiter
from app.fields import database_id
from app.training.services import start_learning

bp = Blueprint("legacy", __name__)


@bp.route("/put_Human_txt", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_WRITE"])
def put_human_txt():
    user = caller(required=True, allow_session=request.method == "POST")
    args = request.values
    try:
        passage_id = database_id(args.get("contents_id", ""))
    except ValueError:
        raise Invalid("contents_id는 글 번호(1 이상의 정수)여야 합니다.", code="bad_contents_id",
                      fields={"contents_id": ["글 번호"]})
    job = start_learning(passage_id, args.get("is_first", "").upper(), user)
    return jsonify({"job_id": job.id}), 202


csrf.exempt(bp)
