"""Chapters and the end of a story over the API: closing a chapter, finishing, and what a
finished story refuses (app/stories/chapters.py, app/rounds/machine.py)."""
import unicodedata
from datetime import timedelta

import pytest
from sqlalchemy import func, select


@pytest.fixture(autouse=True, params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_kind(request):
    """Every test here runs on SQLite and again on PostgreSQL (a schema of its own)."""
    return request.param


def path(story, tail=""):
    return f"/api/v1/stories/{story['id']}{tail}"


def add_passages(app, story_id: int, count: int) -> None:
    """Passages by the owner, appended as a round's winner would be."""
    from app.extensions import db
    from app.rounds import machine
    from app.stories.models import Story

    with app.app_context():
        story = db.session.get(Story, story_id)
        for i in range(count):
            machine.append_passage(story, f"{i + 1}번째로 이어진 글이다.", author=story.owner)
        db.session.commit()


def test_the_open_chapter_holds_every_passage_until_it_is_closed(make_story, app):
    owner, story = make_story()
    add_passages(app, story["id"], 2)
    listed = owner.get(path(story, "/chapters")).json
    assert listed["finished"] is False and listed["finished_at"] is None
    assert listed["chapters"] == [{"number": 1, "title": None, "first_seq": 1, "last_seq": 3, "passages": 3,
                                   "closed": False, "closed_at": None}]

    closed = owner.post(path(story, "/chapters"), {"title": "느티나무 아래의 편지"})
    assert closed.status_code == 201
    assert {k: v for k, v in closed.json.items() if k != "closed_at"} == {
        "number": 1, "title": "느티나무 아래의 편지", "first_seq": 1, "last_seq": 3, "passages": 3, "closed": True}
    assert closed.json["closed_at"]

    add_passages(app, story["id"], 1)
    chapters = owner.get(path(story, "/chapters")).json["chapters"]
    assert [(c["number"], c["title"], c["first_seq"], c["last_seq"], c["closed"]) for c in chapters] == [
        (1, "느티나무 아래의 편지", 1, 3, True), (2, None, 4, 4, False)]


def test_a_chapter_with_no_passage_cannot_be_closed(make_story):
    owner, story = make_story()
    assert owner.post(path(story, "/chapters"), {"title": "첫 장"}).status_code == 201
    again = owner.post(path(story, "/chapters"), {"title": "빈 장"})
    assert again.status_code == 409 and again.json["error"]["code"] == "empty_chapter"
    assert "새 글이 없어" in again.json["error"]["message"]
    assert [c["title"] for c in owner.get(path(story, "/chapters")).json["chapters"]] == ["첫 장"]


def test_a_round_under_way_does_not_stop_a_chapter_and_its_passage_opens_the_next(story_in_phase):
    owner, story, (p1, _p2) = story_in_phase("choosing")
    assert owner.post(path(story, "/chapters"), {"title": "기다림"}).status_code == 201
    candidate = owner.get(path(story, "/round")).json["candidates"][0]["id"]
    assert p1.post(path(story, "/round/votes"), {"candidate_id": candidate}).status_code == 200
    assert owner.post(path(story, "/round/advance")).status_code == 200
    chapters = owner.get(path(story, "/chapters")).json["chapters"]
    assert [(c["first_seq"], c["last_seq"], c["closed"]) for c in chapters] == [(1, 1, True), (2, 2, False)]


@pytest.mark.parametrize("body, field", [
    ({}, "title"), ({"title": ""}, "title"), ({"title": "   "}, "title"), ({"title": "가" * 101}, "title"),
    ({"title": 5}, "title"), ({"title": None}, "title"), ({"title": "장", "extra": 1}, "extra"),
])
def test_a_chapter_title_is_1_to_100_characters(make_story, body, field):
    owner, story = make_story()
    response = owner.post(path(story, "/chapters"), body)
    assert response.status_code == 400 and field in response.json["error"]["fields"], response.json
    assert owner.get(path(story, "/chapters")).json["chapters"][0]["closed"] is False


def test_a_chapter_title_is_stored_as_nfc_on_one_line(make_story, app):
    owner, story = make_story()
    title = unicodedata.normalize("NFD", "봄날의  편지\n둘째 줄")
    assert owner.post(path(story, "/chapters"), {"title": title}).json["title"] == "봄날의 편지 둘째 줄"
    add_passages(app, story["id"], 1)
    assert owner.post(path(story, "/chapters"), {"title": "가" * 100}).json["title"] == "가" * 100


def test_only_the_owner_or_an_admin_closes_chapters_and_finishes(make_story, users, anonymous):
    owner, story = make_story()
    stranger = users.make("stranger")
    for tail, body in (("/chapters", {"title": "남의 장"}), ("/finish", {})):
        refused = stranger.post(path(story, tail), body)
        assert refused.status_code == 403 and refused.json["error"]["code"] == "not_owner", tail
        assert "이야기 주인이나 관리자만" in refused.json["error"]["message"]
        assert anonymous.post(path(story, tail), body).status_code == 401
    assert owner.get(path(story)).json["finished"] is False
    admin = users.make("boss", role="admin")
    assert admin.post(path(story, "/chapters"), {"title": "관리자가 닫은 장"}).status_code == 201
    finished = admin.post(path(story, "/finish"))
    assert finished.status_code == 200 and finished.json["finished"] is True


def test_unknown_stories_are_404(users, anonymous):
    owner = users.make("owner")
    for tail in ("/chapters", "/book.epub", "/book.txt"):
        response = anonymous.get(f"/api/v1/stories/999{tail}")
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found", tail
    assert owner.post("/api/v1/stories/999/chapters", {"title": "장"}).status_code == 404
    assert owner.post("/api/v1/stories/999/finish").status_code == 404


def test_finishing_closes_the_open_chapter_and_the_round(story_in_phase):
    owner, story, (p1, p2) = story_in_phase("voting")
    finished = owner.post(path(story, "/finish"), {"title": "끝맺음"})
    assert finished.status_code == 200, finished.json
    assert finished.json["finished"] is True and finished.json["finished_at"]
    assert [(c["number"], c["title"], c["first_seq"], c["last_seq"], c["closed"])
            for c in finished.json["chapters"]] == [(1, "끝맺음", 1, 1, True)]
    round_ = owner.get(path(story, "/round")).json
    assert round_["number"] == 1 and round_["phase"] == "closed" and round_["deadline"] is None
    assert round_["notice"] == "이야기가 완결되어 라운드를 마쳤습니다."
    assert len(round_["proposals"]) == 2  # kept for the round's history
    detail = owner.get(path(story)).json
    assert detail["finished"] is True and detail["finished_at"] == finished.json["finished_at"]


def test_a_finished_story_refuses_everything_that_would_go_on(story_in_phase):
    owner, story, (p1, p2) = story_in_phase("voting")
    proposal = owner.get(path(story, "/round")).json["proposals"][0]["id"]
    assert owner.post(path(story, "/finish")).status_code == 200
    for who, tail, body in ((owner, "/finish", {}), (owner, "/chapters", {"title": "또 한 장"}),
                            (p1, "/round/proposals", {"keyword": "편지", "sentences": 2}),
                            (p2, "/round/votes", {"proposal_id": proposal}), (owner, "/round/advance", {}),
                            (owner, "/round/recover", {"action": "retry"})):
        response = who.post(path(story, tail), body)
        assert response.status_code == 409, (tail, response.json)
        assert response.json["error"]["code"] == "story_finished", (tail, response.json)
        assert "완결된 이야기" in response.json["error"]["message"]
    assert owner.get(path(story, "/round")).json["phase"] == "closed"


def test_finishing_without_a_title_names_the_last_chapter(make_story, app):
    owner, story = make_story()
    assert owner.post(path(story, "/chapters"), {"title": "시작"}).status_code == 201
    add_passages(app, story["id"], 2)
    chapters = owner.post(path(story, "/finish")).json["chapters"]
    assert [(c["title"], c["first_seq"], c["last_seq"]) for c in chapters] == [("시작", 1, 1), ("마지막 장", 2, 3)]


def test_finishing_right_after_a_chapter_adds_no_empty_one(make_story):
    owner, story = make_story()
    assert owner.post(path(story, "/chapters"), {"title": "처음이자 끝"}).status_code == 201
    chapters = owner.post(path(story, "/finish"), {"title": "쓰이지 않는 제목"}).json["chapters"]
    assert [c["title"] for c in chapters] == ["처음이자 끝"]


def test_a_bad_last_title_is_400_and_the_story_goes_on(make_story):
    owner, story = make_story()
    for body in ({"title": "가" * 101}, {"title": ""}, {"title": None}, {"other": 1}):
        response = owner.post(path(story, "/finish"), body)
        assert response.status_code == 400, body
    assert owner.client.post(path(story, "/finish"), data=b"[]", content_type="application/json",
                             headers=owner._headers()).status_code == 400
    assert owner.get(path(story)).json["finished"] is False
    assert owner.get(path(story, "/round")).json["phase"] == "proposing"


def test_finishing_while_the_ai_writes_cancels_its_job_and_drops_a_late_delivery(story_in_phase, app, db):
    from app.jobs.models import Job
    from app.rounds import machine
    from app.rounds.models import Candidate
    from app.training.models import ModelVersion

    owner, story, _ = story_in_phase("generating")
    job_id = owner.get(path(story, "/round")).json["job"]["id"]
    assert owner.post(path(story, "/finish")).status_code == 200
    job = db.session.get(Job, job_id)
    assert job.status == "cancelled" and "완결" in job.error
    version = ModelVersion(story_id=None, name="기본 모델", base="/models/starter", data={}, metrics={})
    db.session.add(version)
    db.session.commit()
    assert machine.finish_generation(job_id, ["늦게 온 후보."], version, {"k": 1}) is False
    assert db.session.scalar(select(func.count()).select_from(Candidate)) == 0
    assert owner.get(path(story, "/round")).json["phase"] == "closed"


def test_the_tick_opens_no_round_for_a_finished_story(make_story, users, db):
    from app.database import utcnow
    from app.rounds.models import Round
    from worker.tick import tick

    owner, story = make_story(proposing_minutes=1)  # timed: the tick would move it on
    assert users.make("p1").post(path(story, "/round/proposals"), {"keyword": "편지", "sentences": 2}).status_code == 201
    assert owner.post(path(story, "/finish")).status_code == 200
    done = tick(now=utcnow() + timedelta(days=1))
    assert done["advanced"] == 0
    rounds = db.session.scalars(select(Round).where(Round.story_id == story["id"])).all()
    assert [(r.number, r.phase) for r in rounds] == [(1, "closed")]


def test_put_human_txt_is_refused_for_a_finished_story(make_story):
    owner, story = make_story()
    assert owner.post(path(story, "/finish")).status_code == 200
    response = owner.post(f"/put_Human_txt?contents_id={story['passages'][0]['id']}&is_first=Y")
    assert response.status_code == 409 and response.json["error"]["code"] == "story_finished"


def test_the_story_list_says_finished_and_lists_finished_stories_apart(make_story, users, anonymous):
    owner, first = make_story()
    _other, second = make_story(users.make("other"))
    assert owner.post(path(first, "/finish")).status_code == 200
    everything = anonymous.get("/api/v1/stories").json["stories"]
    assert [(s["id"], s["finished"]) for s in everything] == [(second["id"], False), (first["id"], True)]
    assert everything[1]["finished_at"] and everything[0]["finished_at"] is None
    assert [s["id"] for s in anonymous.get("/api/v1/stories?finished=true").json["stories"]] == [first["id"]]
    assert [s["id"] for s in anonymous.get("/api/v1/stories?finished=false").json["stories"]] == [second["id"]]
    bad = anonymous.get("/api/v1/stories?finished=maybe")
    assert bad.status_code == 400 and "finished" in bad.json["error"]["fields"]


@pytest.mark.parametrize("site_overrides", [{"RATELIMIT_ENABLED": True, "RATELIMIT_WRITE": "2/minute"}])
def test_closing_chapters_is_rate_limited_like_other_writes(make_story, app, site_overrides):
    from app.extensions import limiter

    limiter.reset()
    owner, story = make_story()  # one write: the story
    add_passages(app, story["id"], 1)
    assert owner.post(path(story, "/chapters"), {"title": "한 장"}).status_code == 201
    limited = owner.post(path(story, "/chapters"), {"title": "두 장"})
    assert limited.status_code == 429 and limited.headers["Retry-After"]
