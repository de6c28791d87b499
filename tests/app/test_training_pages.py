"""The admins' job page and a story's training page as the server writes them: the starter
section says why its button cannot be pressed, times are Seoul's <time> elements, the job list
the page polls, and version rows that compare losses only when losses were compared."""
import re
from datetime import datetime

import pytest

from tests.app.training_helpers import add_job, add_novel

NOVEL = "바람이 불었다. 그는 창문을 닫고 책상 앞에 앉았다. \"오늘은 끝내야 해.\" 그가 중얼거렸다.\n" * 40


def section(html: str, element_id: str) -> str:
    """The HTML of the <section> with this id."""
    start = html.index(f'id="{element_id}"')
    return html[start: html.index("</section>", start)]


def starter_button(html: str) -> str:
    return re.search(r"<button[^>]*data-post=\"/api/v1/admin/starter\"[^>]*>", section(html, "starter")).group(0)


# --- the starter's onboarding ---------------------------------------------------------------------

def test_without_novels_the_starter_button_says_why_and_links_to_the_upload_page(users):
    admin = users.signed_in("boss", role="admin")
    html = admin.get("/admin/jobs").text
    starter = section(html, "starter")
    assert "disabled" in starter_button(html)
    assert "학습할 소설이 없어 시작할 수 없습니다" in starter
    assert re.search(r'<a href="/novels/upload">소설 올리기</a>', starter)
    assert 'aria-describedby="starter-reason"' in starter_button(html)


def test_hidden_novels_are_named_as_the_reason_too(app, users):
    admin = users.signed_in("boss", role="admin")
    add_novel(app, admin.user_id, text=NOVEL, status="hidden")
    starter = section(admin.get("/admin/jobs").text, "starter")
    assert "숨긴 소설 1편은 학습하지 않습니다" in starter and 'href="/admin#novels"' in starter


def test_a_running_pretrain_disables_the_button_and_links_to_its_job(app, users):
    from app.jobs import services as jobs

    admin = users.signed_in("boss", role="admin")
    add_novel(app, admin.user_id, text=NOVEL)
    pretrain = add_job(app, kind="pretrain", status="running")
    with app.app_context():
        jobs.record_progress(pretrain, 0.25, {"stage": "training", "step": 50, "total": 200, "loss": 3.1,
                                              "tokens_per_s": 4000.0, "eta_s": 90.0},
                             [(step, 5.0 - step / 50, 4000.0) for step in range(1, 51)])
    html = admin.get("/admin/jobs").text
    starter = section(html, "starter")
    assert "disabled" in starter_button(html)
    assert f'<a href="#job-{pretrain}">' in starter and f"(작업 {pretrain})" in starter
    assert f'id="job-{pretrain}"' in html  # the row the link leads to
    assert 'id="starter-job-panel"' in starter and 'id="starter-loss-chart"' in starter
    state = re.search(r'<script id="bases-state" type="application/json">(.*?)</script>', html, re.S).group(1)
    assert f'"id": {pretrain}' in state and '"step": 50' in state and len(re.findall(r'"loss":', state)) >= 50


def test_with_novels_the_button_is_pressable_and_says_what_it_will_do(app, users):
    admin = users.signed_in("boss", role="admin")
    add_novel(app, admin.user_id, text=NOVEL)
    html = admin.get("/admin/jobs").text
    assert "disabled" not in starter_button(html)
    assert "보이는 소설 1편을 8번 읽으며 학습합니다" in section(html, "starter")


# --- times -------------------------------------------------------------------------------------------

def test_local_time_writes_a_time_element_in_seoul(app):
    from app.times import local_time

    with app.app_context():
        late = local_time(datetime(2024, 5, 3, 20, 5, 9, 500))  # naive UTC, as the database stores it
        assert late == ('<time datetime="2024-05-04T05:05:09+09:00" data-style="datetime" '
                        'title="2024. 05. 04. 05:05:09 (KST)">2024. 05. 04. 05:05</time>')
        assert ">2024. 05. 04.</time>" in local_time(datetime(2024, 5, 3, 20, 5), "date")
        assert ">2024. 05. 04. 05:05:00</time>" in local_time("2024-05-03T20:05:00+00:00", "seconds")
        assert local_time(None) == ""
        app.config["DISPLAY_TIMEZONE"] = "Europe/Berlin"
        assert 'datetime="2024-05-03T22:05:09+02:00"' in local_time(datetime(2024, 5, 3, 20, 5, 9))


