"""Memory benchmark: held-out bits per character with and without what the base looks up.

    python bench/memory_bench.py --base DIR [--heldout PATH] [--knn]

For each held-out novel, every token is scored by the base alone, then mixed (``memory.mix``)
with the story cache (the text's own last ``--cache-tokens`` tokens before it, as a story
being continued gives its last CONTEXT_CHARS to generation) and, with ``--knn``, with a kNN-LM
over every position of the training novels (Khandelwal et al. 2020; minutes to build on 2
cores). Prints bpc for each, over weights and temperatures, so the defaults can be read off.
Asserts nothing.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from model_server.loading import load_base  # noqa: E402
from model_server.memory import Datastore, MemorySettings, datastore_of, hidden_states  # noqa: E402


@torch.no_grad()
def scored(model, tokenizer, text: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hidden state, the model's log-probability of the next token, and that token, per position."""
    ids = [tokenizer.eos_token_id] + tokenizer(text, add_special_tokens=False)["input_ids"]
    states, following = hidden_states(model, ids)
    logits = model.lm_head(states.to(next(model.parameters()).device)).float().cpu()
    logprobs = torch.log_softmax(logits[:, : len(tokenizer)], dim=-1)
    return states, logprobs.gather(1, following[:, None]).squeeze(1), following


def cache_probs(states: torch.Tensor, following: torch.Tensor, window: int, settings: MemorySettings,
                block: int = 256) -> torch.Tensor:
    """For each position, the story cache's probability of the token that followed: the ``k``
    nearest of the ``window`` positions before it."""
    found = torch.zeros(len(following))
    for start in range(1, len(following), block):
        end = min(start + block, len(following))
        low = max(0, start - window)
        keys = states[low:end]
        store = Datastore(keys, following[low:end], float(keys.pow(2).sum(1).mean()))
        distances = (states[start:end].pow(2).sum(1, keepdim=True) - 2 * states[start:end] @ keys.T
                     + keys.pow(2).sum(1)[None])
        position = torch.arange(start, end)[:, None]
        index = torch.arange(low, end)[None]
        distances = distances.masked_fill((index >= position) | (index < position - window), float("inf"))
        k = min(settings.k, keys.size(0))
        nearest, which = torch.topk(-distances, k, dim=1)
        weights = torch.softmax(nearest / (settings.temperature * store.scale), dim=1).nan_to_num(0.0)
        hits = (store.values[which] == following[start:end, None]).float()
        found[start:end] = (weights * hits).sum(1)
    return found


def knn_probs(store: Datastore, states: torch.Tensor, following: torch.Tensor, vocab_size: int,
              settings: MemorySettings, block: int = 512) -> torch.Tensor:
    """For each position, the kNN-LM's probability of the token that followed."""
    found = []
    for start in range(0, len(following), block):
        distribution = store.distribution(states[start: start + block], vocab_size, settings.k, settings.temperature)
        found.append(distribution.gather(1, following[start: start + block, None]).squeeze(1))
    return torch.cat(found)


def mixed_bpc(logprobs: torch.Tensor, memory: torch.Tensor | None, weight: float, chars: int) -> float:
    if memory is None or weight <= 0:
        return -logprobs.sum().item() / math.log(2) / chars
    mixed = torch.logaddexp(logprobs + math.log(1 - weight), torch.log(memory.clamp_min(1e-30)) + math.log(weight))
    return -mixed.sum().item() / math.log(2) / chars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--data", help="training folder (default: the corpus split's)")
    parser.add_argument("--heldout", help="held-out .txt file or folder (default: bench/corpus_split.py's)")
    parser.add_argument("--cache-tokens", type=int, default=1500, help="story cache length (CONTEXT_CHARS is ~1,500 tokens)")
    parser.add_argument("--knn", action="store_true", help="also the kNN-LM over the training novels")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    from bench.corpus_split import load_split

    train, heldout = load_split(args.data, args.heldout)
    loaded = load_base(args.base)
    model, tokenizer = loaded.model.eval(), loaded.tokenizer
    chars = sum(len(t) for t in heldout)
    pieces = [scored(model, tokenizer, text) for text in heldout]
    logprobs = torch.cat([p[1] for p in pieces])
    print(f"base {args.base}; {len(heldout)} held-out texts, {chars:,} characters, {len(logprobs):,} tokens")
    print(f"base alone: bpc {mixed_bpc(logprobs, None, 0, chars):.4f}")
    for temperature in (0.1, 0.2, 0.4):
        settings = MemorySettings(temperature=temperature)
        cache = torch.cat([cache_probs(s, f, args.cache_tokens, settings) for s, _, f in pieces])
        print(f"story cache, temperature {temperature}: " + ", ".join(
            f"weight {w}: bpc {mixed_bpc(logprobs, cache, w, chars):.4f}" for w in (0.1, 0.2, 0.3)))
    if args.knn:
        started = time.monotonic()
        store = datastore_of(model, tokenizer, train)
        print(f"kNN-LM datastore: {len(store):,} positions, {time.monotonic() - started:.0f} s to build")
        for temperature in (0.2, 1.0):
            settings = MemorySettings(temperature=temperature)
            knn = torch.cat([knn_probs(store, s, f, len(tokenizer), settings) for s, _, f in pieces])
            print(f"kNN-LM, temperature {temperature}: " + ", ".join(
                f"weight {w}: bpc {mixed_bpc(logprobs, knn, w, chars):.4f}" for w in (0.05, 0.1, 0.2)))


if __name__ == "__main__":
    main()
