"""The starter base: a small GPT-2 and its own tokenizer, pretrained from scratch on our novels.

A fresh install has no weights and cannot download any, so admins pretrain this base on the
site's approved novels. It is saved with ``save_pretrained`` and loads like any other base.
Read top to bottom: settings, tokenizer, data, model, the training loop, saving.
"""
from __future__ import annotations

import json
import math
import random
import unicodedata
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable, Iterable, Optional

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from model_server.data import DataSource, cut_heldout, read_texts, without_passages
from model_server.copying import save_runs
from model_server.lexicon import save_words
from model_server.retrieval import save_bank
from model_server.muon import Muon
from model_server.optimizing import cosine_lr, cpu_has_fast_bf16
from model_server.progress import Cancelled, Progress, ProgressMeter
from model_server.versions import atomic_dir

EOS = "<|endoftext|>"
HELDOUT_FILE = "heldout.jsonl"   # passages the base never read: what its quality is measured on
PAD = "<|pad|>"


@dataclass
class StarterConfig:
    # Defaults chosen by measurement on 2 CPU cores (bench/model_bench.py, bench/starter_sweep.py):
    # at this budget a small, wide-enough model trained by Muon beats bigger ones that see fewer
    # tokens, and the corpus, not compute, is what holds it back.
    # tokenizer: BPE over Hangul letters with byte fallback, so unseen hanja or emoji still
    # round-trip; 4,000 tokens (about 2 characters each) beat smaller and larger vocabularies.
    vocab_size: int = 4000
    jamo: bool = True           # BPE over Hangul letters rather than whole syllables
    # model shape (GPT-2)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 256
    n_ctx: int = 128            # tokens of context (~260 characters); a longer one did no better
    dropout: float = 0.0        # weight decay and the weights' average regularise enough
    # optimisation
    batch_size: int = 8         # larger batches train faster per token but take fewer steps per pass, and score worse
    lr: float = 6e-3            # AdamW peak (embeddings, norms, biases)
    muon_lr: float = 0.02       # Muon peak (matrices in the blocks); both decay by cosine
    min_lr_ratio: float = 0.1
    warmup_steps: int = 50
    # A time budget ends early once the training text has been read this many times, and the
    # learning rate reaches its floor there; more passes overfit these few novels.
    max_epochs: float = 8.0
    weight_decay: float = 0.3   # decoupled, on matrices and embeddings
    ema_decay: float = 0.995    # save an exponential moving average of the weights (0: the last)
    by_pass: bool = True        # read every window once per pass, in a shuffled order
    grad_clip: float = 1.0
    bf16: bool = True           # autocast matmuls to bf16 on CPUs that have it (AVX512-BF16, AMX)

    @classmethod
    def tiny(cls) -> "StarterConfig":
        """A base in seconds, for tests: it writes Korean-looking text, not good Korean."""
        return cls(vocab_size=600, n_layer=2, n_head=2, n_embd=64, n_ctx=128, dropout=0.0,
                   batch_size=8, lr=3e-3, warmup_steps=5, weight_decay=0.0, ema_decay=0.0, by_pass=False)


# ---------------------------------------------------------------- tokenizer

def train_tokenizer(texts: list[str], vocab_size: int, jamo: bool = True) -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE(byte_fallback=True, unk_token=None))
    if jamo:
        # Hangul syllables split into their letters (jamo), so 먹었다 and 잡았다 share the
        # ending and a particle can see the final consonant before it; decode() output is
        # composed back with NFC by our callers (see ``compose``).
        tokenizer.normalizer = normalizers.NFD()
    # "never": no space is invented before a text, so decode(encode(text)) == text exactly.
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="never")
    tokenizer.decoder = decoders.Sequence([decoders.ByteFallback(),
                                           decoders.Metaspace(prepend_scheme="never")])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - 256, special_tokens=[EOS, PAD],
                                  limit_alphabet=2000, show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    tokenizer = with_byte_fallback_tokens(tokenizer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, bos_token=EOS,
                                   pad_token=PAD, clean_up_tokenization_spaces=False)


def with_byte_fallback_tokens(tokenizer: Tokenizer) -> Tokenizer:
    """Add <0x00>..<0xFF> as ordinary vocabulary, so characters never seen in training (rare
    hanja, emoji) are spelled as UTF-8 bytes and still decode; as special tokens they would
    be dropped by decode()."""
    spec = json.loads(tokenizer.to_str())
    vocab = spec["model"]["vocab"]
    for byte in range(256):
        vocab.setdefault(f"<0x{byte:02X}>", len(vocab))
    return Tokenizer.from_str(json.dumps(spec))


