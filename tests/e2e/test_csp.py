"""Every page of the site works under its Content-Security-Policy: no script, style or request
is refused (the ``browser`` fixture fails a test on any violation)."""
import pytest

pytestmark = pytest.mark.browser

PASSWORD = "maple-letter-42"


@pytest.fixture
def site(app):
    from app.accounts import services as accounts
    from app.extensions import db
    from app.stories import services as stories
    from tests.app.training_helpers import add_novel

    with app.app_context():
        admin = accounts.sign_up("관리자", PASSWORD, role="admin")
        story_id = stories.create_story(admin, "느티나무 아래", "그날 아침, 느티나무 아래에 편지가 놓여 있었다.").id
        admin_id = admin.id
        db.session.remove()
    novel_id = add_novel(app, admin_id, text="바람이 불었다. 그는 창문을 닫았다.\n" * 20, title="바람 부는 저녁")
    return {"story": story_id, "novel": novel_id}


def test_the_main_pages_run_within_the_policy(live_server, browser, site):
    page = browser.new_context(locale="ko-KR").new_page()
    for path in ("/", "/login", "/signup", "/novels"):
        assert page.goto(f"{live_server}{path}").ok, path
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "관리자")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    story = site["story"]
    for path in (f"/stories/{story}", f"/stories/{story}/read", f"/stories/{story}/history",
                 f"/stories/{story}/bible", f"/stories/{story}/training", f"/stories/{story}/novels", "/novels", f"/novels/{site['novel']}",
                 "/novels/upload", "/stories/new", "/admin", "/admin/jobs", "/profile"):
        response = page.goto(f"{live_server}{path}")
        assert response.ok, path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
    page.click("form[method=post] button.primary")  # a new API token
    page.wait_for_selector("#api-token")
    assert not browser.csp_violations, browser.csp_violations


def test_a_violation_would_be_noticed(live_server, browser, site):
    page = browser.new_context(locale="ko-KR").new_page()
    page.goto(f"{live_server}/")
    page.evaluate("""() => document.body.insertAdjacentHTML("beforeend", '<p style="color: red">x</p>')""")
    page.wait_for_timeout(200)
    assert any("style-src" in v for v in browser.csp_violations), browser.csp_violations
    browser.csp_violations.clear()
