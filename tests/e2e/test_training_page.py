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


def test_applying_a_held_version_updates_the_job_panel_and_the_buttons(live_server, browser, app):
    """The job said its version waits for an admin; once an admin applies it the panel says so,
    a rolled-back-from newer version is offered as a change, not as going back, a change that
    rounds to 0.0 % is no change, and with no base model there is no retraining to start."""
    from app.accounts import services as accounts
    from app.extensions import db
    from app.jobs import services as jobs
    from app.jobs.models import Job
    from app.stories import services
    from app.training.models import ModelVersion

    held = "검증 손실 2.500이 현재 버전의 2.000보다 5% 넘게 나빠 관리자 확인을 기다립니다."
    with app.app_context():
        accounts.sign_up("chief", "password123", role="admin")
        owner = accounts.sign_up("owner", "password123")
        story = services.create_story(owner, "책방의 원고", "장마가 그친 저녁, 골목 끝 책방에 불이 켜졌다.")
        v1 = ModelVersion(story_id=story.id, name="v1", base="/m/starter", path="/m/v1", data={}, metrics={})
        v2 = ModelVersion(story_id=story.id, name="v2", base="/m/starter", path="/m/v2", data={}, held_for_admin=True,
                          metrics={"heldout_passages": 1, "val_loss_before": 2.0, "active_val_loss": 2.0,
                                   "val_loss": 2.0001, "activated": False, "decision": held})
        db.session.add_all([v1, v2])
        db.session.flush()
        story.active_model_version_id = v1.id
        job = Job(kind="retrain", story_id=story.id, status="running", params={})
        db.session.add(job)
        db.session.flush()
        jobs.mark_succeeded(job, metrics={"stage": "done", "version": "v2", "version_id": v2.id, "decision": held})
        db.session.commit()
        story_id = story.id
        db.session.remove()

    page = browser.new_context(locale="ko-KR").new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "chief")
    page.fill("input[name=password]", "password123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/stories/{story_id}/training")
    page.wait_for_selector("#job-message:not([hidden])")
    assert "관리자 확인을 기다립니다" in page.inner_text("#job-message")
    assert page.inner_text("#versions li:has-text('v2') .loss-change") == "변화 없음"
    assert page.get_attribute("#versions li:has-text('v2') .loss-change", "class") == "loss-change"
    page.wait_for_timeout(1200)  # the page has polled once: the buttons are the script's now
    assert page.is_disabled("#retrain-button") and page.is_visible("#no-base")

    page.click("#versions li:has-text('v2') button.version-activate")  # 이 버전 적용
    wait_for(page, "document.querySelector('#job-message').textContent.includes('관리자(chief)가 적용했습니다')")
    assert page.inner_text("#job-message").startswith("v2: 관리자(chief)가 적용했습니다")
    assert "관리자(chief)가 적용했습니다" in page.inner_text("#versions li:has-text('v2')")
    assert page.inner_text("#versions li:has-text('v1') button") == "이 버전으로 되돌리기"
    assert page.inner_text("#versions li:has-text('v2') .loss-change") == "변화 없음"  # drawn by the script too

    page.click("#versions li:has-text('v1') button.version-activate")  # back to v1: v2 is the newer one
    wait_for(page, "!!document.querySelector('#versions li.active[data-id] .version-title') && "
                   "document.querySelector('#versions li.active .version-title').textContent.startsWith('v1')")
    assert page.inner_text("#versions li:has-text('v2') button") == "이 버전으로 바꾸기"
    assert page.is_disabled("#retrain-button")
