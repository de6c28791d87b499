"""A round as people follow it in Chromium: a way out of a failed generation, the tab title,
notifications, the phone's jump to the round, a fresh form each round, and the history page."""
import pytest

from tests.e2e.conftest import sign_up, wait_for

pytestmark = pytest.mark.browser

OPENING = "장마가 그친 저녁, 골목 끝 책방에 불이 켜졌다. 주인은 오래된 원고 한 묶음을 꺼내 먼지를 털었다."


def story_of(app, owner_name: str, title: str = "책방의 원고") -> int:
    from app.accounts.models import User
    from app.extensions import db
    from app.stories import services

    with app.app_context():
        owner = db.session.scalar(db.select(User).where(User.username == owner_name))
        story_id = services.create_story(owner, title, OPENING).id
        db.session.remove()
    return story_id


def to_failed_generation(app, story_id: int, owner_name: str) -> None:
    """Two proposals (a keyword one wins 1-0 over a hand-written one), then the AI fails."""
    from app.accounts import services as accounts
    from app.accounts.models import User
    from app.extensions import db
    from app.rounds import machine, services as rounds

    with app.app_context():
        owner = db.session.scalar(db.select(User).where(User.username == owner_name))
        writer = accounts.sign_up("작가", "password123")
        rounds.propose(story_id, owner, keyword="QX", sentences=10)
        rounds.propose(story_id, writer, text="그때 책방 문에 달린 종이 울렸다.")
        machine.advance(story_id)
        state = rounds.snapshot(story_id, owner)
        keyword_id = next(p["id"] for p in state["proposals"] if p["keyword"])
        rounds.vote(story_id, owner, proposal_id=keyword_id)
        machine.advance(story_id)
        machine.generation_failed(rounds.snapshot(story_id, owner)["job"]["id"],
                                  "키워드 「QX」, 10문장으로 후보를 3개 쓰지 못했습니다.")
        db.session.remove()


def test_a_failed_generation_offers_a_way_out_in_korean(live_server, browser, app):
    page = browser.new_context(locale="ko-KR").new_page()
    sign_up(page, live_server, "주인")
    story_id = story_of(app, "주인")
    to_failed_generation(app, story_id, "주인")
    page.goto(f"{live_server}/stories/{story_id}")
    page.wait_for_selector("#recover:not([hidden])", timeout=5000)
    assert "실패했습니다" in page.inner_text("#round-notice") and "could not" not in page.inner_text("#round")
    assert not page.is_visible("#advance-button")  # no second "다음 단계로" beside the three ways out
    page.click("#recover button[data-recover=runner_up]")
    page.wait_for_selector("#passages .passage:has-text('종이 울렸다')", timeout=5000)
    page.wait_for_selector("#round-number:has-text('2')", timeout=5000)
    assert not page.is_visible("#recover")

    page.goto(f"{live_server}/stories/{story_id}/history")
    assert "1라운드" in page.inner_text("main") and "종이 울렸다" in page.inner_text(".history-round .winner")


def test_the_tab_and_a_notification_tell_of_a_phase_change(live_server, browser, app):
    context = browser.new_context(locale="ko-KR")
    # A background tab: notifications are shown only then; recorded instead of displayed.
    context.add_init_script("""
        Object.defineProperty(document, "hidden", { get: () => true });
        window.shown = [];
        window.Notification = class { constructor(title, options) { window.shown.push(title); } };
        window.Notification.permission = "default";
        window.Notification.requestPermission = async () => (window.Notification.permission = "granted");
    """)
    page = context.new_page()
    sign_up(page, live_server, "알림이")
    story_id = story_of(app, "알림이", "알림 이야기")
    page.goto(f"{live_server}/stories/{story_id}")
    wait_for(page, "document.title.startsWith('(제안 중) 알림 이야기')", timeout=5000)
    page.click("#notify-button")
    page.fill("#propose-form input[name=keyword]", "종")
    page.click("#propose-button")
    page.wait_for_selector("#proposals li:has-text('종')", timeout=5000)

    from app.extensions import db
    from app.rounds import machine

    with app.app_context():
        machine.advance(story_id)  # from elsewhere: another tab, the owner's phone, the deadline
        db.session.remove()
    wait_for(page, "document.title.startsWith('(투표 중)')", timeout=5000)
    assert page.evaluate("window.shown") == ["알림 이야기: 1라운드 투표 중"]


def test_a_phone_reaches_the_round_without_scrolling_the_story(live_server, browser, app):
    sign_up(browser.new_context(locale="ko-KR").new_page(), live_server, "폰주인")
    story_id = story_of(app, "폰주인")
    from app.extensions import db
    from app.rounds import machine
    from app.stories import services

    with app.app_context():  # a long story, as phones meet it
        story = services.get_story(story_id)
        for i in range(40):
            machine.append_passage(story, f"{i}번째 글. " + OPENING, author=story.owner)
        db.session.commit()
        db.session.remove()
    phone = browser.new_context(locale="ko-KR", viewport={"width": 390, "height": 800}).new_page()
    phone.goto(f"{live_server}/stories/{story_id}")
    jump = phone.locator("#round-jump")
    assert jump.is_visible() and "제안" in jump.inner_text()
    assert phone.evaluate("document.getElementById('round').getBoundingClientRect().top") > 800
    box = jump.bounding_box()
    assert box["y"] + box["height"] <= 800  # on screen, not after the story
    jump.click()
    wait_for(phone, "(r => r.top >= 0 && r.bottom <= innerHeight)"
             "(document.getElementById('round').getBoundingClientRect())", timeout=5000)

    desktop = browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 900}).new_page()
    desktop.goto(f"{live_server}/stories/{story_id}")
    assert not desktop.locator("#round-jump").is_visible()  # the panel stands beside the story there


def test_a_new_round_starts_with_an_empty_proposal_form(live_server, browser, app):
    page = browser.new_context(locale="ko-KR").new_page()
    sign_up(page, live_server, "새라운드")
    story_id = story_of(app, "새라운드")
    page.goto(f"{live_server}/stories/{story_id}")
    page.check("#propose-form input[value=text]")
    page.fill("#propose-form textarea[name=text]", "직접 쓴 다음 글이 그대로 이어진다.")
    page.click("#propose-button")
    page.wait_for_selector("#proposals li:has-text('그대로 이어진다')", timeout=5000)
    page.click("#advance-button")
    page.wait_for_selector("#round-phase:has-text('투표')", timeout=5000)
    page.click("#proposals li button.vote")
    page.wait_for_selector("#proposals li .choice-meta:has-text('1표')", timeout=5000)
    page.click("#advance-button")
    page.wait_for_selector("#round-number:has-text('2')", timeout=5000)
    page.wait_for_selector("#propose-form:not([hidden])")
    assert page.input_value("#propose-form textarea[name=text]") == ""
    assert page.is_checked("#propose-form input[value=keyword]")
