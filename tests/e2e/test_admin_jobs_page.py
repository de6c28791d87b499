"""/admin/jobs in a real browser: usable on a phone, following its jobs without a reload, the
starter's progress, and times in the viewer's own time zone. Jobs are written straight to the
database, as a worker would write them."""
import math

import pytest

from tests.app.training_helpers import add_job
from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def report(app, job_id: int, last_step: int, first_step: int = 1, total: int = 200) -> None:
    from app.jobs import services as jobs

    points = [(s, 2.0 + 4.0 * math.exp(-s / 30) + 0.05 * math.sin(s), 2400.0) for s in range(first_step, last_step + 1)]
    with app.app_context():
        jobs.record_progress(job_id, last_step / total, {
            "stage": "training", "step": last_step, "total": total, "loss": points[-1][1],
            "tokens_per_s": 2400.0, "eta_s": (total - last_step) * 0.5, "elapsed_s": last_step * 0.5}, points)


def finish(app, job_id: int, status: str = "succeeded", error: str | None = None) -> None:
    from app.extensions import db
    from app.jobs import services as jobs
    from app.jobs.models import Job

    with app.app_context():
        job = db.session.get(Job, job_id)
        if status == "succeeded":
            jobs.mark_succeeded(job)
        else:
            jobs.mark_failed(job, error or "실패")
        db.session.commit()


@pytest.fixture
def site(app):
    """An admin, a participant, a novel, stories with long Korean titles, and jobs of every kind
    and status."""
    from app.accounts import services as accounts
    from app.extensions import db
    from app.stories import services as stories
    from tests.app.training_helpers import add_novel

    with app.app_context():
        admin = accounts.sign_up("관리자", "password123", role="admin")
        reader = accounts.sign_up("책읽는사람", "password123")
        add_novel(app, reader.id, text="바람이 불었다. 그는 창문을 닫고 책상 앞에 앉았다.\n" * 20, title="바람 부는 저녁의 기록")
        first = stories.create_story(admin, "장마가 그친 저녁의 골목 책방", "장마가 그친 저녁, 골목 끝 책방에 불이 켜졌다.").id
        second = stories.create_story(admin, "느티나무 아래의 편지", "그날 아침, 느티나무 아래에 편지가 놓여 있었다.").id
        third = stories.create_story(admin, "등대지기의 겨울", "바다는 그해 겨울 내내 얼지 않았다.").id
        db.session.remove()
    jobs = {
        "running": add_job(app, kind="retrain", story_id=first, status="running"),
        "queued": add_job(app, kind="train", story_id=second, status="queued"),
        "waiting": add_job(app, kind="retrain", story_id=third, status="waiting", error="기본 모델이 아직 없습니다."),
        "failed": add_job(app, kind="generate", story_id=first, status="failed", error="작업이 응답하지 않아 중단되었습니다."),
    }
    report(app, jobs["running"], 40)
    return {"stories": (first, second, third), "jobs": jobs}


