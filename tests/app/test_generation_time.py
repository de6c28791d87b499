"""What fits in the generation task's time limit: estimated from this site's own jobs, refused
or shortened up front, followed while the AI writes, explained in Korean when it runs out, and
a failed round that goes on without its owner."""
import time
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from tests.app.training_helpers import Written


@pytest.fixture(autouse=True, params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_kind(request):
    return request.param


class SlowHost:
    """Stands in for the model server: writes K candidates after ``seconds``, or raises ``fail``;
    ``during`` runs while it "writes" (to look at the round from outside)."""

    def __init__(self):
        self.seconds, self.fail, self.during, self.seen = 0.0, None, None, None

    def generate(self, adapter_dir, story_text, keyword, sentences, k, seed=None, judge=None, notes=(), mood=None):
        time.sleep(self.seconds)
        if self.during:
            self.seen = self.during()
        if self.fail:
            raise self.fail
        return [Written(f"{keyword} 이야기 후보 {i}.") for i in range(k)]


@pytest.fixture
def host(monkeypatch):
    fake = SlowHost()
    monkeypatch.setattr("app.training.lineage.resolve_base", lambda: "/fake/base")
    monkeypatch.setattr("worker.models.model_host", lambda base: fake)
    return fake


def rpath(story, tail=""):
    return f"/api/v1/stories/{story['id']}/round{tail}"


def past_jobs(db, story_id, *rates, timed_out=False):
    """Finished generation jobs of this site, as the worker records them."""
    from app.jobs.models import Job

    for rate in rates:
        db.session.add(Job(kind="generate", story_id=story_id, status="failed" if timed_out else "succeeded",
                           params={}, metrics={"seconds_per_sentence": rate, "timed_out": timed_out}))
    db.session.commit()


def run(db, story):
    from app.rounds.machine import current_round_query
    from worker.generation import run_generation

    round_id = db.session.scalar(current_round_query(story["id"])).id
    db.session.commit()
    return run_generation(round_id, None)


def test_a_keyword_proposal_the_ai_cannot_write_in_time_is_refused_with_what_fits(make_story, users, db, app):
    """With no history the site assumes GENERATION_SECONDS_PER_SENTENCE (6 s): five candidates of
    ten sentences, 300 s, do not fit in 80 % of the 300-second limit; eight sentences do."""
    _owner, story = make_story(candidates_k=5)
    p1 = users.make("p1")
    refused = p1.post(rpath(story, "/proposals"), {"keyword": "편지", "sentences": 10})
    assert refused.status_code == 400 and refused.json["error"]["code"] == "too_long_to_write"
    message = refused.json["error"]["message"]
    assert "제한 시간(약 5분)" in message and "8문장 이하로" in message and refused.json["error"]["max_sentences"] == 8
    assert "sentences" in refused.json["error"]["fields"]
    assert p1.post(rpath(story, "/proposals"), {"keyword": "편지", "sentences": 8}).status_code == 201
    assert p1.post(rpath(story, "/proposals"), {"text": "열 문장이 넘는 긴 글도 직접 쓰면 됩니다."}).status_code == 201
    past_jobs(db, story["id"], 1.0, 1.2, 0.8)  # this site's AI turns out to be faster
    assert p1.post(rpath(story, "/proposals"), {"keyword": "편지", "sentences": 10}).status_code == 201


def test_a_time_out_says_so_in_korean_and_makes_the_next_estimate_careful(story_in_phase, host, db, users):
    owner, story, _ = story_in_phase("generating", k=3)
    host.seconds, host.fail = 0.3, SoftTimeLimitExceeded()
    assert run(db, story) == "timed out"
    state = owner.get(rpath(story)).json
    error = state["job"]["error"]
    assert "제한 시간(약 5분) 안에" in error and "문장 수를 줄여" in error
    assert "SoftTimeLimitExceeded" not in state["notice"] and "오류" not in error
    job = owner.get(f"/api/v1/jobs/{state['job']['id']}").json
    assert job["metrics"]["timed_out"] is True and job["metrics"]["seconds_per_sentence"] > 0

    # The time-out said the AI was at least that slow: a faster site's history cannot hide it.
    from app.rounds import estimate

    past_jobs(db, story["id"], 0.01, 0.01)
    recorded = job["metrics"]["seconds_per_sentence"]
    with owner.client.application.app_context():
        assert estimate.seconds_per_sentence() == pytest.approx(recorded)


def test_the_job_is_shortened_to_what_fits_when_the_ai_became_slower(make_story, users, db):
    owner, story = make_story(candidates_k=5)
    p1 = users.make("p1")
    assert p1.post(rpath(story, "/proposals"), {"keyword": "편지", "sentences": 8}).status_code == 201  # 240 s
    owner.post(rpath(story, "/advance"))
    p1.post(rpath(story, "/votes"), {"proposal_id": owner.get(rpath(story)).json["proposals"][0]["id"]})
    past_jobs(db, story["id"], 7.0, timed_out=True)  # meanwhile another round ran out of time
    state = owner.post(rpath(story, "/advance")).json
    assert state["phase"] == "generating"
    assert state["job"]["k"] == 4 and state["job"]["estimate_s"] == pytest.approx(8 * 4 * 7.0)
    assert "AI 후보를 5개 대신 4개" in state["notice"]


def test_while_the_ai_writes_the_round_shows_its_progress_and_time_left(story_in_phase, host, db):
    owner, story, _ = story_in_phase("generating", k=3)
    assert owner.get(rpath(story)).json["job"]["estimate_s"] == pytest.approx(2 * 3 * 6.0)  # before it starts
    host.seconds = 1.5
    host.during = lambda: owner.get(rpath(story)).json["job"]
    assert run(db, story) == "done"
    writing = host.seen
    assert writing["status"] == "running" and 0 < writing["progress"] < 0.95
    assert 30 < writing["eta_s"] < 36 and writing["estimate_s"] == 36
    done = owner.get(f"/api/v1/jobs/{writing['id']}").json
    assert done["metrics"]["seconds_per_sentence"] == pytest.approx(1.5 / 6, abs=0.1)
    assert done["metrics"]["timed_out"] is False and done["progress"] == 1.0


def test_a_failed_round_takes_the_runner_up_by_itself_when_nobody_chooses(story_in_phase, host, db, app):
    from app.database import utcnow
    from worker.tick import tick

    owner, story, _ = story_in_phase("generating")  # a new story's votes are timed
    host.fail = SoftTimeLimitExceeded()
    run(db, story)
    state = owner.get(rpath(story)).json
    assert "3분 안에 아무도 고르지 않으면" in state["notice"] and state["deadline"] is not None
    assert tick(now=utcnow() + timedelta(minutes=2))["recovered"] == 0  # the owner still has time
    assert tick(now=utcnow() + timedelta(minutes=3, seconds=5))["recovered"] == 1
    state = owner.get(rpath(story)).json
    assert state["number"] == 2 and state["phase"] == "proposing"  # p2's passage, the runner-up, joined
    assert owner.get(f"/api/v1/stories/{story['id']}").json["passages"][-1]["author"] == "p2"


def test_with_no_runner_up_left_the_round_goes_back_to_proposing(make_story, users, host, db):
    from app.database import utcnow
    from worker.tick import tick

    owner, story = make_story(voting_minutes=5)
    p1 = users.make("p1")
    p1.post(rpath(story, "/proposals"), {"keyword": "편지", "sentences": 2})
    owner.post(rpath(story, "/advance"))
    p1.post(rpath(story, "/votes"), {"proposal_id": owner.get(rpath(story)).json["proposals"][0]["id"]})
    owner.post(rpath(story, "/advance"))
    host.fail = SoftTimeLimitExceeded()
    run(db, story)
    tick(now=utcnow() + timedelta(minutes=4))
    state = owner.get(rpath(story)).json
    assert state["number"] == 1 and state["phase"] == "proposing" and state["proposals"][0]["keyword"] == "편지"


def test_a_story_run_by_hand_waits_for_its_owner_after_a_failure(story_in_phase, host, db):
    from app.database import utcnow
    from worker.tick import tick

    owner, story, _ = story_in_phase("generating")
    owner.patch(f"/api/v1/stories/{story['id']}", {"settings": {"voting_minutes": 0}})
    host.fail = SoftTimeLimitExceeded()
    run(db, story)
    assert owner.get(rpath(story)).json["deadline"] is None
    tick(now=utcnow() + timedelta(hours=1))
    assert owner.get(rpath(story)).json["phase"] == "generating"
