"""GPU path benchmark: prints figures, asserts nothing.

    python bench/gpu_bench.py [--data DIR] [--layers 22] [--steps 30]

For a machine with one NVIDIA GPU, where the worker runs QLoRA by default. No weights can be
downloaded, so the base is random-initialised in the shape of a 1.1B Llama (TinyLlama's:
hidden 2048, 22 layers, grouped-query attention) with the starter's tokenizer, saved locally.
Its text is noise, so this measures speed and memory, not quality:
  - bf16 matmul peak of the GPU;
  - the starter pretrained on the GPU (it stops after ``StarterConfig.max_epochs`` passes over
    the training novels) and its held-out bits per character;
  - QLoRA (4-bit NF4) training through ``model_server.training.train``: tokens/s, and an
    incremental version from that adapter;
  - adapter switch time in ``ModelHost`` (cached and from disk);
  - batched decoding of K=3 sequences on the 4-bit base with an adapter: tokens/s;
  - peak GPU memory of each phase.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from bench.corpus_split import corpus_dir, load_split  # noqa: E402
from model_server.data import SourceText, read_texts  # noqa: E402
from model_server.evaluate import bits_per_char  # noqa: E402
from model_server.host import ModelHost  # noqa: E402
from model_server.starter import pretrain, train_tokenizer  # noqa: E402
from model_server.training import TrainSettings, train  # noqa: E402


def gpu_matmul_peak(n: int = 8192, repeats: int = 10) -> float:
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    torch.cuda.synchronize()
    return 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e12


def build_llama_base(texts: list[str], out: Path, layers: int) -> tuple[Path, int]:
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = train_tokenizer(texts, vocab_size=4000)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=2048, intermediate_size=5632,
                         num_hidden_layers=layers, num_attention_heads=32, num_key_value_heads=4,
                         max_position_embeddings=2048, bos_token_id=tokenizer.eos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out, sum(p.numel() for p in model.parameters())


def peak_gib() -> float:
    peak = torch.cuda.max_memory_allocated() / 2 ** 30
    torch.cuda.reset_peak_memory_stats()
    return peak


@torch.no_grad()
def decode_tokens_per_s(model, tokenizer, prime: str, k: int = 3, new_tokens: int = 128) -> float:
    ids = tokenizer(prime, return_tensors="pt")["input_ids"].to("cuda").repeat(k, 1)
    model.generate(input_ids=ids, max_new_tokens=8, do_sample=True)  # warm-up
    torch.cuda.synchronize()
    start = time.perf_counter()
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                         min_new_tokens=new_tokens, do_sample=True, top_p=0.9)
    torch.cuda.synchronize()
    return (out.size(1) - ids.size(1)) * k / (time.perf_counter() - start)


def starter_on_gpu(out: Path) -> None:
    train_texts, heldout = load_split(None, None)
    data = [SourceText(f"train:{i}", t) for i, t in enumerate(train_texts)]
    base = pretrain(data, out, minutes=10, seed=0)
    metrics = json.loads((base / "starter.json").read_text())["metrics"]
    host = ModelHost(str(base), quantize="none")
    bpc = bits_per_char(host.model, host.tokenizer, heldout)
    print(f"starter pretrain on the GPU: {metrics['steps']} steps ({metrics['epochs']:.1f} passes) in "
          f"{metrics['seconds']:.0f} s, {metrics['tokens_per_s']:,.0f} tokens/s; held-out bpc {bpc:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="folder of .txt files (default: the corpus novels)")
    parser.add_argument("--layers", type=int, default=22)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this benchmark is for the GPU worker")

    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print(f"bf16 matmul peak: {gpu_matmul_peak():.0f} TFLOP/s")
    paths = sorted((args.data or corpus_dir() / "novels").glob("*.txt"))
    texts = [t.text for t in read_texts(paths)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        starter_on_gpu(tmp / "starter")
        base, params = build_llama_base(texts, tmp / "base", args.layers)
        print(f"random Llama base: {args.layers} layers, {params / 1e9:.2f}B parameters")
        peak_gib()

        settings = dict(steps=args.steps, batch_size=8, max_tokens=512, quantize="4bit")
        v1 = train(str(base), paths[:3], tmp / "v1", settings=TrainSettings(**settings))
        m1 = json.loads((v1 / "version.json").read_text())["metrics"]
        print(f"QLoRA fresh adapter: {m1['steps']} steps, {m1['tokens_per_s']:,.0f} tokens/s, "
              f"train {m1['train_seconds']:.1f} s, total {m1['total_seconds']:.1f} s, peak {peak_gib():.1f} GiB")
        v2 = train(str(base), paths[3:5], tmp / "v2", from_adapter=v1, settings=TrainSettings(**settings))
        m2 = json.loads((v2 / "version.json").read_text())["metrics"]
        print(f"QLoRA incremental from v1: {m2['steps']} steps, {m2['tokens_per_s']:,.0f} tokens/s, "
              f"{m2['replay_examples']} replay examples, peak {peak_gib():.1f} GiB")

        started = time.perf_counter()
        host = ModelHost(str(base), quantize="4bit")
        print(f"host load (4-bit): {time.perf_counter() - started:.1f} s, {peak_gib():.1f} GiB")
        cold = []
        for adapter in (v1, v2):
            started = time.perf_counter()
            host.activate(adapter)
            cold.append((time.perf_counter() - started) * 1000)
        cached = []
        for i in range(20):
            started = time.perf_counter()
            host.activate((v1, v2)[i % 2])
            cached.append((time.perf_counter() - started) * 1000)
        print(f"adapter switch: cached p50 {statistics.median(cached):.1f} ms, from disk "
              f"{', '.join(f'{c:.0f}' for c in cold)} ms; base loads: 1, adapter loads: {host.adapter_loads}")
        model = host.activate(v1)
        prime = texts[0][:2000]
        rate = decode_tokens_per_s(model, host.tokenizer, prime)
        print(f"decoding K=3 x 128 tokens, 4-bit base + adapter: {rate:,.0f} tokens/s, peak {peak_gib():.1f} GiB")
        with model.disable_adapter():
            rate = decode_tokens_per_s(model, host.tokenizer, prime)
        print(f"decoding K=3 x 128 tokens, 4-bit base alone: {rate:,.0f} tokens/s")
        latencies = []
        for seed in range(4):
            started = time.perf_counter()
            try:
                host.generate(v1, prime, "바다", 3, k=3, seed=seed)
                latencies.append(time.perf_counter() - started)
            except Exception as error:  # a random base may not meet the guarantees; say so
                print(f"generate() with guarantees: {type(error).__name__}: {error}")
                break
        if latencies:
            print(f"generate() K=3 x 3 sentences with keyword: p50 {statistics.median(latencies):.2f} s "
                  f"over {len(latencies)} runs (the first includes warm-up)")
        del host, model
        torch.cuda.empty_cache()
        plain = ModelHost(str(base), quantize="none")
        model = plain.activate(v1)
        rate = decode_tokens_per_s(model, plain.tokenizer, prime)
        print(f"decoding K=3 x 128 tokens, bf16 base + adapter: {rate:,.0f} tokens/s, peak {peak_gib():.1f} GiB")

if __name__ == "__main__":
    main()
