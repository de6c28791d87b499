"""The story's training page in a real browser: the progress bar and the SVG loss curve update
by themselves as the job writes progress, for a visitor who is not signed in."""
import pytest

from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.browser


def running_job(app, story_id: int) -> int:
    from app.extensions import db
    from app.jobs.models import Job

    with app.app_context():
        job = Job(kind="retrain", story_id=story_id, status="running", params={})
        db.session.add(job)
        db.session.commit()
        return job.id


def report(app, job_id: int, last_step: int, first_step: int = 1, total: int = 150) -> None:
    import math

    from app.jobs import services as jobs

    points = [(s, 2.2 + 3.5 * math.exp(-s / 25) + 0.08 * math.sin(s), 1800.0) for s in range(first_step, last_step + 1)]
    with app.app_context():
        jobs.record_progress(job_id, 0.95 * last_step / total, {
            "stage": "training", "step": last_step, "total": total, "loss": points[-1][1],
            "tokens_per_s": 1800.0, "eta_s": (total - last_step) * 0.4, "elapsed_s": last_step * 0.4}, points)


def test_progress_and_loss_curve_update_live_for_a_visitor(live_server, browser, app, tmp_path):
    from app.accounts import services as accounts
    from app.extensions import db
    from app.stories import services

    with app.app_context():
        owner = accounts.sign_up("owner", "password123")
        story_id = services.create_story(owner, "책방의 원고", "장마가 그친 저녁, 골목 끝 책방에 불이 켜졌다.").id
        db.session.remove()
    job_id = running_job(app, story_id)
    report(app, job_id, 60)

    page = browser.new_context(locale="ko-KR", viewport={"width": 1100, "height": 900}).new_page()
    page.goto(f"{live_server}/stories/{story_id}/training")
    page.wait_for_selector("#loss-chart polyline")
    assert page.inner_text("#job-steps").startswith("60 / 150")
    assert "실행 중" in page.inner_text("#job-status")
    assert len(page.get_attribute("#loss-chart polyline", "points").split()) == 60
    width = page.eval_on_selector("#job-progress span", "el => el.style.width")
    assert width == "38%"

    report(app, job_id, 120, first_step=61)  # the worker goes on; the page follows within ~2 s
    wait_for(page, "document.querySelector('#job-steps').textContent.startsWith('120 / 150')", timeout=6000)
    assert len(page.get_attribute("#loss-chart polyline", "points").split()) == 120
    assert "초" in page.inner_text("#job-eta")
    assert page.locator("#job-speed").count() == 0 and "토큰" not in page.inner_text("body")  # admins' figure only
    page.wait_for_timeout(800)  # the bar eases to its width
    page.screenshot(path=str(tmp_path / "training.png"), full_page=True)


def test_a_version_that_arrives_live_shows_its_decision_and_no_unmeasured_comparison(live_server, browser, app):
    """The page draws the versions a finished job adds by itself, by the server's rule: a loss
    comparison only when both losses were measured on held-out passages."""
    from app.accounts import services as accounts
    from app.extensions import db
    from app.jobs import services as jobs
    from app.jobs.models import Job
    from app.stories import services
    from app.training.models import ModelVersion

    with app.app_context():
        owner = accounts.sign_up("owner", "password123")
        story_id = services.create_story(owner, "책방의 원고", "장마가 그친 저녁, 골목 끝 책방에 불이 켜졌다.").id
        db.session.remove()
    job_id = running_job(app, story_id)
    report(app, job_id, 30)
    page = browser.new_context(locale="ko-KR", timezone_id="Asia/Seoul", viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{live_server}/stories/{story_id}/training")
    page.wait_for_selector("#loss-chart polyline")
    assert page.is_visible("#versions-none")

    decisions = {"v-4bit": "현재 버전의 검증 손실을 잴 수 없어 비교 없이 바로 적용했습니다.",
                 "v-compared": "검증 손실 2.500 → 2.300: 자동으로 적용했습니다."}
    with app.app_context():
        db.session.add(ModelVersion(story_id=story_id, name="v-4bit", base="/m/starter", path="/m/a", data={}, metrics={
            "heldout_passages": 1, "val_loss": 2.5, "val_loss_before": None, "active_val_loss": None,
            "decision": decisions["v-4bit"]}))
        db.session.add(ModelVersion(story_id=story_id, name="v-compared", base="/m/starter", path="/m/b", data={}, metrics={
            "heldout_passages": 1, "val_loss": 2.3, "val_loss_before": 2.5, "active_val_loss": 2.5,
            "decision": decisions["v-compared"]}))
        jobs.mark_succeeded(db.session.get(Job, job_id), metrics={"stage": "done"})
        db.session.commit()
    page.wait_for_selector("#versions li:has-text('v-4bit') .version-decision", timeout=8000)
    unmeasured = page.inner_text("#versions li:has-text('v-4bit')")
    assert decisions["v-4bit"] in unmeasured and "→" not in unmeasured
    assert page.locator("#versions li:has-text('v-4bit') .version-loss").count() == 0
    compared = page.locator("#versions li:has-text('v-compared') .version-loss")
    assert compared.inner_text().startswith("검증 손실 2.500 → 2.300") and "8.0% 낮아짐" in compared.inner_text()
    time = page.locator("#versions li:has-text('v-4bit') time")
    assert time.get_attribute("data-localized") and time.inner_text().startswith("20")  # "2025. 01. 31. 14:05"
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
