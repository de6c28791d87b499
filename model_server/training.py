"""Incremental LoRA training of a story's adapter on a shared base.

A retrain starts from the story's current adapter when there is one, and mixes in a replay
sample of what earlier versions learned (the original project's model drifted to whatever
novel it read last). It writes a complete version folder or nothing:

    adapter_model.safetensors, adapter_config.json   the LoRA weights (peft)
    replay.jsonl                                     text the next version replays
    version.json                                     base, parent, data, settings, metrics
    lexicon.json                                     the words it read, and its parent's (a starter's adapters)
    runs.npy                                         ... and the runs of words it may not copy
    bank.json.gz                                     the sentences of what it read, and its parent's (retrieval)
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Optional

import torch
from peft import PeftModel, get_peft_model

from model_server.data import DataSource, SourceText, read_texts
from model_server.examples import IGNORE, Example, continuation_examples, control_examples
from model_server.copying import save_runs
from model_server.lexicon import LEXICON_FILE, save_words
from model_server.retrieval import save_bank
from model_server.loading import build_lora_config, load_base
from model_server.progress import Cancelled, Progress, ProgressMeter
from model_server.optimizing import cosine_lr, cpu_has_fast_bf16
from model_server.versions import atomic_dir

__all__ = ["TrainSettings", "SourceText", "train", "Cancelled", "Progress", "read_replay"]

REPLAY_FILE = "replay.jsonl"
VERSION_FILE = "version.json"


@dataclass
class TrainSettings:
    steps: Optional[int] = None       # budget: exactly one of steps and minutes
    minutes: Optional[float] = None
    seed: int = 0
    lr: float = 1e-3                  # peak, cosine-decayed; LoRA tolerates more than full tuning
    batch_size: int = 8
    max_tokens: int = 256             # longest example (capped by the base's context window)
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    control_share: float = 0.5        # share of control examples (keyword, n sentences -> target)
    replay_share: float = 0.3         # share of each batch drawn from earlier versions' text
    replay_chars: int = 200_000       # how much text a version keeps for its children to replay
    neftune_alpha: Optional[float] = None   # NEFTune embedding noise; None is off
    val_fraction: float = 0.05        # tail of each text held out when no validation text is given
    max_epochs: float = 4.0           # a time budget ends after this many passes over the new text:
                                      # a minute is ~100 passes over a short novel, which only overfit
    quantize: Optional[str] = None    # none | 4bit | 8bit; None = QUANTIZE or the device default
    progress_interval: float = 2.0    # seconds between progress callbacks (at most)

    def check(self) -> None:
        if (self.steps is None) == (self.minutes is None):
            raise ValueError("give exactly one budget: steps or minutes")
        if not 0.0 <= self.replay_share < 1.0 or not 0.0 <= self.control_share <= 1.0:
            raise ValueError("replay_share must be in [0, 1) and control_share in [0, 1]")


# ---------------------------------------------------------------- data

def read_replay(adapter_dir: str | Path) -> list[SourceText]:
    """The replay sample an earlier version kept: text it, and its ancestors, learned from."""
    path = Path(adapter_dir) / REPLAY_FILE
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [SourceText(row["name"], row["text"]) for row in rows]


def split_heldout(texts: list[SourceText], fraction: float) -> tuple[list[SourceText], list[SourceText]]:
    """Keep the last ``fraction`` of each long-enough text (cut at a line end) for validation."""
    train, heldout = [], []
    for t in texts:
        cut = t.text.rfind("\n", 0, int(len(t.text) * (1 - fraction)))
        if fraction <= 0 or len(t.text) < 2000 or cut <= 0:
            train.append(t)
            continue
        train.append(SourceText(t.name, t.text[:cut], t.weight))
        heldout.append(SourceText(t.name, t.text[cut:].strip(), t.weight))
    return train, heldout


def chunk_text(texts: list[SourceText], size: int = 600) -> list[SourceText]:
    """Cut texts into paragraph-aligned pieces of about ``size`` characters."""
    pieces = []
    for t in texts:
        buffer = ""
        for paragraph in t.text.split("\n"):
            buffer = f"{buffer}\n{paragraph}" if buffer else paragraph
            if len(buffer) >= size:
                pieces.append(SourceText(t.name, buffer))
                buffer = ""
        if buffer.strip():
            pieces.append(SourceText(t.name, buffer))
    return pieces


def replay_sample(parent_replay: list[SourceText], new_texts: list[SourceText], max_chars: int,
                  rng: random.Random) -> list[SourceText]:
    """What this version keeps for its children: pieces of its own data and of its parent's sample."""
    pool = chunk_text(new_texts) + parent_replay
    rng.shuffle(pool)
    kept, total = [], 0
    for piece in pool:
        if total + len(piece.text) > max_chars:
            continue
        kept.append(piece)
        total += len(piece.text)
    return kept


