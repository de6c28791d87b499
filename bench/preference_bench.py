"""Preference benchmark: does a preference job teach a story's model what its crowd prefers?

    .venv/bin/python bench/preference_bench.py [--base DIR] [--pretrain-minutes 3] [--rounds 40]

A story on a temporary SQLite site gets ``--rounds`` closed rounds: each adds a passage of a
held-out novel (the story goes on), then offers K=3 candidates taken from held-out novels, one
line of dialogue and two of narration; a simulated crowd of five votes 3-1-1 for the dialogue.
The admin's preference job (services.start_preference, then the worker's run_prefer in this
process) trains on the earlier rounds and is judged on the latest ones. Prints preference
accuracy on those held-out rounds before and after (chance is 1/3), the held-out passage loss,
the decision, and time per pair. Without --base a starter base is pretrained first on the
training side of the corpus split. Figures only; nothing is asserted.
"""
import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus_split import load_split  # noqa: E402
from tests.app.training_helpers import closed_round  # noqa: E402  (a closed round, written as the relay leaves one)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="a starter base folder (else one is pretrained first)")
    parser.add_argument("--pretrain-minutes", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--heldout-fraction", type=float, default=0.25, help="PREFERENCE_HELDOUT_FRACTION")
    parser.add_argument("--steps", type=int, help="TRAIN_STEPS (default: the site's TRAIN_MAX_MINUTES budget)")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def lines_of(texts: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(dialogue lines, narration lines, all sentences) of the held-out novels."""
    from model_server.text import sentences

    found = [s for t in texts for s in sentences(t)]
    talk = [s for s in found if s.startswith('"') and 10 < len(s) < 90]
    plain = [s for s in found if '"' not in s and 10 < len(s) < 90]
    return talk, plain, found


def build_site(tmp: Path, base: Path, args):
    import shutil

    from flask_migrate import upgrade

    from app import create_app
    from config import celery_settings

    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite'}", "DATA_DIR": str(tmp / "data"),
              "BROKER_DIR": str(tmp / "broker"), "CELERY": celery_settings(None, tmp / "broker", 5),
              "MODEL_NAME": "starter", "RATELIMIT_ENABLED": False, "TRAIN_STEPS": args.steps,
              "PREFERENCE_HELDOUT_FRACTION": args.heldout_fraction}
    app = create_app(config)
    with app.app_context():
        upgrade()
    shutil.copytree(base, tmp / "data" / "models" / "starter")
    return app


def simulate(app, rounds: int, rng: random.Random, talk: list[str], plain: list[str], story_lines: list[str]):
    """An admin, a crowd of five, a story and its closed rounds; returns (admin, story id)."""
    from app.accounts import services as accounts
    from app.database import transaction
    from app.extensions import db
    from app.rounds import machine
    from app.stories import services as stories
    from app.stories.models import Story

    admin = accounts.sign_up("admin", "maple-letter-42", role="admin")
    crowd = [accounts.sign_up(f"reader{i}", "maple-letter-42").id for i in range(5)]
    start = rng.randrange(len(story_lines) - rounds * 3 - 10)
    story = stories.create_story(admin, "선호 벤치", " ".join(story_lines[start: start + 4]))
    for i in range(rounds):
        with transaction():
            row = db.session.get(Story, story.id)
            at = start + 4 + i * 3
            machine.append_passage(row, " ".join(story_lines[at: at + 3]), author=admin)
        options = [rng.choice(talk), rng.choice(plain), rng.choice(plain)]
        order = list(range(3))
        rng.shuffle(order)
        texts = [options[j] for j in order]
        votes = {0: crowd[:3], 1: crowd[3:4], 2: crowd[4:]}
        closed_round(story.id, texts, [votes[j] for j in order], winner=order.index(0), keyword=None,
                     sentences=1)
    return admin, story.id


def main() -> None:
    args = parse_args()
    rng = random.Random(args.seed)
    train_texts, heldout_texts = load_split(None, None)
    talk, plain, story_lines = lines_of(heldout_texts)
    print(f"held-out novels: {len(talk)} dialogue lines, {len(plain)} narration lines to draw candidates from")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = Path(args.base) if args.base else None
        if base is None:
            from model_server.data import SourceText
            from model_server.starter import StarterConfig, pretrain

            print(f"no --base: pretraining a starter base (default StarterConfig) for {args.pretrain_minutes:g} "
                  f"minutes on {len(train_texts)} training-side novels ...", flush=True)
            base = pretrain([SourceText(f"novel-{i}", t) for i, t in enumerate(train_texts)], tmp / "base",
                            minutes=args.pretrain_minutes, config=StarterConfig())
        app = build_site(tmp, base, args)
        from app.extensions import db
        from app.training import services
        from app.training.preferences import preference_rounds
        from app.training.models import ModelVersion
        from worker.preferring import run_prefer

        with app.app_context():
            admin, story_id = simulate(app, args.rounds, rng, talk, plain, story_lines)
            usable = preference_rounds(story_id)
            print(f"story {story_id}: {args.rounds} closed rounds, {len(usable)} teach a preference, "
                  f"{sum(r.pairs for r in usable)} pairs", flush=True)
            job_id = services.start_preference(story_id, admin).id
            db.session.commit()
            started = time.monotonic()
            outcome = run_prefer(job_id, None, "bench")
            elapsed = time.monotonic() - started
            version = db.session.query(ModelVersion).filter(ModelVersion.story_id == story_id).one_or_none()
            if version is None:
                print(f"the job ended {outcome}; no version was recorded")
                return
            m = version.metrics
        print(f"preference job: {outcome} in {elapsed:.1f} s ({m['steps']} steps, {m['train_seconds']:.1f} s of "
              f"training, {m['seconds_per_pair'] * 1000:.1f} ms per pair seen)")
        print(f"trained on {m['rounds']} rounds ({m['pairs']} pairs); judged on {m['heldout_rounds']} held-out rounds")
        print(f"held-out preference accuracy: {m['preference_accuracy_before']:.3f} -> {m['preference_accuracy']:.3f} "
              f"(chance 0.333)")
        if m.get("val_loss") is not None and m.get("val_loss_before") is not None:
            print(f"held-out passage loss: {m['val_loss_before']:.4f} -> {m['val_loss']:.4f}")
        print(f"decision: {'active' if m['activated'] else 'held for an admin'}: {m['decision']}")


if __name__ == "__main__":
    main()
