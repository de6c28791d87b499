"""A polled round that has not changed costs no query: with Redis, every committed change to a
story's round moves its revision, and the poll's ETag is that revision and who asks. The round
as everyone sees it is read at most once every ROUND_CACHE_SECONDS (0 here, but where a test
says otherwise)."""
import uuid

import pytest
from sqlalchemy import event

from tests.app.conftest import ApiClient
from tests.conftest import REDIS_URL, reachable_redis

pytestmark = pytest.mark.redis


@pytest.fixture
def site_overrides():
    # The ETag's turn (ROUND_ETAG_SECONDS) spans decades here, so two polls a moment apart never
    # straddle a turn; the one test about turning over moves the clock itself.
    return {"REDIS_URL": reachable_redis(), "REDIS_KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}:", "ROUND_CACHE_SECONDS": 0,
            "ROUND_ETAG_SECONDS": 10**9}


def rpath(story, tail=""):
    return f"/api/v1/stories/{story['id']}/round{tail}"


class Queries:
    """Counts the SQL statements the app's engine runs while it is entered."""

    def __init__(self, app):
        from app.extensions import db

        with app.app_context():
            self.engine = db.engine
        self.count = 0

    def _count(self, *args):
        self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


def poll(client: ApiClient, story, etag: str):
    return client.get(rpath(story), headers={"If-None-Match": etag})


def test_an_unchanged_round_is_answered_304_without_a_query(app, story_in_phase, anonymous):
    _owner, story, (p1, _p2) = story_in_phase("voting")
    theirs, strangers = p1.get(rpath(story)), anonymous.get(rpath(story))
    assert theirs.status_code == strangers.status_code == 200
    with Queries(app) as queries:
        again = poll(p1, story, theirs.headers["ETag"])
        again_anonymous = poll(anonymous, story, strangers.headers["ETag"])
    assert again.status_code == again_anonymous.status_code == 304
    assert again.headers["ETag"] == theirs.headers["ETag"]
    assert queries.count == 0


def test_while_votes_pour_in_the_round_is_read_once_in_a_while(app, story_in_phase, anonymous, users):
    import time

    # long enough that a loaded machine serves the second vote and the polls after it within it
    app.config["ROUND_CACHE_SECONDS"] = 2.0
    _owner, story, (p1, p2) = story_in_phase("voting")
    proposal_id = anonymous.get(rpath(story)).json["proposals"][0]["id"]
    time.sleep(2.1)
    p2.post(rpath(story, "/votes"), {"proposal_id": proposal_id})
    with Queries(app) as first:  # the first poll after a change reads the round
        built = anonymous.get(rpath(story))
    users.make("v1").post(rpath(story, "/votes"), {"proposal_id": proposal_id})
    with Queries(app) as later:  # another vote at once: the pages get the round as it was saved
        saved = anonymous.get(rpath(story))
        not_modified = poll(anonymous, story, built.headers["ETag"])
    with Queries(app) as own:  # a signed-in caller: who they are and their own vote
        voter = p2.get(rpath(story))
    assert built.json["proposals"][0]["votes"] == saved.json["proposals"][0]["votes"] == 1
    assert not_modified.status_code == 304
    assert later.count == 0 < own.count < first.count
    assert voter.json["my_vote"]["proposal_id"] == proposal_id
    assert [p["mine"] for p in voter.json["proposals"]] == [False, True]  # p2 wrote the second proposal
    assert saved.json["my_vote"] is None and not any(p["mine"] for p in saved.json["proposals"])
    time.sleep(2.1)  # no older than ROUND_CACHE_SECONDS: then the second vote shows
    assert poll(anonymous, story, built.headers["ETag"]).json["proposals"][0]["votes"] == 2


def test_every_change_to_the_round_moves_the_etag(app, story_in_phase, anonymous, users):
    from app.rounds import events
    from worker.reporting import TimedReporter

    owner, story, (p1, p2) = story_in_phase("proposing")

    def etag():
        return anonymous.get(rpath(story)).headers["ETag"]

    seen = [etag()]

    def moved_by(action):
        before = seen[-1]
        action()
        seen.append(etag())
        response = poll(anonymous, story, before)
        assert response.status_code == 200, "a change left the old ETag valid"
        return response.json

    moved_by(lambda: p1.post(rpath(story, "/proposals"), {"keyword": "편지", "sentences": 1}))
    moved_by(lambda: owner.patch(f"/api/v1/stories/{story['id']}", {"settings": {"candidates_k": 2}}))
    round_ = moved_by(lambda: owner.post(rpath(story, "/advance")))
    assert round_["phase"] == "voting"
    round_ = moved_by(lambda: p2.post(rpath(story, "/votes"), {"proposal_id": round_["proposals"][0]["id"]}))
    assert round_["proposals"][0]["votes"] == 1

    def progress():  # the worker writing the round's candidates reports how far it is
        with app.app_context():
            TimedReporter(job_id=0, story_id=story["id"], estimate_s=10).flush()
    moved_by(progress)
    assert len(set(seen)) == len(seen)
    with app.app_context():
        assert events.revision(story["id"]) is not None


def test_the_etag_is_the_askers_own(story_in_phase):
    """The answer holds who asks (their vote, their proposal): one's ETag is not another's."""
    _owner, story, (p1, p2) = story_in_phase("voting")
    mine = p1.get(rpath(story))
    theirs = poll(p2, story, mine.headers["ETag"])
    assert theirs.status_code == 200
    assert [p["mine"] for p in theirs.json["proposals"]] != [p["mine"] for p in mine.json["proposals"]]


def test_a_revision_redis_lost_starts_where_no_page_has_been(app, story_in_phase, anonymous):
    import redis

    from app.rounds import events

    _owner, story, _people = story_in_phase("voting")
    before = anonymous.get(rpath(story)).headers["ETag"]
    with app.app_context():
        redis.Redis.from_url(REDIS_URL).delete(events.revision_key(story["id"]))
    assert poll(anonymous, story, before).status_code == 200


def test_the_etag_turns_over_for_what_no_change_marks(app, story_in_phase, anonymous, monkeypatch):
    import time

    _owner, story, _people = story_in_phase("proposing")
    before = anonymous.get(rpath(story)).headers["ETag"]
    later = time.time() + app.config["ROUND_ETAG_SECONDS"]
    monkeypatch.setattr("app.api.rounds.time.time", lambda: later)
    assert poll(anonymous, story, before).status_code == 200
