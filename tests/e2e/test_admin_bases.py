"""/admin/jobs in a real browser: the starter base's section (what serves and how good it is, its
curve, its versions as cards on a phone, switching without a reload, the slow-host warning) and
the judges' section. Version folders and jobs are written by the test, as the worker leaves them."""
import json
from pathlib import Path

import pytest

from tests.app.training_helpers import add_job
from tests.e2e.conftest import wait_for
from tests.e2e.test_admin_jobs_page import PHONE, signed_in_page

pytestmark = pytest.mark.browser


def version(models: Path, name: str, parent: str | None, bpc: list[float], seconds: float, offset: float) -> None:
    (models / name).mkdir(parents=True)
    (models / name / "config.json").write_text("{}")
    curve = [[(i + 1) * 50, seconds * (i + 1) / len(bpc), b] for i, b in enumerate(bpc)]
    (models / name / "starter.json").write_text(json.dumps({"parent": parent, "data": [{"sha256": "x"}] * 3, "metrics": {
        "steps": 50 * len(bpc), "passes": float(len(bpc)), "total_passes": float(len(bpc)) + offset / 100,
        "heldout_bpc": bpc[-1], "seconds": seconds, "total_seconds": offset + seconds, "tokens_per_s": 1000.0,
        "curve": curve}}))


@pytest.fixture
def site(app):
    """An admin, a novel, three starter versions (starter-5 serves; starter-3 did not beat it and
    waits) and judges trained for starter."""
    from app.accounts import services as accounts
    from app.extensions import db
    from model_server.paths import set_active_starter
    from tests.app.training_helpers import add_novel

    with app.app_context():
        admin = accounts.sign_up("관리자", "password123", role="admin")
        add_novel(app, admin.id, text="바람이 불었다. 그는 창문을 닫고 책상 앞에 앉았다.\n" * 20, title="바람 부는 저녁의 기록")
        db.session.remove()
    models = Path(app.config["DATA_DIR"]) / "models"
    version(models, "starter", None, [3.4, 3.1, 2.95], seconds=1800, offset=0)
    version(models, "starter-3", "starter", [2.96, 2.94], seconds=900, offset=1800)
    version(models, "starter-5", "starter", [2.9, 2.8], seconds=900, offset=1800)
    set_active_starter(models, "starter-5")
    for name, activated, decision in (
            ("starter", True, "첫 기본 모델이라 바로 씁니다."),
            ("starter-3", False, "처음 보는 글에서의 오차가 2.950에서 2.940으로 0.3% 줄었지만 기준(1%)에 못 미쳐 지금 모델(starter)을 "
                                 "계속 씁니다. 관리자가 바꿀 수 있습니다."),
            ("starter-5", True, "처음 보는 글에서의 오차가 2.950에서 2.800으로 5.1% 줄어 이 모델로 바꿨습니다.")):
        add_job(app, kind="pretrain", status="succeeded", params={"passes": 2}, metrics={
            "version": name, "activated": activated, "decision": decision, "tokens_per_s": 1000.0})
    add_job(app, kind="judge", status="succeeded", params={}, metrics={
        "base": str(models / "starter"), "base_name": "starter", "path": "/j/1", "ranked_first_vs_base": 0.62,
        "ranked_first_vs_real": 0.48, "group_size": 5, "heldout_groups": 30})
    return models


