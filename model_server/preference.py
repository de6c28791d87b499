"""Preference training of a story's adapter from the crowd's choices (DPO).

Every choosing phase is a judgement: K candidates written for one context, one chosen by
votes. DPO (Rafailov et al., 2023) turns each (chosen, rejected) pair of such a round into a
loss that raises the chosen candidate's log-probability relative to the rejected one's,
measured against a frozen reference: here the adapter the run starts from, whose
log-probabilities are computed once before the first step (the policy starts equal to it, so
no second copy of the model is needed).

DPO and not KTO: a round gives paired judgements on one context, which is what DPO reads;
KTO is for lone thumbs-up/down without a comparison, which the site does not collect.

The version is judged on rounds it never saw: its preference accuracy (the share of held-out
rounds where the crowd's pick has the highest log-probability per token among the round's
candidates) against the starting adapter's, and its loss on held-out story passages.
It is written like any version (model_server.training.save_version).
"""
from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from model_server.data import SourceText
from model_server.examples import IGNORE, Example, continuation_examples
from model_server.prompting import build_prompt
from model_server.loading import load_base
from model_server.progress import Cancelled, Progress, ProgressMeter
from model_server.optimizing import cosine_lr
from model_server.training import (TrainSettings, _context_window, attach_adapter, collate, mean_loss,
                                   read_replay, save_version)

__all__ = ["PreferenceRound", "PreferSettings", "train_preferences", "preference_accuracy", "dpo_loss"]


@dataclass
class PreferenceRound:
    context: str              # the story as the model read it before the round
    keyword: Optional[str]
    sentences: int
    chosen: str               # the candidate the crowd chose
    rejected: list[str]       # the round's other candidates (near-ties already left out)
    mood: Optional[str] = None  # the mood the round asked for


@dataclass
class PreferSettings:
    steps: Optional[int] = None       # budget: exactly one of steps and minutes
    minutes: Optional[float] = None
    seed: int = 0
    beta: float = 0.1                 # DPO's pull towards the reference: smaller lets the adapter move further
    lr: float = 2e-3                  # peak, cosine-decayed
    batch_size: int = 4               # pairs per step
    max_tokens: int = 256             # prompt and candidate together (capped by the context window)
    max_epochs: float = 10.0          # a time budget ends after this many passes over the pairs
    lora_r: int = 16                  # for a story with no adapter yet (a fresh one on the base)
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    quantize: Optional[str] = None    # none | 4bit | 8bit; None = QUANTIZE or the device default
    progress_interval: float = 2.0

    def check(self) -> None:
        if (self.steps is None) == (self.minutes is None):
            raise ValueError("give exactly one budget: steps or minutes")
        if self.beta <= 0:
            raise ValueError("beta must be positive")


@dataclass
class Pair:
    chosen: Example
    rejected: Example


# ---------------------------------------------------------------- data

