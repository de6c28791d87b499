"""Chapters and the end in Chromium: the owner closes a chapter and finishes the story on its page,
the reading view shows the chapters, its switch hides the AI/human marks (no script: the page's
stylesheet does it), a phone reads it without scrolling sideways, and the home page lists the story
under 완결된 이야기."""
import pytest

from tests.e2e.conftest import sign_up, wait_for

pytestmark = pytest.mark.browser

OPENING = "장마가 그친 저녁, 골목 끝 책방에 불이 켜졌다. 주인은 오래된 원고 한 묶음을 꺼내 먼지를 털었다."
AI_PASSAGE = "원고의 첫 장에는 낯선 이름이 적혀 있었다. 그는 한참 동안 그 이름을 소리 내어 읽었다."


def story_of(app, owner_name: str, title: str) -> int:
    from app.accounts.models import User
    from app.extensions import db
    from app.stories import services

    with app.app_context():
        owner = db.session.scalar(db.select(User).where(User.username == owner_name))
        story_id = services.create_story(owner, title, OPENING).id
        db.session.remove()
    return story_id


def add_ai_passage(app, story_id: int) -> None:
    """A passage as a round's chosen candidate lands, written by the bare base."""
    from app.extensions import db
    from app.rounds import machine
    from app.stories.models import Story
    from app.training.models import ModelVersion

    with app.app_context():
        version = ModelVersion(story_id=None, name="기본 모델", base="/models/starter", data={}, metrics={})
        db.session.add(version)
        db.session.flush()
        machine.append_passage(db.session.get(Story, story_id), AI_PASSAGE, model_version_id=version.id)
        db.session.commit()
        db.session.remove()


def test_the_owner_closes_a_chapter_finishes_and_the_book_reads_well(live_server, browser, app):
    page = browser.new_context(locale="ko-KR").new_page()
    sign_up(page, live_server, "책방주인")
    story_id = story_of(app, "책방주인", "책방의 원고")
    story_of(app, "책방주인", "아직 쓰는 이야기")

    page.goto(f"{live_server}/stories/{story_id}")
    page.fill("#close-chapter-form input[name=title]", "비 갠 저녁")
    page.click("#close-chapter-form button[type=submit]")
    page.wait_for_selector(".flash:has-text('제1장 「비 갠 저녁」을 닫았습니다.')", timeout=5000)
    assert "제1장까지 닫았습니다" in page.inner_text("#open-chapter")

    add_ai_passage(app, story_id)  # the next round's passage opens chapter 2
    page.reload()
    assert "지금 쓰는 제2장" in page.inner_text("#open-chapter")
    page.fill("#finish-form input[name=title]", "낯선 이름")
    page.click("#finish-form button[type=submit]")  # the confirmation box is required: nothing is sent
    assert page.evaluate("!document.querySelector('#finish-form input[name=confirm]').validity.valid")
    assert page.locator(".flash").count() == 0 and page.is_visible("#round")
    page.check("#finish-form input[name=confirm]")
    page.click("#finish-form button[type=submit]")
    page.wait_for_url(f"{live_server}/stories/{story_id}/read", timeout=5000)

    headings = page.locator(".chapter-heading").all_inner_texts()
    assert headings == ["제1장 비 갠 저녁", "제2장 낯선 이름"]
    assert "완결" in page.inner_text(".book-head") and "함께 쓴 사람들" in page.inner_text("#credits")
    marks = page.locator(".book .mark")
    assert marks.count() == 2 and all(marks.nth(i).is_visible() for i in range(2))
    assert "사람" in marks.nth(0).inner_text() and "AI" in marks.nth(1).inner_text()
    toggle = page.locator("label.marks-toggle")
    assert toggle.inner_text() == "AI·사람 표시 숨기기"
    toggle.click()
    wait_for(page, "[...document.querySelectorAll('.book .mark')].every(m => m.offsetParent === null)", timeout=5000)
    assert toggle.inner_text() == "AI·사람 표시 보이기"
    assert page.is_visible(f".read-ai .line:has-text('{AI_PASSAGE[:10]}')")  # the text stays, its mark goes
    toggle.click()
    wait_for(page, "[...document.querySelectorAll('.book .mark')].every(m => m.offsetParent !== null)", timeout=5000)

    page.goto(f"{live_server}/")
    finished = page.locator("#finished-stories")
    assert finished.locator("h2").inner_text() == "완결된 이야기"
    assert finished.locator(".story-title").all_inner_texts() == ["책방의 원고"]
    assert page.locator("#ongoing .story-title").all_inner_texts() == ["아직 쓰는 이야기"]
    finished.locator(".story-title").click()
    page.wait_for_url(f"{live_server}/stories/{story_id}/read", timeout=5000)

    page.goto(f"{live_server}/stories/{story_id}")  # the story page: no round panel, links to the book
    assert page.is_visible("#finished") and not page.locator("#round").count()
    assert page.locator("#finished a[href$='book.epub']").count() == 1


def test_a_phone_reads_the_book_without_scrolling_sideways(live_server, browser, app):
    sign_up(browser.new_context(locale="ko-KR").new_page(), live_server, "폰작가")
    story_id = story_of(app, "폰작가", "아주아주긴제목이한줄에다들어가지않을만큼길게이어지는이야기")
    for _ in range(3):
        add_ai_passage(app, story_id)
    phone = browser.new_context(locale="ko-KR", viewport={"width": 360, "height": 740}).new_page()
    phone.goto(f"{live_server}/stories/{story_id}/read")
    assert phone.evaluate("document.documentElement.scrollWidth <= innerWidth")
    size = phone.evaluate("parseFloat(getComputedStyle(document.querySelector('.book .line')).fontSize)")
    line = phone.evaluate("parseFloat(getComputedStyle(document.querySelector('.book .line')).lineHeight)")
    assert size >= 16 and line >= 1.7 * size  # long Korean text wants room between lines
    assert phone.evaluate("getComputedStyle(document.querySelector('.book')).wordBreak") == "keep-all"
    assert phone.locator("label.marks-toggle").bounding_box()["height"] >= 40  # a thumb can press it
