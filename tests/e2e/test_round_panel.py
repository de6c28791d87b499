"""The round panel in Chromium: what it says without JavaScript, who may act and when the round
moves on, the AI's time left, the byline after the owner changes K, and a refused notification
permission told to whoever asked."""
import pytest

from tests.app.conftest import finish_generation
from tests.e2e.conftest import sign_up, wait_for

pytestmark = pytest.mark.browser

OPENING = "장마가 그친 저녁, 골목 끝 책방에 불이 켜졌다. 주인은 오래된 원고 한 묶음을 꺼내 먼지를 털었다."


def story_of(app, owner_name: str, **settings) -> int:
    from app.accounts.models import User
    from app.extensions import db
    from app.stories import services

    with app.app_context():
        owner = db.session.scalar(db.select(User).where(User.username == owner_name))
        story_id = services.create_story(owner, "비 오는 정거장", OPENING, settings).id
        db.session.remove()
    return story_id


def test_without_javascript_the_panel_reads_in_korean(live_server, browser, app):
    sign_up(browser.new_context(locale="ko-KR").new_page(), live_server, "주인")
    story_id = story_of(app, "주인")
    phone = browser.new_context(locale="ko-KR", java_script_enabled=False,
                                viewport={"width": 390, "height": 800}).new_page()
    phone.goto(f"{live_server}/stories/{story_id}")
    assert phone.inner_text("#round-phase") == "제안"
    assert phone.inner_text("#jump-phase") == "1라운드 제안" and phone.is_visible("#round-jump")
    assert "proposing" not in phone.inner_text("body")
    assert phone.inner_text("#countdown").endswith("까지")
    assert "이야기 주인 주인이나 관리자는 더 일찍 넘길 수 있습니다" in phone.inner_text("#round-next")
    assert "누구나 제안 하나를" in phone.inner_text("#round-who")


def test_the_panel_follows_who_has_voted_and_the_ai_writing(live_server, browser, app):
    from app.accounts import services as accounts
    from app.extensions import db
    from app.jobs import services as jobs
    from app.rounds import machine, services as rounds

    page = browser.new_context(locale="ko-KR").new_page()
    sign_up(page, live_server, "주인")
    story_id = story_of(app, "주인")
    with app.app_context():
        a, b = accounts.sign_up("가람", "password123"), accounts.sign_up("나래", "password123")
        rounds.propose(story_id, a, keyword="우산", sentences=2)
        rounds.propose(story_id, b, text="역무원이 우산을 건넸다.")
        machine.advance(story_id)
        rounds.vote(story_id, a, proposal_id=rounds.snapshot(story_id, a)["proposals"][0]["id"])
        db.session.remove()
    page.goto(f"{live_server}/stories/{story_id}")
    assert "참여한 2명이 모두 투표하면(지금 1명)" in page.inner_text("#round-next")

    with app.app_context():
        b = db.session.scalar(db.select(accounts.User).where(accounts.User.username == "나래"))
        rounds.vote(story_id, b, proposal_id=rounds.snapshot(story_id, b)["proposals"][0]["id"])
        db.session.remove()
    page.wait_for_selector("#round-next:has-text('모두 투표해 곧 넘어갑니다')", timeout=5000)
    wait_for(page, "/남은 시간 0:(0\\d|10)/.test(document.querySelector('#countdown').textContent)", timeout=5000)

    with app.app_context():
        machine.advance(story_id)
        job_id = rounds.snapshot(story_id, None)["job"]["id"]
        jobs.claim(job_id, "c1")
        jobs.record_progress(job_id, 0.4, {"stage": "writing", "estimate_s": 36, "eta_s": 21.5}, [])
        db.session.remove()
    page.wait_for_selector("#round-writing:not([hidden])", timeout=5000)
    assert "남은 시간 약 22초" in page.inner_text("#round-eta")
    assert page.eval_on_selector("#round-progress span", "el => el.style.width") == "40%"
    assert "후보 3개를 쓰고 있습니다" in page.inner_text("#phase-help")
    assert "저절로 후보 선택으로" in page.inner_text("#round-next")

    # The candidates arrive; each says which bible notes its prompt held.
    finish_generation(app, story_id, ["역무원이 우산을 접었다. 비가 그쳤다.", "책방 주인이 원고를 덮었다. 우산이 젖어 있었다.",
                                      "골목에 우산이 하나 남았다. 아무도 찾지 않았다."],
                      per_candidate=[{"notes": ["책방 주인", "골목"]}, {"notes": []}, {}])
    page.wait_for_selector("#round-phase:has-text('후보 선택')", timeout=5000)
    metas = page.locator("#candidates .choice-meta").all_inner_texts()
    assert metas == ["AI 후보 · 인물·배경 노트: 책방 주인, 골목 · 0표", "AI 후보 · 0표", "AI 후보 · 0표"], metas


def test_the_byline_follows_a_change_of_k(live_server, browser, app):
    owner = browser.new_context(locale="ko-KR").new_page()
    sign_up(owner, live_server, "주인")
    story_id = story_of(app, "주인")
    reader = browser.new_context(locale="ko-KR").new_page()
    for page in (owner, reader):
        page.goto(f"{live_server}/stories/{story_id}")
        assert page.inner_text(".byline").startswith("주인의 이야기 · AI 후보 3개")
    owner.click(".settings-panel summary")
    owner.fill("#settings-form input[name=candidates_k]", "2")
    owner.click("#settings-form button[type=submit]")
    owner.wait_for_selector("#settings-status:has-text('저장했습니다')", timeout=5000)
    assert "AI 후보 2개" in owner.inner_text(".byline")
    reader.wait_for_selector(".byline:has-text('AI 후보 2개')", timeout=5000)  # another reader's page too


def test_a_refused_notification_permission_is_told_to_a_participant(live_server, browser, app):
    sign_up(browser.new_context(locale="ko-KR").new_page(), live_server, "주인")
    story_id = story_of(app, "주인")
    context = browser.new_context(locale="ko-KR")
    context.add_init_script("""
        window.Notification = class {};
        window.Notification.permission = "default";
        window.Notification.requestPermission = async () => (window.Notification.permission = "denied");
    """)
    page = context.new_page()
    sign_up(page, live_server, "참여자")  # not the owner: no owner's tools on the page
    page.goto(f"{live_server}/stories/{story_id}")
    assert not page.is_visible("#owner-tools")
    page.click("#notify-button")
    page.wait_for_selector("#notify-status:not([hidden])", timeout=5000)
    assert "알림을 막았습니다" in page.inner_text("#notify-status")
