import hashlib
import json
import time

from flask import Response, current_app, request, session
from flask_restful import Resource

from app.api import api, bp, json_body
from app.api.auth import caller, login_required
from app.api.limits import rate_limit
from app.database import utcnow
from app.rounds import events, services
from app.stories.services import get_story
from app.rounds.history import story_history
from app.rounds.schemas import (HistoryArgsSchema, HistorySchema, ProposalInSchema, ProposalOutSchema, RecoverInSchema,
                                RoundSchema, VoteInSchema, VoteOutSchema)

# Schemas are stateless once built; the hot paths (votes, polling) reuse one instance each.
ROUND, VOTE_IN, VOTE_OUT = RoundSchema(), VoteInSchema(), VoteOutSchema()
PROPOSAL_IN, PROPOSAL_OUT = ProposalInSchema(), ProposalOutSchema()
write_limit = rate_limit("RATELIMIT_WRITE")
vote_limit = rate_limit("RATELIMIT_VOTE")


class CurrentRound(Resource):
    """Polled by story pages without a live stream: answers 304 when nothing changed.

    With Redis, the ETag is the story's revision (app/rounds/events.py) and who asks, so the 304
    is decided before any query. The part of the answer that is everyone's is built at most once
    every ROUND_CACHE_SECONDS per story and saved in Redis with the revision it was built at (its
    ETag): while votes pour in, the revision moves with each, but the round is not read for
    each. Only the caller's own vote is read for them. The ETag also turns over
    every ROUND_ETAG_SECONDS, for what no change of the story marks (the site's writing speed,
    which bounds a proposal's length). Without Redis, the ETag is a hash of the answer."""

    def get(self, story_id: int):
        revision = events.revision(story_id)
        if revision is None:
            body = ROUND.dump(services.snapshot(story_id, caller(required=False)))
            return _answer(body, _etag(body))
        current = _tag(story_id, revision)
        if current in request.if_none_match:
            return _not_modified(current)
        turn = _turn()
        saved = events.cached_round(story_id, turn)
        if saved is None:
            state = services.shared_state(story_id)
            saved = {"revision": revision, "round": ROUND.dump(state), "owner_id": state["owner_id"],
                     "proposal_users": [p["user_id"] for p in state["proposals"]]}
            events.cache_round(story_id, turn, saved, current_app.config["ROUND_CACHE_SECONDS"])
        tag = _tag(story_id, saved["revision"])
        if tag in request.if_none_match:  # the page has what is saved; a newer one is due soon
            return _not_modified(tag)
        return _answer(_with_own_part(saved, caller(required=False)), tag)


def _not_modified(tag: str):
    return Response(status=304, headers={"ETag": f'"{tag}"', "Cache-Control": "no-cache"})


def _answer(body: dict, tag: str):
    response = current_app.json.response(body)
    response.set_etag(tag)
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


def _turn() -> int:
    return int(time.time() // current_app.config["ROUND_ETAG_SECONDS"])


def _tag(story_id: int, revision: int) -> str:
    return f"{story_id}.{revision}.{_turn()}.{_who()}"


def _who() -> str:
    # Who asks, without a query: the answer holds their own vote and proposal.
    token = request.headers.get("Authorization", "")
    return hashlib.sha1(token.encode()).hexdigest()[:12] if token else str(session.get("_user_id") or "-")


def _with_own_part(saved: dict, user) -> dict:
    """The shared answer with the caller's own vote, proposal and right to advance."""
    body = dict(saved["round"])
    own = services.own_part(body["id"], body["phase"], saved["owner_id"], user)
    body.update(ROUND.dump({"my_vote": own["my_vote"], "can_advance": own["can_advance"], "now": utcnow()}))
    body["proposals"] = [{**p, "mine": user is not None and user_id == user.id}
                         for p, user_id in zip(body["proposals"], saved["proposal_users"])]
    return body


def _etag(body: dict) -> str:
    # The clock moves every call; leave it out of the ETag so an idle round answers 304.
    stable = {k: v for k, v in body.items() if k != "now"}
    return hashlib.sha1(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()


class Proposals(Resource):
    method_decorators = [write_limit, login_required]

    def post(self, story_id: int):
        data = PROPOSAL_IN.load(json_body())
        proposal = services.propose(story_id, caller(), **data)
        body = {"id": proposal.id, "keyword": proposal.keyword, "sentences": proposal.sentences,
                "text": proposal.text, "text_sentences": None, "author": caller().username, "votes": 0, "mine": True}
        return PROPOSAL_OUT.dump(body), 201


class Votes(Resource):
    method_decorators = [vote_limit, login_required]

    def post(self, story_id: int):
        data = VOTE_IN.load(json_body())
        return VOTE_OUT.dump(services.vote(story_id, caller(), **data)), 200


class Advance(Resource):
    method_decorators = [write_limit, login_required]

    def post(self, story_id: int):
        services.advance(story_id, caller())
        return ROUND.dump(services.snapshot(story_id, caller())), 200


class Recover(Resource):
    """A failed generation: retry, the runner-up proposal, or back to proposing (owner/admin)."""
    method_decorators = [write_limit, login_required]

    def post(self, story_id: int):
        data = RecoverInSchema().load(json_body())
        services.recover(story_id, caller(), data["action"])
        return ROUND.dump(services.snapshot(story_id, caller())), 200


class History(Resource):
    """The story's closed rounds, newest first: proposals and votes, candidates and the choice."""

    def get(self, story_id: int):
        args = HistoryArgsSchema().load(request.args)
        viewer = caller(required=False)
        return HistorySchema().dump(story_history(story_id, args["page"],
                                                  show_hidden=viewer is not None and viewer.is_admin))


api.add_resource(CurrentRound, "/stories/<int:story_id>/round")
api.add_resource(History, "/stories/<int:story_id>/rounds")
api.add_resource(Proposals, "/stories/<int:story_id>/round/proposals")
api.add_resource(Votes, "/stories/<int:story_id>/round/votes")
api.add_resource(Advance, "/stories/<int:story_id>/round/advance")
api.add_resource(Recover, "/stories/<int:story_id>/round/recover")
