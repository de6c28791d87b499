"""The story bible's page in Chromium: the owner adds a note, a participant suggests two, the
owner accepts one and another participant's vote the other; it reads on a phone without
scrolling sideways."""
import pytest

from tests.e2e.conftest import sign_up

pytestmark = pytest.mark.browser

OPENING = "순이는 정거장 앞에서 기차를 기다렸다. 기차가 오지 않자 순이는 국밥집으로 돌아갔다."


def story_of(app, owner_name: str) -> int:
    from app.accounts.models import User
    from app.extensions import db
    from app.stories import services

    with app.app_context():
        owner = db.session.scalar(db.select(User).where(User.username == owner_name))
        story_id = services.create_story(owner, "정거장 이야기", OPENING, {"bible_quorum": 1}).id
        db.session.remove()
    return story_id


def suggest(page, name: str, text: str) -> None:
    page.fill("#bible-suggest-form input[name=name]", name)
    page.fill("#bible-suggest-form textarea[name=text]", text)
    page.click("#bible-suggest-form button[type=submit]")
    page.wait_for_selector(f".flash:has-text('「{name}」 노트를 제안했습니다.')", timeout=5000)


def test_the_owner_adds_a_note_and_accepts_a_suggestion_and_a_vote_accepts_another(live_server, browser, app):
    owner = browser.new_context(locale="ko-KR").new_page()
    sign_up(owner, live_server, "역장")
    story_id = story_of(app, "역장")
    owner.goto(f"{live_server}/stories/{story_id}")
    owner.click("a:has-text('인물·배경 노트')")
    owner.wait_for_url(f"{live_server}/stories/{story_id}/bible")
    assert "순이" in owner.inner_text("#bible-candidates")  # named twice, no note yet
    owner.fill("#bible-add-form input[name=name]", "순이")
    owner.fill("#bible-add-form textarea[name=text]", "정거장 앞 국밥집 딸.")
    owner.fill("#bible-add-form input[name=triggers]", "국밥집 딸, 역전")
    owner.check("#bible-add-form input[name=pinned]")
    owner.click("#bible-add-form button[type=submit]")
    owner.wait_for_selector(".flash:has-text('「순이」 노트를 더했습니다.')", timeout=5000)
    assert "정거장 앞 국밥집 딸." in owner.inner_text("#bible-entries") and "고정" in owner.inner_text("#bible-entries")
    assert "순이" not in owner.inner_text("#bible-candidates")

    phone = browser.new_context(locale="ko-KR", viewport={"width": 360, "height": 740}).new_page()
    sign_up(phone, live_server, "승객")
    phone.goto(f"{live_server}/stories/{story_id}/bible")
    assert phone.locator("#bible-add-form").count() == 0
    suggest(phone, "정거장", "마을 끝의 낡은 간이역. 하루 두 번 기차가 선다.")
    suggest(phone, "국밥집", "순이네 가게. 역 앞에 있다.")
    assert "제안 승객" in phone.inner_text("#bible-suggestions")
    assert phone.locator("#bible-suggestions button:has-text('찬성')").count() == 0  # not on one's own
    assert phone.evaluate("document.documentElement.scrollWidth <= innerWidth")

    rider = browser.new_context(locale="ko-KR", viewport={"width": 360, "height": 740}).new_page()
    sign_up(rider, live_server, "기관사")
    rider.goto(f"{live_server}/stories/{story_id}/bible")
    assert "찬성 0 / 1표" in rider.inner_text("#bible-suggestions")
    rider.click("#bible-suggestions li:has-text('국밥집') button:has-text('찬성')")
    rider.wait_for_selector(".flash:has-text('표가 모여 「국밥집」 노트를 받아들였습니다.')", timeout=5000)
    assert "국밥집" in rider.inner_text("#bible-entries") and "국밥집" not in rider.inner_text("#bible-suggestions")

    owner.reload()
    owner.click("#bible-suggestions button:has-text('받아들이기')")
    owner.wait_for_selector(".flash:has-text('제안을 노트로 받아들였습니다.')", timeout=5000)
    assert owner.locator("#bible-entries .bible-name").all_inner_texts() == ["순이", "국밥집", "정거장"]  # pinned first
    assert "기다리는 제안이 없습니다." in owner.inner_text("#bible-suggestions")
