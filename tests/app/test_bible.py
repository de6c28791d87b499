"""The story bible (인물·배경 노트) over the API and in its services: who may curate, what bad
input gets, suggestions, the automatic candidates, and which notes a generation reads
(app/stories/bible.py)."""
import unicodedata

import pytest


@pytest.fixture(autouse=True, params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_kind(request):
    """Every test here runs on SQLite and again on PostgreSQL (a schema of its own)."""
    return request.param


SUNI = {"name": "순이", "text": "정거장 앞 국밥집 딸. 말수가 적다.", "triggers": ["국밥집 딸"]}
STATION = {"name": "정거장", "text": "마을 끝의 낡은 간이역. 하루 두 번 기차가 선다.", "triggers": ["간이역", "역전"]}


def path(story, tail=""):
    return f"/api/v1/stories/{story['id']}/bible{tail}"


def add_passages(app, story_id: int, texts: list[str]) -> None:
    from app.extensions import db
    from app.rounds import machine
    from app.stories.models import Story

    with app.app_context():
        story = db.session.get(Story, story_id)
        for text in texts:
            machine.append_passage(story, text, author=story.owner)
        db.session.commit()


def test_the_owner_adds_edits_pins_and_deletes_notes(make_story):
    owner, story = make_story()
    added = owner.post(path(story), SUNI)
    assert added.status_code == 201, added.json
    assert added.json["status"] == "accepted" and added.json["triggers"] == ["국밥집 딸"]
    assert added.json["suggested_by"] is None and added.json["pinned"] is False
    entry_id = added.json["id"]

    edited = owner.patch(path(story, f"/{entry_id}"), {"pinned": True, "text": "정거장 앞 국밥집 외동딸."})
    assert edited.status_code == 200
    assert edited.json["pinned"] is True and edited.json["text"] == "정거장 앞 국밥집 외동딸."
    assert edited.json["name"] == "순이" and edited.json["triggers"] == ["국밥집 딸"]

    assert owner.post(path(story), STATION).status_code == 201
    listed = owner.get(path(story)).json
    assert [e["name"] for e in listed["entries"]] == ["순이", "정거장"]  # pinned first
    assert listed["suggestions"] == []

    deleted = owner.delete(path(story, f"/{entry_id}"))
    assert deleted.status_code == 200 and [e["name"] for e in deleted.json["entries"]] == ["정거장"]
    assert owner.delete(path(story, f"/{entry_id}")).status_code == 404


def test_names_and_triggers_are_nfc_the_name_is_no_trigger_and_duplicates_are_refused(make_story):
    owner, story = make_story()
    decomposed = unicodedata.normalize("NFD", "순이")
    added = owner.post(path(story), {**SUNI, "name": decomposed, "triggers": [decomposed, "국밥집", "국밥집"]})
    assert added.status_code == 201
    assert added.json["name"] == "순이" and added.json["triggers"] == ["국밥집"]

    again = owner.post(path(story), {**STATION, "name": "순이"})
    assert again.status_code == 409 and again.json["error"]["code"] == "duplicate_name"
    assert "순이" in again.json["error"]["message"]
    station = owner.post(path(story), STATION).json
    renamed = owner.patch(path(story, f"/{station['id']}"), {"name": "순이"})
    assert renamed.status_code == 409 and renamed.json["error"]["code"] == "duplicate_name"
    assert [e["name"] for e in owner.get(path(story)).json["entries"]] == ["순이", "정거장"]


@pytest.mark.parametrize("body, field", [
    ({"text": "이름이 없다."}, "name"),
    ({"name": "순이"}, "text"),
    ({"name": "가" * 31, "text": "너무 긴 이름."}, "name"),
    ({"name": "순이", "text": "가" * 301}, "text"),
    ({"name": "순이", "text": "낱말이 많다.", "triggers": [f"낱말{i}" for i in range(11)]}, "triggers"),
    ({"name": "순이", "text": "긴 낱말.", "triggers": ["가" * 21]}, "triggers"),
    ({"name": "순이", "text": "빈 낱말.", "triggers": [" "]}, "triggers"),
    ({"name": "   ", "text": "빈 이름."}, "name"),
])
def test_bad_notes_get_a_korean_400_naming_the_field(make_story, body, field):
    owner, story = make_story()
    response = owner.post(path(story), body)
    assert response.status_code == 400
    assert response.json["error"]["message"] and field in response.json["error"]["fields"]
    assert owner.get(path(story)).json["entries"] == []


def test_only_the_owner_or_an_admin_curates(make_story, users, anonymous):
    owner, story = make_story()
    entry_id = owner.post(path(story), SUNI).json["id"]
    stranger = users.make("stranger")
    for response in (stranger.post(path(story), STATION), stranger.patch(path(story, f"/{entry_id}"), {"pinned": True}),
                     stranger.delete(path(story, f"/{entry_id}")), stranger.get(path(story, "/suggestions"))):
        assert response.status_code == 403 and response.json["error"]["code"] == "not_owner"
        assert "주인" in response.json["error"]["message"]
    assert anonymous.post(path(story), STATION).status_code == 401
    admin = users.make("boss", role="admin")
    assert admin.patch(path(story, f"/{entry_id}"), {"pinned": True}).json["pinned"] is True
    assert anonymous.get(path(story)).json["entries"][0]["pinned"] is True  # anyone may read
    assert anonymous.get("/api/v1/stories/999/bible").status_code == 404


def test_a_suggestion_waits_for_the_owner_who_accepts_or_rejects_it(make_story, users):
    owner, story = make_story()
    p1 = users.make("p1")
    suggested = p1.post(path(story, "/suggest"), {**SUNI, "pinned": True})
    assert suggested.status_code == 201
    assert suggested.json["status"] == "suggested" and suggested.json["suggested_by"] == "p1"
    assert suggested.json["pinned"] is False  # pinning is the owner's
    rejected_one = p1.post(path(story, "/suggest"), STATION).json

    listed = owner.get(path(story)).json
    assert listed["entries"] == [] and [s["name"] for s in listed["suggestions"]] == ["순이", "정거장"]
    assert p1.post(path(story, f"/{suggested.json['id']}/accept")).status_code == 403

    accepted = owner.post(path(story, f"/{suggested.json['id']}/accept"))
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    again = owner.post(path(story, f"/{suggested.json['id']}/accept"))
    assert again.status_code == 409 and again.json["error"]["code"] == "not_a_suggestion"
    rejected = owner.post(path(story, f"/{rejected_one['id']}/reject"))
    assert rejected.status_code == 200 and rejected.json["suggestions"] == []
    assert [e["name"] for e in rejected.json["entries"]] == ["순이"]
    assert owner.post(path(story, f"/{suggested.json['id']}/reject")).status_code == 409  # accepted: delete it instead


def test_votes_of_other_participants_accept_a_suggestion_at_the_storys_quorum(make_story, users, anonymous):
    owner, story = make_story(bible_quorum=2)
    p1, p2, p3 = users.make("p1"), users.make("p2"), users.make("p3")
    entry = p1.post(path(story, "/suggest"), SUNI).json
    vote = path(story, f"/{entry['id']}/vote")

    own = p1.post(vote)
    assert own.status_code == 403 and own.json["error"]["code"] == "own_suggestion"
    assert anonymous.post(vote).status_code == 401
    first = p2.post(vote)
    assert first.status_code == 200 and first.json["votes"] == 1 and first.json["status"] == "suggested"
    assert p2.post(vote).json["votes"] == 1  # again: still one vote
    seen = p2.get(path(story)).json
    assert seen["quorum"] == 2 and seen["my_votes"] == [entry["id"]] and seen["suggestions"][0]["votes"] == 1
    assert p3.get(path(story)).json["my_votes"] == [] and anonymous.get(path(story)).json["my_votes"] == []

    withdrawn = p2.delete(vote)
    assert withdrawn.status_code == 200 and withdrawn.json["votes"] == 0
    assert p2.post(vote).json["votes"] == 1
    accepted = p3.post(vote)
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted" and accepted.json["votes"] == 2
    listed = anonymous.get(path(story)).json
    assert [e["name"] for e in listed["entries"]] == ["순이"] and listed["suggestions"] == []
    late = users.make("p4").post(vote)
    assert late.status_code == 409 and late.json["error"]["code"] == "not_a_suggestion"
    assert p2.delete(vote).status_code == 409  # an accepted note keeps its votes


def test_the_quorum_is_a_story_setting_that_changes_and_is_checked(make_story, users):
    owner, story = make_story()
    assert story["settings"]["bible_quorum"] == 3
    changed = owner.patch(f"/api/v1/stories/{story['id']}", {"settings": {"bible_quorum": 1}})
    assert changed.status_code == 200 and changed.json["settings"]["bible_quorum"] == 1
    bad = owner.patch(f"/api/v1/stories/{story['id']}", {"settings": {"bible_quorum": 0}})
    assert bad.status_code == 400 and "bible_quorum" in bad.json["error"]["message"] + str(bad.json["error"])
    entry = users.make("p1").post(path(story, "/suggest"), SUNI).json
    assert users.make("p2").post(path(story, f"/{entry['id']}/vote")).json["status"] == "accepted"


def test_no_vote_on_a_note_of_another_story_or_of_a_finished_one(make_story, users):
    owner, story = make_story()
    _other_owner, other = make_story(users.make("owner2"))
    p1, p2 = users.make("p1"), users.make("p2")
    entry = p1.post(path(story, "/suggest"), SUNI).json
    assert p2.post(path(other, f"/{entry['id']}/vote")).status_code == 404
    assert p2.post(path(story, "/999999/vote")).status_code == 404
    assert p2.post(path(story, f"/{entry['id']}/vote")).json["votes"] == 1
    assert owner.post(f"/api/v1/stories/{story['id']}/finish").status_code == 200
    for response in (users.make("p3").post(path(story, f"/{entry['id']}/vote")),
                     p2.delete(path(story, f"/{entry['id']}/vote"))):
        assert response.status_code == 409 and response.json["error"]["code"] == "story_finished"
    assert owner.get(path(story)).json["suggestions"][0]["votes"] == 1


def test_a_note_of_another_story_is_not_found(make_story, users):
    owner, story = make_story()
    _other_owner, other = make_story(users.make("owner2"))
    entry_id = owner.post(path(story), SUNI).json["id"]
    assert owner.patch(path(other, f"/{entry_id}"), {"pinned": True}).status_code == 403  # not owner there
    admin = users.make("boss", role="admin")
    assert admin.patch(path(other, f"/{entry_id}"), {"pinned": True}).status_code == 404


def test_a_finished_story_takes_no_notes(make_story, users):
    owner, story = make_story()
    entry_id = owner.post(path(story), SUNI).json["id"]
    assert owner.post(f"/api/v1/stories/{story['id']}/finish").status_code == 200
    p1 = users.make("p1")
    for response in (owner.post(path(story), STATION), p1.post(path(story, "/suggest"), STATION),
                     owner.patch(path(story, f"/{entry_id}"), {"pinned": True}),
                     owner.delete(path(story, f"/{entry_id}"))):
        assert response.status_code == 409 and response.json["error"]["code"] == "story_finished"
    assert [e["name"] for e in owner.get(path(story)).json["entries"]] == ["순이"]


def test_automatic_suggestions_are_repeated_proper_nouns_without_a_note(make_story, app):
    owner, story = make_story()
    add_passages(app, story["id"], [
        "영철은 서울에서 내려왔다. 순이는 영철을 보고 웃었다.",
        "영철이 순이에게 편지를 건넸다. 서울 소식이었다.",
        "영철은 다시 떠날 채비를 했다. 부산에서 온 사람은 한 번만 나왔다.",
    ])
    candidates = owner.get(path(story, "/suggestions")).json["candidates"]
    # the most frequent first (Kiwi reads one 영철이 as a name of its own, seen once); 부산 is seen once
    assert [(c["name"], c["count"]) for c in candidates] == [("영철", 3), ("서울", 2), ("순이", 2)]
    assert owner.post(path(story), {**SUNI, "triggers": ["서울"]}).status_code == 201
    after = [c["name"] for c in owner.get(path(story, "/suggestions")).json["candidates"]]
    assert "순이" not in after and "서울" not in after and "영철" in after


def test_entries_for_orders_pinned_first_then_by_the_latest_mention(make_story, app):
    from app.extensions import db
    from app.stories import bible
    from app.stories.models import BibleEntry

    owner, story = make_story()
    for body in (SUNI, STATION, {"name": "영철", "text": "서울에서 온 청년.", "triggers": []},
                 {"name": "할머니", "text": "순이의 외할머니.", "pinned": True},
                 {"name": "장터", "text": "닷새마다 서는 장.", "triggers": ["장날"]}):
        assert owner.post(path(story), body).status_code == 201
    with app.app_context():
        db.session.add(BibleEntry(story_id=story["id"], name="기차", text="제안일 뿐.", triggers=[],
                                  status="suggested"))
        db.session.commit()
        recent = "순이는 역전에 섰다. 영철이 왔다. 기차가 떠났다. 국밥집 딸은 그를 보았다."
        assert bible.entries_for(story["id"], recent) == [
            ("할머니", "순이의 외할머니."),           # pinned, though the text never names her
            ("순이", SUNI["text"]),                  # its trigger 국밥집 딸 is the latest mention
            ("영철", "서울에서 온 청년."),
            ("정거장", STATION["text"]),             # by its trigger 역전, the earliest
        ]  # 장터 is not mentioned; 기차 is only suggested
        # only the last CONTEXT_CHARS count
        app.config["CONTEXT_CHARS"] = 20
        assert bible.entries_for(story["id"], "장날이었다." + "." * 40 + "영철이 왔다.") == [
            ("할머니", "순이의 외할머니."), ("영철", "서울에서 온 청년.")]


def page_story(app, owner_id: int) -> int:
    from app.accounts.models import User
    from app.extensions import db
    from app.stories import services

    with app.app_context():
        story = services.create_story(db.session.get(User, owner_id), "정거장 이야기",
                                      "순이는 정거장 앞에서 기차를 기다렸다. 기차가 오지 않자 순이는 집으로 돌아갔다.", {})
        return story.id


def test_the_page_lets_the_owner_curate_and_a_participant_suggest(app, users, anonymous):
    owner = users.signed_in("owner")
    story_id = page_story(app, owner.user_id)
    page = f"/stories/{story_id}/bible"
    assert "인물·배경 노트" in owner.get(f"/stories/{story_id}").get_data(as_text=True)  # linked from the byline

    added = owner.post(page, data={"csrf_token": owner.csrf, "name": "순이", "text": "<b>국밥집</b> 딸.",
                                   "triggers": "국밥집 딸, 역전 ,", "pinned": "1"}, follow_redirects=True)
    html = added.get_data(as_text=True)
    assert "「순이」 노트를 더했습니다." in html and "&lt;b&gt;국밥집&lt;/b&gt; 딸." in html  # escaped
    assert "떠올림 낱말: 국밥집 딸, 역전" in html and "고정" in html
    assert "노트 더하기" in html and "노트 제안하기" not in html
    refused = owner.post(page, data={"name": "기차", "text": "토큰 없는 글."})  # no CSRF token
    assert refused.status_code == 400

    p1 = users.signed_in("p1")
    html = p1.get(page).get_data(as_text=True)
    assert "노트 제안하기" in html and "노트 더하기" not in html and "받아들이기" not in html
    suggested = p1.post(f"{page}/suggest", data={"csrf_token": p1.csrf, "name": "영철", "text": "서울에서 온 청년.",
                                                 "triggers": ""}, follow_redirects=True)
    assert "「영철」 노트를 제안했습니다." in suggested.get_data(as_text=True)
    bad = p1.post(f"{page}/suggest", data={"csrf_token": p1.csrf, "name": "", "text": "이름이 없다."},
                  follow_redirects=True)
    assert "내용을 입력해 주세요." in bad.get_data(as_text=True)
    forbidden = p1.post(page, data={"csrf_token": p1.csrf, "name": "기차", "text": "주인이 아니다."},
                        follow_redirects=True)
    assert "이야기 주인이나 관리자만" in forbidden.get_data(as_text=True)

    with app.app_context():
        from app.extensions import db
        from app.stories.models import BibleEntry
        suggestion_id = db.session.scalar(db.select(BibleEntry.id).where(BibleEntry.name == "영철"))
    html = owner.get(page).get_data(as_text=True)
    assert "받아들이기" in html and "제안 p1" in html
    accepted = owner.post(f"{page}/{suggestion_id}/accept", data={"csrf_token": owner.csrf}, follow_redirects=True)
    assert "제안을 노트로 받아들였습니다." in accepted.get_data(as_text=True)
    assert [e["name"] for e in anonymous.get(f"/api/v1/stories/{story_id}/bible").json["entries"]] == ["순이", "영철"]
    assert "로그인" in anonymous.client.get(page).get_data(as_text=True)


def test_the_owner_unpins_and_deletes_on_the_page_and_sees_automatic_candidates(app, users):
    owner = users.signed_in("owner")
    story_id = page_story(app, owner.user_id)
    page = f"/stories/{story_id}/bible"
    owner.post(page, data={"csrf_token": owner.csrf, "name": "정거장", "text": "간이역.", "pinned": "1"})
    html = owner.get(page).get_data(as_text=True)
    assert 'id="bible-candidates"' in html and "순이 <small" in html  # named twice in the opening, no note yet
    with app.app_context():
        from app.extensions import db
        from app.stories.models import BibleEntry
        entry_id = db.session.scalar(db.select(BibleEntry.id))
    owner.post(f"{page}/{entry_id}/edit", data={"csrf_token": owner.csrf, "pinned_field": "1", "name": "정거장",
                                                "text": "낡은 간이역.", "triggers": "역"})
    with app.app_context():
        entry = db.session.get(BibleEntry, entry_id)
        assert (entry.pinned, entry.text, entry.triggers) == (False, "낡은 간이역.", ["역"])
    owner.post(f"{page}/{entry_id}/delete", data={"csrf_token": owner.csrf})
    with app.app_context():
        assert db.session.get(BibleEntry, entry_id) is None


def test_participants_vote_for_a_suggestion_on_the_page_until_it_is_accepted(app, users):
    owner = users.signed_in("owner")
    story_id = page_story(app, owner.user_id)
    page = f"/stories/{story_id}/bible"
    p1, p2, p3 = users.signed_in("p1"), users.signed_in("p2"), users.signed_in("p3")
    p1.post(f"{page}/suggest", data={"csrf_token": p1.csrf, "name": "영철", "text": "서울에서 온 청년.", "triggers": ""})
    with app.app_context():
        from app.extensions import db
        from app.stories.models import BibleEntry
        entry_id = db.session.scalar(db.select(BibleEntry.id).where(BibleEntry.name == "영철"))

    own = p1.get(page).get_data(as_text=True)
    assert "찬성 0 / 3표" in own and f"{entry_id}/vote" not in own  # no vote on one's own suggestion
    assert f"{entry_id}/vote" not in owner.get(page).get_data(as_text=True)  # the owner accepts instead
    voted = p2.post(f"{page}/{entry_id}/vote", data={"csrf_token": p2.csrf}, follow_redirects=True)
    html = voted.get_data(as_text=True)
    assert "「영철」 제안에 찬성했습니다." in html and "찬성 1 / 3표" in html and "찬성 거두기" in html
    withdrawn = p2.post(f"{page}/{entry_id}/unvote", data={"csrf_token": p2.csrf}, follow_redirects=True)
    assert "찬성을 거두었습니다." in withdrawn.get_data(as_text=True) and "찬성 0 / 3표" in withdrawn.get_data(as_text=True)
    assert p3.post(f"{page}/{entry_id}/vote", data={}).status_code == 400  # no CSRF token

    with app.app_context():
        from app.accounts.models import User
        from app.stories import services
        services.update_settings(story_id, db.session.get(User, owner.user_id), {"bible_quorum": 2})
    p2.post(f"{page}/{entry_id}/vote", data={"csrf_token": p2.csrf})
    accepted = p3.post(f"{page}/{entry_id}/vote", data={"csrf_token": p3.csrf}, follow_redirects=True)
    html = accepted.get_data(as_text=True)
    assert "표가 모여 「영철」 노트를 받아들였습니다." in html and "기다리는 제안이 없습니다." in html
    p4 = users.signed_in("p4")
    late = p4.post(f"{page}/{entry_id}/vote", data={"csrf_token": p4.csrf}, follow_redirects=True)
    assert "이미 받아들인 노트입니다." in late.get_data(as_text=True)
