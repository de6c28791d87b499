"""What the base read, looked up while it writes: a nearest-neighbour memory for decoding.

A small base trained on half a million characters cannot hold a story's names in its weights:
it writes names from the novels it read. A datastore maps the base's hidden state after each
context to the token that came next there; at each step of decoding the current hidden state
finds its nearest neighbours, and the tokens that followed them form a second next-token
distribution, mixed into the model's own (Khandelwal et al. 2020, "kNN-LM"). Built from the
story being continued it is a cache (Grave et al. 2017): the story's own names and turns of
phrase come back where the model's state says they fit. Built from the training novels it is
the kNN-LM proper.

Distances are squared L2 between hidden states, scaled by the datastore's mean squared key
norm, so one ``temperature`` suits bases of any width.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from model_server.evaluate import context_window


@dataclass
class Datastore:
    keys: torch.Tensor       # (n, d) hidden states after each context, float32 on the CPU
    values: torch.Tensor     # (n,) the token that came next
    scale: float             # mean squared norm of the keys

    def __len__(self) -> int:
        return len(self.values)

    def distribution(self, queries: torch.Tensor, vocab_size: int, k: int, temperature: float) -> torch.Tensor:
        """(q, vocab_size) next-token probabilities from the ``k`` nearest keys of each query."""
        queries = queries.float()
        k = min(k, len(self))
        distances = (queries.pow(2).sum(1, keepdim=True) - 2 * queries @ self.keys.T
                     + self.keys.pow(2).sum(1)[None])
        nearest, index = torch.topk(-distances, k, dim=1)
        weights = torch.softmax(nearest / (temperature * self.scale), dim=1)
        probs = torch.zeros(len(queries), vocab_size)
        return probs.scatter_add_(1, self.values[index], weights)


@dataclass
class MemorySettings:
    weight: float = 0.2          # share of the next-token distribution that comes from the memory
    k: int = 64                  # neighbours looked up per step
    temperature: float = 0.2     # softmax temperature over scaled distances (bench/memory_bench.py)


@torch.no_grad()
def hidden_states(model, ids: list[int], stride: int | None = None,
                  batch_size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """The last layer's hidden state after each token of ``ids`` but the last, and the token
    that follows it; long sequences in sliding windows, so each state has at least half a
    window of context (the first ones excepted)."""
    window = context_window(model)
    stride = stride or window // 2
    device = next(model.parameters()).device
    spans, scored_up_to = [], 1  # (window start, first position it keeps, window end)
    for start in range(0, max(len(ids) - 1, 1), stride):
        end = min(start + window, len(ids))
        spans.append((start, scored_up_to, end))
        scored_up_to = end
        if end == len(ids):
            break
    states = []
    for i in range(0, len(spans), batch_size):
        batch = spans[i: i + batch_size]
        longest = max(end - start for start, _, end in batch)
        input_ids = torch.zeros(len(batch), longest, dtype=torch.long)
        mask = torch.zeros(len(batch), longest, dtype=torch.long)
        for row, (start, _, end) in enumerate(batch):
            input_ids[row, : end - start] = torch.tensor(ids[start:end])
            mask[row, : end - start] = 1
        out = model(input_ids=input_ids.to(device), attention_mask=mask.to(device), output_hidden_states=True)
        hidden = out.hidden_states[-1].float().cpu()
        states.extend(hidden[row, first - 1 - start: end - 1 - start] for row, (start, first, end) in enumerate(batch))
    keys = torch.cat(states) if states else torch.zeros(0, model.config.hidden_size)
    return keys, torch.tensor(ids[1: 1 + len(keys)], dtype=torch.long)


def datastore_of(model, tokenizer, texts: list[str]) -> Datastore | None:
    """A datastore of every position of ``texts``; None when they hold no token to look up."""
    keys, values = [], []
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) < 2:
            continue
        state, following = hidden_states(model, ids)
        keys.append(state)
        values.append(following)
    if not keys:
        return None
    keys = torch.cat(keys)
    return Datastore(keys, torch.cat(values), float(keys.pow(2).sum(1).mean()))


def mix(logits: torch.Tensor, hidden: torch.Tensor,
        memories: list[tuple[Datastore, MemorySettings]]) -> torch.Tensor:
    """Log-probabilities of the model's distribution mixed with each memory's, each memory
    taking its ``weight`` of the whole."""
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    memories = [(store, settings) for store, settings in memories if settings.weight > 0 and len(store)]
    if not memories:
        return logprobs
    own = 1 - sum(settings.weight for _, settings in memories)
    mixed = logprobs + math.log(max(own, 1e-9))
    for store, settings in memories:
        remembered = store.distribution(hidden, logits.size(-1), settings.k, settings.temperature)
        mixed = torch.logaddexp(mixed, torch.log(remembered.clamp_min(1e-30)) + math.log(settings.weight))
    return mixed
