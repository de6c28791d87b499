import unicodedata

from sqlalchemy import func, select

from tests.app.conftest import OPENING


def test_create_story_returns_it_with_the_opening_passage(users):
    owner = users.make("owner")
    response = owner.post("/api/v1/stories", {"title": "느티나무", "opening": OPENING,
                                               "settings": {"voting_minutes": 5, "candidates_k": 2,
                                                            "training_quorum": 3, "bible_quorum": 2}})
    assert response.status_code == 201
    story = response.json
    assert story["title"] == "느티나무" and story["owner"] == "owner"
    assert story["settings"] == {"proposing_minutes": 10, "voting_minutes": 5, "choosing_minutes": 5, "candidates_k": 2,
                                 "training_quorum": 3, "bible_quorum": 2}
    assert story["passages"] == [{"id": story["passages"][0]["id"], "seq": 1, "text": OPENING,
                                  "author_kind": "human", "author": "owner", "model_version": None,
                                  "hidden": False, "proposal": None}]
    round_ = owner.get(f"/api/v1/stories/{story['id']}/round").json
    assert round_["number"] == 1 and round_["phase"] == "proposing" and round_["can_advance"] is True


def test_a_new_story_gets_timers_so_its_crowd_never_waits_for_the_owner(users):
    from datetime import datetime, timedelta

    owner = users.make("owner")
    story = owner.post("/api/v1/stories", {"title": "느티나무", "opening": OPENING}).json
    assert {k: v for k, v in story["settings"].items() if k.endswith("_minutes")} == {
        "proposing_minutes": 10, "voting_minutes": 5, "choosing_minutes": 5}
    state = owner.get(f"/api/v1/stories/{story['id']}/round").json
    left = datetime.fromisoformat(state["deadline"]) - datetime.fromisoformat(state["now"])
    assert timedelta(minutes=9) < left <= timedelta(minutes=10)


def test_the_new_story_page_offers_the_default_timers(users):
    import re

    page = users.signed_in("writer").get("/stories/new").get_data(as_text=True)
    for name, minutes in (("proposing_minutes", 10), ("voting_minutes", 5), ("choosing_minutes", 5)):
        assert re.search(rf'name="{name}"[^>]*value="{minutes}"', page), name


def test_opening_is_recorded_as_training_text(users, db):
    from app.stories.models import TrainingText

    owner = users.make("owner")
    story = owner.post("/api/v1/stories", {"title": "t", "opening": OPENING}).json
    rows = db.session.scalars(select(TrainingText).where(TrainingText.story_id == story["id"])).all()
    assert [r.passage_id for r in rows] == [story["passages"][0]["id"]]


def test_text_is_nfc_normalised_at_the_edge(users):
    owner = users.make("owner")
    decomposed = unicodedata.normalize("NFD", "한글 제목")
    opening = unicodedata.normalize("NFD", OPENING)
    story = owner.post("/api/v1/stories", {"title": decomposed, "opening": opening}).json
    assert story["title"] == "한글 제목" and unicodedata.is_normalized("NFC", story["passages"][0]["text"])
    assert len(story["title"]) == 5  # characters as the user sees them, not jamo