def compose(text: str) -> str:
    """Text out of a jamo tokenizer's decode(), composed back into syllables."""
    return unicodedata.normalize("NFC", text)


def token_stream(tokenizer: PreTrainedTokenizerFast, texts: Iterable[str]) -> torch.Tensor:
    """All texts as one stream of ids, each text closed by EOS (nanoGPT's packing)."""
    ids: list[int] = []
    for text in texts:
        ids.extend(tokenizer(text, add_special_tokens=False)["input_ids"])
        ids.append(tokenizer.eos_token_id)
    return torch.tensor(ids, dtype=torch.long)


# ---------------------------------------------------------------- model

def build_model(config: StarterConfig, tokenizer: PreTrainedTokenizerFast) -> GPT2LMHeadModel:
    gpt2 = GPT2Config(
        vocab_size=len(tokenizer), n_positions=config.n_ctx, n_embd=config.n_embd,
        n_layer=config.n_layer, n_head=config.n_head, resid_pdrop=config.dropout,
        embd_pdrop=config.dropout, attn_pdrop=0.0, bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    return GPT2LMHeadModel(gpt2)


def flops_per_token(model: GPT2LMHeadModel) -> float:
    """Training FLOPs per token: 6 per parameter (forward + backward) plus attention (PaLM, app. B)."""
    c = model.config
    params = sum(p.numel() for p in model.parameters()) - c.n_positions * c.n_embd
    return 6 * params + 6 * c.n_layer * c.n_embd * c.n_positions


def make_optimizers(model: GPT2LMHeadModel, config: "StarterConfig") -> list[torch.optim.Optimizer]:
    """Muon for the matrices inside the transformer blocks, AdamW for everything else.

    Muon (momentum orthogonalised by Newton-Schulz, Jordan et al. 2024) learns several times
    faster per step than AdamW on these small models; embeddings, layer norms and biases are
    not matrices of that kind and keep AdamW.
    """
    blocks = [p for name, p in model.named_parameters() if p.dim() == 2 and ".h." in name]
    in_blocks = {id(p) for p in blocks}
    rest = [p for p in model.parameters() if id(p) not in in_blocks]
    embeddings = [p for p in rest if p.dim() == 2]
    others = [p for p in rest if p.dim() < 2]
    ns_dtype = torch.bfloat16 if fast_bf16(blocks[0].device) else torch.float32
    muon = Muon(blocks, lr=config.muon_lr, weight_decay=config.weight_decay, ns_dtype=ns_dtype,
                fan_out_dim=1)  # GPT-2's Conv1D keeps its weights as (in, out)
    adamw = torch.optim.AdamW([{"params": embeddings, "weight_decay": config.weight_decay},
                               {"params": others, "weight_decay": 0.0}], lr=config.lr, betas=(0.9, 0.95))
    for optimizer in (muon, adamw):
        for group in optimizer.param_groups:
            group["peak_lr"] = group["lr"]
    return [muon, adamw]


def random_batches(n_tokens: int, n_ctx: int, batch_size: int, generator: torch.Generator):
    """Batches of window starts drawn at random (the tiny test base reads its text this way)."""
    while True:
        yield torch.randint(0, n_tokens - n_ctx - 1, (batch_size,), generator=generator).tolist()


def pass_batches(n_tokens: int, n_ctx: int, batch_size: int, generator: torch.Generator):
    """Batches of window starts: each pass covers the whole stream once, in a shuffled order,
    from a random offset, so no stretch of text is read more often than another."""
    last_start = n_tokens - n_ctx - 2  # a window and its next-token target fit after it
    if last_start < 0:
        raise ValueError(f"a stream of {n_tokens} tokens holds no window of {n_ctx}")
    while True:
        offset = int(torch.randint(0, min(n_ctx, last_start + 1), (1,), generator=generator))
        starts = torch.arange(offset, last_start + 1, n_ctx)
        starts = starts[torch.randperm(len(starts), generator=generator)].tolist()
        if len(starts) < batch_size:  # a text shorter than one batch: read it several times over
            starts = (starts * batch_size)[:batch_size]
        for i in range(0, len(starts) - batch_size + 1, batch_size):
            yield starts[i: i + batch_size]


class WeightAverage:
    """An exponential moving average of the weights, kept beside them while training.

    Until ``1 / (1 - decay)`` updates it is the plain mean of every update so far, so a short
    run averages its own steps rather than the random weights it started from."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.params = [p.detach() for p in model.parameters()]  # views of the weights themselves
        self.shadow = [p.clone() for p in self.params]
        self.decay, self.updates = decay, 0

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        decay = min(self.decay, (self.updates - 1) / self.updates)
        torch._foreach_lerp_(self.shadow, self.params, 1 - decay)

    @torch.no_grad()
    def copy_to_model(self) -> None:
        for param, average in zip(self.params, self.shadow):
            param.copy_(average)


# ---------------------------------------------------------------- training

STARTER_FILE = "starter.json"
HELDOUT_SHARE = 0.03        # of the text kept out of training to measure the base by
HELDOUT_PASSAGE_CHARS = 1500


def pretrain(data: Iterable[DataSource], out_dir: str | Path, *, minutes: Optional[float] = None,
             steps: Optional[int] = None, passes: Optional[float] = None, seed: int = 0,
             config: Optional[StarterConfig] = None, parent: str | Path | None = None,
             progress: Optional[Callable[[Progress], None]] = None,
             should_cancel: Optional[Callable[[], bool]] = None, progress_interval: float = 2.0) -> Path:
    """Train tokenizer and model on ``data``, or go on training the base at ``parent`` with its
    tokenizer, for a budget of ``passes`` over the text (the same base however busy the
    machine is), ``steps``, or ``minutes``; save the base at ``out_dir``.

    A few passages (``heldout.jsonl``, a parent's when there is one) are never trained on: the
    base's held-out loss on them is measured after every pass and saved as its curve."""
    if sum(budget is not None for budget in (minutes, steps, passes)) != 1:
        raise ValueError("give exactly one budget: minutes, steps or passes")
    if Path(out_dir).exists():
        raise FileExistsError(f"{out_dir} already exists; a base is never overwritten")
    torch.manual_seed(seed)
    random.seed(seed)
    texts = read_texts(data)
    if parent is not None:
        saved = json.loads(Path(parent, STARTER_FILE).read_text(encoding="utf-8"))
        known = {f.name for f in fields(StarterConfig)}
        config = StarterConfig(**{k: v for k, v in saved["config"].items() if k in known})
        heldout = read_heldout(parent)
        tokenizer = PreTrainedTokenizerFast.from_pretrained(parent)
        training_texts = without_passages(texts, heldout)
    else:
        config = config or StarterConfig()
        training_texts, heldout = cut_heldout(texts, HELDOUT_SHARE, HELDOUT_PASSAGE_CHARS, seed)
        tokenizer = train_tokenizer([t.text for t in training_texts], config.vocab_size, config.jamo)
    train_ids = token_stream(tokenizer, [t.text for t in training_texts])
    heldout_ids = token_stream(tokenizer, heldout) if heldout else train_ids[-(config.n_ctx * 8):]
    heldout_chars = sum(len(p) + 1 for p in heldout) if heldout else None
    if len(train_ids) < 4 * (config.n_ctx + 2):
        raise ValueError(f"too little text to pretrain on: {len(train_ids)} tokens")

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if parent is not None:
        model = GPT2LMHeadModel.from_pretrained(parent).to(device)
    else:
        model = build_model(config, tokenizer).to(device)
    model.train()
    optimizers = make_optimizers(model, config)
    generator = torch.Generator().manual_seed(seed)
    use_bf16 = config.bf16 and fast_bf16(device)
    passes_per_step = config.batch_size * config.n_ctx / len(train_ids)
    if passes is not None:
        steps = max(1, math.ceil(passes / passes_per_step))
    meter = ProgressMeter(total_steps=steps, total_seconds=minutes * 60 if minutes else None,
                          callback=progress, interval=progress_interval,
                          step_cap=math.ceil(config.max_epochs / passes_per_step))

    averaged = WeightAverage(model, config.ema_decay) if config.ema_decay > 0 else None
    window_starts = (pass_batches if config.by_pass else random_batches)(
        len(train_ids), config.n_ctx, config.batch_size, generator)
    steps_per_pass = max(1, round(1 / passes_per_step))
    curve = []  # (step, seconds, held-out loss) after every pass
    step = 0
    while not meter.finished(step):
        if should_cancel is not None and should_cancel():
            raise Cancelled("pretraining was cancelled")
        scale = cosine_lr(meter.fraction(step), step, 1.0, config.warmup_steps, config.min_lr_ratio)
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                group["lr"] = group["peak_lr"] * scale
        x = torch.stack([train_ids[s: s + config.n_ctx] for s in next(window_starts)]).to(device)
        with torch.autocast(device, dtype=torch.bfloat16, enabled=use_bf16):
            loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        for optimizer in optimizers:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        if averaged is not None:
            averaged.update()
        step += 1
        if step % steps_per_pass == 0:
            curve.append((step, meter.elapsed, heldout_loss(model, averaged, heldout_ids.to(device), config.n_ctx)))
        meter.update(step, loss.item(), tokens=x.numel(), heldout_loss=curve[-1][2] if curve else None)

    if averaged is not None:
        averaged.copy_to_model()
    model.eval()
    final = stream_loss(model, heldout_ids.to(device), config.n_ctx)
    to_bpc = (lambda loss: loss * len(heldout_ids) / heldout_chars / math.log(2)) if heldout_chars else (lambda loss: None)
    history = json.loads(Path(parent, STARTER_FILE).read_text(encoding="utf-8"))["metrics"] if parent else {}
    metrics = {"steps": step, "epochs": step * passes_per_step, "passes": round(step * passes_per_step, 2),
               "train_loss": meter.last_loss, "val_loss": final, "heldout_bpc": to_bpc(final),
               "heldout_passages": len(heldout), "tokens_per_s": meter.tokens_per_s, "seconds": meter.elapsed,
               # the whole lineage's training: a continued base adds its time to its parent's
               "total_seconds": history.get("total_seconds", 0.0) + meter.elapsed,
               "total_passes": round(history.get("total_passes", 0.0) + step * passes_per_step, 2),
               "curve": [[s, round(t, 1), to_bpc(l)] for s, t, l in curve],
               "flops_per_token": flops_per_token(model), "bf16": use_bf16,
               "chars_per_token": sum(len(t.text) for t in training_texts) / len(train_ids)}
    with atomic_dir(out_dir) as tmp:
        model.to("cpu").save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        save_words(tmp, [t.text for t in texts])  # what generation may write (model_server.lexicon)
        save_runs(tmp, [t.text for t in texts])   # ... and may not copy (model_server.copying)
        save_bank(tmp, [t.text for t in texts])   # ... and its sentences, the writer's guide (model_server.retrieval)
        write_heldout(tmp, heldout)
        (tmp / STARTER_FILE).write_text(json.dumps({
            "config": asdict(config), "seed": seed, "metrics": metrics,
            "parent": str(Path(parent).name) if parent else None,
            "data": [{"name": t.name, "sha256": t.sha256, "chars": len(t.text)} for t in texts],
        }, ensure_ascii=False, indent=2), encoding="utf-8")
    return Path(out_dir)


def heldout_loss(model, averaged: Optional["WeightAverage"], ids: torch.Tensor, n_ctx: int) -> float:
    """The held-out loss of the weights that would be saved now (the average, when kept)."""
    model.eval()
    if averaged is None:
        loss = stream_loss(model, ids, n_ctx)
    else:
        current = [p.detach().clone() for p in averaged.params]
        averaged.copy_to_model()
        loss = stream_loss(model, ids, n_ctx)
        with torch.no_grad():
            for param, saved in zip(averaged.params, current):
                param.copy_(saved)
    model.train()
    return loss


def write_heldout(folder: Path, passages: list[str]) -> None:
    (folder / HELDOUT_FILE).write_text("".join(json.dumps({"text": p}, ensure_ascii=False) + "\n" for p in passages),
                                       encoding="utf-8")


def read_heldout(folder: str | Path) -> list[str]:
    path = Path(folder, HELDOUT_FILE)
    if not path.is_file():
        return []
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@torch.no_grad()
def stream_loss(model: GPT2LMHeadModel, ids: torch.Tensor, n_ctx: int) -> float:
    """Mean next-token loss over non-overlapping windows of a token stream."""
    total, count = 0.0, 0
    for start in range(0, len(ids) - 1, n_ctx):
        window = ids[start: start + n_ctx][None]
        if window.size(1) < 2:
            break
        total += model(input_ids=window, labels=window).loss.item() * (window.size(1) - 1)
        count += window.size(1) - 1
    return total / count


def fast_bf16(device: torch.device | str) -> bool:
    """Whether bf16 matmuls pay off on ``device``: on CUDA, and on CPUs that have them in
    hardware; elsewhere they are emulated, far slower than fp32."""
    return torch.device(device).type == "cuda" or cpu_has_fast_bf16()
