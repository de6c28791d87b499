"""How far one action walks through the site's own code: a vote, a generation and a retrain, each
traced call by call. Prints figures, asserts nothing.

    python bench/walk_bench.py [--site-root DIR]

For each action: the site's files it runs code in (app/, worker/, model_server/), and how many
calls cross from one of those files into another. ``--site-root`` measures another checkout
(a worktree of an older commit, say) with this same script. A tiny starter base is trained
first (seconds), so the generation and the retrain run the real worker code on a real model.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

PARTS = ("app", "worker", "model_server")


class Walk:
    """The site's files entered while it is on, and the calls that crossed between them."""

    def __init__(self, root: Path):
        self.prefixes = tuple(str(root / part) + os.sep for part in PARTS)
        self.files: set[str] = set()
        self.crossings = 0
        self.root = root

    def ours(self, filename: str) -> bool:
        return filename.startswith(self.prefixes)

    def __call__(self, frame, event, _arg):
        if event != "call":
            return
        here = frame.f_code.co_filename
        if not self.ours(here):
            return
        self.files.add(here)
        caller = frame.f_back
        while caller is not None and not self.ours(caller.f_code.co_filename):
            caller = caller.f_back  # through library frames (SQLAlchemy, Flask) back to ours
        if caller is not None and caller.f_code.co_filename != here:
            self.crossings += 1

    def run(self, action):
        sys.setprofile(self)
        try:
            return action()
        finally:
            sys.setprofile(None)

    def report(self, name: str) -> str:
        files = sorted(str(Path(f).relative_to(self.root)) for f in self.files)
        return f"{name}: {len(files)} files, {self.crossings} calls from one file into another\n    " + ", ".join(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site-root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    root = args.site_root.resolve()
    sys.path.insert(0, str(root))
    os.chdir(root)

    from app import create_app
    from app.extensions import db
    from model_server.starter import StarterConfig, pretrain
    from tests.app.conftest import OPENING, Users
    from tests.conftest import find_corpus, migrate_database, site_config

    tmp = Path(tempfile.mkdtemp(prefix="walk-bench-"))
    novels = [find_corpus() / "novels" / name for name in ("46_Sunrise.txt", "36_Presence.txt", "17_Good_Sentences.txt")]
    base = pretrain(novels, tmp / "starter", steps=60, seed=0, config=StarterConfig.tiny())
    config = site_config(tmp, f"sqlite:///{tmp / 'relay.sqlite'}", MODEL_NAME=str(base), TRAIN_STEPS=3)
    migrate_database(config)
    app = create_app(config)
    users = Users(app, app.test_client())
    owner, p1 = users.make("owner", role="admin"), users.make("p1")
    story = owner.post("/api/v1/stories", {"title": "느티나무 아래", "opening": OPENING}).json
    url = f"/api/v1/stories/{story['id']}/round"
    assert p1.post(f"{url}/proposals", {"keyword": "편지", "sentences": 2}).status_code == 201
    assert owner.post(f"{url}/advance").status_code == 200
    proposal_id = owner.get(url).json["proposals"][0]["id"]
    print(f"site: {root}")

    vote = Walk(root)
    answer = vote.run(lambda: p1.post(f"{url}/votes", {"proposal_id": proposal_id}))
    assert answer.status_code == 200, answer.json
    print(vote.report("vote"))

    assert owner.post(f"{url}/advance").status_code == 200  # generating: a generation job waits
    from worker.generation import run_generation

    with app.app_context():
        round_id = owner.get(url).json["id"]
        generation = Walk(root)
        generation.run(lambda: run_generation(round_id, None, "walk"))
        db.session.remove()
    print(generation.report("generation (model loaded inside)"))

    from worker.retraining import run_retrain

    job_id = owner.post(f"/api/v1/stories/{story['id']}/retrain").json["job_id"]
    with app.app_context():
        retrain = Walk(root)
        retrain.run(lambda: run_retrain(job_id, None, "walk"))
        db.session.remove()
    print(retrain.report("retrain"))


if __name__ == "__main__":
    main()