def test_invalid_story_fields_are_400_and_nothing_is_written(users, db):
    from app.stories.models import Passage, Story

    owner = users.make("owner")
    for body, field in [({"opening": OPENING}, "title"),
                        ({"title": "t", "opening": "짧다"}, "opening"),
                        ({"title": "t" * 101, "opening": OPENING}, "title"),
                        ({"title": "t", "opening": OPENING, "settings": {"candidates_k": 6}}, "settings"),
                        ({"title": "t", "opening": OPENING, "settings": {"voting_minutes": -1}}, "settings"),
                        ({"title": 5, "opening": OPENING}, "title")]:
        response = owner.post("/api/v1/stories", body)
        assert response.status_code == 400, body
        assert field in response.json["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(Story)) == 0
    assert db.session.scalar(select(func.count()).select_from(Passage)) == 0


def test_body_that_is_not_a_json_object_is_400(users):
    owner = users.make("owner")
    response = owner.client.post("/api/v1/stories", data="not json", content_type="application/json",
                                 headers={"Authorization": f"Bearer {owner.token}"})
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_json"
    assert owner.post("/api/v1/stories", json=[1, 2]).status_code == 400


def test_oversized_request_is_413(users):
    owner = users.make("owner")
    response = owner.post("/api/v1/stories", {"title": "t", "opening": "가" * (2 * 1024 * 1024)})
    assert response.status_code == 413 and response.json["error"]["code"] == "too_large"


def test_unknown_story_is_404_everywhere(anonymous, users):
    p = users.make("p")
    assert anonymous.get("/api/v1/stories/999").json["error"]["code"] == "not_found"
    assert anonymous.get("/api/v1/stories/999/round").status_code == 404
    assert p.post("/api/v1/stories/999/round/proposals", {"keyword": "달", "sentences": 1}).status_code == 404
    assert p.post("/api/v1/stories/999/round/votes", {"proposal_id": 1}).status_code == 404
    assert p.post("/api/v1/stories/999/round/advance").status_code == 404
    assert anonymous.get("/api/v1/jobs/999").status_code == 404
    assert anonymous.get("/api/v1/no-such-thing").json["error"]["code"] == "not_found"
    assert anonymous.client.get("/stories/999").status_code == 404


def test_only_the_owner_or_an_admin_changes_settings(make_story, users):
    owner, story = make_story()
    stranger, admin = users.make("stranger"), users.make("boss", role="admin")
    path = f"/api/v1/stories/{story['id']}"
    assert stranger.patch(path, {"settings": {"candidates_k": 1}}).status_code == 403
    assert admin.patch(path, {"settings": {"candidates_k": 1}}).json["settings"]["candidates_k"] == 1
    assert owner.patch(path, {"settings": {"candidates_k": 9}}).status_code == 400


def test_story_list_shows_counts_and_phase(make_story, anonymous):
    make_story()
    stories = anonymous.get("/api/v1/stories").json["stories"]
    assert stories == [{"id": stories[0]["id"], "title": "느티나무 아래", "owner": "owner", "passages": 1,
                        "phase": "proposing", "round": 1, "finished": False, "finished_at": None}]


def test_story_page_escapes_user_text(users, client):
    owner = users.make("owner")
    evil = "<script>alert('x')</script> 그리고 <b>굵게</b> 쓴 첫 글입니다."
    story = owner.post("/api/v1/stories", {"title": "<img src=x onerror=alert(1)>", "opening": evil}).json
    html = client.get(f"/stories/{story['id']}").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<img src=x" not in html
    assert "</script> 그리고" not in html.split('id="round-state"')[1]  # the embedded JSON is escaped too


def test_story_page_shows_passages_and_the_round_panel(make_story, client):
    _owner, story = make_story()
    html = client.get(f"/stories/{story['id']}").get_data(as_text=True)
    assert OPENING in html and 'id="round"' in html and "story.js" in html
    assert "<link" in html and "http" not in html.split("<body>")[0].replace("http-equiv", "")  # nothing from a CDN


def test_new_story_page_creates_a_story(users):
    browser = users.signed_in("writer")
    page = browser.get("/stories/new")
    assert page.status_code == 200
    response = browser.post("/stories/new", data={"csrf_token": browser.csrf, "title": "페이지에서", "opening": OPENING,
                                                  "proposing_minutes": "0", "voting_minutes": "0",
                                                  "choosing_minutes": "0", "candidates_k": "2"})
    assert response.status_code == 302
    story_page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "페이지에서" in story_page and 'AI 후보 <span id="byline-k">2</span>개' in story_page


def test_new_story_page_shows_a_korean_error_for_a_short_opening(users):
    browser = users.signed_in("writer")
    response = browser.post("/stories/new", data={"csrf_token": browser.csrf, "title": "t", "opening": "짧다",
                                                  "candidates_k": "3"})
    assert response.status_code == 200 and "10자 이상 입력해 주세요" in response.get_data(as_text=True)


def test_passages_after_a_seq(make_story, anonymous):
    _owner, story = make_story()
    path = f"/api/v1/stories/{story['id']}/passages"
    assert [p["seq"] for p in anonymous.get(path).json["passages"]] == [1]
    assert anonymous.get(path + "?after=1").json["passages"] == []


def test_story_page_renders_its_passages_once_until_one_is_added_hidden_or_restored(app, make_story, users, client,
                                                                                        monkeypatch):
    from app.extensions import db
    from app.rounds import machine
    from app.stories import page_cache
    from app.stories.models import Story

    renders = []
    real_passages_of = page_cache.passages_of
    monkeypatch.setattr(page_cache, "passages_of", lambda *a, **kw: renders.append(a) or real_passages_of(*a, **kw))
    owner, story = make_story()
    page = f"/stories/{story['id']}"
    assert OPENING in client.get(page).get_data(as_text=True)
    assert OPENING in client.get(page).get_data(as_text=True)
    assert len(renders) == 1

    with app.app_context():  # its own context: one held across requests would share the pages' g
        row = db.session.get(Story, story["id"])
        second_id = machine.append_passage(row, "두 번째 글이 방금 붙었다.", author=row.owner).id
        db.session.commit()
    assert "두 번째 글이 방금 붙었다." in client.get(page).get_data(as_text=True)

    admin = users.make("admin1", role="admin")
    admin.post(f"/api/v1/admin/passages/{second_id}/hide")
    hidden_page = client.get(page).get_data(as_text=True)
    assert "두 번째 글이 방금 붙었다." not in hidden_page and "관리자가 숨긴 글입니다." in hidden_page
    admin_page = users.signed_in("admin2", role="admin").get(page).get_data(as_text=True)
    assert "두 번째 글이 방금 붙었다." in admin_page and "숨김 (관리자만 보임)" in admin_page
    admin.post(f"/api/v1/admin/passages/{second_id}/restore")
    assert "두 번째 글이 방금 붙었다." in client.get(page).get_data(as_text=True)
    assert len(renders) == 5  # first view, after the append, hidden (participant, admin), restored
