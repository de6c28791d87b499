"""The whole relay loop over HTTP, with a real Celery worker process on the embedded broker and
a tiny starter model built by the test from a corpus novel."""
import http.client
import json
import os
import time
from urllib.parse import urlsplit

import pytest

from tests.app.worker_process import start_worker, stop_worker, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def site_overrides(tmp_path):
    return {"DATA_DIR": str(tmp_path / "data"), "MODEL_NAME": "starter", "LEARN_STEPS": 5}


class Http:
    def __init__(self, base: str, token: str | None = None):
        self.host, self.port = urlsplit(base).hostname, urlsplit(base).port
        self.token = token

    def call(self, method: str, path: str, body=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        data = json.loads(response.read() or b"null")
        conn.close()
        return response.status, data

    def ok(self, method, path, body=None, status=200):
        code, data = self.call(method, path, body)
        assert code == status, (method, path, code, data)
        return data


def signup(base, name):
    return Http(base, Http(base).ok("POST", "/api/v1/auth/signup", {"username": name, "password": "maple-letter-42"},
                                    status=201)["token"])


def test_relay_loop_over_http_with_a_real_worker(app, live_server, tiny_base, tmp_path):
    import shutil

    shutil.copytree(tiny_base, os.path.join(app.config["DATA_DIR"], "models", "starter"))
    owner, ana, ben = signup(live_server, "owner"), signup(live_server, "ana"), signup(live_server, "ben")
    story = owner.ok("POST", "/api/v1/stories", {
        "title": "정거장", "opening": "해가 지자 작은 정거장에 기차가 멈추었다. 그는 가방을 들고 천천히 내렸다.",
        "settings": {"candidates_k": 2}}, status=201)
    base = f"/api/v1/stories/{story['id']}/round"
    worker = start_worker(app, tmp_path / "worker.log")
    try:
        ana.ok("POST", f"{base}/proposals", {"keyword": "기차", "sentences": 2}, status=201)
        ben.ok("POST", f"{base}/proposals", {"text": "역무원이 그를 불러 세웠다."}, status=201)
        owner.ok("POST", f"{base}/advance")
        keyword_id = next(p["id"] for p in owner.ok("GET", base)["proposals"] if p["keyword"] == "기차")
        ana.ok("POST", f"{base}/votes", {"proposal_id": keyword_id})
        ben.ok("POST", f"{base}/votes", {"proposal_id": keyword_id})
        assert owner.ok("POST", f"{base}/advance")["phase"] == "generating"

        def choosing():
            state = owner.ok("GET", base)
            assert state["job"]["status"] != "failed", state["job"]
            return state if state["phase"] == "choosing" else None

        state = wait_for(choosing, 180, "the worker's candidates", tmp_path / "worker.log", interval=0.5)
        candidates = state["candidates"]
        assert len(candidates) == 2 and all("기차" in c["text"] for c in candidates)
        job = owner.ok("GET", f"/api/v1/jobs/{state['job']['id']}")
        assert job["kind"] == "generate" and job["status"] == "succeeded"

        ana.ok("POST", f"{base}/votes", {"candidate_id": candidates[1]["id"]})
        after = owner.ok("POST", f"{base}/advance")
        assert after["number"] == 2 and after["phase"] == "proposing"
        passages = owner.ok("GET", f"/api/v1/stories/{story['id']}")["passages"]
        assert passages[-1]["text"] == candidates[1]["text"] and passages[-1]["author_kind"] == "ai"
        assert passages[-1]["model_version"] == "기본 모델" and passages[-1]["seq"] == 2

        # put_Human_txt: learn from the opening (a fresh adapter), then continue the story.
        job_id = owner.ok("GET", f"/put_Human_txt?contents_id={passages[0]['id']}&is_first=Y", status=202)["job_id"]
        done = wait_for(lambda: (j := owner.ok("GET", f"/api/v1/jobs/{job_id}"))["status"] in ("succeeded", "failed")
                        and j, 240, "the learning job", tmp_path / "worker.log", interval=0.5)
        assert done["status"] == "succeeded", done
        passages = owner.ok("GET", f"/api/v1/stories/{story['id']}")["passages"]
        assert passages[-1]["author_kind"] == "ai" and passages[-1]["model_version"] == f"이야기{story['id']}-v1"
        adapters = os.listdir(os.path.join(app.config["DATA_DIR"], "models", str(story["id"])))
        assert adapters == [f"job-{job_id}"]
    finally:
        stop_worker(worker)


def test_without_a_base_the_round_waits_then_goes_on_by_itself(app, live_server, tiny_base, tmp_path):
    import shutil

    from app.rounds.machine import NO_MODEL_NOTICE

    owner, ana = signup(live_server, "owner"), signup(live_server, "ana")
    story = owner.ok("POST", "/api/v1/stories", {"title": "빈 모델", "opening": "아직 아무 모델도 없는 새 사이트의 첫 글입니다.",
                                                 "settings": {"candidates_k": 1}}, status=201)
    base = f"/api/v1/stories/{story['id']}/round"
    worker = start_worker(app, tmp_path / "worker.log", beat=True)
    try:
        ana.ok("POST", f"{base}/proposals", {"keyword": "모델", "sentences": 2}, status=201)
        owner.ok("POST", f"{base}/advance")
        ana.ok("POST", f"{base}/votes", {"proposal_id": owner.ok("GET", base)["proposals"][0]["id"]})
        owner.ok("POST", f"{base}/advance")
        state = wait_for(lambda: (s := owner.ok("GET", base))["notice"] == NO_MODEL_NOTICE and s, 60,
                         "the no-model notice", tmp_path / "worker.log", interval=0.5)
        assert state["phase"] == "generating" and state["job"]["status"] == "waiting"
        time.sleep(2)
        assert owner.ok("GET", base)["phase"] == "generating"  # still waiting, not failed
        shutil.copytree(tiny_base, os.path.join(app.config["DATA_DIR"], "models", "starter"))  # an admin trained it
        state = wait_for(lambda: (s := owner.ok("GET", base))["phase"] == "choosing" and s, 180,
                         "the round to go on once a base exists", tmp_path / "worker.log", interval=0.5)
        assert len(state["candidates"]) == 1 and state["notice"] is None
    finally:
        stop_worker(worker)


@pytest.mark.faults
def test_a_worker_killed_mid_training_leaves_a_job_the_owner_can_run_again(app, live_server, tiny_base, tmp_path):
    """SIGKILL the worker while it trains: the stale sweep fails the job (never stuck) and the
    owner's next put_Human_txt is accepted and completes on a fresh worker."""
    import shutil
    from datetime import timedelta

    from app.database import utcnow
    from app.jobs.services import STALE_REASON
    from worker.tick import tick

    shutil.copytree(tiny_base, os.path.join(app.config["DATA_DIR"], "models", "starter"))
    owner = signup(live_server, "owner")
    story = owner.ok("POST", "/api/v1/stories", {"title": "중단", "opening": "학습이 도중에 끊기는 이야기의 첫 글입니다. 다시 시작할 수 있어야 한다."},
                     status=201)
    learn = f"/put_Human_txt?contents_id={story['passages'][0]['id']}&is_first=Y"
    app.config["LEARN_STEPS"] = 5000  # long enough to be killed mid-way
    worker = start_worker(app, tmp_path / "worker.log")
    try:
        job_id = owner.ok("GET", learn, status=202)["job_id"]
        wait_for(lambda: owner.ok("GET", f"/api/v1/jobs/{job_id}")["status"] == "running", 120,
                 "training to start", tmp_path / "worker.log", interval=0.3)
    finally:
        stop_worker(worker, kill=True)  # no warm shutdown: nothing is handed back to the broker
    assert owner.call("GET", learn)[0] == 409  # still "training" as far as the database knows
    with app.app_context():
        tick(now=utcnow() + timedelta(seconds=app.config["JOB_STALE_SECONDS"] + 1))
    job = owner.ok("GET", f"/api/v1/jobs/{job_id}")
    assert job["status"] == "failed" and job["error"] == STALE_REASON
    app.config["LEARN_STEPS"] = 5
    worker = start_worker(app, tmp_path / "worker2.log")
    try:
        again = owner.ok("GET", learn, status=202)["job_id"]
        done = wait_for(lambda: (j := owner.ok("GET", f"/api/v1/jobs/{again}"))["status"] in ("succeeded", "failed")
                        and j, 240, "the second learning job", tmp_path / "worker2.log", interval=0.5)
        assert done["status"] == "succeeded", done
    finally:
        stop_worker(worker)