def candidate_example(tokenizer, round_: PreferenceRound, candidate: str, max_tokens: int,
                      control: bool) -> Example:
    """The prompt generation gave the model for this round, then ``candidate``; the loss and
    the log-probability are on the candidate's tokens only."""
    target = tokenizer(candidate, add_special_tokens=False)["input_ids"][: max_tokens // 2]
    prompt = build_prompt(tokenizer, round_.context, round_.keyword, round_.sentences,
                          max_tokens - len(target), control, mood=round_.mood)
    return Example(prompt + target, [IGNORE] * len(prompt) + target)


def round_pairs(tokenizer, rounds: list[PreferenceRound], max_tokens: int, control: bool) -> list[Pair]:
    pairs = []
    for r in rounds:
        chosen = candidate_example(tokenizer, r, r.chosen, max_tokens, control)
        pairs.extend(Pair(chosen, candidate_example(tokenizer, r, other, max_tokens, control)) for other in r.rejected)
    return pairs


# ---------------------------------------------------------------- scoring

def sequence_logps(model, examples: list[Example], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of the log-probabilities of each example's labelled tokens, and how many there are."""
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in collate(examples, pad_id).items()}
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    labels = batch["labels"][:, 1:]
    mask = labels != IGNORE
    token_logps = torch.gather(F.log_softmax(logits.float(), dim=-1), 2, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (token_logps * mask).sum(-1), mask.sum(-1)


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, reference_chosen: torch.Tensor,
             reference_rejected: torch.Tensor, beta: float) -> torch.Tensor:
    """-log sigmoid(beta * (how much more the policy than the reference prefers chosen over rejected))."""
    margin = (policy_chosen - reference_chosen) - (policy_rejected - reference_rejected)
    return -F.logsigmoid(beta * margin).mean()


@torch.no_grad()
def _logps_of(model, examples: list[Example], pad_id: int, batch_size: int = 8) -> list[tuple[float, int]]:
    out = []
    for i in range(0, len(examples), batch_size):
        logps, counts = sequence_logps(model, examples[i: i + batch_size], pad_id)
        out.extend(zip(logps.tolist(), counts.tolist()))
    return out


@torch.no_grad()
def preference_accuracy(model, tokenizer, rounds: list[PreferenceRound], max_tokens: int,
                        control: bool) -> Optional[float]:
    """The share of ``rounds`` where the crowd's pick has the highest log-probability per token
    (per token: candidates of one round differ in length) among the round's candidates."""
    if not rounds:
        return None
    hits = 0
    for r in rounds:
        examples = [candidate_example(tokenizer, r, text, max_tokens, control) for text in [r.chosen, *r.rejected]]
        scores = [logp / max(count, 1) for logp, count in _logps_of(model, examples, tokenizer.pad_token_id)]
        hits += all(scores[0] > other for other in scores[1:])
    return hits / len(rounds)


# ---------------------------------------------------------------- training

def train_preferences(base: str, rounds: list[PreferenceRound], out_dir: str | Path,
                      from_adapter: str | Path | None = None, settings: Optional[PreferSettings] = None,
                      heldout_rounds: Optional[list[PreferenceRound]] = None,
                      validation: Optional[list[SourceText]] = None,
                      progress: Optional[Callable[[Progress], None]] = None,
                      should_cancel: Optional[Callable[[], bool]] = None) -> Path:
    """DPO on ``rounds``, starting from (and measured against) ``from_adapter``; a fresh
    adapter on ``base`` when the story has none. Writes the version to ``out_dir``."""
    settings = settings or PreferSettings(steps=50)
    settings.check()
    started = time.monotonic()
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    if Path(out_dir).exists():
        raise FileExistsError(f"{out_dir} already exists; versions are never overwritten")
    parent = Path(from_adapter) if from_adapter else None
    heldout_rounds = heldout_rounds or []

    loaded = load_base(base, quantize=settings.quantize, for_training=True)
    tokenizer, pad_id = loaded.tokenizer, loaded.tokenizer.pad_token_id
    max_tokens = min(settings.max_tokens, _context_window(loaded.model))
    lora = TrainSettings(steps=1, lora_r=settings.lora_r, lora_alpha=settings.lora_alpha,
                         lora_dropout=settings.lora_dropout)
    model = attach_adapter(loaded.model, parent, lora)
    control = parent is not None  # generation gives a bare base no control line; match what it was asked
    pairs = round_pairs(tokenizer, rounds, max_tokens, control)
    if not pairs:
        raise ValueError("no preference pairs to learn from")
    val_examples = [e for t in validation or [] for e in continuation_examples(tokenizer, t.text, max_tokens)]

    # The reference is the starting adapter: scored once, before the first step. bitsandbytes
    # cannot train a 4-bit model after an eval-mode forward (it repacks the weights), so a
    # quantised run scores the reference in train mode (LoRA dropout on) and skips "before".
    can_eval = loaded.quantize == "none"
    model.train(not can_eval)
    reference = [(c, r) for (c, _), (r, _) in zip(_logps_of(model, [p.chosen for p in pairs], pad_id),
                                                  _logps_of(model, [p.rejected for p in pairs], pad_id))]
    accuracy_before = preference_accuracy(model, tokenizer, heldout_rounds, max_tokens, control) if can_eval else None
    val_before = mean_loss(model, val_examples, pad_id) if can_eval else None
    model.train()

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.lr, weight_decay=0.0)
    epoch_cap = max(1, round(settings.max_epochs * len(pairs) / settings.batch_size))
    meter = ProgressMeter(settings.steps, settings.minutes * 60 if settings.minutes else None, progress,
                          interval=settings.progress_interval, step_cap=epoch_cap)
    order: list[int] = []
    step, rewards_right = 0, 0.0
    while not meter.finished(step):
        if should_cancel is not None and should_cancel():
            raise Cancelled("training was cancelled")
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(meter.fraction(step), step, settings.lr, warmup=5, min_ratio=0.1)
        batch = []
        while len(batch) < settings.batch_size:
            if not order:
                order = list(range(len(pairs)))
                rng.shuffle(order)
            batch.append(order.pop())
        logps, _ = sequence_logps(model, [pairs[i].chosen for i in batch] + [pairs[i].rejected for i in batch], pad_id)
        chosen, rejected = logps[: len(batch)], logps[len(batch):]
        ref = torch.tensor([reference[i] for i in batch], device=logps.device)
        loss = dpo_loss(chosen, rejected, ref[:, 0], ref[:, 1], settings.beta)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        rewards_right = float(((chosen - ref[:, 0]) > (rejected - ref[:, 1])).float().mean())
        step += 1
        meter.update(step, loss.item(), tokens=sum(len(pairs[i].chosen.input_ids) + len(pairs[i].rejected.input_ids)
                                                   for i in batch))

    model.eval()
    accuracy_after = preference_accuracy(model, tokenizer, heldout_rounds, max_tokens, control)
    val_after = mean_loss(model, val_examples, pad_id)
    version = {
        "base": base,
        "parent": str(parent) if parent else None,
        "data": [{"name": "preferences", "rounds": len(rounds), "pairs": len(pairs)}],
        "settings": asdict(settings),
        "metrics": {"kind": "preference", "steps": step, "train_loss": meter.last_loss,
                    "reward_accuracy": rewards_right, "pairs": len(pairs), "rounds": len(rounds),
                    "heldout_rounds": len(heldout_rounds), "preference_accuracy": accuracy_after,
                    "preference_accuracy_before": accuracy_before, "val_loss": val_after,
                    "val_loss_before": val_before, "train_seconds": meter.elapsed,
                    "seconds_per_pair": meter.elapsed / max(1, step * settings.batch_size),
                    "total_seconds": time.monotonic() - started},
        "created_at": datetime.now(timezone.utc).isoformat(),
    }
    # The replay sample is the parent's: a preference run reads no new text.
    replay = read_replay(parent) if parent else []
    save_version(out_dir, model, version, replay, [r.chosen for r in rounds])
    return Path(out_dir)
