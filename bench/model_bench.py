"""Model server benchmark: prints figures, asserts nothing.

    python bench/model_bench.py [--minutes 10] [--data DIR] [--heldout DIR] [--skip-gru]

In one run, on this machine: a plain torch matmul peak; the starter pretrained within a time
budget (it stops sooner after StarterConfig.max_epochs passes over a small corpus; tokens/s,
model FLOP utilisation against that peak, peak RSS); held-out bits per
character of the starter and of the original project's GRU trained for the same time on the
same data; LoRA incremental training tokens/s; generation latency for K=3 candidates of 3
sentences; adapter switch time; the resident memory of a worker holding the base and 8
adapters. Each phase runs in its own process so its peak memory is its own.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def matmul_peak(dtype_name: str, n: int = 2048, repeats: int = 20) -> float:
    """GFLOP/s of a square matmul in ``dtype_name``, the best of a few timed batches."""
    import torch

    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------ phases (own processes)

def phase_pretrain(args) -> dict:
    from bench.corpus_split import load_split
    from model_server.data import SourceText
    from model_server.starter import pretrain

    train_texts, _ = load_split(args.data, args.heldout)
    data = [SourceText(f"train:{i}", t) for i, t in enumerate(train_texts)]
    out = pretrain(data, args.out, minutes=args.minutes, seed=0)
    metrics = json.loads((out / "starter.json").read_text())["metrics"]
    return {**metrics, "peak_rss_mb": peak_rss_mb()}


def phase_heldout(args) -> dict:
    from bench.corpus_split import load_split
    from model_server.evaluate import bits_per_char
    from model_server.host import ModelHost

    _, heldout = load_split(args.data, args.heldout)
    host = ModelHost(args.base)
    return {"bpc": bits_per_char(host.model, host.tokenizer, heldout),
            "heldout_chars": sum(len(t) for t in heldout)}


def phase_gru(args) -> dict:
    from bench.corpus_split import load_split
    from bench.gru_baseline import gru_bpc, train_gru

    train_texts, heldout = load_split(args.data, args.heldout)
    model, vocab, info = train_gru("\n\n".join(train_texts), args.minutes, seed=0, log=lambda *_: None)
    return {**info, "bpc": gru_bpc(model, vocab, heldout)}


def phase_lora(args) -> dict:
    from model_server.training import TrainSettings, train

    novel = Path(args.corpus) / "novels" / "46_Sunrise.txt"
    second = Path(args.corpus) / "novels" / "36_Presence.txt"
    settings = TrainSettings(minutes=1.0)
    first = train(args.base, [novel], Path(args.out) / "v1", settings=settings)
    started = time.perf_counter()
    incremental = train(args.base, [second], Path(args.out) / "v2", from_adapter=first, settings=settings)
    wall = time.perf_counter() - started
    metrics = json.loads((incremental / "version.json").read_text())["metrics"]
    return {"tokens_per_s": metrics["tokens_per_s"], "steps": metrics["steps"], "wall_s": wall,
            "val_loss_before": metrics["val_loss_before"], "val_loss": metrics["val_loss"],
            "peak_rss_mb": peak_rss_mb(), "adapter": str(first)}


def phase_serve(args) -> dict:
    """Generation latency, adapter switches, and the memory of a host with 8 adapters."""
    import psutil

    from model_server import text as ktext
    from model_server.host import ModelHost
    from model_server.training import TrainSettings, train

    story = (Path(args.corpus) / "novels" / "46_Sunrise.txt").read_text(encoding="utf-8")[:4000]
    adapters = []
    for i in range(8):
        adapters.append(train(args.base, [Path(args.corpus) / "novels" / "36_Presence.txt"],
                              Path(args.out) / f"story{i}", settings=TrainSettings(steps=2, seed=i)))
    host = ModelHost(args.base, max_adapters=8)
    keywords = ["바다", "사람", "마음", "눈물", "하늘", "어머니", "바람", "소리"]
    host.generate(adapters[0], story, "바다", 3, 3, seed=0)  # warm-up
    latencies, kept, total = [], 0, 0
    for i in range(10):
        started = time.perf_counter()
        candidates = host.generate(adapters[0], story, keywords[i % len(keywords)], 3, 3, seed=100 + i)
        latencies.append(time.perf_counter() - started)
        total += len(candidates)
        kept += sum(ktext.count_sentences(c) == 3 and ktext.contains_keyword(c, keywords[i % len(keywords)])
                    for c in candidates)
    cold, warm = [], []
    for adapter in adapters:  # first use of each: a load from disk
        started = time.perf_counter()
        host.activate(adapter)
        cold.append(time.perf_counter() - started)
    for _ in range(3):  # all 8 cached: a set_adapter
        for adapter in adapters:
            started = time.perf_counter()
            host.activate(adapter)
            warm.append(time.perf_counter() - started)
    for i, adapter in enumerate(adapters):
        host.generate(adapter, story, keywords[i], 1, 1, seed=i)
    return {"latency_p50_s": statistics.median(latencies), "latency_max_s": max(latencies),
            "candidates_kept": kept, "candidates": total,
            "switch_cached_p50_ms": statistics.median(warm) * 1000,
            "switch_cold_p50_ms": statistics.median(cold) * 1000,
            "rss_with_8_adapters_mb": psutil.Process().memory_info().rss / 2**20,
            "peak_rss_mb": peak_rss_mb(), "sample": candidates[0]}


PHASES = {"pretrain": phase_pretrain, "heldout": phase_heldout, "gru": phase_gru, "lora": phase_lora,
          "serve": phase_serve}


def run_phase(name: str, **kwargs) -> dict:
    command = [sys.executable, __file__, "--phase", name]
    for key, value in kwargs.items():
        if value is not None:
            command += [f"--{key}", str(value)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="pretraining budget, starter and GRU alike")
    parser.add_argument("--data", help="training folder (default: the corpus novels minus the held-out ones)")
    parser.add_argument("--heldout", help="held-out folder (default: three novels and 동백꽃, never trained on)")
    parser.add_argument("--skip-gru", action="store_true")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](args), ensure_ascii=False))
        return

    from bench.corpus_split import corpus_dir

    sys.stdout.reconfigure(line_buffering=True)  # figures appear as each phase ends
    corpus = corpus_dir()
    work = Path(tempfile.mkdtemp(prefix="model-bench-"))
    print(f"machine: {os.cpu_count()} cores; torch threads {__import__('torch').get_num_threads()}")
    from model_server.starter import cpu_has_fast_bf16

    peaks = {"float32": matmul_peak("float32")}
    if cpu_has_fast_bf16():  # elsewhere bf16 is emulated, far slower than fp32, and never used
        peaks["bfloat16"] = matmul_peak("bfloat16")
    print(f"cpu: {cpu_model()}; bf16 matmuls: {'yes' if 'bfloat16' in peaks else 'no (fp32 only)'}")
    print("matmul peak: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peaks.items()))

    base = work / "starter"
    pre = run_phase("pretrain", out=base, minutes=args.minutes, data=args.data, heldout=args.heldout)
    achieved = pre["flops_per_token"] * pre["tokens_per_s"] / 1e9
    peak = peaks["bfloat16" if pre["bf16"] else "float32"]
    print(f"starter pretrain: {args.minutes:g}-min budget, stopped after {pre['seconds'] / 60:.1f} min and "
          f"{pre['epochs']:.1f} passes over the text, {pre['steps']} steps, {pre['tokens_per_s']:.0f} tokens/s, "
          f"{achieved:.0f} GFLOP/s = MFU {100 * achieved / peak:.0f}% of the {'bf16' if pre['bf16'] else 'fp32'} "
          f"matmul peak ({100 * achieved / peaks['float32']:.0f}% of fp32), peak RSS {pre['peak_rss_mb']:.0f} MB")
    held = run_phase("heldout", base=base, data=args.data, heldout=args.heldout)
    print(f"starter held-out bpc {held['bpc']:.3f} over {held['heldout_chars']} characters")
    if not args.skip_gru:
        gru = run_phase("gru", minutes=args.minutes, data=args.data, heldout=args.heldout)
        print(f"GRU baseline ({args.minutes:g} min, {gru['steps']} steps, {gru['chars_per_s']:.0f} chars/s): "
              f"held-out bpc {gru['bpc']:.3f}")
        gain = 100 * (1 - held["bpc"] / gru["bpc"])
        print(f"starter vs GRU: {abs(gain):.1f}% {'lower' if gain >= 0 else 'higher'} bpc (target: at least 10% lower)")

    lora = run_phase("lora", base=base, out=work / "lora", corpus=corpus)
    print(f"LoRA incremental training: {lora['tokens_per_s']:.0f} tokens/s ({lora['steps']} steps in 1 min; "
          f"held-out loss {lora['val_loss_before']:.3f} -> {lora['val_loss']:.3f}), "
          f"peak RSS {lora['peak_rss_mb']:.0f} MB")
    serve = run_phase("serve", base=base, out=work / "serve", corpus=corpus)
    print(f"generation K=3 x 3 sentences: p50 {serve['latency_p50_s']:.2f} s (max {serve['latency_max_s']:.2f} s); "
          f"{serve['candidates_kept']}/{serve['candidates']} candidates keep keyword and count")
    print(f"adapter switch: cached p50 {serve['switch_cached_p50_ms']:.1f} ms, "
          f"from disk p50 {serve['switch_cold_p50_ms']:.1f} ms")
    print(f"worker with the base and 8 adapters: {serve['rss_with_8_adapters_mb']:.0f} MB resident "
          f"(peak {serve['peak_rss_mb']:.0f} MB)")
    print(f"sample: {serve['sample']}")
    print(f"(work folder: {work})")


if __name__ == "__main__":
    main()