def build_examples(tokenizer, texts: list[SourceText], max_tokens: int, control_share: float,
                   rng: random.Random) -> tuple[list[Example], list[float]]:
    """Continuation chunks and control examples of every text, with each text's sampling weight."""
    examples, weights = [], []
    for t in texts:
        plain = continuation_examples(tokenizer, t.text, max_tokens)
        wanted = round(len(plain) * control_share / max(1e-9, 1 - control_share)) if control_share < 1 else len(plain)
        controlled = control_examples(tokenizer, t.text, max_tokens, rng, count=max(wanted, 1)) if control_share > 0 else []
        if control_share >= 1:
            plain = []
        for example in plain + controlled:
            examples.append(example)
            weights.append(t.weight)
    return examples, weights


def collate(batch: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    longest = max(len(e.input_ids) for e in batch)
    input_ids = torch.full((len(batch), longest), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), longest), IGNORE, dtype=torch.long)
    attention = torch.zeros((len(batch), longest), dtype=torch.long)
    for row, e in enumerate(batch):
        input_ids[row, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[row, : len(e.labels)] = torch.tensor(e.labels)
        attention[row, : len(e.input_ids)] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention}


# ---------------------------------------------------------------- model

def attach_adapter(model, from_adapter: Optional[Path], settings: TrainSettings):
    if from_adapter is not None:
        return PeftModel.from_pretrained(model, str(from_adapter), is_trainable=True)
    lora = build_lora_config(model.config.model_type, r=settings.lora_r, alpha=settings.lora_alpha,
                             dropout=settings.lora_dropout)
    return get_peft_model(model, lora)


def add_neftune_noise(model, alpha: float):
    """NEFTune: uniform noise on the input embeddings while training (Jain et al., 2023)."""
    embeddings = model.get_input_embeddings()

    def hook(module, inputs, output):
        if module.training:
            dims = output.size(1) * output.size(2)
            bound = alpha / dims ** 0.5
            output = output + torch.zeros_like(output).uniform_(-bound, bound)
        return output

    return embeddings.register_forward_hook(hook)


@torch.no_grad()
def mean_loss(model, examples: list[Example], pad_id: int, batch_size: int = 8) -> Optional[float]:
    if not examples:
        return None
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    device = next(model.parameters()).device
    for i in range(0, len(examples), batch_size):
        batch = {k: v.to(device) for k, v in collate(examples[i: i + batch_size], pad_id).items()}
        tokens = int((batch["labels"][:, 1:] != IGNORE).sum())
        total += model(**batch).loss.item() * tokens
        count += tokens
    model.train(was_training)
    return total / max(count, 1)


# ---------------------------------------------------------------- training

