"""Start and stop a real Celery worker process for a test's app (embedded broker)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def worker_env(app, **extra) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "BROKER_DIR": app.config["BROKER_DIR"],
        "DATA_DIR": app.config["DATA_DIR"], "MODEL_NAME": app.config["MODEL_NAME"], "SECRET_KEY": "test-secret",
        "ROUND_TICK_SECONDS": "1", "PYTHONPATH": str(REPO),
    })
    env.pop("REDIS_URL", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_worker(app, log_path: Path, queues: str = "celery,gpu", beat: bool = False, name: str | None = None,
                 **extra) -> subprocess.Popen:
    """``name``: the Celery node name (``-n``), needed when several workers run side by side."""
    command = [sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker", "-Q", queues,
               "--concurrency", "1", "--without-gossip", "--without-mingle", "--without-heartbeat",
               "--loglevel", "info"]
    if name:
        command += ["-n", name]
    if beat:
        command += ["--beat", "--schedule", str(log_path.parent / "beat-schedule")]
    log = open(log_path, "wb")
    return subprocess.Popen(command, cwd=REPO, env=worker_env(app, **extra), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop_worker(process: subprocess.Popen, grace: float = 3.0, kill: bool = False) -> None:
    """Warm shutdown, then kill the process group (Celery 5.7's prefork can hang at exit);
    ``kill``: SIGKILL at once, as a crash would."""
    if process.poll() is None and not kill:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def wait_for(predicate, timeout: float, what: str, log_path: Path | None = None, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    log = log_path.read_text(errors="replace")[-4000:] if log_path and log_path.exists() else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n--- worker log ---\n{log}")
