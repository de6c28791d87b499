"""Queue benchmark on the Redis broker: enqueue-to-start latency, and generation jobs per minute
with one worker against two.

    .venv/bin/python bench/queue_bench.py [--tasks 400] [--jobs 8]

Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/14) and PostgreSQL
(BENCH_POSTGRES_URL, default the test database at 127.0.0.1:5432); everything it writes lives
under a key prefix and a schema of its own, both removed at the end.

1. Latency: --tasks small tasks sent one every 10 ms to one worker (the project's Celery
   settings, default queue); each task takes its own start time, so a figure is
   "send_task called" to "task body running".
2. Generation: --jobs rounds, each in ``generating``, with real ``generate_candidates`` jobs
   (K=2, one sentence) on the project's worker (``worker.celery_app``, queue gpu, one task and
   one torch thread per worker), written by a tiny starter base the bench pretrains first. Each
   worker first serves a warm-up job (its base load is not counted); then the jobs are
   dispatched at once and the time until the last round reaches ``choosing`` is measured.
Prints figures; asserts nothing. Targets: p50 <= 50 ms; 2 workers >= 1.8x one on 2 free cores.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from celery import Celery  # noqa: E402

from config import celery_settings  # noqa: E402

REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PREFIX = os.environ.get("BENCH_PREFIX") or f"queuebench-{uuid.uuid4().hex[:8]}:"

# The latency task lives here, on a Celery app with the project's settings, so a worker can
# run it without the site (``celery -A bench.queue_bench worker``).
bench_app = Celery("queue_bench")
bench_app.config_from_object(celery_settings(REDIS, Path(tempfile.gettempdir()), 5, key_prefix=PREFIX))


@bench_app.task(name="bench.stamp")
def stamp(sent_at: float) -> None:
    started = time.time()
    import redis

    redis.Redis.from_url(REDIS).rpush(f"{PREFIX}latency", started - sent_at)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def start_worker(app_module: str, queue: str, name: str, env: dict, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", app_module, "worker", "-Q", queue, "--concurrency", "1",
               "-n", f"{name}@{socket.gethostname()}", "--without-gossip", "--without-mingle", "--without-heartbeat",
               "--loglevel", "warning"]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
                                                    "BENCH_PREFIX": PREFIX, "REDIS_URL": REDIS},
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    import signal

    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # Celery 5.7 prefork can hang at exit
    except ProcessLookupError:
        pass
    process.wait()


def latency(tasks: int, tmp: Path) -> None:
    import redis

    client = redis.Redis.from_url(REDIS)
    worker = start_worker("bench.queue_bench", "celery", f"latency-{PREFIX[11:-1]}", {}, tmp / "latency.log")
    try:
        stamp.apply_async(args=[time.time()], ignore_result=True)  # the worker is up once this one ran
        deadline = time.monotonic() + 120
        while client.llen(f"{PREFIX}latency") < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        client.delete(f"{PREFIX}latency")
        for _ in range(tasks):
            stamp.apply_async(args=[time.time()], ignore_result=True)
            time.sleep(0.01)
        deadline = time.monotonic() + 60
        while client.llen(f"{PREFIX}latency") < tasks and time.monotonic() < deadline:
            time.sleep(0.1)
        values = [float(v) * 1000 for v in client.lrange(f"{PREFIX}latency", 0, -1)]
    finally:
        stop(worker)
    print(f"enqueue->start latency, {len(values)} of {tasks} tasks (1 worker, Redis broker): "
          f"p50 {percentile(values, 50):.1f} ms, p99 {percentile(values, 99):.1f} ms, "
          f"mean {statistics.mean(values):.1f} ms, max {max(values):.1f} ms")


class Site:
    """The site in this process (PostgreSQL schema, Redis prefix), and its worker processes."""

    def __init__(self, tmp: Path):
        import psycopg

        self.schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{self.schema}"')
        self.url = f"{PG}?options=-csearch_path%3D{self.schema}"
        self.tmp = tmp
        self.data = tmp / "data"
        from app import create_app

        self.app = create_app({
            "SQLALCHEMY_DATABASE_URI": self.url, "DATA_DIR": str(self.data), "MODEL_NAME": "starter",
            "REDIS_URL": REDIS, "REDIS_KEY_PREFIX": PREFIX, "RATELIMIT_ENABLED": False,
            "CELERY": celery_settings(REDIS, tmp / "broker", 5, key_prefix=PREFIX),
        })
        self.env = {"DATABASE_URL": self.url, "DATA_DIR": str(self.data), "MODEL_NAME": "starter",
                    "REDIS_KEY_PREFIX": PREFIX, "SECRET_KEY": "bench"}
        self.count = 0

    def migrate_and_pretrain(self, steps: int) -> None:
        from flask_migrate import upgrade

        from model_server.starter import StarterConfig, pretrain

        with self.app.app_context():
            upgrade()
        corpus = ROOT.parent / "shared" / "corpus" / "novels"
        if not corpus.is_dir():
            corpus = Path("/work/shared/corpus/novels")
        novels = [corpus / n for n in ("46_Sunrise.txt", "36_Presence.txt", "17_Good_Sentences.txt")]
        pretrain(novels, self.data / "models" / "starter", steps=steps, seed=0, config=StarterConfig.tiny())

    def generating_rounds(self, n: int) -> list[int]:
        """n stories, each with a round in ``generating``: n generation jobs on the broker."""
        from app.accounts import services as accounts
        from app.extensions import db
        from app.rounds import machine, services as rounds
        from app.stories import services as stories

        ids = []
        with self.app.app_context():
            for _ in range(n):
                self.count += 1
                user = accounts.sign_up(f"bench{self.count}", "password123")
                story = stories.create_story(user, f"벤치 {self.count}", "해가 지자 작은 정거장에 기차가 멈추었다. 그는 가방을 들고 천천히 내렸다.",
                                             {"candidates_k": 2})
                proposal = rounds.propose(story.id, user, keyword="기차", sentences=1)
                machine.advance(story.id)
                rounds.vote(story.id, user, proposal_id=proposal.id)
                ids.append(story.id)
            for story_id in ids:  # dispatched together, after the set-up
                machine.advance(story_id)
            db.session.remove()
        return ids

    def wait_choosing(self, story_ids: list[int], timeout: float = 1800) -> list[dict]:
        from sqlalchemy import select

        from app.extensions import db
        from app.jobs.models import Job
        from app.rounds.models import Round

        deadline = time.monotonic() + timeout
        with self.app.app_context():
            while time.monotonic() < deadline:
                rows = db.session.execute(select(Round.phase, Job.status, Job.metrics).join(Job, Round.job_id == Job.id)
                                          .where(Round.story_id.in_(story_ids))).all()
                db.session.rollback()
                if any(status == "failed" for _, status, _ in rows):
                    raise RuntimeError(f"a generation failed: {rows}")
                if len(rows) == len(story_ids) and all(phase == "choosing" for phase, _, _ in rows):
                    return [metrics for _, _, metrics in rows]
                time.sleep(0.05)
        raise TimeoutError("generation jobs did not finish")

    def jobs_per_minute(self, n_workers: int, jobs: int) -> tuple[float, dict]:
        run = uuid.uuid4().hex[:6]
        workers = [start_worker("worker.celery_app", "gpu", f"gen{i}-{run}", self.env, self.tmp / f"gen{i}.log")
                   for i in range(n_workers)]
        try:
            # Warm-up: every worker loads the base on its first job; send jobs until each has one.
            warmed: set[str] = set()
            while len(warmed) < n_workers:
                metrics = self.wait_choosing(self.generating_rounds(n_workers))
                warmed |= {m["worker"] for m in metrics}
            ids = self.generating_rounds(jobs)
            started = time.monotonic()
            metrics = self.wait_choosing(ids)
            elapsed = time.monotonic() - started
        finally:
            for worker in workers:
                stop(worker)
        per_worker: dict[str, int] = {}
        for m in metrics:
            per_worker[m["worker"].split("@")[0]] = per_worker.get(m["worker"].split("@")[0], 0) + 1
        return jobs / elapsed * 60, per_worker

    def drop(self) -> None:
        import psycopg

        from app.database import dispose_engines

        dispose_engines(self.app)
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{self.schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=400, help="latency: small tasks sent")
    parser.add_argument("--jobs", type=int, default=8, help="generation jobs per measurement")
    parser.add_argument("--starter-steps", type=int, default=150, help="pretraining steps of the tiny base")
    args = parser.parse_args()
    import redis

    redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}; Redis {REDIS} prefix {PREFIX}")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        try:
            latency(args.tasks, tmp)
            site = Site(tmp)
            try:
                site.migrate_and_pretrain(args.starter_steps)
                print(f"generation: tiny starter base pretrained by the bench ({args.starter_steps} steps, "
                      f"StarterConfig.tiny), K=2 candidates of 1 sentence per job, OMP_NUM_THREADS=1 per worker")
                rates = {}
                for n in (1, 2):
                    rates[n], per_worker = site.jobs_per_minute(n, args.jobs)
                    print(f"  {n} worker(s): {rates[n]:.1f} generation jobs/min ({args.jobs} jobs; per worker {per_worker}); "
                          f"load average {os.getloadavg()[0]:.2f}")
                print(f"  scaling 2 vs 1 workers: {rates[2] / rates[1]:.2f}x")
            finally:
                site.drop()
        finally:
            client = redis.Redis.from_url(REDIS)
            keys = list(client.scan_iter(match=f"{PREFIX}*", count=500))
            if keys:
                client.delete(*keys)


if __name__ == "__main__":
    main()
