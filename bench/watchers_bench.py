"""Watchers benchmark: votes and a phase change while many pages watch one story. Prints figures; asserts nothing.

    .venv/bin/python bench/watchers_bench.py [--viewers 0,100,1000,5000] [--seconds 20] [--rate 100]
    .venv/bin/python bench/watchers_bench.py --polling --viewers 0,100,200,500 [--site-root OTHER_CHECKOUT]

Starts the production stack here, without docker: PostgreSQL (a schema of its own), the shared
Redis (a key prefix of its own), gunicorn (4 workers x 4 threads, gthread), the live round
server (python -m live) and Debian's nginx with deploy/nginx/ in front. For each number of
viewers, on a story of its own in voting:
  1. the viewers open the story's live stream through nginx (--polling: they poll the round
     through nginx about once a second each, with their ETag, as the page does without a stream);
  2. --clients users vote and re-vote at --rate votes/s in all for --seconds, through nginx:
     p50 and p99 latency, errors;
  3. the owner ends the voting: how long until each viewer has the new phase (p50, p99, the
     share within 1 s, and any that never saw it within 15 s);
  4. resident memory and threads of every process (gunicorn workers, live server, nginx workers);
  5. integrity: every voter's stored vote is the last one acknowledged (lost, duplicate).
--site-root runs gunicorn from another checkout (the code before a change; it has no live
server, so only --polling means anything there). Loopback only; the viewers run in a process of
their own, the voters in this one, on the same two cores as the servers.
"""
import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.site_bench import (PG, Client, cpu_seconds, machine_load, percentile, process_cpu, redis_url,  # noqa: E402
                              stop_group, vote_load, worker_pids)
from tests.proxy.stack import free_port, start_nginx, stop, wait_until_answering  # noqa: E402

PHASE = re.compile(rb'"phase":\s*"(\w+)"')
NEVER = 15.0  # seconds a viewer is given to see the phase change


