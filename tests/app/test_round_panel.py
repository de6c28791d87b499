"""The round panel as the server writes it (it must read right without JavaScript) and the
sentences the round API gives the page: what to do, who may act, when the round moves on."""
import re

import pytest

from tests.app.conftest import OPENING


def rpath(story, tail=""):
    return f"/api/v1/stories/{story['id']}/round{tail}"


def element(html: str, element_id: str) -> str:
    """The text of the element with this id (tags inside it removed)."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:p|span|h2|a)>', html, re.S)
    assert match, element_id
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_without_javascript_the_panel_and_the_phone_bar_name_the_phase_in_korean(make_story, client):
    _owner, story = make_story()
    html = client.get(f"/stories/{story['id']}").get_data(as_text=True)
    assert element(html, "round-phase") == "제안" and element(html, "jump-phase") == "1라운드 제안"
    assert "proposing" not in element(html, "round") and "proposing" not in element(html, "round-jump")
    assert "다음 내용을 제안하세요" in element(html, "phase-help")
    assert "까지" in element(html, "countdown") and "<time" in html.split('id="countdown"')[1][:200]


def test_the_panel_says_who_may_act_and_when_a_timed_round_moves_on(make_story, users, client):
    owner, story = make_story(owner=users.make("민지"))
    state = client.get(rpath(story)).json
    assert "누구나 제안 하나를" in state["guide"]["who"]
    assert state["guide"]["next"].startswith("남은 시간이 끝나면 투표로 넘어갑니다")
    assert "이야기 주인 민지나 관리자는 더 일찍 넘길 수 있습니다" in state["guide"]["next"]
    p1, p2 = users.make("p1"), users.make("p2")
    p1.post(rpath(story, "/proposals"), {"keyword": "편지", "sentences": 2})
    p2.post(rpath(story, "/proposals"), {"text": "바람이 불자 편지가 저절로 펼쳐졌다."})
    owner.post(rpath(story, "/advance"))
    p1.post(rpath(story, "/votes"), {"proposal_id": client.get(rpath(story)).json["proposals"][0]["id"]})
    state = client.get(rpath(story)).json
    assert state["turnout"] == {"voted": 1, "active": 2}
    assert "참여한 2명이 모두 투표하면(지금 1명)" in state["guide"]["next"]
    html = client.get(f"/stories/{story['id']}").get_data(as_text=True)
    assert "참여한 2명이 모두 투표하면(지금 1명)" in element(html, "round-next")  # in the page as sent
    p2.post(rpath(story, "/votes"), {"proposal_id": state["proposals"][0]["id"]})
    assert "2명이 모두 투표해 곧 넘어갑니다" in client.get(rpath(story)).json["guide"]["next"]


def test_a_round_run_by_hand_says_it_waits_for_the_owner(make_story, users, client):
    _owner, story = make_story(owner=users.make("서준"), proposing_minutes=0, voting_minutes=0, choosing_minutes=0)
    guide = client.get(rpath(story)).json["guide"]
    assert guide["next"] == "이야기 주인 서준이나 관리자가 넘기면 투표로 넘어갑니다."


def test_while_the_ai_writes_the_panel_says_so_and_how_many(story_in_phase, client):
    _owner, story, _ = story_in_phase("generating", k=2)
    state = client.get(rpath(story)).json
    assert state["guide"] == {"help": "AI가 뽑힌 제안(강조된 것)대로 후보 2개를 쓰고 있습니다.",
                              "who": "지금은 기다리면 됩니다.", "next": "후보를 다 쓰면 저절로 후보 선택으로 넘어갑니다."}


def test_the_round_tells_the_form_how_long_a_keyword_proposal_may_be(make_story, client):
    _owner, story = make_story(candidates_k=5)  # 6 s per candidate-sentence assumed: 8 sentences fit
    state = client.get(rpath(story)).json
    assert state["max_sentences"] == 8 and state["candidates_k"] == 5
    assert "지금은 8문장까지입니다" in state["guide"]["help"]
    html = client.get(f"/stories/{story['id']}").get_data(as_text=True)
    assert re.search(r'<input name="sentences" type="number" min="1" max="8" value="3">', html)
