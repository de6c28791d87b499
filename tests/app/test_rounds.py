import base64
import json
import os
from datetime import timedelta

import pytest
from sqlalchemy import func, select


@pytest.fixture(autouse=True, params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_kind(request):
    """Every test here runs on SQLite and again on PostgreSQL (a schema of its own)."""
    return request.param


def rpath(story, tail=""):
    return f"/api/v1/stories/{story['id']}/round{tail}"


def test_proposal_is_one_per_user_and_editable(story_in_phase):
    _owner, story, (p1, _p2) = story_in_phase("proposing")
    first = p1.post(rpath(story, "/proposals"), {"keyword": "편지", "sentences": 2})
    assert first.status_code == 201
    second = p1.post(rpath(story, "/proposals"), {"text": "그는 편지를 접어 주머니에 넣었다."})
    assert second.status_code == 201 and second.json["id"] == first.json["id"]
    proposals = p1.get(rpath(story)).json["proposals"]
    assert len(proposals) == 1
    assert proposals[0]["text"] == "그는 편지를 접어 주머니에 넣었다." and proposals[0]["keyword"] is None
    assert proposals[0]["mine"] is True and proposals[0]["author"] == "p1"


def test_bad_proposals_are_400(story_in_phase):
    _owner, story, (p1, _p2) = story_in_phase("proposing")
    for body, field in [({"keyword": "편지"}, "sentences"), ({"sentences": 2}, "keyword"),
                        ({"keyword": "편지", "sentences": 11}, "sentences"), ({"keyword": "편지", "sentences": 0}, "sentences"),
                        ({"keyword": "가" * 21, "sentences": 1}, "keyword"), ({"keyword": "  ", "sentences": 1}, "keyword"),
                        ({"text": "가" * 2001}, "text"), ({"text": "글", "keyword": "편지", "sentences": 1}, "text"),
                        ({"keyword": "편지", "sentences": 2, "mood": "우울"}, "mood"),
                        ({"text": "그는 웃었다.", "mood": "기쁨"}, "text"), ({}, "keyword")]:
        response = p1.post(rpath(story, "/proposals"), body)
        assert response.status_code == 400, body
        assert field in response.json["error"]["fields"], (body, response.json)
    assert p1.get(rpath(story)).json["proposals"] == []


def test_a_keyword_proposal_may_ask_for_a_mood_which_its_generation_job_carries(story_in_phase, anonymous, db):
    from app.jobs.models import Job

    owner, story, (p1, p2) = story_in_phase("proposing")
    bad = p1.post(rpath(story, "/proposals"), {"keyword": "편지", "sentences": 2, "mood": "우울"})
    assert "분위기는 기쁨, 슬픔" in bad.json["error"]["fields"]["mood"][0]
    assert p1.post(rpath(story, "/proposals"), {"keyword": "편지", "sentences": 2, "mood": "슬픔"}).status_code == 201
    assert p2.post(rpath(story, "/proposals"), {"keyword": "기차", "sentences": 1, "mood": None}).status_code == 201
    moods = {p["keyword"]: p["mood"] for p in anonymous.get(rpath(story)).json["proposals"]}
    assert moods == {"편지": "슬픔", "기차": None}
    assert owner.post(rpath(story, "/advance")).status_code == 200
    letter = next(p["id"] for p in anonymous.get(rpath(story)).json["proposals"] if p["keyword"] == "편지")
    assert p2.post(rpath(story, "/votes"), {"proposal_id": letter}).status_code == 200
    state = owner.post(rpath(story, "/advance")).json
    params = db.session.get(Job, state["job"]["id"]).params
    assert params["mood"] == "슬픔" and params["keyword"] == "편지"


def test_proposing_outside_the_proposing_phase_is_409(story_in_phase, users):
    _owner, story, _ = story_in_phase("voting")
    late = users.make("late")
    response = late.post(rpath(story, "/proposals"), {"keyword": "늦음", "sentences": 1})
    assert response.status_code == 409 and response.json["error"]["code"] == "wrong_phase"


def test_only_owner_or_admin_advances(story_in_phase, users):
    _owner, story, (p1, _p2) = story_in_phase("proposing")
    p1.post(rpath(story, "/proposals"), {"keyword": "편지", "sentences": 2})
    response = p1.post(rpath(story, "/advance"))
    assert response.status_code == 403 and response.json["error"]["code"] == "not_owner"
    admin = users.make("admin", role="admin")
    assert admin.post(rpath(story, "/advance")).json["phase"] == "voting"


def test_advancing_with_nothing_to_decide_is_409(story_in_phase):
    owner, story, _ = story_in_phase("proposing")
    response = owner.post(rpath(story, "/advance"))
    assert response.status_code == 409 and response.json["error"]["code"] == "nothing_to_decide"
    assert owner.get(rpath(story)).json["phase"] == "proposing"


def test_second_vote_moves_the_first(story_in_phase):
    _owner, story, (p1, p2) = story_in_phase("voting")
    a, b = [p["id"] for p in p1.get(rpath(story)).json["proposals"]]
    assert p1.post(rpath(story, "/votes"), {"proposal_id": a}).status_code == 200
    assert p2.post(rpath(story, "/votes"), {"proposal_id": a}).status_code == 200
    assert p1.post(rpath(story, "/votes"), {"proposal_id": b}).status_code == 200
    state = p1.get(rpath(story)).json
    assert {p["id"]: p["votes"] for p in state["proposals"]} == {a: 1, b: 1}
    assert state["my_vote"] == {"stage": "proposal", "proposal_id": b, "candidate_id": None}


def test_vote_is_unique_in_the_database(story_in_phase, db):
    from sqlalchemy.exc import IntegrityError

    from app.rounds.models import Vote

    _owner, story, (p1, _p2) = story_in_phase("voting")
    a = p1.get(rpath(story)).json["proposals"][0]["id"]
    p1.post(rpath(story, "/votes"), {"proposal_id": a})
    db.session.add(Vote(round_id=p1.get(rpath(story)).json["id"], stage="proposal", user_id=p1.user_id, proposal_id=a))
    try:
        db.session.commit()
        raise AssertionError("a second vote row was accepted")
    except IntegrityError:
        db.session.rollback()


def test_ties_go_to_the_earliest_proposal_and_a_human_winner_is_appended(story_in_phase, users, db):
    from app.stories.models import TrainingText

    owner, story, (p1, p2) = story_in_phase("voting")
    keyword_id, text_id = [p["id"] for p in p1.get(rpath(story)).json["proposals"]]
    # One vote each: the tie goes to the earlier (keyword) proposal...
    p1.post(rpath(story, "/votes"), {"proposal_id": text_id})
    p2.post(rpath(story, "/votes"), {"proposal_id": keyword_id})
    # ...unless the hand-written one has more votes.
    users.make("p3").post(rpath(story, "/votes"), {"proposal_id": text_id})
    state = owner.post(rpath(story, "/advance")).json
    assert state["number"] == 2 and state["phase"] == "proposing"
    passages = owner.get(f"/api/v1/stories/{story['id']}").json["passages"]
    assert passages[-1]["text"] == "바람이 불자 편지가 저절로 펼쳐졌다."
    assert passages[-1]["author_kind"] == "human" and passages[-1]["author"] == "p2" and passages[-1]["seq"] == 2
    assert db.session.scalar(select(TrainingText).where(TrainingText.passage_id == passages[-1]["id"])) is not None


def test_tie_goes_to_the_earliest(story_in_phase):
    owner, story, (p1, p2) = story_in_phase("voting")
    keyword_id, text_id = [p["id"] for p in p1.get(rpath(story)).json["proposals"]]
    p1.post(rpath(story, "/votes"), {"proposal_id": text_id})
    p2.post(rpath(story, "/votes"), {"proposal_id": keyword_id})
    state = owner.post(rpath(story, "/advance")).json
    assert state["phase"] == "generating" and state["number"] == 1


def test_keyword_winner_starts_a_generation_job_on_the_gpu_queue(story_in_phase, make_story, users, app, anonymous):
    make_story(users.make("someone_else"))  # another story first, so that round and job ids differ
    _owner, story, _ = story_in_phase("generating", k=4)
    state = anonymous.get(rpath(story)).json
    assert state["phase"] == "generating" and state["job"]["status"] == "queued"
    job = anonymous.get(f"/api/v1/jobs/{state['job']['id']}").json
    assert job["kind"] == "generate" and job["status"] == "queued" and job["progress"] == 0
    queue = os.path.join(app.config["BROKER_DIR"], "queue")
    messages = [name for name in os.listdir(queue) if name.endswith(".gpu.msg")]
    assert len(messages) == 1  # sent after the commit, to the gpu queue
    with open(os.path.join(queue, messages[0])) as f:
        message = json.load(f)
    args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert message["headers"]["task"] == "relay.generate_candidates" and args == [state["id"]]  # the round id


def test_votes_for_another_rounds_proposal_or_unknown_ids(story_in_phase, make_story, users):
    _owner, story, (p1, _p2) = story_in_phase("voting")
    other_owner = users.make("other_owner")
    _o, other = make_story(other_owner)
    foreign = users.make("foreign")
    foreign.post(rpath(other, "/proposals"), {"keyword": "남의것", "sentences": 1})
    foreign_id = foreign.get(rpath(other)).json["proposals"][0]["id"]
    response = p1.post(rpath(story, "/votes"), {"proposal_id": foreign_id})
    assert response.status_code == 400 and response.json["error"]["code"] == "target_not_in_round"
    assert p1.post(rpath(story, "/votes"), {"proposal_id": 987654}).status_code == 404
    assert p1.post(rpath(story, "/votes"), {"proposal_id": "1"}).status_code == 400
    assert p1.post(rpath(story, "/votes"), {}).status_code == 400
    response = p1.post(rpath(story, "/votes"), {"candidate_id": 1})
    assert response.status_code == 409 and response.json["error"]["code"] == "wrong_phase"
    assert all(p["votes"] == 0 for p in p1.get(rpath(story)).json["proposals"])


def test_choosing_appends_the_winning_candidate_with_its_model_version(story_in_phase):
    owner, story, (p1, p2) = story_in_phase("choosing", k=3)
    state = p1.get(rpath(story)).json
    assert [c["text"] for c in state["candidates"]] == ["후보 0 편지가 말했다.", "후보 1 편지가 말했다.", "후보 2 편지가 말했다."]
    c0, c1, _c2 = [c["id"] for c in state["candidates"]]
    p1.post(rpath(story, "/votes"), {"candidate_id": c1})
    p2.post(rpath(story, "/votes"), {"candidate_id": c0})
    p2.post(rpath(story, "/votes"), {"candidate_id": c1})
    assert p1.post(rpath(story, "/votes"), {"proposal_id": 1}).status_code == 409
    state = owner.post(rpath(story, "/advance")).json
    assert state["number"] == 2 and state["phase"] == "proposing"
    last = owner.get(f"/api/v1/stories/{story['id']}").json["passages"][-1]
    assert last["text"] == "후보 1 편지가 말했다." and last["author_kind"] == "ai"
    assert last["author"] == "AI" and last["model_version"] == "기본 모델"


def test_advance_while_generating_is_409_until_the_job_fails(story_in_phase, app):
    from app.extensions import db
    from app.rounds import machine

    owner, story, _ = story_in_phase("generating")
    response = owner.post(rpath(story, "/advance"))
    assert response.status_code == 409 and response.json["error"]["code"] == "generating"
    job_id = owner.get(rpath(story)).json["job"]["id"]
    with app.app_context():
        machine.generation_failed(job_id, "키워드를 넣은 문장을 만들지 못했습니다")
        db.session.remove()
    state = owner.get(rpath(story)).json
    assert state["job"]["status"] == "failed" and "실패" in state["notice"]
    retried = owner.post(rpath(story, "/advance")).json
    assert retried["phase"] == "generating" and retried["job"]["id"] != job_id
    assert retried["job"]["status"] == "queued" and retried["notice"] is None


def test_deadline_tick_advances_and_renews_empty_phases(app, users, make_story, db):
    from app.database import utcnow
    from worker.tick import tick

    owner, story = make_story(proposing_minutes=10, voting_minutes=10)
    state = owner.get(rpath(story)).json
    assert state["deadline"] is not None
    later = utcnow() + timedelta(minutes=11)
    tick(now=later)  # no proposal: proposing stays open with a fresh deadline
    state = owner.get(rpath(story)).json
    assert state["phase"] == "proposing"
    users.make("p1").post(rpath(story, "/proposals"), {"keyword": "눈", "sentences": 1})
    assert tick(now=later)["advanced"] == 0  # the renewed deadline is not due yet
    result = tick(now=later + timedelta(minutes=11))
    assert result["advanced"] == 1 and owner.get(rpath(story)).json["phase"] == "voting"


def test_manual_phases_have_no_deadline_and_the_tick_leaves_them(make_story, users, db):
    from app.database import utcnow
    from worker.tick import tick

    owner, story = make_story(proposing_minutes=0, voting_minutes=0, choosing_minutes=0)
    users.make("p1").post(rpath(story, "/proposals"), {"keyword": "눈", "sentences": 1})
    assert owner.get(rpath(story)).json["deadline"] is None
    tick(now=utcnow() + timedelta(days=30))
    assert owner.get(rpath(story)).json["phase"] == "proposing"


def test_round_poll_answers_304_when_nothing_changed(story_in_phase, anonymous):
    _owner, story, (p1, _p2) = story_in_phase("voting")
    first = anonymous.get(rpath(story))
    etag = first.headers["ETag"]
    again = anonymous.get(rpath(story), headers={"If-None-Match": etag})
    assert again.status_code == 304
    p1.post(rpath(story, "/votes"), {"proposal_id": first.json["proposals"][0]["id"]})
    changed = anonymous.get(rpath(story), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json["proposals"][0]["votes"] == 1


def test_session_calls_from_the_page_need_the_csrf_header(users, make_story):
    _owner, story = make_story()
    browser = users.signed_in("pagey")
    body = {"keyword": "달빛", "sentences": 2}
    refused = browser.post(rpath(story, "/proposals"), json=body)
    assert refused.status_code == 400 and refused.json["error"]["code"] == "csrf"
    accepted = browser.post(rpath(story, "/proposals"), json=body, headers={"X-CSRFToken": browser.csrf})
    assert accepted.status_code == 201
    assert browser.get(rpath(story)).json["proposals"][0]["mine"] is True


def test_failed_write_leaves_nothing_half_written(story_in_phase, db, monkeypatch):
    """A failure after the first statements of a transition rolls all of it back."""
    from app.rounds import machine
    from app.stories.models import Passage

    owner, story, (p1, _p2) = story_in_phase("voting")
    text_id = p1.get(rpath(story)).json["proposals"][1]["id"]
    p1.post(rpath(story, "/votes"), {"proposal_id": text_id})

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(machine, "_close_and_open_next", explode)
    owner.client.application.config["PROPAGATE_EXCEPTIONS"] = False
    assert owner.post(rpath(story, "/advance")).status_code == 500
    monkeypatch.undo()
    assert db.session.scalar(select(func.count()).select_from(Passage)) == 1  # the passage was not kept
    state = owner.get(rpath(story)).json
    assert state["phase"] == "voting" and state["number"] == 1
    assert owner.post(rpath(story, "/advance")).json["number"] == 2


def test_runs_on_the_database_it_says(app, database_kind):
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql" if database_kind == "postgres" else "sqlite")


def test_a_hand_written_proposal_gets_its_sentences_counted_by_a_worker(story_in_phase, app, db):
    from worker.counting import count_proposal_sentences

    _owner, story, (p1, _p2) = story_in_phase("proposing")
    text = "\"어디 가니?\" 하고 그가 물었다. 나는 대답하지 않고 창밖을 보았다."
    proposal_id = p1.post(rpath(story, "/proposals"), {"text": text}).json["id"]
    queue = os.path.join(app.config["BROKER_DIR"], "queue")
    assert [n for n in os.listdir(queue) if n.endswith(".celery.msg")]  # sent to the light queue
    assert p1.get(rpath(story)).json["proposals"][0]["text_sentences"] is None  # not counted in the web
    assert count_proposal_sentences(proposal_id) == 2
    assert p1.get(rpath(story)).json["proposals"][0]["text_sentences"] == 2
    p1.post(rpath(story, "/proposals"), {"text": "고친 글 한 문장."})
    assert p1.get(rpath(story)).json["proposals"][0]["text_sentences"] is None  # edited: counted again later


# --- a timed phase ends early once everyone active has voted ---------------------------------

def timed_voting(make_story, users, minutes=10):
    """A timed story in voting: p1 and p2 proposed (a keyword, a passage)."""
    owner, story = make_story(proposing_minutes=minutes, voting_minutes=minutes, choosing_minutes=minutes)
    p1, p2 = users.make("p1"), users.make("p2")
    assert p1.post(rpath(story, "/proposals"), {"keyword": "편지", "sentences": 2}).status_code == 201
    assert p2.post(rpath(story, "/proposals"), {"text": "바람이 불자 편지가 저절로 펼쳐졌다."}).status_code == 201
    assert owner.post(rpath(story, "/advance")).json["phase"] == "voting"
    return owner, story, p1, p2


def seconds_left(state) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(state["deadline"]) - datetime.fromisoformat(state["now"])).total_seconds()


def test_when_everyone_active_has_voted_the_phase_ends_seconds_later(make_story, users, app, db):
    from app.database import utcnow
    from worker.tick import tick

    owner, story, p1, p2 = timed_voting(make_story, users)
    keyword_id, text_id = [p["id"] for p in owner.get(rpath(story)).json["proposals"]]
    assert p1.post(rpath(story, "/votes"), {"proposal_id": text_id}).status_code == 200
    assert seconds_left(owner.get(rpath(story)).json) > 500  # p2 has not voted yet
    assert p2.post(rpath(story, "/votes"), {"proposal_id": text_id}).status_code == 200
    state = owner.get(rpath(story)).json
    assert state["phase"] == "voting" and 0 < seconds_left(state) <= app.config["ROUND_EARLY_END_SECONDS"]
    assert p1.post(rpath(story, "/votes"), {"proposal_id": keyword_id}).status_code == 200  # still movable
    tick(now=utcnow() + timedelta(seconds=app.config["ROUND_EARLY_END_SECONDS"] + 1))
    assert owner.get(rpath(story)).json["phase"] == "generating"  # 1-1: the earlier (keyword) one


def test_choosing_ends_early_too_and_the_next_round_waits_for_the_last_rounds_crowd(make_story, users, app, db):
    from app.database import utcnow
    from worker.tick import tick
    from tests.app.conftest import finish_generation

    owner, story, p1, p2 = timed_voting(make_story, users)
    keyword_id = owner.get(rpath(story)).json["proposals"][0]["id"]
    p1.post(rpath(story, "/votes"), {"proposal_id": keyword_id})
    p2.post(rpath(story, "/votes"), {"proposal_id": keyword_id})
    owner.post(rpath(story, "/advance"))
    finish_generation(app, story["id"], ["후보 하나 편지가 왔다.", "후보 둘 편지가 갔다."])
    first = owner.get(rpath(story)).json["candidates"][0]["id"]
    p1.post(rpath(story, "/votes"), {"candidate_id": first})
    assert seconds_left(owner.get(rpath(story)).json) > 500
    p2.post(rpath(story, "/votes"), {"candidate_id": first})
    tick(now=utcnow() + timedelta(seconds=app.config["ROUND_EARLY_END_SECONDS"] + 1))
    state = owner.get(rpath(story)).json
    assert state["number"] == 2 and state["phase"] == "proposing"

    # Round 2: only p1 proposes and votes; p2, who voted in round 1, is still waited for.
    p1.post(rpath(story, "/proposals"), {"keyword": "바람", "sentences": 1})
    owner.post(rpath(story, "/advance"))
    p1.post(rpath(story, "/votes"), {"proposal_id": owner.get(rpath(story)).json["proposals"][0]["id"]})
    assert seconds_left(owner.get(rpath(story)).json) > 500
    p2.post(rpath(story, "/votes"), {"proposal_id": owner.get(rpath(story)).json["proposals"][0]["id"]})
    assert seconds_left(owner.get(rpath(story)).json) <= app.config["ROUND_EARLY_END_SECONDS"]


def test_a_blocked_participant_is_not_waited_for(make_story, users, db):
    from app.accounts.models import User

    owner, story, p1, p2 = timed_voting(make_story, users)
    db.session.get(User, p2.user_id).blocked = True
    db.session.commit()
    p1.post(rpath(story, "/votes"), {"proposal_id": owner.get(rpath(story)).json["proposals"][0]["id"]})
    assert seconds_left(owner.get(rpath(story)).json) <= 10


def test_a_phase_run_by_hand_does_not_end_early(make_story, users, db):
    from app.database import utcnow
    from worker.tick import tick

    owner, story, p1, p2 = timed_voting(make_story, users, minutes=0)
    for voter in (p1, p2):
        voter.post(rpath(story, "/votes"), {"proposal_id": owner.get(rpath(story)).json["proposals"][0]["id"]})
    assert owner.get(rpath(story)).json["deadline"] is None
    tick(now=utcnow() + timedelta(hours=1))
    assert owner.get(rpath(story)).json["phase"] == "voting"