def prepare(schema_url: str, voters: int, stories: int, tmp: Path):
    """Users with tokens, and ``stories`` stories in voting, each with a few proposals."""
    from flask_migrate import upgrade

    from app import create_app
    from app.accounts import services as accounts
    from app.rounds import machine, services as rounds
    from app.stories import services as stories_
    from config import celery_settings

    app = create_app({"SQLALCHEMY_DATABASE_URI": schema_url, "BROKER_DIR": str(tmp / "broker"),
                      "CELERY": celery_settings(None, tmp / "broker", 5), "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        people = [accounts.sign_up(f"watch{i}", "password123") for i in range(voters)]
        tokens = [(u.id, accounts.issue_token(u)) for u in people]
        made = []
        for n in range(stories):
            story = stories_.create_story(people[0], f"지켜보는 이야기 {n}", "많은 사람이 지켜보는 이야기의 첫 글입니다. " * 3)
            for person in people[:4]:
                rounds.propose(story.id, person, keyword=f"열쇠{person.id}", sentences=2)
            machine.advance(story.id)
            made.append((story.id, [p["id"] for p in rounds.snapshot(story.id, None)["proposals"]]))
        from app.extensions import db

        db.engine.dispose()
    return made, tokens


class Viewer:
    """One page watching the story: on the live stream, or polling the round with its ETag."""

    def __init__(self, port: int, story_id: int, polling: bool, rng: random.Random, address: str):
        self.port, self.story_id, self.polling, self.rng = port, story_id, polling, rng
        self.address = address  # pages come from many addresses: the proxy caps streams per address
        self.phase: str | None = None
        self.changed_at: float | None = None  # when it first saw a phase other than voting
        self.connected = asyncio.Event()
        self.errors = 0

    def saw(self, phase: str) -> None:
        self.phase = phase
        if phase != "voting" and self.changed_at is None:
            self.changed_at = time.time()  # wall clock: the viewers run in a process of their own

    async def run(self, stop_at: float) -> None:
        await (self.poll(stop_at) if self.polling else self.stream(stop_at))

    async def stream(self, stop_at: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, local_addr=(self.address, 0))
        writer.write(f"GET /api/v1/stories/{self.story_id}/live HTTP/1.1\r\nHost: bench\r\n"
                     "Accept: text/event-stream\r\n\r\n".encode())
        await writer.drain()
        tail = b""
        try:
            while time.perf_counter() < stop_at:
                # whole chunks, not lines: five thousand viewers in one process must read cheaply
                chunk = await asyncio.wait_for(reader.read(65536), max(0.1, stop_at - time.perf_counter()))
                if not chunk:
                    self.errors += 1
                    return
                phases = PHASE.findall(tail + chunk)
                if phases:
                    self.saw(phases[-1].decode())
                    self.connected.set()
                tail = chunk[-64:]
        except asyncio.TimeoutError:
            pass
        finally:
            self.connected.set()  # a refused stream is counted as an error, not waited for
            writer.close()

    async def poll(self, stop_at: float) -> None:
        client, etag = Client(self.port), None
        await asyncio.sleep(self.rng.random())  # pages were opened at different moments
        while time.perf_counter() < stop_at:
            try:
                status, body, tag = await request(client, f"/api/v1/stories/{self.story_id}/round", etag)
                if status == 200:
                    etag = tag
                    self.saw(json.loads(body)["phase"])
                elif status != 304:
                    self.errors += 1
                self.connected.set()
            except Exception:
                self.errors += 1
                client = Client(self.port)
            await asyncio.sleep(0.8 + 0.4 * self.rng.random())


async def request(client: Client, path: str, etag: str | None):
    """A GET with If-None-Match: (status, body, ETag), on the client's keep-alive connection."""
    if client.writer is None:
        client.reader, client.writer = await asyncio.open_connection("127.0.0.1", client.port)
    head = f"GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: application/json\r\n"
    if etag:
        head += f"If-None-Match: {etag}\r\n"
    client.writer.write((head + "\r\n").encode())
    await client.writer.drain()
    status = int((await client.reader.readline()).split()[1])
    length, tag, close = 0, None, False
    while True:
        line = await client.reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        name, value = name.lower(), value.strip()
        if name == "content-length":
            length = int(value)
        elif name == "etag":
            tag = value
        elif name == "connection" and "close" in value.lower():
            close = True
    body = await client.reader.readexactly(length) if length else b""
    if close:
        client.writer.close()
        client.writer = None
    return status, body, tag


def memory_and_threads(pid: int) -> tuple[float, int]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0.0, 0
    return (int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024,
            int(re.search(r"Threads:\s+(\d+)", status).group(1)))


def processes(gunicorn: subprocess.Popen, live: subprocess.Popen | None, nginx_master: int) -> dict[str, list[int]]:
    found = {"gunicorn workers": worker_pids(gunicorn.pid), "nginx workers": worker_pids(nginx_master)}
    if live is not None:
        found["live server"] = [live.pid]
    return found


def describe(procs: dict[str, list[int]]) -> str:
    parts = []
    for name, pids in procs.items():
        for pid in pids:
            rss, threads = memory_and_threads(pid)
            parts.append(f"{name} {rss:.0f} MB/{threads} thr")
    return ", ".join(parts)


async def watch(port: int, story_id: int, viewers: int, polling: bool, pipe) -> None:
    """The viewers, in a process of their own (so their reading does not delay the voters'
    clock): tell the parent once all are watching, then send when each saw the phase change."""
    rng = random.Random(viewers)
    crowd = [Viewer(port, story_id, polling, rng, f"127.2.{i // 250}.{i % 250 + 1}") for i in range(viewers)]
    stop_at = time.perf_counter() + 600
    tasks = [asyncio.create_task(v.run(stop_at)) for v in crowd]
    started = time.perf_counter()
    for i in range(0, viewers, 200):  # open them in steps, as pages open, not all in one instant
        await asyncio.gather(*(v.connected.wait() for v in crowd[i: i + 200]))
    pipe.send(time.perf_counter() - started)
    ended_at = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    while time.time() < ended_at + NEVER and any(v.changed_at is None for v in crowd):
        await asyncio.sleep(0.05)
    pipe.send(([v.changed_at for v in crowd], sum(v.errors for v in crowd)))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def watch_process(port: int, story_id: int, viewers: int, polling: bool, pipe) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    asyncio.run(watch(port, story_id, viewers, polling, pipe))


def cpu_now(procs: dict[str, list[int]], viewers_pid: int) -> dict[str, float]:
    """CPU seconds used so far by each part of the stack, and by the viewers' process."""
    used = {name: sum(process_cpu(pid) for pid in pids) for name, pids in procs.items()}
    used["postgres"] = cpu_seconds("postgres:")
    used["redis"] = cpu_seconds("redis-server")
    used["viewers (bench)"] = process_cpu(viewers_pid)
    return used


def one_run(args, port: int, story_id: int, proposal_ids: list[int], users, owner_token: str, viewers: int,
            procs: dict[str, list[int]]):
    here, there = multiprocessing.Pipe()
    watcher = multiprocessing.Process(target=watch_process, args=(port, story_id, viewers, args.polling, there))
    watcher.start()
    connected_s = here.recv()
    cpu_before, started = cpu_now(procs, watcher.pid), time.perf_counter()
    client_before = time.process_time()
    latencies, last_ack, errors, elapsed = asyncio.run(
        vote_load(port, story_id, proposal_ids, users, args.seconds, args.rate, paced=True))
    ended_at = time.time()
    status, body = asyncio.run(Client(port).request("POST", f"/api/v1/stories/{story_id}/round/advance", {},
                                                    owner_token))
    assert status == 200, body
    here.send(ended_at)
    seen, viewer_errors = here.recv()
    window = time.perf_counter() - started
    cpu = {name: (used - cpu_before[name]) / window for name, used in cpu_now(procs, watcher.pid).items()}
    cpu["voters (bench)"] = (time.process_time() - client_before) / window
    watcher.kill()
    watcher.join()
    delays = [t - ended_at for t in seen if t is not None]
    return {"connected_s": connected_s, "latencies": latencies, "last_ack": last_ack, "errors": errors,
            "elapsed": elapsed, "delays": delays, "missed": viewers - len(delays), "viewer_errors": viewer_errors,
            "cpu": cpu}


def integrity(schema: str, story_id: int, last_ack: dict) -> str:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test") as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        rows = conn.execute("SELECT v.user_id, v.proposal_id FROM votes v JOIN rounds r ON r.id = v.round_id "
                            "WHERE v.stage = 'proposal' AND r.story_id = %s", (story_id,)).fetchall()
    per_user = {}
    for user_id, proposal_id in rows:
        per_user.setdefault(user_id, []).append(proposal_id)
    duplicates = sum(len(v) - 1 for v in per_user.values())
    lost = sum(1 for user_id, target in last_ack.items() if per_user.get(user_id, [None])[-1] != target)
    return f"lost {lost}, duplicate {duplicates}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--viewers", default="0,100,1000,5000")
    parser.add_argument("--polling", action="store_true", help="viewers poll the round instead of streaming")
    parser.add_argument("--seconds", type=float, default=20, help="seconds of votes per run")
    parser.add_argument("--rate", type=float, default=100, help="votes per second offered")
    parser.add_argument("--clients", type=int, default=100, help="voters (each votes about rate/clients times a second)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--site-root", type=Path, default=ROOT, help="the checkout gunicorn runs")
    args = parser.parse_args()
    counts = [int(n) for n in args.viewers.split(",")]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # thousands of sockets here and in nginx

    import psycopg

    redis = redis_url()
    if redis is None:
        sys.exit("needs Redis at 127.0.0.1:6379 (REDIS_URL)")
    tmp = Path(tempfile.mkdtemp(prefix="relay-watchers-"))
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG}?options=-csearch_path%3D{schema}"
    print(f"machine: {os.cpu_count()} cores; before: {machine_load()}")
    gunicorn = live = nginx = None
    try:
        stories, users = prepare(url, args.clients, len(counts), tmp)
        gc.freeze()
        web_port, live_port = free_port(), free_port()
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench", BROKER_DIR=str(tmp / "broker"), REDIS_URL=redis,
                   REDIS_KEY_PREFIX=prefix, RATELIMIT_VOTE="1000000/minute", RATELIMIT_WRITE="1000000/minute",
                   PYTHONPATH=str(args.site_root), PROXY_HOPS="1", LIVE_EVENTS="1")
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-k", "gthread", "--threads", "4",
             "--backlog", "2048", "-b", f"127.0.0.1:{web_port}", "--log-level", "warning", "app:create_app()"],
            cwd=args.site_root, env=env, start_new_session=True)
        wait_until_answering(f"http://127.0.0.1:{web_port}/livez", 60)
        if not args.polling:
            live = subprocess.Popen([sys.executable, "-m", "live"], cwd=ROOT, start_new_session=True,
                                    env=dict(env, PYTHONPATH=str(ROOT), LIVE_PORT=str(live_port),
                                             LIVE_SITE_URL=f"http://127.0.0.1:{web_port}"))
            wait_until_answering(f"http://127.0.0.1:{live_port}/livez", 30)
        nginx = start_nginx(tmp / "nginx", web_port, live_port=live_port, connections=2 * max(counts) + 1024)
        port = nginx.http_port
        print(f"stack: nginx -> gunicorn {args.workers} workers x 4 threads on PostgreSQL, Redis; "
              + ("viewers POLL the round through nginx (about 1/s each, ETag)" if args.polling else
                 "viewers hold the live stream through nginx (python -m live)")
              + f"; gunicorn from {args.site_root}; votes {args.rate:.0f}/s from {args.clients} users for {args.seconds:.0f} s")
        procs = processes(gunicorn, live, nginx.process.pid)
        print(f"idle: {describe(procs)}")
        rows = []
        for n, (story_id, proposal_ids) in zip(counts, stories):
            result = one_run(args, port, story_id, proposal_ids, users, users[0][1], n, procs)
            lat, delays = result["latencies"], result["delays"]
            ok = len(lat) - len(result["errors"])
            within = sum(d <= 1.0 for d in delays) / n if n else float("nan")
            row = (f"| {n:,} | {1000 * percentile(lat, 50):.0f} ms | {1000 * percentile(lat, 99):.0f} ms | "
                   + (f"{percentile(delays, 50):.2f} s / {percentile(delays, 99):.2f} s | {100 * within:.1f} % |"
                      if n else "– | – |")
                   + f" {ok / result['elapsed']:.0f}/s, errors {len(result['errors'])} | "
                   + f"{integrity(schema, story_id, result['last_ack'])} |")
            rows.append(row)
            print(f"{n} viewers: connected in {result['connected_s']:.1f} s; missed the phase change "
                  f"{result['missed']}; viewer errors {result['viewer_errors']}; {describe(procs)}")
            print("  CPU while voting and changing phase (share of one core): "
                  + ", ".join(f"{name} {100 * share:.0f} %" for name, share in result["cpu"].items()))
            for error in result["errors"][:2]:
                print("  vote error:", error)
        print("\n| viewers | vote p50 | vote p99 | phase change seen, p50 / p99 | seen within 1 s | votes | integrity |")
        print("|---|---|---|---|---|---|---|")
        for row in rows:
            print(row)
        print(f"\nafter: {machine_load()}")
    finally:
        if nginx is not None:
            stop(nginx.process)
        for process in (live, gunicorn):
            if process is not None:
                stop_group(process)
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
