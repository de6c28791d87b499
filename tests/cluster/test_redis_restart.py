"""Redis restarted in the middle of a round: the round finishes, no vote and no job is lost.

The test runs its own redis-server on a free port (never the shared one), configured like the
compose file's (append-only file, noeviction), and restarts it the way ``docker compose restart``
does: SIGTERM (Redis writes its AOF and exits), then a fresh server on the same data."""
import socket
import subprocess
import time
import uuid

import pytest
from sqlalchemy import func, select

from tests.app.worker_process import wait_for
from tests.cluster.conftest import Broker, redis_reachable
from tests.cluster.helpers import fresh, wait_choosing

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


class RedisServer:
    def __init__(self, folder):
        self.folder = folder
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                   "--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction"]
        self.process = subprocess.Popen(command, stdout=open(self.folder / "redis.log", "ab"),
                                        stderr=subprocess.STDOUT)
        wait_for(lambda: redis_reachable(self.url), 20, "redis-server to answer", self.folder / "redis.log")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=20)


@pytest.fixture
def redis_server(tmp_path):
    try:
        subprocess.run(["redis-server", "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        from tests.conftest import missing_service

        missing_service("redis-server is not installed")
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.fixture
def broker(redis_server):
    return Broker(redis_server.url, f"relaytest-{uuid.uuid4().hex[:10]}:")


@pytest.fixture
def site_overrides(broker, tmp_path):
    from config import celery_settings

    # Rate limits on, in this Redis, as in production: a vote must not need Redis to be counted.
    return {"REDIS_URL": broker.url, "REDIS_KEY_PREFIX": broker.prefix,
            "CELERY": celery_settings(broker.url, tmp_path / "broker", 1, key_prefix=broker.prefix),
            "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": broker.url, "RATELIMIT_KEY_PREFIX": broker.prefix,
            "RATELIMIT_SWALLOW_ERRORS": True, "JOB_RESEND_SECONDS": 2}


def test_a_redis_restart_mid_round_loses_no_vote_and_no_job(app, db, users, make_story, with_base, workers,
                                                             redis_server):
    from app.jobs.models import Job
    from app.rounds.models import Vote

    workers.start("w1", beat=True, JOB_RESEND_SECONDS=2)  # beat's tick re-sends what could not be sent
    workers.wait_ready(db, 1)
    owner, story = make_story(candidates_k=2)
    voters = [users.make(f"v{i}") for i in range(3)]
    base = f"/api/v1/stories/{story['id']}/round"
    assert voters[0].post(f"{base}/proposals", {"keyword": "기차", "sentences": 1}).status_code == 201
    assert voters[1].post(f"{base}/proposals", {"keyword": "바다", "sentences": 1}).status_code == 201
    assert owner.post(f"{base}/advance").json["phase"] == "voting"
    train = next(p["id"] for p in owner.get(base).json["proposals"] if p["keyword"] == "기차")
    assert voters[0].post(f"{base}/votes", {"proposal_id": train}).status_code == 200

    redis_server.stop()  # the broker, the results and the rate limits are gone for a while
    for voter in voters[1:]:
        assert voter.post(f"{base}/votes", {"proposal_id": train}).status_code == 200
    state = owner.post(f"{base}/advance").json  # the generation job cannot be sent now
    assert state["phase"] == "generating"
    job_id = state["job"]["id"]
    assert fresh(db, lambda: (db.session.get(Job, job_id).status, db.session.get(Job, job_id).celery_id)) == ("queued", None)
    time.sleep(2)  # the worker and its beat notice the lost connection
    redis_server.start()

    state = wait_choosing(owner, story["id"], workers, timeout=240)  # re-sent by the tick, run by the worker
    candidates = state["candidates"]
    assert len(candidates) == 2 and all("기차" in c["text"] for c in candidates)

    redis_server.stop()  # and once more while the crowd chooses
    for voter in voters:
        assert voter.post(f"{base}/votes", {"candidate_id": candidates[1]["id"]}).status_code == 200
    redis_server.start()
    after = owner.post(f"{base}/advance").json
    assert after["number"] == 2 and after["phase"] == "proposing"

    passages = owner.get(f"/api/v1/stories/{story['id']}").json["passages"]
    assert passages[-1]["text"] == candidates[1]["text"]
    votes = fresh(db, lambda: dict(db.session.execute(
        select(Vote.stage, func.count()).where(Vote.round_id == state["id"]).group_by(Vote.stage)).all()))
    assert votes == {"proposal": 3, "candidate": 3}
    jobs = fresh(db, lambda: db.session.execute(select(Job.id, Job.status).where(Job.round_id == state["id"])).all())
    assert [tuple(j) for j in jobs] == [(job_id, "succeeded")]  # the one job, sent late, not lost or doubled
    # The worker reconnected after each restart by itself (its first connection, then two more).
    [log] = workers.logs.values()
    wait_for(lambda: log.read_text(errors="replace").count("Connected to redis://") >= 3, 60,
             "the worker to reconnect after the second restart", log)