def test_job_times_are_seoul_time_elements_not_utc(app, users, make_story):
    from app.extensions import db
    from app.jobs.models import Job

    _owner, story = make_story()
    job_id = add_job(app, kind="retrain", story_id=story["id"], status="queued")
    with app.app_context():
        db.session.get(Job, job_id).created_at = datetime(2024, 12, 31, 16, 30, 0)
        db.session.commit()
    html = users.signed_in("boss", role="admin").get("/admin/jobs").text
    assert "UTC" not in html
    assert '<time datetime="2025-01-01T01:30:00+09:00" data-style="datetime"' in html
    assert ">2025. 01. 01. 01:30</time>" in html
    assert "localtime.js" in html


# --- the job list the page polls --------------------------------------------------------------------

def test_the_job_list_has_story_titles_and_offers_no_retry(app, users, make_story):
    admin = users.make("admin", role="admin")
    _owner, story = make_story()
    failed = add_job(app, kind="generate", story_id=story["id"], status="failed", error="작업이 응답하지 않아 중단되었습니다.")
    running = add_job(app, kind="retrain", story_id=story["id"], status="running", progress=0.5,
                      metrics={"step": 5, "total": 10})
    items = admin.get("/api/v1/admin/jobs").json["items"]
    assert [(j["id"], j["status"], j["story_title"]) for j in items] == [
        (running, "running", "느티나무 아래"), (failed, "failed", "느티나무 아래")]
    assert items[0]["metrics"]["step"] == 5 and "points" not in items[0]
    assert len(admin.get("/api/v1/admin/jobs?limit=1").json["items"]) == 1
    html = users.signed_in("boss", role="admin").get("/admin/jobs").text
    assert "다시 시도" not in html and "작업이 응답하지 않아 중단되었습니다." in html
    assert f'/api/v1/jobs/{failed}/cancel' not in html and f'/api/v1/jobs/{running}/cancel' in html


# --- version rows ------------------------------------------------------------------------------------

YOUNG = {"heldout_passages": 0, "val_loss": None, "val_loss_before": None, "active_val_loss": None, "activated": True,
         "decision": "이야기 글이 적어 검증용으로 남길 글이 없습니다. 바로 적용했습니다."}
FOUR_BIT = {"heldout_passages": 2, "val_loss": 2.8, "val_loss_before": None, "active_val_loss": None, "activated": True,
            "decision": "현재 버전의 검증 손실을 잴 수 없어 비교 없이 바로 적용했습니다."}
COMPARED = {"heldout_passages": 2, "val_loss": 3.3, "val_loss_before": 2.8, "active_val_loss": 2.8, "activated": False,
            "decision": "검증 손실 3.300이(가) 현재 버전의 2.800보다 5% 넘게 나빠 관리자 확인을 기다립니다."}


def version_rows(html: str) -> dict[str, str]:
    rows = re.findall(r'<li class="version[^"]*" data-id="\d+">(.*?)</li>', html, re.S)
    return {re.search(r'class="version-title">([^<]+)', row).group(1).strip(): row for row in rows}


def test_a_version_without_measured_losses_shows_its_decision_and_no_comparison(app, make_story, client, anonymous):
    from app.extensions import db
    from app.training.models import ModelVersion

    _owner, story = make_story()
    with app.app_context():
        for name, metrics in [("v-young", YOUNG), ("v-4bit", FOUR_BIT), ("v-compared", COMPARED)]:
            db.session.add(ModelVersion(story_id=story["id"], name=name, base="/m/starter", path=f"/m/{name}",
                                        data={"novels": ["novel-1:소설"], "passages": [1, 2]}, metrics=metrics))
        db.session.commit()
    rows = version_rows(client.get(f"/stories/{story['id']}/training").text)
    for name, metrics in [("v-young", YOUNG), ("v-4bit", FOUR_BIT)]:
        assert metrics["decision"] in rows[name]
        assert "→" not in rows[name] and "version-loss" not in rows[name]
    assert "검증 손실 2.800 → 3.300" in rows["v-compared"] and "17.9% 높아짐" in rows["v-compared"]
    assert COMPARED["decision"] in rows["v-compared"]
    assert "<time datetime=" in rows["v-young"] and "소설 1편 · 글 2개" in rows["v-young"]
    items = {v["name"]: v for v in anonymous.get(f"/api/v1/stories/{story['id']}/models").json["items"]}
    assert items["v-young"]["comparison"] is None and items["v-4bit"]["comparison"] is None
    assert items["v-compared"]["comparison"] == {"before": 2.8, "after": 3.3, "change": pytest.approx(0.5 / 2.8)}


