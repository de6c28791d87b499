"""Retrain, cancel and the starter pretrain with a real Celery worker process (embedded broker)
and a tiny starter base built by the tests: progress must be visible while the job runs."""
import os
import shutil
import time

import pytest
from sqlalchemy import func, select

from tests.app.training_helpers import add_novel, add_passages, vote_for
from tests.app.worker_process import start_worker, stop_worker, wait_for

pytestmark = pytest.mark.slow

STORY = [
    ("그는 짐을 내려놓고 창밖을 바라보았다. 비는 그칠 기색이 없었다.", "human"),
    ("\"오늘은 떠날 수 없겠군.\" 그가 혼잣말을 했다. 여관 주인이 등불을 들고 다가왔다.", "ai"),
    ("주인은 낡은 지도를 펼쳐 보였다. 산 너머에 작은 마을이 있다고 했다.", "human"),
    ("그는 지도를 오래 들여다보았다. 마을의 이름은 어디에도 적혀 있지 않았다.", "ai"),
    ("밤이 깊어지자 빗소리가 조금 잦아들었다. 그는 등불을 끄고 누웠다.", "human"),
    ("꿈속에서 그는 이름 없는 마을의 골목을 걸었다. 누군가 그의 이름을 불렀다.", "ai"),
    ("아침이 되자 하늘이 맑게 개어 있었다. 그는 서둘러 짐을 꾸렸다.", "human"),
    ("여관 주인은 떠나는 그에게 주먹밥 두 개를 싸 주었다. 길은 아직 젖어 있었다.", "ai"),
    ("산길은 생각보다 가팔랐다. 그는 몇 번이나 걸음을 멈추고 숨을 골랐다.", "human"),
    ("고개 위에 올라서자 마을의 지붕들이 내려다보였다. 연기가 가늘게 피어올랐다.", "human"),
]


# Long enough that the worker reports progress (every second) before it ends, on an idle host too:
# with 40 steps a fresh run once finished between two reports.
TRAIN_STEPS = 80


@pytest.fixture
def site_overrides(tmp_path):
    return {"DATA_DIR": str(tmp_path / "data"), "MODEL_NAME": "starter", "TRAIN_STEPS": TRAIN_STEPS}


@pytest.fixture
def story_to_train(app, users, make_story, tiny_base, novels_dir):
    """A base, a story of 11 passages, one voted novel; returns (admin, story id)."""
    shutil.copytree(tiny_base, os.path.join(app.config["DATA_DIR"], "models", "starter"))
    admin = users.make("admin", role="admin")
    owner, story = make_story()
    add_passages(app, story["id"], [(text, owner.user_id if kind == "human" else None) for text, kind in STORY])
    novel = add_novel(app, admin.user_id, novels_dir / "37_Girl_of_Doubt.txt")
    vote_for(app, story["id"], novel, owner.user_id)
    return admin, story["id"]


def watch(client, job_id: int, log, timeout: float = 480) -> tuple[dict, list[dict]]:
    """Poll the job like the training page does (faster); return its end state and every answer."""
    seen = []

    def finished():
        job = client.get(f"/api/v1/jobs/{job_id}").json
        seen.append(job)
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(finished, timeout, f"job {job_id} to finish", log, interval=0.2), seen


def versions(client, story_id: int) -> list[dict]:
    return client.get(f"/api/v1/stories/{story_id}/models").json["items"]


def test_retrain_shows_progress_while_it_runs_then_activates_then_holds_a_worse_one(app, story_to_train, tmp_path):
    admin, story_id = story_to_train
    log = tmp_path / "worker.log"
    worker = start_worker(app, log)
    try:
        job_id = admin.post(f"/api/v1/stories/{story_id}/retrain").json["job_id"]
        assert admin.post(f"/api/v1/stories/{story_id}/retrain").status_code == 409
        done, seen = watch(admin, job_id, log)
        assert done["status"] == "succeeded", done
        # progress was visible while the job ran, not only at the end
        live = [j for j in seen if j["status"] == "running" and (j["metrics"].get("step") or 0) > 0 and j["points"]]
        assert live and live[0]["metrics"]["total"] == TRAIN_STEPS and 0 < live[0]["progress"] < 1
        assert {"tokens_per_s", "eta_s", "loss"} <= set(live[0]["metrics"])
        assert len(done["points"]) >= 2 and done["points"][-1]["step"] == TRAIN_STEPS

        (v1,) = versions(admin, story_id)
        assert v1["active"] and not v1["held_for_admin"] and v1["name"] == f"이야기{story_id}-v1"
        assert v1["metrics"]["heldout_passages"] == 1 and v1["metrics"]["activated"] is True
        assert v1["metrics"]["val_loss"] is not None and v1["metrics"]["active_val_loss"] is not None
        assert len(v1["data"]["novels"]) == 1 and len(v1["data"]["passages"]) == 10
        assert os.listdir(os.path.join(app.config["DATA_DIR"], "models", str(story_id))) == [f"job-{job_id}"]

        # A second retrain continues from v1; a threshold no version can meet holds it back.
        app.config["MODEL_ACTIVATE_THRESHOLD"] = -0.99
        second = admin.post(f"/api/v1/stories/{story_id}/retrain").json["job_id"]
        done, _ = watch(admin, second, log)
        assert done["status"] == "succeeded", done
        v2, v1 = versions(admin, story_id)
        assert v2["held_for_admin"] and not v2["active"] and v1["active"] and v2["parent"] == v1["id"]
        assert "관리자 확인" in v2["metrics"]["decision"]
        # the admin takes it anyway, then rolls back
        assert admin.post(f"/api/v1/stories/{story_id}/models/{v2['id']}/activate").json["active"]
        assert admin.post(f"/api/v1/stories/{story_id}/models/{v1['id']}/activate").json["active"]
        v2, v1 = versions(admin, story_id)
        assert v1["active"] and not v2["active"] and not v2["held_for_admin"]
    finally:
        stop_worker(worker)


