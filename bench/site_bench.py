"""Site benchmark: votes under load on PostgreSQL, a long story page, a web worker's memory.

    .venv/bin/python bench/site_bench.py [--seconds 30] [--clients 100] [--rate 400]

Starts gunicorn (4 workers) on PostgreSQL in a schema of its own (REDIS_URL, when set or
reachable at 127.0.0.1:6379, carries the rate limits as in production), then:
  0. warm-up: --warmup seconds of the paced load below, reported but not counted;
  1. paced load: --clients clients, each one user, voting and re-voting at --rate votes/s in
     all for --seconds: achieved votes/s, p50 and p99 latency, errors;
  2. saturation: the same clients voting back to back for --saturation seconds: votes/s;
  3. integrity: every user's stored vote is the last one the server acknowledged to them,
     one row per user, tallies equal (lost and duplicate votes);
  4. GET of a 1,000-passage story page: p50 and p99;
  5. resident memory of each gunicorn worker, and whether torch or the Korean analyser is loaded.
Prints figures; asserts nothing.
"""
import argparse
import asyncio
import gc
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def redis_url() -> str | None:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return url
    except Exception:
        return None


def prepare(schema_url: str, clients: int, proposals: int, passages: int, tmp: Path):
    """Users with tokens, a story in voting with some proposals, and a 1,000-passage story."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from app import create_app
    from app.accounts import services as accounts
    from app.extensions import db
    from app.rounds import machine, services as rounds
    from app.stories import services as stories
    from app.stories.models import Passage
    from config import celery_settings

    app = create_app({"SQLALCHEMY_DATABASE_URI": schema_url, "BROKER_DIR": str(tmp / "broker"),
                      "CELERY": celery_settings(None, tmp / "broker", 5), "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        people = [accounts.sign_up(f"bench{i}", "password123") for i in range(clients)]
        tokens = {u.id: accounts.issue_token(u) for u in people}
        story = stories.create_story(people[0], "벤치마크", "투표가 몰리는 이야기의 첫 글입니다. " * 3)
        for person in people[:proposals]:
            rounds.propose(story.id, person, keyword=f"열쇠{person.id}", sentences=2)
        machine.advance(story.id)
        proposal_ids = [p["id"] for p in rounds.snapshot(story.id, None)["proposals"]]
        long_story = stories.create_story(people[1], "천 개의 글", "긴 이야기의 첫 글입니다. 여기서 시작합니다.")
        sentence = "그는 창가에 앉아 오래도록 비 내리는 골목을 바라보았다. \"언제 오려나.\" 혼잣말이 유리에 서렸다. "
        db.session.execute(insert(Passage), [
            {"story_id": long_story.id, "seq": seq, "text": sentence * 2, "author_kind": "human",
             "author_id": people[seq % clients].id} for seq in range(2, passages + 1)])
        db.session.commit()
        result = story.id, long_story.id, proposal_ids, [(uid, tokens[uid]) for uid in sorted(tokens)]
        db.engine.dispose()
    return result


class Client:
    """One keep-alive HTTP/1.1 connection (asyncio streams: cheap enough to keep 100 busy)."""

    def __init__(self, port):
        self.port, self.reader, self.writer = port, None, None

    async def request(self, method, path, body=None, token=None):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        payload = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        head += f"Content-Length: {len(payload)}\r\n\r\n"
        self.writer.write(head.encode() + payload)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        data = await self.reader.readexactly(length) if length else b""
        if close:
            self.writer.close()
            self.writer = None
        return status, data


async def vote_load(port, story_id, proposal_ids, users, seconds, rate, paced):
    """Each client is one user; returns latencies, per-user last acknowledged target, errors."""
    path = f"/api/v1/stories/{story_id}/round/votes"
    latencies, last_ack, errors = [], {}, []
    stop_at = time.perf_counter() + seconds
    per_client_interval = len(users) / rate if paced else 0

    async def run(user_id, token, seed):
        rng, client = random.Random(seed), Client(port)
        next_at = time.perf_counter() + rng.random() * max(per_client_interval, 0.001)
        while True:
            if paced:
                delay = next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at += per_client_interval
            if time.perf_counter() >= stop_at:
                return
            target = rng.choice(proposal_ids)
            started = time.perf_counter()
            try:
                status, body = await client.request("POST", path, {"proposal_id": target}, token)
            except Exception as e:  # a dropped connection is an error, not a crash of the bench
                errors.append(repr(e))
                client = Client(port)
                continue
            latencies.append(time.perf_counter() - started)
            if status == 200:
                last_ack[user_id] = target
            else:
                errors.append(f"{status} {body[:200]!r}")

    started = time.perf_counter()
    await asyncio.gather(*(run(uid, token, i) for i, (uid, token) in enumerate(users)))
    return latencies, last_ack, errors, time.perf_counter() - started


async def page_load(port, story_id, count):
    client, times = Client(port), []
    for _ in range(count):
        started = time.perf_counter()
        status, body = await client.request("GET", f"/stories/{story_id}")
        times.append(time.perf_counter() - started)
        assert status == 200, status
    return times, len(body)


def worker_memory(master_pid: int):
    rows = []
    for pid in worker_pids(master_pid):
        status = Path(f"/proc/{pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
        maps = Path(f"/proc/{pid}/maps").read_text()
        rows.append((pid, rss, "torch" in maps, "kiwi" in maps))
    return rows


def process_cpu(pid: int | str) -> float:
    """CPU time (user + system) one process has used so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pattern: str) -> float:
    """CPU time (user + system) used so far by processes whose command line matches."""
    pids = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
    return sum(process_cpu(pid) for pid in pids)


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM a server started in a session of its own, and all it started; SIGKILL after 15 s."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def worker_pids(master_pid: int) -> list[int]:
    return [int(p) for p in subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout.split()]