def test_the_base_section_reads_on_a_phone_with_its_curve_and_versions_as_cards(live_server, browser, app, site):
    page = signed_in_page(browser, live_server, viewport=PHONE, device_scale_factor=2, has_touch=True)
    page.goto(f"{live_server}/admin/jobs")
    page.wait_for_selector("#base-curve polyline")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 390px"
    active = page.inner_text("#base-active")
    assert "starter-5" in active and "처음 보는 글에서의 오차(낮을수록 좋음)" in active and "2.800" in active
    assert page.inner_text("#starter button.primary").strip() == "기본 모델 더 학습하기"
    # one line per version, the serving one drawn strongest; a continued one starts where its parent ended
    lines = page.eval_on_selector_all("#base-curve polyline", "els => els.map((e) => [e.dataset.version, "
                                      "e.classList.contains('active'), e.getAttribute('points')])")
    assert [(name, active) for name, active, _ in lines] == [("starter", False), ("starter-3", False), ("starter-5", True)]
    first_x = lambda points: float(points.split()[0].split(",")[0])  # noqa: E731
    last_x = lambda points: float(points.split()[-1].split(",")[0])  # noqa: E731
    assert first_x(lines[2][2]) > last_x(lines[0][2])
    assert page.locator("#base-curve .chart-link").count() == 2
    # the versions table is one card per row on a phone, each with its decision and a button
    rows = page.locator("#base-versions tbody tr")
    assert rows.count() == 3
    assert page.evaluate("getComputedStyle(document.querySelector('#base-versions tbody tr')).display") == "block"
    waiting = page.locator("#base-versions tr[data-version='starter-3']")
    assert "기준(1%)에 못 미쳐" in waiting.inner_text() and waiting.locator("button").inner_text() == "이 모델 쓰기"
    assert page.locator("#base-versions tr[data-version='starter-5'] button").count() == 0
    heights = page.eval_on_selector_all("#base-versions button", "els => els.map((b) => b.getBoundingClientRect().height)")
    assert heights and all(h >= 40 for h in heights)
    judges = page.inner_text("#judge-figures")
    assert "정답 이어쓰기를 5개 중 1등으로 고른 비율" in judges
    assert "AI 후보와 섞었을 때 62%" in judges and "다른 곳의 글과 섞었을 때 48%" in judges
    assert "지금 쓰는 기본 모델(starter-5)에 맞춘 판정 모델은 아직 없어" in page.inner_text("#judges")


def test_an_admin_switches_the_base_and_trains_judges_without_a_reload(live_server, browser, app, site):
    from app.extensions import db
    from app.jobs import services as jobs
    from app.jobs.models import Job

    page = signed_in_page(browser, live_server, viewport={"width": 1280, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server}/admin/jobs")
    page.evaluate("window.notReloaded = true")
    page.click("#base-versions tr[data-version='starter-3'] button")
    page.wait_for_selector("#base-versions tr[data-version='starter-3'] .badge:has-text('사용 중')", timeout=15000)
    assert (site / "starter.active").read_text().strip() == "starter-3"
    assert "starter-3" in page.inner_text("#base-active")
    assert "관리자(관리자)가 골랐습니다" in page.inner_text("#base-versions tr[data-version='starter-3']")
    # switching queued judges for the new base: the section follows that job
    page.wait_for_selector("#judge-job-panel:not([hidden])", timeout=15000)
    assert page.is_disabled("#judges button.primary")
    with app.app_context():
        judge = db.session.scalar(db.select(Job).where(Job.kind == "judge", Job.status == "queued"))
        assert judge.params["base_name"] == "starter-3"
        jobs.mark_succeeded(judge, metrics={"base": judge.params["base"], "base_name": "starter-3", "path": "/j/2",
                                            "ranked_first_vs_base": 0.7, "ranked_first_vs_real": 0.55, "group_size": 5})
        db.session.commit()
    wait_for(page, "document.querySelector('#judge-figures').textContent.includes('70%')", timeout=20000)
    assert "지금 후보를 고르는 데 씁니다" in page.inner_text("#judge-meta")
    assert not page.is_disabled("#judges button.primary")
    assert page.evaluate("window.notReloaded === true")


def test_a_pretrain_on_a_busy_host_warns_how_long_it_will_take(live_server, browser, app, site):
    from app.jobs import services as jobs

    running = add_job(app, kind="pretrain", status="running", params={"passes": 4, "parent": "starter-5"})
    with app.app_context():
        jobs.record_progress(running, 0.2, {"stage": "training", "step": 40, "total": 200, "loss": 3.3,
                                            "tokens_per_s": 300.0, "usual_tokens_per_s": 1000.0, "eta_s": 600.0,
                                            "train_elapsed_s": 150.0, "passes_total": 4,
                                            "heldout_loss": [[20, 70.0, 3.6], [40, 150.0, 3.4]]},
                             [(s, 4.0 - s / 100, 300.0) for s in range(1, 41)])
    page = signed_in_page(browser, live_server, viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/admin/jobs")
    page.wait_for_selector("#starter-slow:not([hidden])")
    warning = page.inner_text("#starter-slow")
    assert warning.startswith("서버가 바빠 평소보다 느립니다: 예상 10분 0초 남음") and "평소 속도라면 약 3분 0초" in warning
    assert page.is_disabled("#starter button.primary")
    assert page.inner_text("#starter-job-steps").startswith("40 / 200")
    reading = page.inner_text("#starter-reading")
    assert "소설을 0.8 / 4번 읽었습니다" in reading and "처음 보는 글에서의 손실 3.400 (처음 3.600)" in reading
