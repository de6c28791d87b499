"""Two people in two browsers: each sees the other's proposal and vote appear without a reload."""
import re

import pytest

from tests.e2e.conftest import sign_up

pytestmark = pytest.mark.browser

OPENING = "장마가 그친 저녁, 골목 끝 책방에 불이 켜졌다. 주인은 오래된 원고 한 묶음을 꺼내 먼지를 털었다."


def test_two_people_propose_and_vote_and_see_each_other_live(live_server, browser, app):
    from app.accounts.models import User
    from app.extensions import db
    from app.stories import services

    alice_ctx, bora_ctx = browser.new_context(locale="ko-KR"), browser.new_context(locale="ko-KR")
    alice, bora = alice_ctx.new_page(), bora_ctx.new_page()
    sign_up(alice, live_server, "앨리스")
    sign_up(bora, live_server, "보라")
    with app.app_context():
        owner = db.session.scalar(db.select(User).where(User.username == "앨리스"))
        story_id = services.create_story(owner, "책방의 원고", OPENING).id
        db.session.remove()
    for page in (alice, bora):
        page.goto(f"{live_server}/stories/{story_id}")
        page.wait_for_selector("#propose-form:not([hidden])")

    alice.fill("#propose-form input[name=keyword]", "원고")
    alice.fill("#propose-form input[name=sentences]", "2")
    alice.select_option("#propose-form select[name=mood]", "긴장")
    alice.click("#propose-button")
    bora.wait_for_selector("#proposals li:has-text('원고')", timeout=5000)  # Alice's proposal, no reload
    assert "키워드 「원고」 · 2문장 · 분위기 긴장" in bora.inner_text("#proposals")

    bora.check("#propose-form input[value=text]")
    bora.fill("#propose-form textarea[name=text]", "책방 주인은 첫 장을 넘기다 말고 숨을 멈췄다.")
    bora.click("#propose-button")
    alice.wait_for_selector("#proposals li:has-text('숨을 멈췄다')", timeout=5000)

    # Bora starts typing something she has not sent yet; the live updates must not wipe it.
    bora.fill("#propose-form textarea[name=text]", "아직 보내지 않은 글")

    alice.click("#advance-button")  # Alice owns the story
    for page in (alice, bora):
        page.wait_for_selector("#round-phase:has-text('투표')", timeout=5000)

    visitor = browser.new_context(locale="ko-KR").new_page()  # not signed in: reads along, cannot vote
    visitor.goto(f"{live_server}/stories/{story_id}")
    visitor.wait_for_selector("#proposals li:has-text('원고')")
    assert not visitor.is_visible("#proposals li button.vote") and not visitor.is_visible("#propose-form")

    alice.click("#proposals li:has-text('숨을 멈췄다') button.vote")
    visitor.wait_for_selector("#proposals li:has-text('숨을 멈췄다') .choice-meta:has-text('1표')", timeout=5000)
    bora.wait_for_selector("#proposals li:has-text('숨을 멈췄다') .choice-meta:has-text('1표')", timeout=5000)
    bora.click("#proposals li:has-text('원고') button.vote")
    alice.wait_for_selector("#proposals li:has-text('원고') .choice-meta:has-text('1표')", timeout=5000)
    assert "내 선택" in alice.inner_text("#proposals li:has-text('숨을 멈췄다') button.vote")

    # Bora moves her vote; Alice sees the tallies follow.
    bora.click("#proposals li:has-text('숨을 멈췄다') button.vote")
    alice.wait_for_selector("#proposals li:has-text('숨을 멈췄다') .choice-meta:has-text('2표')", timeout=5000)
    alice.wait_for_selector("#proposals li:has-text('원고') .choice-meta:has-text('0표')", timeout=5000)

    # The hand-written proposal wins: both pages append it and open round 2 by themselves.
    alice.click("#advance-button")
    for page in (alice, bora):
        page.wait_for_selector("#passages .passage:has-text('숨을 멈췄다')", timeout=5000)
        page.wait_for_selector("#round-number:has-text('2')", timeout=5000)
    assert bora.input_value("#propose-form textarea[name=text]") == "아직 보내지 않은 글"
    assert re.search("보라", bora.inner_text("#passages .passage:last-child .passage-meta"))
    alice_ctx.close()
    bora_ctx.close()


def test_a_bad_proposal_shows_the_korean_message(live_server, browser, app):
    from app.accounts.models import User
    from app.extensions import db
    from app.stories import services

    page = browser.new_context(locale="ko-KR").new_page()
    sign_up(page, live_server, "민수")
    with app.app_context():
        owner = db.session.scalar(db.select(User).where(User.username == "민수"))
        story_id = services.create_story(owner, "빈 제안", OPENING).id
        db.session.remove()
    page.goto(f"{live_server}/stories/{story_id}")
    page.fill("#propose-form input[name=keyword]", "가" * 20)
    page.fill("#propose-form input[name=sentences]", "12")
    page.click("#propose-button")
    page.wait_for_selector("#propose-error:has-text('1~10문장 사이로 입력해 주세요')", timeout=5000)


def test_the_owner_changes_the_settings_from_the_page(live_server, browser, app):
    from app.accounts.models import User
    from app.extensions import db
    from app.stories import services

    page = browser.new_context(locale="ko-KR").new_page()
    sign_up(page, live_server, "주인장")
    with app.app_context():
        owner = db.session.scalar(db.select(User).where(User.username == "주인장"))
        story_id = services.create_story(owner, "설정", OPENING).id
        db.session.remove()
    page.goto(f"{live_server}/stories/{story_id}")
    page.click(".settings-panel summary")
    page.fill("#settings-form input[name=candidates_k]", "5")
    page.fill("#settings-form input[name=voting_minutes]", "15")
    page.click("#settings-form button[type=submit]")
    page.wait_for_selector("#settings-status:has-text('저장했습니다')", timeout=5000)
    page.fill("#settings-form input[name=candidates_k]", "9")
    page.click("#settings-form button[type=submit]")
    page.wait_for_selector("#settings-status:has-text('1~5개 사이로 입력해 주세요')", timeout=5000)
    with app.app_context():
        story = services.get_story(story_id)
        assert (story.candidates_k, story.voting_minutes) == (5, 15)
        db.session.remove()