def python_loop_ms() -> float:
    """CPU time of a fixed pure-Python loop. The host's speed changes from run to run (this
    loop took 189 to 319 ms across one evening's runs), and every figure here moves with it."""
    started = time.process_time()
    total = 0
    for i in range(3_000_000):
        total += i * i
    return 1000 * (time.process_time() - started)


def machine_load() -> str:
    load = os.getloadavg()
    top = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu"], capture_output=True, text=True).stdout
    busy = [line.strip() for line in top.splitlines()[1:6] if line.strip() and float(line.split()[0]) > 5]
    return (f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; busiest: {', '.join(busy) or 'none above 5%'}; "
            f"fixed Python loop {python_loop_ms():.0f} ms of CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--saturation", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=5, help="seconds of paced votes before measuring")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=float, default=400, help="offered votes per second in the paced run")
    parser.add_argument("--proposals", type=int, default=5)
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=5890)
    args = parser.parse_args()

    import psycopg

    from config import Config

    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"relay-bench-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG}?options=-csearch_path%3D{schema}"
    redis = redis_url()
    print(f"machine: {os.cpu_count()} cores; before: {machine_load()}")
    server = None
    try:
        story_id, long_story_id, proposal_ids, users = prepare(url, args.clients, args.proposals, args.passages, tmp)
        # This process imported the whole app to prepare the data. Left with the collector,
        # each full collection walked all of it and held up all 100 clients at once for
        # 100-150 ms, about every 27 s, and those votes were counted as slow server answers.
        gc.freeze()
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench", BROKER_DIR=str(tmp / "broker"),
                   RATELIMIT_VOTE="1000000/minute", RATELIMIT_WRITE="1000000/minute", PYTHONPATH=str(ROOT))
        env.pop("REDIS_URL", None)
        if redis:
            env["REDIS_URL"] = redis
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-k", "gthread", "--threads", os.environ.get("BENCH_THREADS", "4"),
             "--backlog", "2048", "-b", f"127.0.0.1:{args.port}", "--log-level", "warning", "app:create_app()"],
            cwd=ROOT, env=env, start_new_session=True)
        for _ in range(100):
            try:
                asyncio.run(Client(args.port).request("GET", "/healthz"))
                break
            except OSError:
                time.sleep(0.2)
        asyncio.run(page_load(args.port, long_story_id, 5))  # warm every worker a little
        print(f"gunicorn: {args.workers} workers x {os.environ.get('BENCH_THREADS', '4')} threads on PostgreSQL; rate limits in "
              f"{'Redis' if redis else 'memory'}; votes commit with synchronous_commit="
              f"{Config.VOTE_SYNCHRONOUS_COMMIT}; {args.clients} clients, each one user; {len(proposal_ids)} proposals")

        # Warm-up, not measured: every worker thread opens its database connections and
        # prepares its statements, as a server that has been up for a while already has.
        warm, warm_ack, warm_errors, warm_elapsed = asyncio.run(
            vote_load(args.port, story_id, proposal_ids, users, args.warmup, args.rate, paced=True))
        print(f"warm-up ({args.warmup:.0f} s, not counted): {len(warm) / warm_elapsed:.0f} votes/s, "
              f"p99 {1000 * percentile(warm, 99):.1f} ms, errors {len(warm_errors)}")
        workers_before = {pid: process_cpu(pid) for pid in worker_pids(server.pid)}
        lat, last_ack, errors, elapsed = asyncio.run(
            vote_load(args.port, story_id, proposal_ids, users, args.seconds, args.rate, paced=True))
        worker_busy = [(process_cpu(pid) - before) / elapsed for pid, before in workers_before.items()]
        last_ack = {**warm_ack, **last_ack}
        ok = len(lat) - len(errors)
        print(f"paced votes ({args.rate:.0f}/s offered, {args.seconds:.0f} s): {ok / elapsed:.0f} votes/s, "
              f"p50 {1000 * percentile(lat, 50):.1f} ms, p99 {1000 * percentile(lat, 99):.1f} ms, "
              f"max {1000 * max(lat):.1f} ms, errors {len(errors)}")
        # A worker runs Python on one core at most (its GIL): one busier than the rest queues.
        print("  each worker's CPU during it: " + ", ".join(f"{100 * b:.0f} %" for b in sorted(worker_busy)))
        components = {"gunicorn": f"gunicorn.*{args.port}", "postgres": "postgres:", "redis": "redis-server"}
        cpu_before = {name: cpu_seconds(pattern) for name, pattern in components.items()}
        client_before = time.process_time()
        lat2, last_ack2, errors2, elapsed2 = asyncio.run(
            vote_load(args.port, story_id, proposal_ids, users, args.saturation, args.rate, paced=False))
        cpu_used = {name: cpu_seconds(pattern) - cpu_before[name] for name, pattern in components.items()}
        cpu_used["bench client"] = time.process_time() - client_before
        last_ack.update(last_ack2)
        ok2 = len(lat2) - len(errors2)
        print(f"saturation ({args.clients} clients back to back, {args.saturation:.0f} s): {ok2 / elapsed2:.0f} votes/s, "
              f"p50 {1000 * percentile(lat2, 50):.1f} ms, p99 {1000 * percentile(lat2, 99):.1f} ms, "
              f"errors {len(errors2)}")
        per_vote = ", ".join(f"{name} {1000 * used / max(1, len(lat2)):.2f}" for name, used in cpu_used.items())
        print(f"  CPU ms per vote during saturation: {per_vote}")
        for error in (errors + errors2)[:3]:
            print("  error:", error)

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test") as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            rows = conn.execute("SELECT user_id, proposal_id FROM votes WHERE stage = 'proposal'").fetchall()
        per_user = {}
        for user_id, proposal_id in rows:
            per_user.setdefault(user_id, []).append(proposal_id)
        duplicates = sum(len(v) - 1 for v in per_user.values())
        lost = sum(1 for user_id, target in last_ack.items() if per_user.get(user_id, [None])[-1] != target)
        status, body = asyncio.run(Client(args.port).request("GET", f"/api/v1/stories/{story_id}/round"))
        tallies = {p["id"]: p["votes"] for p in json.loads(body)["proposals"]}
        expected = {pid: sum(1 for t in last_ack.values() if t == pid) for pid in proposal_ids}
        print(f"integrity: {len(rows)} vote rows for {len(last_ack)} voters; lost {lost}, duplicate {duplicates}; "
              f"tallies {'match' if tallies == expected else f'DIFFER {tallies} vs {expected}'}")

        times, size = asyncio.run(page_load(args.port, long_story_id, 60))
        print(f"story page with {args.passages} passages ({size / 1024:.0f} KiB): p50 {1000 * percentile(times, 50):.1f} ms, "
              f"p99 {1000 * percentile(times, 99):.1f} ms")
        for pid, rss, torch, kiwi in worker_memory(server.pid):
            print(f"gunicorn worker {pid}: {rss:.0f} MB resident; torch loaded: {'yes' if torch else 'no'}; "
                  f"Korean analyser loaded: {'yes' if kiwi else 'no'}")
        print(f"after: {machine_load()}")
    finally:
        if server is not None:
            stop_group(server)
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
