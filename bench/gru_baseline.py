"""The original project's model class, as the baseline the starter base must beat.

A 2-layer character GRU (hidden 512), trained with Adam on sequences of 50 characters in
batches of 32, for a fixed wall-clock budget. Evaluated statefully over held-out text, so
it sees the same whole-text context a sliding-window evaluation gives the transformer.

    python bench/gru_baseline.py --data ../shared/corpus/novels --heldout DIR --minutes 10
"""
from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GRUSettings:
    hidden: int = 512      # units per GRU layer
    layers: int = 2
    embedding: int = 256
    seq_len: int = 50      # characters per training sequence (truncated BPTT)
    batch_size: int = 32
    lr: float = 2e-3       # Adam, as the char-RNN tutorials the original project followed
    clip: float = 5.0


class CharGRU(nn.Module):
    def __init__(self, vocab_size: int, s: GRUSettings):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, s.embedding)
        self.gru = nn.GRU(s.embedding, s.hidden, num_layers=s.layers, batch_first=True)
        self.head = nn.Linear(s.hidden, vocab_size)

    def forward(self, x, h=None):
        out, h = self.gru(self.embed(x), h)
        return self.head(out), h


class CharVocab:
    """Characters of the training text; anything unseen maps to one <unk> id (0)."""

    def __init__(self, text: str):
        self.itos = ["<unk>"] + sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    def encode(self, text: str) -> torch.Tensor:
        return torch.tensor([self.stoi.get(c, 0) for c in text], dtype=torch.long)


def train_gru(train_text: str, minutes: float, seed: int = 0, s: GRUSettings | None = None,
              log=print) -> tuple[CharGRU, CharVocab, dict]:
    s = s or GRUSettings()
    torch.manual_seed(seed)
    vocab = CharVocab(train_text)
    data = vocab.encode(train_text)
    model = CharGRU(len(vocab.itos), s)
    opt = torch.optim.Adam(model.parameters(), lr=s.lr)
    # The batch is 32 parallel streams over the text, each carrying its hidden state forward.
    stream_len = len(data) // s.batch_size
    streams = data[: stream_len * s.batch_size].view(s.batch_size, stream_len)
    h = None
    pos, steps, chars = 0, 0, 0
    deadline = time.monotonic() + minutes * 60
    started = time.monotonic()
    while time.monotonic() < deadline:
        if pos + s.seq_len + 1 > stream_len:
            pos, h = 0, None
        x = streams[:, pos: pos + s.seq_len]
        y = streams[:, pos + 1: pos + s.seq_len + 1]
        pos += s.seq_len
        if h is not None:
            h = h.detach()
        logits, h = model(x, h)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), s.clip)
        opt.step()
        steps += 1
        chars += x.numel()
        if steps % 200 == 0:
            log(f"gru step {steps} loss {loss.item():.3f} chars/s {chars / (time.monotonic() - started):.0f}")
    elapsed = time.monotonic() - started
    return model, vocab, {"steps": steps, "chars": chars, "seconds": elapsed, "chars_per_s": chars / elapsed}


@torch.no_grad()
def gru_bpc(model: CharGRU, vocab: CharVocab, texts: list[str], chunk: int = 2000) -> float:
    """Bits per character over every character after the first of each text."""
    model.eval()
    total_bits, total_chars = 0.0, 0
    for text in texts:
        ids = vocab.encode(text).unsqueeze(0)
        h = None
        for start in range(0, ids.size(1) - 1, chunk):
            x = ids[:, start: start + chunk]
            y = ids[:, start + 1: start + chunk + 1]
            x = x[:, : y.size(1)]
            logits, h = model(x, h)
            total_bits += F.cross_entropy(logits[0], y[0], reduction="sum").item() / math.log(2)
            total_chars += y.size(1)
    model.train()
    return total_bits / total_chars


def main() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.corpus_split import load_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="training folder (default: the corpus novels)")
    parser.add_argument("--heldout", default=None, help="held-out folder (default: a fixed unseen split)")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    train_texts, heldout_texts = load_split(args.data, args.heldout)
    model, vocab, info = train_gru("\n\n".join(train_texts), args.minutes, args.seed)
    print(f"gru trained {info['steps']} steps, {info['chars_per_s']:.0f} chars/s")
    print(f"gru heldout bpc {gru_bpc(model, vocab, heldout_texts):.3f}")


if __name__ == "__main__":
    main()