def test_cancel_stops_a_running_retrain_and_leaves_nothing_behind(app, story_to_train, tmp_path):
    from app.extensions import db
    from app.training.models import ModelVersion

    admin, story_id = story_to_train
    app.config["TRAIN_STEPS"] = 100_000
    log = tmp_path / "worker.log"
    worker = start_worker(app, log)
    try:
        job_id = admin.post(f"/api/v1/stories/{story_id}/retrain").json["job_id"]
        wait_for(lambda: (admin.get(f"/api/v1/jobs/{job_id}").json["metrics"].get("step") or 0) > 0, 120,
                 "training to start", log, interval=0.3)
        asked = admin.post(f"/api/v1/jobs/{job_id}/cancel").json
        assert asked["status"] == "running" and asked["cancel_requested"]
        started = time.monotonic()
        done, _ = watch(admin, job_id, log, timeout=60)
        assert done["status"] == "cancelled" and time.monotonic() - started < 15
    finally:
        stop_worker(worker)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ModelVersion)
                                 .where(ModelVersion.story_id == story_id)) == 0
    story_models = os.path.join(app.config["DATA_DIR"], "models", str(story_id))
    assert not os.path.exists(story_models) or os.listdir(story_models) == []
    assert admin.post(f"/api/v1/stories/{story_id}/retrain").status_code == 202  # free again


@pytest.mark.parametrize("site_overrides", [{"STARTER_CONFIG": "tiny", "STARTER_STEPS": 150}])
def test_admin_pretrains_the_starter_and_a_waiting_round_goes_on(app, users, make_story, tiny_base_novels,
                                                                 tmp_path, site_overrides):
    from app.rounds.machine import NO_MODEL_NOTICE
    from worker.tick import tick

    admin = users.make("admin", role="admin")
    for path in tiny_base_novels:
        add_novel(app, admin.user_id, path)
    owner, story = make_story(candidates_k=1)
    ana = users.make("ana")
    base = f"/api/v1/stories/{story['id']}/round"
    log = tmp_path / "worker.log"
    worker = start_worker(app, log)
    try:
        ana.post(f"{base}/proposals", {"keyword": "모델", "sentences": 2})
        owner.post(f"{base}/advance")
        ana.post(f"{base}/votes", {"proposal_id": owner.get(base).json["proposals"][0]["id"]})
        owner.post(f"{base}/advance")
        wait_for(lambda: owner.get(base).json["notice"] == NO_MODEL_NOTICE, 60, "the round to wait", log)

        job_id = admin.post("/api/v1/admin/starter").json["job_id"]
        done, seen = watch(admin, job_id, log)
        assert done["status"] == "succeeded" and done["kind"] == "pretrain", done
        assert any(j["status"] == "running" and j["points"] for j in seen)
        assert os.path.isfile(os.path.join(app.config["DATA_DIR"], "models", "starter", "config.json"))
        assert admin.get("/api/v1/admin/bases").json["active"] == "starter"
        # The worker queues judges for the new base just after it marks the pretrain done; that
        # job would keep this one worker busy, so it is cancelled here.
        judges = wait_for(lambda: [j for j in admin.get("/api/v1/admin/jobs").json["items"] if j["kind"] == "judge"],
                          30, "a judges job for the new base", log)
        assert len(judges) == 1
        admin.post(f"/api/v1/jobs/{judges[0]['id']}/cancel")

        with app.app_context():
            assert tick()["resumed"] == 1
        state = wait_for(lambda: (s := owner.get(base).json)["phase"] == "choosing" and s, 180,
                         "the round to go on with the new base", log, interval=0.5)
        assert len(state["candidates"]) == 1 and state["notice"] is None
    finally:
        stop_worker(worker)
