"""Production wiring between real processes: the site on PostgreSQL, real Celery workers on a
real Redis, a tiny starter base built by the tests.

Each test gets its own Redis key prefix (kombu's ``global_keyprefix``, so queues, the unacked
set and results are its own) on the shared Redis's test database, and its own PostgreSQL
schema, so parallel runs never see each other's messages; its keys are deleted afterwards.
Workers have node names of their own (``-n``) and one torch thread each (2 shared cores)."""
import shutil
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.app.conftest import anonymous, make_story, story_in_phase, users  # noqa: F401  (fixtures)
from tests.app.worker_process import start_worker, stop_worker, wait_for
from tests.conftest import REDIS_URL, missing_service


@dataclass
class Broker:
    url: str
    prefix: str
    # Seconds before Redis hands an unacknowledged message to another worker; None: the
    # production value config.py derives from the training budgets.
    visibility: int | None = None

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, socket_connect_timeout=2)

    def delete_keys(self) -> None:
        client = self.client()
        keys = list(client.scan_iter(match=f"{self.prefix}*", count=500))
        if keys:
            client.delete(*keys)


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception:
        return False


@pytest.fixture
def broker_visibility() -> int | None:
    """Override in a test module to shorten the visibility timeout."""
    return None


@pytest.fixture
def broker(broker_visibility):
    """The shared Redis (its test database) under a key prefix of this test's own."""
    if not redis_reachable(REDIS_URL):
        missing_service(f"Redis is not running at {REDIS_URL}")
    broker = Broker(REDIS_URL, f"relaytest-{uuid.uuid4().hex[:10]}:", broker_visibility)
    yield broker
    broker.delete_keys()


@pytest.fixture
def site_overrides(broker, tmp_path):
    from config import celery_settings

    return {
        "REDIS_URL": broker.url, "REDIS_KEY_PREFIX": broker.prefix,
        "CELERY": celery_settings(broker.url, tmp_path / "broker", 1, key_prefix=broker.prefix,
                                  visibility_seconds=broker.visibility),
        "LEARN_STEPS": 5,
    }


@pytest.fixture
def with_base(app, tiny_base):
    """The site's starter base is trained (the tiny one of tests/conftest.py)."""
    shutil.copytree(tiny_base, Path(app.config["DATA_DIR"]) / "models" / "starter")
    return tiny_base


@dataclass
class Workers:
    """Celery worker processes of one test, by node name."""

    app: object
    broker: Broker
    folder: Path
    processes: dict = field(default_factory=dict)
    logs: dict = field(default_factory=dict)

    def start(self, short: str, queues: str = "celery,gpu", beat: bool = False, **extra) -> str:
        node = f"{short}-{self.broker.prefix[10:-1]}@{socket.gethostname()}"
        env = {"REDIS_URL": self.broker.url, "REDIS_KEY_PREFIX": self.broker.prefix, "OMP_NUM_THREADS": 1,
               "ROUND_TICK_SECONDS": 1, **extra}
        if self.broker.visibility:
            env["BROKER_VISIBILITY_TIMEOUT"] = self.broker.visibility
        self.logs[node] = self.folder / f"{short}.log"
        self.processes[node] = start_worker(self.app, self.logs[node], queues=queues, beat=beat, name=node, **env)
        return node

    def wait_ready(self, db, count: int, timeout: float = 120) -> None:
        """Every started worker has sent its first heartbeat (worker_ready: it consumes)."""
        from sqlalchemy import func, select

        from app.jobs.models import WorkerHeartbeat

        def ready():
            for node, process in self.processes.items():
                assert process.poll() is None, f"{node} exited:\n{self.logs[node].read_text()[-3000:]}"
            n = db.session.scalar(select(func.count()).select_from(WorkerHeartbeat))
            db.session.rollback()
            return n >= count

        wait_for(ready, timeout, f"{count} workers to be ready", self.log_path())

    def kill(self, node: str) -> None:
        """SIGKILL the worker and its pool child at once, as a machine or OOM kill would."""
        stop_worker(self.processes[node], kill=True)

    def log_path(self) -> Path:
        """All worker logs in one file, for a failure message."""
        combined = self.folder / "workers.log"
        combined.write_text("".join(f"=== {node}\n{path.read_text(errors='replace')[-3000:]}\n"
                                    for node, path in self.logs.items() if path.exists()))
        return combined

    def stop_all(self) -> None:
        for process in self.processes.values():
            stop_worker(process)


@pytest.fixture
def workers(app, broker, tmp_path):
    started = Workers(app, broker, tmp_path)
    yield started
    started.stop_all()