@pytest.mark.parametrize("metrics,compared", [
    (COMPARED, True), (YOUNG, False), (FOUR_BIT, False), ({}, False),
    ({**COMPARED, "heldout_passages": 0}, False),  # nothing held out: whatever numbers, no comparison
    ({"val_loss": 2.0, "val_loss_before": 2.5}, True),  # a version recorded before active_val_loss existed
])
def test_a_comparison_needs_both_losses_on_held_out_passages(metrics, compared):
    from app.training.services import loss_comparison

    assert (loss_comparison(metrics) is not None) is compared


def add_versions(app, story_id: int, *specs: tuple[str, dict, bool]) -> list[int]:
    """Versions in order (name, metrics, held_for_admin); returns their ids."""
    from app.extensions import db
    from app.training.models import ModelVersion

    with app.app_context():
        rows = [ModelVersion(story_id=story_id, name=name, base="/m/starter", path=f"/m/{name}", data={},
                             metrics=metrics, held_for_admin=held) for name, metrics, held in specs]
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


def set_active(app, story_id: int, version_id: int) -> None:
    from app.extensions import db
    from app.stories.models import Story

    with app.app_context():
        db.session.get(Story, story_id).active_model_version_id = version_id
        db.session.commit()


def test_a_change_that_rounds_to_nothing_is_no_change_in_no_colour(app, make_story, client):
    _owner, story = make_story()
    tiny = {**COMPARED, "val_loss_before": 2.0, "active_val_loss": 2.0, "val_loss": 2.0001}  # +0.005 %
    add_versions(app, story["id"], ("v-same", tiny, False))
    row = version_rows(client.get(f"/stories/{story['id']}/training").text)["v-same"]
    assert "변화 없음" in row and "0.0%" not in row
    assert "worse" not in row and "better" not in row


def test_the_button_of_a_version_newer_than_the_active_one_does_not_say_back(app, make_story, users):
    _owner, story = make_story()
    v1, v2, v3 = add_versions(app, story["id"], ("v1", COMPARED, False), ("v2", COMPARED, False),
                              ("v3", COMPARED, True))
    set_active(app, story["id"], v1)  # an admin rolled back from v2 to v1
    rows = version_rows(users.signed_in("boss", role="admin").get(f"/stories/{story['id']}/training").text)
    assert "이 버전으로 바꾸기" in rows["v2"] and "되돌리기" not in rows["v2"]
    assert "이 버전 적용" in rows["v3"]
    set_active(app, story["id"], v2)
    rows = version_rows(users.signed_in("boss2", role="admin").get(f"/stories/{story['id']}/training").text)
    assert "이 버전으로 되돌리기" in rows["v1"]


def test_without_a_base_model_the_page_says_so_and_offers_no_training(make_story, users):
    _owner, story = make_story()
    html = users.signed_in("boss", role="admin").get(f"/stories/{story['id']}/training").text
    assert "지금은 기본 모델이 이야기를 씁니다" not in html and "기본 모델도 아직 없습니다" in html
    assert re.search(r'<button[^>]*id="retrain-button"[^>]*disabled', html)
    assert re.search(r'<button[^>]*id="prefer-button"[^>]*disabled', html)
    assert 'href="/admin/jobs"' in section(html, "training")


def test_with_a_base_model_retraining_is_offered(app, make_story, users):
    import os

    _owner, story = make_story()
    starter = os.path.join(app.config["DATA_DIR"], "models", "starter")
    os.makedirs(starter)
    open(os.path.join(starter, "config.json"), "w").write("{}")
    html = users.signed_in("boss", role="admin").get(f"/stories/{story['id']}/training").text
    assert "지금은 기본 모델이 이야기를 씁니다" in html and 'id="no-base"' not in html
    assert not re.search(r'<button[^>]*id="retrain-button"[^>]*disabled', html)


def test_an_admin_applying_a_held_version_is_recorded_on_it(app, make_story, users):
    _owner, story = make_story()
    (held,) = add_versions(app, story["id"], ("v-held", {**COMPARED, "activated": False}, True))
    admin = users.make("boss", role="admin")
    assert admin.post(f"/api/v1/stories/{story['id']}/models/{held}/activate").status_code == 200
    (version,) = admin.get(f"/api/v1/stories/{story['id']}/models").json["items"]
    assert version["active"] and version["metrics"]["applied_by_admin"] == "boss"
    row = version_rows(users.signed_in("chief", role="admin").get(f"/stories/{story['id']}/training").text)["v-held"]
    assert "관리자(boss)가 적용했습니다" in row
