"""Bits per character of a model on text: the one quality figure every base and adapter shares."""
from __future__ import annotations

import math
from typing import Iterable

import torch


def context_window(model) -> int:
    config = model.config
    window = getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None) or 1024
    return min(int(window), 2048)


def bits_per_char(model, tokenizer, texts: Iterable[str], stride: int | None = None,
                  batch_size: int = 8) -> float:
    """Sliding-window bits per character over the whole of each text.

    Every token is scored once, with up to a full window of context; windows advance by
    ``stride`` tokens (default half the window), so each scored token sees at least
    ``window - stride`` tokens before it, except at the start of a text.
    """
    total_bits, total_chars = 0.0, 0
    for text in texts:
        if not text:
            continue
        logprobs = token_logprobs(model, tokenizer, text, stride, batch_size)
        total_bits -= logprobs.sum().item() / math.log(2)
        total_chars += len(text)
    if total_chars == 0:
        raise ValueError("no text to evaluate")
    return total_bits / total_chars


@torch.no_grad()
def token_logprobs(model, tokenizer, text: str, stride: int | None = None, batch_size: int = 8) -> torch.Tensor:
    """The natural-log probability the model gives each token of ``text`` (after a BOS), in order,
    on the CPU: what ``bits_per_char`` sums, and what an ensemble of models averages."""
    window = context_window(model)
    stride = stride or window // 2
    if not window // 2 <= stride <= window:
        raise ValueError(f"stride must be between half the window ({window // 2}) and the window ({window})")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    ids = [bos] + tokenizer(text, add_special_tokens=False)["input_ids"]
    # (window start, first position it scores, window end); earlier positions were scored already
    spans, scored_up_to = [], 1
    for start in range(0, len(ids), stride):
        end = min(start + window, len(ids))
        spans.append((start, scored_up_to, end))
        scored_up_to = end
        if end == len(ids):
            break
    scored = [_score_spans(model, ids, spans[i: i + batch_size], device) for i in range(0, len(spans), batch_size)]
    if was_training:
        model.train()
    return torch.cat(scored)


def _score_spans(model, ids: list[int], spans: list[tuple[int, int, int]], device) -> torch.Tensor:
    longest = max(end - start for start, _, end in spans)
    batch = torch.zeros(len(spans), longest, dtype=torch.long)
    mask = torch.zeros(len(spans), longest, dtype=torch.long)
    for row, (start, _, end) in enumerate(spans):
        batch[row, : end - start] = torch.tensor(ids[start:end])
        mask[row, : end - start] = 1
    logits = model(input_ids=batch.to(device), attention_mask=mask.to(device)).logits.float()
    logprobs = torch.log_softmax(logits[:, :-1], dim=-1)
    rows = []
    for row, (start, first, end) in enumerate(spans):
        targets = torch.tensor(ids[first:end], device=device)
        positions = torch.arange(first - start - 1, end - start - 1, device=device)
        rows.append(logprobs[row, positions, targets])
    return torch.cat(rows).cpu()


@torch.no_grad()
def passage_logprobs(model, tokenizer, prompt_ids: list[int], passages: list[str], batch_size: int = 16) -> list[float]:
    """Each passage's mean log-probability per token after ``prompt_ids`` (the prompt cut from
    the left so that prompt and passage fit the window): the model's own score of a candidate."""
    window = context_window(model)
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    scores = []
    for start in range(0, len(passages), batch_size):
        rows, lengths = [], []
        for passage in passages[start: start + batch_size]:
            ids = tokenizer(passage, add_special_tokens=False)["input_ids"][: window // 2] or [pad]
            rows.append((prompt_ids + ids)[-window:])
            lengths.append(len(ids))
        longest = max(len(r) for r in rows)
        batch = torch.full((len(rows), longest), pad, dtype=torch.long)
        mask = torch.zeros(len(rows), longest, dtype=torch.long)
        for i, row in enumerate(rows):
            batch[i, longest - len(row):] = torch.tensor(row)
            mask[i, longest - len(row):] = 1
        positions = (mask.cumsum(1) - 1).clamp(min=0)
        logits = model(input_ids=batch.to(device), attention_mask=mask.to(device),
                       position_ids=positions.to(device)).logits.float()
        logprobs = torch.log_softmax(logits[:, :-1], dim=-1).cpu()
        for i, n in enumerate(lengths):
            targets = batch[i, longest - n:]
            scores.append(float(logprobs[i, longest - n - 1: longest - 1].gather(1, targets[:, None]).mean()))
    return scores
