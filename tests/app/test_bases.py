"""The starter base's versions, which one serves, its improvement while the site is quiet, and the
judges jobs: services, API and the worker's recording, with version folders written by the test
(config.json and starter.json, as model_server.starter leaves them) instead of a model."""
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.app.training_helpers import add_novel

BOTH_DATABASES = pytest.mark.parametrize("database_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
NOVEL = "바람이 불었다. 그는 창문을 닫고 책상 앞에 앉았다. \"오늘은 끝내야 해.\" 그가 중얼거렸다.\n" * 40
OTHER = "비가 그치자 골목에 불이 하나둘 켜졌다. 그녀는 우산을 접고 책방 문을 밀었다.\n" * 40


def models_dir(app) -> Path:
    return Path(app.config["DATA_DIR"]) / "models"


def version(app, name: str, parent: str | None = None, bpc: float = 3.0, novels: tuple[str, ...] = (),
            seconds: float = 60.0) -> Path:
    """A complete starter version folder; ``novels``: the texts it read (their sha256 is kept)."""
    import hashlib

    folder = models_dir(app) / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    parent_total = json.loads((models_dir(app) / parent / "starter.json").read_text())["metrics"]["total_seconds"] \
        if parent else 0.0
    (folder / "starter.json").write_text(json.dumps({"parent": parent, "data": [
        {"name": f"novel-{i}", "sha256": hashlib.sha256(text.encode()).hexdigest(), "chars": len(text)}
        for i, text in enumerate(novels)], "metrics": {
        "steps": 100, "passes": 2.0, "total_passes": 2.0, "heldout_bpc": bpc, "seconds": seconds,
        "total_seconds": parent_total + seconds, "tokens_per_s": 1000.0,
        "curve": [[50, seconds / 2, bpc + 0.5], [100, seconds, bpc]]}}))
    return folder


def cleaned(text: str) -> str:
    from model_server.text import clean

    return clean(text.encode()).text


@pytest.fixture
def admin(users):
    return users.make("admin", role="admin")


def job(db, job_id: int):
    from app.jobs.models import Job

    db.session.expire_all()
    return db.session.get(Job, job_id)


# --- queueing, listing and switching versions --------------------------------------------------

def test_the_first_pretrain_writes_the_starter_and_later_ones_go_on_from_the_serving_version(app, db, admin):
    add_novel(app, admin.user_id, text=NOVEL)
    first = admin.post("/api/v1/admin/starter").json["job_id"]
    params = job(db, first).params
    assert params["version"] == "starter" and params["parent"] is None
    assert params["passes"] == app.config["STARTER_PASSES"] == 8 and "minutes" not in params
    admin.post(f"/api/v1/jobs/{first}/cancel")
    version(app, "starter")
    version(app, "starter-9", parent="starter")
    assert admin.post("/api/v1/admin/bases/starter-9/activate").status_code == 200
    again = admin.post("/api/v1/admin/starter").json["job_id"]
    params = job(db, again).params
    assert params["parent"] == "starter-9" and params["version"] == f"starter-{again}"


@pytest.mark.parametrize("body", [{"passes": 0}, {"passes": 101}, {"passes": "많이"}, {"passes": 2, "extra": 1}])
def test_a_pretrain_with_a_bad_budget_is_a_400(app, admin, body):
    add_novel(app, admin.user_id, text=NOVEL)
    refused = admin.post("/api/v1/admin/starter", body)
    assert refused.status_code == 400 and refused.json["error"]["code"] == "invalid"


def test_the_versions_say_which_serves_with_their_figures_and_curves(app, admin):
    add_novel(app, admin.user_id, text=NOVEL)
    version(app, "starter", bpc=3.2, seconds=120, novels=(cleaned(NOVEL),))
    version(app, "starter-4", parent="starter", bpc=3.0, seconds=60)
    listed = admin.get("/api/v1/admin/bases").json
    assert listed["active"] == "starter" and listed["library_changed"] is False
    first, later = listed["versions"]
    assert first["name"] == "starter" and first["active"] and first["novels"] == 1
    assert later["parent"] == "starter" and not later["active"]
    assert later["metrics"]["heldout_bpc"] == 3.0 and later["offset_seconds"] == 120.0  # starts where its parent ended
    assert later["curve"] == [[50, 30.0, 3.5], [100, 60.0, 3.0]]


@pytest.mark.parametrize("name", ["starter-99", "judges", "starter-3"])
def test_only_a_complete_version_can_be_switched_to(app, admin, name):
    version(app, "starter")
    (models_dir(app) / "starter-3").mkdir()  # half there: no starter.json
    refused = admin.post(f"/api/v1/admin/bases/{name}/activate")
    assert refused.status_code == 404 and refused.json["error"]["message"] == "그런 기본 모델 버전이 없습니다."
    assert not (models_dir(app) / "starter.active").exists()


@pytest.mark.parametrize("path", ["/api/v1/admin/bases", "/api/v1/admin/judges"])
def test_the_base_and_judges_lists_are_for_admins_only(users, anonymous, path):
    assert anonymous.get(path).status_code == 401
    assert users.make("reader").get(path).status_code == 403


@pytest.mark.parametrize("method,path", [("post", "/api/v1/admin/bases/starter/activate"),
                                         ("post", "/api/v1/admin/judges"), ("post", "/api/v1/admin/starter")])
def test_switching_and_training_bases_need_an_admin(users, anonymous, method, path):
    assert getattr(anonymous, method)(path).status_code == 401
    refused = getattr(users.make("reader"), method)(path)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "admin_only"


def test_switching_the_base_queues_judges_for_it_and_says_who_chose_it(app, db, admin):
    from app.jobs.models import Job

    add_novel(app, admin.user_id, text=NOVEL)
    version(app, "starter")
    version(app, "starter-2", parent="starter")
    db.session.add(Job(kind="pretrain", status="succeeded", params={}, metrics={
        "version": "starter-2", "activated": False, "decision": "기준에 못 미쳐 지금 모델을 계속 씁니다."}))
    db.session.commit()
    switched = admin.post("/api/v1/admin/bases/starter-2/activate").json
    assert switched["active"] and switched["applied_by_admin"] == "admin"
    queued = db.session.scalars(select(Job).where(Job.kind == "judge")).all()
    assert [j.params["base_name"] for j in queued] == ["starter-2"]
    assert admin.get("/api/v1/admin/bases").json["active"] == "starter-2"


# --- judges jobs -----------------------------------------------------------------------------------

def test_judges_need_a_base_and_wait_for_a_pretrain_and_each_other(app, db, admin):
    from app.jobs.models import Job

    add_novel(app, admin.user_id, text=NOVEL)
    refused = admin.post("/api/v1/admin/judges")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "no_base"
    assert "기본 모델이 아직 없어" in refused.json["error"]["message"]
    version(app, "starter")
    pretrain = Job(kind="pretrain", status="running", params={})
    db.session.add(pretrain)
    db.session.commit()
    refused = admin.post("/api/v1/admin/judges")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "base_training"
    assert refused.json["error"]["job_id"] == pretrain.id
    pretrain.status = "succeeded"
    db.session.commit()
    accepted = admin.post("/api/v1/admin/judges")
    assert accepted.status_code == 202
    params = job(db, accepted.json["job_id"]).params
    assert params["base_name"] == "starter" and params["contexts"] == app.config["JUDGE_CONTEXTS"]
    again = admin.post("/api/v1/admin/judges")
    assert again.status_code == 409 and again.json["error"]["job_id"] == accepted.json["job_id"]


@BOTH_DATABASES
def test_judges_jobs_are_one_at_a_time_in_the_database(db, database_kind):
    from app.jobs.models import Job

    db.session.add_all([Job(kind="judge", status="succeeded", params={}), Job(kind="judge", status="running", params={}),
                        Job(kind="pretrain", status="running", params={})])
    db.session.commit()
    db.session.add(Job(kind="judge", status="queued", params={}))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_generation_uses_the_judges_of_its_base_else_the_latest(app, db):
    from app.jobs.models import Job
    from app.training.judges import judge_ref

    for base, path in (("/m/starter", "/j/1"), ("/m/starter-5", "/j/2"), ("/m/starter", "/j/3")):
        db.session.add(Job(kind="judge", status="succeeded", params={}, metrics={"base": base, "path": path}))
    db.session.add(Job(kind="judge", status="failed", params={}, metrics={"base": "/m/starter-5", "path": "/j/4"}))
    db.session.commit()
    assert judge_ref("/m/starter-5")[1] == "/j/2"
    assert judge_ref("/m/starter")[1] == "/j/3"
    assert judge_ref("/m/starter-9")[1] == "/j/3"  # none for it yet: the latest for any base


def test_the_judges_status_says_how_often_the_true_continuation_ranks_first(app, db, admin):
    from app.jobs.models import Job

    base = version(app, "starter")
    db.session.add(Job(kind="judge", status="succeeded", params={}, metrics={
        "base": str(base), "base_name": "starter", "path": "/j/1", "ranked_first_vs_base": 0.62,
        "ranked_first_vs_real": 0.48, "group_size": 5, "heldout_groups": 30, "weights": {"lm": 1.0}}))
    db.session.commit()
    status = admin.get("/api/v1/admin/judges").json
    assert status["latest"]["ranked_first_vs_base"] == 0.62 and status["in_use"]["for_active_base"]
    assert status["job_id"] is None


# --- the worker records a version and decides whether it serves --------------------------------------

@pytest.fixture
def fake_pretrain(app, monkeypatch):
    """worker.bases._pretrain writing a version folder with the next held-out bpc of ``bpcs``."""
    bpcs = []

    def write(novels, target, params, parent, reporter):
        target.mkdir(parents=True)
        (target / "config.json").write_text("{}")
        (target / "starter.json").write_text(json.dumps({"parent": parent.name if parent else None, "metrics": {
            "steps": 10, "passes": 1.0, "total_passes": 1.0, "heldout_bpc": bpcs.pop(0), "seconds": 5.0,
            "total_seconds": 5.0, "tokens_per_s": 900.0, "curve": []}}))

    monkeypatch.setattr("worker.bases._pretrain", write)
    return bpcs


def run(db, job_id: int) -> str:
    from worker.bases import run_pretrain

    db.session.rollback()
    return run_pretrain(job_id, None, "test-worker")


def test_the_first_base_serves_a_better_one_replaces_it_and_a_worse_one_waits(app, db, admin, fake_pretrain):
    from app.jobs.models import Job

    add_novel(app, admin.user_id, text=NOVEL)
    fake_pretrain.extend([3.0, 2.9, 2.89])
    first = admin.post("/api/v1/admin/starter").json["job_id"]
    assert run(db, first) == "done"
    done = job(db, first)
    assert done.status == "succeeded" and done.metrics["activated"] and done.metrics["version"] == "starter"
    judges = db.session.scalars(select(Job).where(Job.kind == "judge")).all()
    assert [j.params["base_name"] for j in judges] == ["starter"]  # judges for the new base, by themselves
    judges[0].status = "succeeded"
    judges[0].metrics = {"base": judges[0].params["base"], "path": "/j"}
    db.session.commit()

    better = admin.post("/api/v1/admin/starter").json["job_id"]
    assert run(db, better) == "done"
    assert job(db, better).metrics["activated"] and "이 모델로 바꿨습니다" in job(db, better).metrics["decision"]
    assert admin.get("/api/v1/admin/bases").json["active"] == f"starter-{better}"

    worse = admin.post("/api/v1/admin/starter").json["job_id"]
    assert run(db, worse) == "done"
    decision = job(db, worse).metrics["decision"]
    assert not job(db, worse).metrics["activated"] and "기준(1%)에 못 미쳐" in decision
    assert "2.900에서 2.890으로" in decision
    listed = admin.get("/api/v1/admin/bases").json
    assert listed["active"] == f"starter-{better}"
    assert next(v for v in listed["versions"] if v["name"] == f"starter-{worse}")["decision"] == decision
    assert admin.post(f"/api/v1/admin/bases/starter-{worse}/activate").json["active"]


def test_a_pretrain_that_hits_the_time_ceiling_fails_in_korean_and_replaces_nothing(app, db, admin, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    add_novel(app, admin.user_id, text=NOVEL)
    version(app, "starter")

    def too_slow(novels, target, params, parent, reporter):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr("worker.bases._pretrain", too_slow)
    job_id = admin.post("/api/v1/admin/starter").json["job_id"]
    assert run(db, job_id) == "failed"
    failed = job(db, job_id)
    assert failed.status == "failed" and failed.error.startswith("서버가 너무 바빠 제한 시간(120분) 안에")
    assert "아무것도 바꾸지 않았습니다: 지금 쓰는 기본 모델을 그대로 씁니다." in failed.error
    assert sorted(p.name for p in models_dir(app).iterdir()) == ["starter"]


def test_a_redelivered_pretrain_records_the_version_its_first_delivery_wrote(app, db, admin, fake_pretrain):
    add_novel(app, admin.user_id, text=NOVEL)
    fake_pretrain.append(3.0)
    job_id = admin.post("/api/v1/admin/starter").json["job_id"]
    version(app, "starter")  # written by a delivery that died before recording it
    row = job(db, job_id)
    row.attempts = 1
    db.session.commit()
    assert run(db, job_id) == "done"
    assert job(db, job_id).metrics["version"] == "starter" and fake_pretrain == [3.0]  # not trained again


# --- improving the base while the site is quiet -------------------------------------------------------

@pytest.fixture
def quiet_site(app, db, admin):
    """A base that read NOVEL; the library now has OTHER too."""
    add_novel(app, admin.user_id, text=NOVEL)
    version(app, "starter", novels=(cleaned(NOVEL),))
    add_novel(app, admin.user_id, text=OTHER, title="골목 책방")
    return admin


def improve(minutes_later: float = 0):
    from app.database import utcnow
    from app.training.bases import improve_when_quiet

    return improve_when_quiet(utcnow() + timedelta(minutes=minutes_later))


def test_a_quiet_site_whose_library_changed_continues_its_base_and_says_why(app, db, quiet_site):
    queued = improve()
    assert queued is not None
    params = queued.params
    assert params["by"] == "tick" and params["parent"] == "starter"
    assert params["passes"] == app.config["STARTER_IMPROVE_PASSES"] == 4
    assert "30분 동안 AI 작성·학습 요청이 없었고" in params["reason"] and "새 소설 1편, 빠진 소설 0편" in params["reason"]
    assert improve() is None  # one at a time


def test_the_same_library_is_not_read_again(app, db, admin):
    add_novel(app, admin.user_id, text=NOVEL)
    version(app, "starter", novels=(cleaned(NOVEL),))
    assert improve() is None


def test_a_busy_site_is_not_made_to_wait_for_its_base(app, db, quiet_site):
    from app.jobs.models import Job

    db.session.add(Job(kind="generate", status="succeeded", params={}))
    db.session.commit()
    assert improve() is None
    assert improve(minutes_later=31) is not None


@pytest.mark.parametrize("setting,value", [("STARTER_IMPROVE", "off"), ("MODEL_NAME", "/some/base")])
def test_improving_is_off_when_set_so_or_for_another_base(app, db, quiet_site, setting, value):
    app.config[setting] = value
    assert improve() is None


def test_a_library_tried_once_is_not_tried_again_unless_the_run_made_way(app, db, quiet_site):
    first = improve()
    first.status = "failed"
    db.session.commit()
    assert improve() is None  # it failed on this library: not every quiet hour again
    first.metrics = {"yielded": True}
    first.status = "cancelled"
    db.session.commit()
    assert improve() is not None


def test_a_background_pretrain_makes_way_when_the_site_wakes_up(app, db, quiet_site, monkeypatch):
    import time

    from app.jobs.models import Job
    from model_server.progress import Cancelled
    from worker.bases import MADE_WAY

    def waits_for_a_stop(novels, target, params, parent, reporter):
        with app.app_context():  # a participant's round asks for AI writing meanwhile
            from app.extensions import db as other

            other.session.add(Job(kind="generate", status="queued", params={}))
            other.session.commit()
        deadline = time.monotonic() + 10
        while not reporter.should_cancel():
            assert time.monotonic() < deadline, "the pretrain never heard that the site woke up"
            time.sleep(0.1)
        raise Cancelled("stopped")

    monkeypatch.setattr("worker.bases._pretrain", waits_for_a_stop)
    job_id = improve().id
    assert run(db, job_id) == "made way"
    stopped = job(db, job_id)
    assert stopped.status == "cancelled" and stopped.error == MADE_WAY and stopped.metrics["yielded"]
    assert sorted(p.name for p in models_dir(app).iterdir()) == ["starter"]
