"""A story's past rounds (page and API), and the proposer credited on the AI passage."""
import pytest


@pytest.fixture(autouse=True, params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_kind(request):
    return request.param


def close_keyword_round(story_in_phase, users):
    """One round played to the end: 편지 (p1) wins 2-1 over p2's passage, the AI offers three
    candidates, the second is chosen."""
    owner, story, (p1, p2) = story_in_phase("choosing")
    base = f"/api/v1/stories/{story['id']}/round"
    state = owner.get(base).json
    text_id = next(p["id"] for p in state["proposals"] if p["text"])
    assert p2.post(f"{base}/votes", {"proposal_id": text_id}).status_code == 409  # voting is over
    chosen = state["candidates"][1]["id"]
    for voter in (p1, p2):
        assert voter.post(f"{base}/votes", {"candidate_id": chosen}).status_code == 200
    assert owner.post(f"{base}/advance").json["number"] == 2
    return owner, story, (p1, p2), state


def test_a_closed_round_keeps_its_proposals_votes_candidates_and_choice(story_in_phase, users, anonymous):
    owner, story, (p1, p2), state = close_keyword_round(story_in_phase, users)
    history = anonymous.get(f"/api/v1/stories/{story['id']}/rounds").json
    assert history["total"] == 1 and history["pages"] == 1
    (closed,) = history["items"]
    assert closed["number"] == 1 and closed["passage_seq"] == 2
    keyword = closed["proposals"][0]
    assert keyword["keyword"] == "편지" and keyword["author"] == "p1" and keyword["votes"] == 1
    assert closed["winning_proposal_id"] == keyword["id"]
    assert {p["author"] for p in closed["proposals"]} == {"p1", "p2"}
    assert [c["text"] for c in closed["candidates"]] == [c["text"] for c in state["candidates"]]
    assert closed["winning_candidate_id"] == state["candidates"][1]["id"]
    assert [c["votes"] for c in closed["candidates"]] == [0, 2, 0]


def test_the_ai_passage_credits_the_proposal_it_was_written_for(story_in_phase, users, anonymous, client):
    owner, story, _, state = close_keyword_round(story_in_phase, users)
    passages = anonymous.get(f"/api/v1/stories/{story['id']}").json["passages"]
    assert passages[-1]["proposal"] == {"keyword": "편지", "sentences": 2, "author": "p1"}
    assert passages[0]["proposal"] is None
    page = client.get(f"/stories/{story['id']}").get_data(as_text=True)
    assert "키워드 편지 · 2문장 · 제안 p1" in page


def test_the_history_page_shows_each_round_in_korean(story_in_phase, users, client):
    owner, story, _, state = close_keyword_round(story_in_phase, users)
    page = client.get(f"/stories/{story['id']}/history")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "1라운드" in html and "키워드 「편지」 · 2문장" in html
    assert state["candidates"][1]["text"] in html and "이야기에 이어짐" in html and "뽑힘" in html
    assert f'/stories/{story["id"]}/history' in client.get(f"/stories/{story['id']}").get_data(as_text=True)


def test_a_passage_an_admin_hid_stays_hidden_in_the_history(story_in_phase, users, anonymous):
    owner, story, _, state = close_keyword_round(story_in_phase, users)
    admin = users.make("admin", role="admin")
    passage_id = anonymous.get(f"/api/v1/stories/{story['id']}").json["passages"][-1]["id"]
    assert admin.post(f"/api/v1/admin/passages/{passage_id}/hide").status_code == 200
    chosen = state["candidates"][1]["text"]
    seen = [c["text"] for c in anonymous.get(f"/api/v1/stories/{story['id']}/rounds").json["items"][0]["candidates"]]
    assert chosen not in seen and "관리자가 숨긴 글입니다." in seen
    as_admin = admin.get(f"/api/v1/stories/{story['id']}/rounds").json["items"][0]["candidates"]
    assert chosen in [c["text"] for c in as_admin]


def test_history_pages_and_refuses_bad_page_numbers(make_story, anonymous):
    owner, story = make_story()
    assert anonymous.get(f"/api/v1/stories/{story['id']}/rounds").json == {"items": [], "page": 1, "pages": 1, "total": 0}
    for bad in ("0", "-1", "abc", str(10**30)):
        response = anonymous.get(f"/api/v1/stories/{story['id']}/rounds?page={bad}")
        assert response.status_code == 400 and response.json["error"]["message"], bad
    assert anonymous.get("/api/v1/stories/999999/rounds").status_code == 404


def test_the_history_shows_which_bible_notes_each_candidate_was_written_with(story_in_phase, users, client, app,
                                                                             anonymous):
    from sqlalchemy import select

    from app.extensions import db
    from app.rounds.models import Candidate

    owner, story, _, state = close_keyword_round(story_in_phase, users)
    with app.app_context():
        first = db.session.get(Candidate, state["candidates"][0]["id"])
        first.params = {**first.params, "notes": ["순이", "정거장"]}  # as worker/generation.py records them
        db.session.commit()
        assert db.session.scalar(select(Candidate.params).where(Candidate.id == state["candidates"][1]["id"])).get(
            "notes") is None  # a candidate written before the bible existed
    closed = anonymous.get(f"/api/v1/stories/{story['id']}/rounds").json["items"][0]
    assert [c["notes"] for c in closed["candidates"]] == [["순이", "정거장"], [], []]
    html = client.get(f"/stories/{story['id']}/history").get_data(as_text=True)
    assert html.count("인물·배경 노트: 순이, 정거장") == 1
