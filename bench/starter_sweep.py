"""Starter settings compared over several seeds, each run to its pass limit: prints figures.

    python bench/starter_sweep.py --variant base: --variant L6:n_layer=6 \
        [--variant NAME:field=value,field=value ...] [--seeds 4] [--workers 2] [--ensemble]
        [--minutes M] [--data DIR] [--heldout DIR] [--out DIR]

Each variant is ``StarterConfig`` with the fields given changed; each is pretrained once per
seed on the benchmark split (``bench/corpus_split.py``) and scored on the held-out text.
Held-out bpc moves by up to 0.06 from one seed to another at the same settings, more than
most settings move it, so a setting is judged on the mean of its seeds, not on one run.

Without ``--minutes`` a run reads the text ``max_epochs`` times, however long it takes (the
budget the site's pretrain uses), so ``--variant p4:max_epochs=4 --variant p16:max_epochs=16``
shows quality against pretraining time. With ``--ensemble`` each
variant's seeds are also scored as one model that averages their probabilities.
Runs go in parallel processes, ``--workers`` at a time, one thread each unless ``--threads``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

def parse_variant(spec: str) -> tuple[str, dict]:
    """``NAME:field=value,field=value`` -> (NAME, {field: value}) typed by ``StarterConfig``."""
    from model_server.starter import StarterConfig

    name, _, assignments = spec.partition(":")
    if not name:
        raise argparse.ArgumentTypeError(f"{spec!r}: a variant needs a name before the colon")
    types = {f.name: type(f.default) for f in dataclasses.fields(StarterConfig)}
    changes = {}
    for assignment in filter(None, assignments.split(",")):
        field, _, value = assignment.partition("=")
        if field not in types:
            raise argparse.ArgumentTypeError(f"{spec!r}: StarterConfig has no field {field!r}")
        kind = types[field]
        changes[field] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return name, changes


def run_one(name: str, changes: dict, seed: int, args: argparse.Namespace) -> dict:
    """Pretrain one variant with one seed in this (worker) process and score it on the held-out
    text; its per-token log-probabilities come back too, for the ensemble."""
    import torch

    torch.set_num_threads(args.threads)
    from bench.corpus_split import load_split
    from model_server.data import SourceText
    from model_server.evaluate import token_logprobs
    from model_server.loading import load_base
    from model_server.starter import StarterConfig, pretrain

    train_texts, heldout = load_split(args.data, args.heldout)
    data = [SourceText(f"train:{i}", t) for i, t in enumerate(train_texts)]
    out = Path(args.out) / f"{name}_s{seed}"
    started = time.perf_counter()
    config = StarterConfig(**changes)
    budget = {"minutes": args.minutes} if args.minutes else {"passes": config.max_epochs}
    pretrain(data, out, seed=seed, config=config, **budget)
    seconds = time.perf_counter() - started
    base = load_base(str(out), quantize="none")
    logprobs = torch.cat([token_logprobs(base.model, base.tokenizer, text) for text in heldout])
    chars = sum(len(text) for text in heldout)
    metrics = json.loads((out / "starter.json").read_text())["metrics"]
    return {"variant": name, "seed": seed, "seconds": seconds, "passes": metrics["epochs"],
            "steps": metrics["steps"], "logprobs": logprobs, "chars": chars,
            "bpc": bits_per_char(logprobs, chars)}


def bits_per_char(logprobs, chars: int) -> float:
    return -logprobs.sum().item() / math.log(2) / chars


def ensemble_bpc(runs: list[dict]) -> float:
    """Bits per character of several runs as one model: the mean of their probabilities. They
    share a tokenizer (runs of one variant on the same data do), so their tokens line up."""
    import torch

    stacked = torch.stack([r["logprobs"] for r in runs])
    return bits_per_char(torch.logsumexp(stacked, dim=0) - math.log(len(runs)), runs[0]["chars"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", type=parse_variant, required=True,
                        help="NAME:field=value,... (StarterConfig fields; 'base:' for the defaults)")
    parser.add_argument("--seeds", type=int, default=4, help="seeds 0..N-1 for every variant")
    parser.add_argument("--workers", type=int, default=2, help="runs at a time, each its own process")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--minutes", type=float, help="time budget per run (default: the pass limit alone)")
    parser.add_argument("--ensemble", action="store_true", help="also score each variant's seeds as one model")
    parser.add_argument("--data", help="training folder (default: the corpus novels minus the held-out ones)")
    parser.add_argument("--heldout", help="held-out folder (default: three novels and 동백꽃)")
    parser.add_argument("--out", help="where the bases go (default: a new temporary folder)")
    args = parser.parse_args()
    args.out = args.out or tempfile.mkdtemp(prefix="starter-sweep-")
    sys.stdout.reconfigure(line_buffering=True)

    variants = dict(args.variant)
    results: dict[str, list[dict]] = {name: [] for name in variants}
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        runs = [pool.submit(run_one, name, changes, seed, args)
                for name, changes in variants.items() for seed in range(args.seeds)]
        for run in as_completed(runs):
            r = run.result()
            results[r["variant"]].append(r)
            print(f"{r['variant']} seed {r['seed']}: {r['passes']:.2f} passes, {r['steps']} steps "
                  f"in {r['seconds']:.0f} s; held-out bpc {r['bpc']:.4f}")

    print(f"\n{'variant':<16} {'runs':>4} {'mean':>7} {'sd':>6} {'min':>7} {'max':>7}"
          + (f" {'ensemble':>8}" if args.ensemble else "") + "  changes")
    for name, runs in results.items():
        scores = [r["bpc"] for r in runs]
        line = (f"{name:<16} {len(scores):>4} {statistics.mean(scores):>7.4f} "
                f"{statistics.stdev(scores) if len(scores) > 1 else 0:>6.4f} {min(scores):>7.4f} {max(scores):>7.4f}")
        if args.ensemble:
            line += f" {ensemble_bpc(runs):>8.4f}"
        print(line + "  " + (",".join(f"{k}={v}" for k, v in variants[name].items()) or "(defaults)"))
    print(f"(bases in {args.out})")


if __name__ == "__main__":
    main()
