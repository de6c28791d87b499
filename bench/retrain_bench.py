"""Retrain benchmark: from an admin's retrain request to a new active version, through the real
site (create_app on a temporary SQLite, a real Celery worker process on the embedded broker).

    .venv/bin/python bench/retrain_bench.py [--base DIR] [--pretrain-minutes 3] [--novel PATH]

Prints the time from the request to the active version, the training throughput, and how
often the job's progress changed as seen by polling GET /api/v1/jobs/<id> (as the training
page does). Without --base it first pretrains a starter base (default StarterConfig) on the
corpus novels for --pretrain-minutes, and says so. Figures only; nothing is asserted.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.app.worker_process import start_worker, stop_worker  # noqa: E402  (the tests' real worker process)

CORPUS = ROOT.parent / "shared" / "corpus" / "novels"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpus/novels")
STORY = [
    "해가 뜨기 전, 그는 바닷가 마을의 방파제 끝에 앉아 있었다. 바람이 차가웠다.",
    "\"오늘은 배가 뜨지 않는대요.\" 뒤에서 소녀가 말했다. 그는 돌아보지 않았다.",
    "수평선 위로 붉은 빛이 번지기 시작했다. 갈매기 몇 마리가 낮게 날았다.",
    "그는 주머니에서 낡은 편지를 꺼냈다. 종이는 여러 번 접혀 닳아 있었다.",
    "소녀가 옆에 와 앉았다. \"그 편지, 누구한테서 온 거예요?\"",
    "그는 한참 대답하지 않았다. 파도가 방파제에 부딪혀 하얗게 부서졌다.",
    "\"아버지.\" 그가 마침내 말했다. \"이십 년 전에 이 바다로 나가서 돌아오지 않았지.\"",
    "소녀는 아무 말도 하지 않았다. 해가 완전히 떠오르자 마을의 지붕들이 빛났다.",
    "그는 편지를 다시 접어 주머니에 넣었다. 그리고 천천히 일어섰다.",
    "\"내일은 배가 뜨겠지.\" 그가 말했다. 소녀가 고개를 끄덕였다.",
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="a starter base folder (else one is pretrained first)")
    parser.add_argument("--pretrain-minutes", type=float, default=3.0)
    parser.add_argument("--novel", default=str(CORPUS / "46_Sunrise.txt"))
    parser.add_argument("--train-minutes", type=float, help="TRAIN_MAX_MINUTES (default: the site's setting)")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between API polls")
    return parser.parse_args()


def pretrain_base(out: Path, minutes: float) -> Path:
    from model_server.starter import StarterConfig, pretrain

    novels = sorted(CORPUS.glob("*.txt"))
    print(f"no --base: pretraining a starter base (default StarterConfig) on {len(novels)} corpus novels "
          f"for {minutes:g} minutes ...", flush=True)
    started = time.monotonic()
    path = pretrain(novels, out, minutes=minutes, config=StarterConfig())
    print(f"  base ready in {time.monotonic() - started:.0f} s: {path}", flush=True)
    return path


def build_site(tmp: Path, train_minutes: float | None):
    from flask_migrate import upgrade

    from app import create_app
    from config import celery_settings

    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite'}", "DATA_DIR": str(tmp / "data"),
              "BROKER_DIR": str(tmp / "broker"), "CELERY": celery_settings(None, tmp / "broker", 5),
              "MODEL_NAME": "starter", "RATELIMIT_ENABLED": False, "TRAIN_STEPS": None}
    if train_minutes is not None:
        config["TRAIN_MAX_MINUTES"] = train_minutes
    app = create_app(config)
    with app.app_context():
        upgrade()
    return app


def seed(app, novel_path: Path) -> tuple[str, int]:
    """An admin (API token), a story of 11 passages, the novel uploaded and voted in."""
    from app.accounts import services as accounts
    from app.database import transaction
    from app.extensions import db
    from app.novels import services as novels, training_set
    from app.rounds import machine
    from app.stories import services as stories
    from app.stories.models import Story

    raw = novel_path.read_bytes()
    with app.app_context():
        admin = accounts.sign_up("admin", "password123", role="admin")
        token = accounts.issue_token(admin)
        story = stories.create_story(admin, "방파제의 아침", STORY[0])
        with transaction():
            story = db.session.get(Story, story.id)
            for text in STORY[1:]:
                machine.append_passage(story, text, author=admin)
        novel = novels.upload_novel(admin, raw, novel_path.name, novel_path.stem, "작자 미상", "corpus")
        training_set.set_training_vote(story.id, novel.id, admin, True)
        print(f"site: story {story.id} with {len(STORY)} passages, novel {novel_path.name} "
              f"({len(raw):,} bytes, {novel.chars:,} characters) in its training set", flush=True)
        return token, story.id


def wait_for_worker(app, timeout: float = 180) -> None:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.jobs.models import WorkerHeartbeat

    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            if db.session.scalar(select(func.count()).select_from(WorkerHeartbeat)):
                db.session.remove()
                return
            db.session.remove()
            time.sleep(0.5)
    raise SystemExit("the worker did not start")


def main() -> None:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="retrain-bench-"))
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores "
          "(the machine is shared; other work slows these figures)", flush=True)
    base = Path(args.base) if args.base else pretrain_base(tmp / "pretrained-starter", args.pretrain_minutes)
    app = build_site(tmp, args.train_minutes)
    shutil.copytree(base, Path(app.config["DATA_DIR"]) / "models" / "starter")
    token, story_id = seed(app, Path(args.novel))
    log = tmp / "worker.log"
    worker = start_worker(app, log)
    try:
        wait_for_worker(app)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        print(f"worker ready; TRAIN_MAX_MINUTES={app.config['TRAIN_MAX_MINUTES']:g}; POST retrain ...", flush=True)
        requested = time.monotonic()
        response = client.post(f"/api/v1/stories/{story_id}/retrain", headers=headers, json={})
        job_id = response.json["job_id"]
        seen_updates, last_updated, job = [], None, None
        while True:
            job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json
            now = time.monotonic()
            if job["status"] == "running" and job["updated_at"] != last_updated:
                seen_updates.append(now)
                last_updated = job["updated_at"]
            if job["status"] in ("succeeded", "failed", "cancelled"):
                break
            if now - requested > 900:
                raise SystemExit("gave up after 15 minutes")
            time.sleep(args.poll)
        versions = client.get(f"/api/v1/stories/{story_id}/models", headers=headers).json["items"]
        finished = time.monotonic()
    finally:
        stop_worker(worker, grace=5)
    if job["status"] != "succeeded":
        print(f"job {job_id} {job['status']}: {job.get('error')}\n--- worker log ---\n"
              f"{log.read_text(errors='replace')[-3000:]}")
        raise SystemExit(1)
    active = [v for v in versions if v["active"]]
    m = job["metrics"]
    gaps = [b - a for a, b in zip(seen_updates, seen_updates[1:])]
    print()
    print(f"request -> {'active' if active else 'held'} version ({m['version']}): {finished - requested:.1f} s")
    print(f"  training loop: {m['train_seconds']:.1f} s, {m['steps']} steps, {m['tokens_per_s']:.0f} tokens/s, "
          f"whole train(): {m['total_seconds']:.1f} s")
    print(f"  held-out loss: active {m.get('active_val_loss')} -> new {m.get('val_loss')} "
          f"({m['heldout_passages']} passage(s)); {m['decision']}")
    print(f"  loss points stored: {len(job['points'])}")
    if gaps:
        print(f"progress updates seen while running (polling every {args.poll:g} s): {len(seen_updates)}; "
              f"gap between updates: median {statistics.median(gaps):.2f} s, max {max(gaps):.2f} s")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