def signed_in_page(browser, base: str, **context):
    page = browser.new_context(locale="ko-KR", **context).new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "관리자")
    page.fill("input[name=password]", "password123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


# Per cell: its height in lines of its own text, and whether it is wider than the viewport.
CELLS = """() => [...document.querySelectorAll('table td, table th')].filter((el) => el.offsetParent !== null)
  .map((el) => {
    const style = getComputedStyle(el);
    const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.6;
    const box = el.getBoundingClientRect();
    return {text: el.innerText.trim(), lines: (el.clientHeight - parseFloat(style.paddingTop)
      - parseFloat(style.paddingBottom)) / line, right: box.right};
  })"""


@pytest.mark.parametrize("path", ["/admin/jobs", "/admin"])
def test_the_admin_tables_fit_a_phone_without_breaking_korean_words(live_server, browser, app, site, path):
    page = signed_in_page(browser, live_server, viewport=PHONE, device_scale_factor=2, has_touch=True)
    page.goto(f"{live_server}{path}")
    page.wait_for_selector("table")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 390px"
    cells = page.evaluate(CELLS)
    assert cells
    for cell in cells:
        # A syllable per line makes a cell as many lines tall as its text has syllables.
        assert cell["lines"] < 3.5, cell
        assert cell["right"] <= PHONE["width"], cell
    buttons = page.evaluate("""() => [...document.querySelectorAll('table button')]
      .filter((b) => b.offsetParent !== null).map((b) => b.getBoundingClientRect().height)""")
    assert all(height >= 40 for height in buttons), buttons  # tappable with a thumb


def test_jobs_follow_their_status_without_a_reload(live_server, browser, app, site):
    page = signed_in_page(browser, live_server, viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/admin/jobs")
    running = site["jobs"]["running"]
    row = f"#jobs tr[data-job-id='{running}']"
    page.wait_for_selector(f"{row} .job-status:has-text('실행 중')")
    assert "40/200" in page.inner_text(f"{row} .job-steps")
    page.evaluate("window.notReloaded = true")
    assert "다시 시도" not in page.inner_text("main")

    report(app, running, 120, first_step=41)
    wait_for(page, f"document.querySelector(\"{row} .job-steps\").textContent.includes('120/200')",
             timeout=15000)
    finish(app, running)
    page.wait_for_selector(f"{row} .job-status:has-text('완료')", timeout=15000)
    assert page.locator(f"{row} button").count() == 0  # nothing left to cancel

    fresh = add_job(app, kind="retrain", story_id=site["stories"][0], status="queued")
    page.wait_for_selector(f"#jobs tr[data-job-id='{fresh}'] .job-status:has-text('대기열')", timeout=15000)
    assert page.locator(f"#jobs tr[data-job-id='{fresh}'] button:has-text('취소')").count() == 1
    assert page.evaluate("window.notReloaded === true")
    assert "다시 시도" not in page.inner_text("main")


def test_the_starter_pretrain_shows_its_progress_and_loss_curve(live_server, browser, app, site):
    pretrain = add_job(app, kind="pretrain", status="running")
    report(app, pretrain, 50, total=400)
    page = signed_in_page(browser, live_server, viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/admin/jobs")
    page.wait_for_selector("#starter-loss-chart polyline")
    assert page.inner_text("#starter-job-steps").startswith("50 / 400")
    assert "토큰/초" in page.inner_text("#starter-job-speed")
    assert page.is_disabled("#starter button.primary")
    assert f"#job-{pretrain}" in page.get_attribute("#starter-reason a", "href")

    report(app, pretrain, 100, first_step=51, total=400)
    wait_for(page, "document.querySelector('#starter-job-steps').textContent.startsWith('100 / 400')",
             timeout=15000)
    assert len(page.get_attribute("#starter-loss-chart polyline", "points").split()) == 100


def test_times_are_shown_in_the_browsers_time_zone(live_server, browser, app, site):
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from app.extensions import db
    from app.jobs.models import Job

    job_id = site["jobs"]["queued"]
    with app.app_context():
        created = db.session.get(Job, job_id).created_at.replace(tzinfo=timezone.utc)
    page = signed_in_page(browser, live_server, viewport={"width": 1280, "height": 900}, timezone_id="America/New_York")
    page.goto(f"{live_server}/admin/jobs")
    time = page.locator(f"#jobs tr[data-job-id='{job_id}'] time")
    assert time.get_attribute("datetime").endswith("+09:00")  # the server's text is Seoul's
    there = created.astimezone(ZoneInfo("America/New_York"))
    wait_for(page, f"document.querySelector(\"#jobs tr[data-job-id='{job_id}'] time\").textContent"
             f".includes('{there:%H:%M}')")
    assert f"{there:%Y. %m. %d.}" in time.inner_text()
    assert datetime.now(timezone.utc).astimezone(ZoneInfo("Asia/Seoul")).utcoffset() != there.utcoffset()


def test_polling_pauses_while_the_tab_is_hidden(live_server, browser, app, site):
    page = signed_in_page(browser, live_server, viewport={"width": 1280, "height": 900})
    polls = []
    page.on("request", lambda request: polls.append(request.url) if "/api/v1/admin/jobs" in request.url else None)
    page.goto(f"{live_server}/admin/jobs")
    page.wait_for_timeout(3600)  # a job runs: the list is polled every 3 s
    assert polls
    page.evaluate("""() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
                             document.dispatchEvent(new Event('visibilitychange')); }""")
    page.wait_for_timeout(300)
    polls.clear()
    page.wait_for_timeout(7000)
    assert polls == []
    page.evaluate("""() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
                             document.dispatchEvent(new Event('visibilitychange')); }""")
    page.wait_for_timeout(1000)
    assert len(polls) == 1  # at once when shown again
