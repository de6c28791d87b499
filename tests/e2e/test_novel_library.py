"""The library and a story's training set in a real browser: search, order and pages (with and
without JavaScript), and vote counts that follow other people's votes without a reload."""
from urllib.parse import parse_qs, urlparse

import pytest

from tests.app.test_novels import add_novels
from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.browser


def query_of(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def sign_up(app, username: str) -> int:
    from app.accounts import services as accounts
    from app.extensions import db

    with app.app_context():
        user_id = accounts.sign_up(username, "password123").id
        db.session.remove()
    return user_id


@pytest.fixture
def library(app):
    from app.extensions import db

    writer_id = sign_up(app, "writer")
    with app.app_context():
        add_novels(db, writer_id, [(f"소설 {i:02d}", "작가", 100 + i) for i in range(1, 24)]
                   + [("봄봄", "김유정", 500), ("동백꽃", "김유정", 400)])
        db.session.remove()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_library_search_order_and_pages(live_server, browser, library, javascript):
    page = browser.new_context(locale="ko-KR", java_script_enabled=javascript).new_page()
    page.goto(f"{live_server}/novels")
    assert page.inner_text("#library-count") == "25편 중 1–20 · 1 / 2쪽"
    assert page.locator(".novel-list > li").count() == 20

    page.click("#pager >> text=다음 ›")
    page.wait_for_url("**/novels?page=2")
    assert page.inner_text("#library-count") == "25편 중 21–25 · 2 / 2쪽"
    assert page.locator(".novel-list > li").count() == 5

    page.fill("input[name=q]", "김유정")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/novels?q=*")
    assert page.inner_text("#library-count") == "「김유정」 검색 결과 2편 중 1–2"
    assert page.locator(".novel-list .story-title").all_inner_texts() == ["동백꽃", "봄봄"]

    page.select_option("select[name=sort]", "title")
    if not javascript:  # without the script the order waits for the button
        page.click(".library-search button[type=submit]")
    page.wait_for_url("**sort=title*")
    assert query_of(page.url) == {"q": "김유정", "sort": "title"}
    assert page.locator(".novel-list .story-title").all_inner_texts() == ["동백꽃", "봄봄"]
    page.select_option("select[name=sort]", "chars")
    if not javascript:
        page.click(".library-search button[type=submit]")
    page.wait_for_url("**sort=chars*")
    assert page.locator(".novel-list .story-title").all_inner_texts() == ["봄봄", "동백꽃"]


def vote(app, story_id: int, novel_id: int, user_id: int) -> None:
    from app.accounts.models import User
    from app.extensions import db
    from app.novels import training_set

    with app.app_context():
        training_set.set_training_vote(story_id, novel_id, db.session.get(User, user_id), voted=True)
        db.session.remove()


def test_story_novels_page_follows_other_peoples_votes(live_server, browser, app):
    from app.accounts.models import User
    from app.extensions import db
    from app.stories import services as stories

    owner_id, reader_id = sign_up(app, "owner"), sign_up(app, "reader")
    with app.app_context():
        owner = db.session.get(User, owner_id)
        story_id = stories.create_story(owner, "등대지기", "바닷가 마을의 등대에 불이 켜졌다.",
                                        settings={"training_quorum": 2}).id
        (novel_id,) = add_novels(db, owner_id, [("등대", "작가", 100)])
        db.session.remove()
    page = browser.new_context(locale="ko-KR").new_page()
    page.goto(f"{live_server}/stories/{story_id}/novels")
    item = f".novel[data-novel-id='{novel_id}']"
    assert page.inner_text(f"{item} .vote-count") == "0 / 2표"
    assert page.is_hidden(f"{item} .badge.in-set")

    vote(app, story_id, novel_id, owner_id)  # someone else votes: the page follows within a few seconds
    wait_for(page, f"document.querySelector(\"{item} .vote-count\").textContent === '1 / 2표'", timeout=12000)
    vote(app, story_id, novel_id, reader_id)
    wait_for(page, f"document.querySelector(\"{item}\").classList.contains('in-training-set')", timeout=12000)
    assert page.inner_text(f"{item} .vote-count") == "2 / 2표" and page.is_visible(f"{item} .badge.in-set")


def test_story_novels_page_searches_and_pages_with_the_training_set_on_top(live_server, browser, app, library):
    from app.accounts.models import User
    from app.extensions import db
    from app.novels.models import Novel
    from app.stories import services as stories

    owner_id = sign_up(app, "owner")
    with app.app_context():
        story_id = stories.create_story(db.session.get(User, owner_id), "등대지기", "바닷가 마을의 등대에 불이 켜졌다.",
                                        settings={"training_quorum": 1}).id
        oldest = db.session.scalar(db.select(Novel.id).where(Novel.title == "소설 01"))
        db.session.remove()
    vote(app, story_id, oldest, owner_id)
    page = browser.new_context(locale="ko-KR").new_page()
    page.goto(f"{live_server}/stories/{story_id}/novels")
    assert page.inner_text("#library-count") == "25편 중 1–20 · 1 / 2쪽"
    titles = page.locator(".novel-list .story-title").all_inner_texts()
    assert titles[:2] == ["소설 01", "동백꽃"]  # its training set first, then the newest
    assert page.is_visible(".novel.in-training-set .badge.in-set")

    page.click("#pager >> text=다음 ›")
    page.wait_for_url(f"**/stories/{story_id}/novels?page=2")
    assert page.locator(".novel-list > li").count() == 5

    page.fill("input[name=q]", "김유정")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**novels?q=*")
    assert page.inner_text("#library-count") == "「김유정」 검색 결과 2편 중 1–2"
    page.select_option("select[name=sort]", "title")  # the script applies a new order at once
    page.wait_for_url("**sort=title*")
    assert page.locator(".novel-list .story-title").all_inner_texts() == ["동백꽃", "봄봄"]
    assert page.locator("button.training-vote").count() == 0  # votes need a login; the page says so