def train(base: str, data: Iterable[DataSource], out_dir: str | Path,
          from_adapter: str | Path | None = None, settings: Optional[TrainSettings] = None,
          progress: Optional[Callable[[Progress], None]] = None,
          should_cancel: Optional[Callable[[], bool]] = None,
          validation: Optional[Iterable[DataSource]] = None) -> Path:
    """Train a LoRA version of ``base`` on ``data`` and write it to ``out_dir``; return that path."""
    settings = settings or TrainSettings(steps=100)
    settings.check()
    started = time.monotonic()
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    if Path(out_dir).exists():
        raise FileExistsError(f"{out_dir} already exists; versions are never overwritten")
    parent = Path(from_adapter) if from_adapter else None
    if parent is not None and not (parent / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{parent}: not an adapter folder (no adapter_config.json)")

    texts = read_texts(data)
    if validation is not None:
        heldout = read_texts(validation)
    else:
        texts, heldout = split_heldout(texts, settings.val_fraction)
    parent_replay = read_replay(parent) if parent else []

    loaded = load_base(base, quantize=settings.quantize, for_training=True)
    tokenizer = loaded.tokenizer
    max_tokens = min(settings.max_tokens, _context_window(loaded.model))
    model = attach_adapter(loaded.model, parent, settings)
    model.train()

    new_examples, new_weights = build_examples(tokenizer, texts, max_tokens, settings.control_share, rng)
    replay_examples, _ = build_examples(tokenizer, parent_replay, max_tokens, settings.control_share, rng)
    val_examples = [e for t in heldout for e in continuation_examples(tokenizer, t.text, max_tokens)]
    if not new_examples:
        raise ValueError("the training data gave no examples (is the text too short?)")

    pad_id = tokenizer.pad_token_id
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.lr, weight_decay=0.0)
    neftune = add_neftune_noise(model, settings.neftune_alpha) if settings.neftune_alpha else None
    use_bf16 = loaded.quantize == "none" and not torch.cuda.is_available() and cpu_has_fast_bf16()
    device = next(model.parameters()).device
    new_per_batch = settings.batch_size * ((1 - settings.replay_share) if replay_examples else 1)
    epoch_cap = math.ceil(settings.max_epochs * len(new_examples) / new_per_batch)
    meter = ProgressMeter(settings.steps, settings.minutes * 60 if settings.minutes else None, progress,
                          interval=settings.progress_interval, step_cap=epoch_cap)
    # bitsandbytes repacks 4-bit weights for fast CPU inference on the first eval-mode forward
    # and cannot train after that, so a quantised run is only evaluated once it is trained.
    val_before = mean_loss(model, val_examples, pad_id) if loaded.quantize == "none" else None

    step = 0
    while not meter.finished(step):
        if should_cancel is not None and should_cancel():
            raise Cancelled("training was cancelled")
        lr = cosine_lr(meter.fraction(step), step, settings.lr, warmup=10, min_ratio=0.1)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch_examples = []
        for _ in range(settings.batch_size):
            if replay_examples and rng.random() < settings.replay_share:
                batch_examples.append(rng.choice(replay_examples))
            else:
                batch_examples.append(rng.choices(new_examples, weights=new_weights)[0])
        batch = {k: v.to(device) for k, v in collate(batch_examples, pad_id).items()}
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        meter.update(step, loss.item(), tokens=int(batch["attention_mask"].sum()))

    if neftune is not None:
        neftune.remove()
    val_after = mean_loss(model, val_examples, pad_id)
    replay = replay_sample(parent_replay, texts, settings.replay_chars, rng)
    version = {
        "base": base,
        "parent": str(parent) if parent else None,
        "data": [{"name": t.name, "sha256": t.sha256, "chars": len(t.text), "weight": t.weight}
                 for t in texts],
        "replay": {"parent_pieces": len(parent_replay), "kept_pieces": len(replay),
                   "kept_chars": sum(len(p.text) for p in replay)},
        "settings": asdict(settings),
        "metrics": {"steps": step, "train_loss": meter.last_loss, "val_loss": val_after,
                    "val_loss_before": val_before, "tokens_per_s": meter.tokens_per_s,
                    "train_seconds": meter.elapsed, "total_seconds": time.monotonic() - started,
                    "examples": len(new_examples), "replay_examples": len(replay_examples)},
        "created_at": datetime.now(timezone.utc).isoformat(),
    }
    save_version(out_dir, model, version, replay, [t.text for t in texts + heldout])
    return Path(out_dir)


def save_version(out_dir: str | Path, model, version: dict, replay: list[SourceText], read: list[str]) -> None:
    """Write a version folder whole or not at all: the adapter, the replay sample its children
    train on again, version.json (written last) and, on a base that writes from its lexicon
    (the starter), the words of ``read`` with its parent's."""
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(str(tmp))
        with open(tmp / REPLAY_FILE, "w", encoding="utf-8") as f:
            for piece in replay:
                f.write(json.dumps({"name": piece.name, "text": piece.text}, ensure_ascii=False) + "\n")
        (tmp / VERSION_FILE).write_text(json.dumps(version, ensure_ascii=False, indent=2), encoding="utf-8")
        if (Path(version["base"]) / LEXICON_FILE).is_file():
            save_words(tmp, read, inherit=version["parent"])
            save_runs(tmp, read, inherit=version["parent"])
        save_bank(tmp, read, inherit=version["parent"])  # any base writes better from the novels' sentences


def _context_window(model) -> int:
    from model_server.evaluate import context_window

    return context_window(model)
