"""run.py: migrations, worker, beat and web from one command, honouring the environment."""
import json
import os
import signal
import subprocess
import sys
import urllib.request

from tests.app.test_vote_race_postgres import free_port
from tests.app.worker_process import REPO, wait_for


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
    except OSError:
        return None, None


def test_run_py_starts_web_worker_and_beat_then_stops_them_all(tmp_path):
    port = free_port()
    env = dict(os.environ, PORT=str(port), DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}", DATA_DIR=str(tmp_path / "d"),
               MODEL_NAME=str(tmp_path / "no-base-yet"), INSTANCE_DIR=str(tmp_path / "instance"),
               BROKER_DIR=str(tmp_path / "broker"), ROUND_TICK_SECONDS="1", CELERY_LOGLEVEL="warning")
    for name in ("REDIS_URL", "SECRET_KEY"):
        env.pop(name, None)
    log = open(tmp_path / "run.log", "wb")
    process = subprocess.Popen([sys.executable, "run.py"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        status = wait_for(lambda: get(f"http://127.0.0.1:{port}/healthz")[0] == 200, 90, "/healthz 200",
                          tmp_path / "run.log")
        assert status
        assert (tmp_path / "x.db").exists() and (tmp_path / "d").is_dir()
        assert (tmp_path / "instance" / "secret_key").exists()  # sessions survive a restart
        code, body = get(f"http://127.0.0.1:{port}/api/v1/stories")
        assert code == 200 and body == {"stories": []}  # migrated
        children = [int(pid) for pid in
                    subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()]
        commands = [open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode() for pid in children]
        assert any(" worker " in c for c in commands) and any(" beat " in c for c in commands)
        grandchildren = [int(pid) for child in children for pid in
                         subprocess.run(["pgrep", "-P", str(child)], capture_output=True, text=True).stdout.split()]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    alive = [pid for pid in children + grandchildren if os.path.exists(f"/proc/{pid}")]
    assert alive == []  # worker, its pool processes and beat are all gone
