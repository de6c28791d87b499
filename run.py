"""One-command local start: migrations, then a Celery worker, Celery beat and the web site.

    python run.py            # http://127.0.0.1:5000, SQLite and the broker under instance/

Honours DATABASE_URL, REDIS_URL, SECRET_KEY, MODEL_NAME, DATA_DIR, PORT (and HOST). Ctrl-C
stops all three processes; if the worker or beat dies, the site stops too rather than
pretend to work.
"""
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _secret_key(instance: Path) -> str:
    """A random key kept under instance/, so sessions survive a restart."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def stop_processes(processes, grace: float = 15.0) -> None:
    """SIGTERM (Celery's warm shutdown: running tasks finish, unacked messages go back), then
    SIGKILL to the whole process group after ``grace`` seconds. The kill is needed: Celery 5.7's
    prefork worker can hang at interpreter exit after its warm shutdown has completed."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()


def main() -> int:
    instance = Path(os.environ.get("INSTANCE_DIR", ROOT / "instance"))
    instance.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SECRET_KEY", _secret_key(instance))
    sys.path.insert(0, str(ROOT))

    from flask_migrate import upgrade

    from app import create_app

    app = create_app()
    Path(app.config["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    with app.app_context():
        upgrade()

    celery = [sys.executable, "-m", "celery", "-A", "worker.celery_app"]
    loglevel = ["--loglevel", os.environ.get("CELERY_LOGLEVEL", "info")]
    # Own sessions: Ctrl-C reaches run.py only, which then stops the children in order.
    children = [
        subprocess.Popen(celery + ["worker", "-Q", "celery,gpu", "--concurrency", "2", "--without-gossip",
                                   "--without-mingle", "--without-heartbeat", "-n", "relay@%h"] + loglevel,
                         cwd=ROOT, start_new_session=True),
        subprocess.Popen(celery + ["beat", "--schedule", str(instance / "celerybeat-schedule")] + loglevel,
                         cwd=ROOT, start_new_session=True),
    ]
    stopping = threading.Lock()

    def stop(*_args):
        if not stopping.acquire(blocking=False):
            return
        stop_processes(children)
        os._exit(0)

    def watch(child):
        code = child.wait()
        if not stopping.locked():
            print(f"run.py: celery {child.args[5]} exited with {code}; stopping the site", file=sys.stderr)
            stop()

    signal.signal(signal.SIGTERM, stop)
    for child in children:
        threading.Thread(target=watch, args=(child,), daemon=True).start()
    host, port = os.environ.get("HOST", "127.0.0.1"), int(app.config["PORT"])
    print(f"릴레이 소설: http://{host}:{port}  (worker and beat started; /healthz turns 200 when they are ready)")
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
