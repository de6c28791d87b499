"""The lexical style judge: does a passage read like the novels, or like our own model?

A linear model over hashed features of Kiwi's reading (morphemes, morpheme pairs, part-of-speech
triples, how sentences open and close, eojeol and eojeol pairs), trained to tell passages of
the novels from passages the base wrote for the same contexts (Holtzman et al. 2018's style
discriminator, with a bag of features in place of its CNN: a few hundred examples each way
is all a site has, and a linear model does not overfit them as quickly). Its logit is the
score: higher reads more like a writer.
"""
from __future__ import annotations

import zlib

import torch
from torch import nn

from model_server.judges.features import Analysed, analyse

BUCKETS = 1 << 18


def feature_ids(passage: Analysed) -> list[int]:
    names = []
    for sentence in passage.sentences:
        keys = [f"{m.form}/{m.tag}" for m in sentence]
        tags = ["^"] + [m.tag for m in sentence] + ["$"]
        names += [f"m:{k}" for k in keys]
        names += [f"b:{a} {b}" for a, b in zip(keys, keys[1:])]
        names += [f"t:{a} {b} {c}" for a, b, c in zip(tags, tags[1:], tags[2:])]
        if keys:
            names += [f"open:{keys[0]}", f"close:{keys[-1]}"]
    names += [f"w:{w}" for w in passage.words]
    names += [f"wb:{a} {b}" for a, b in zip(passage.words, passage.words[1:])]
    return [zlib.crc32(name.encode()) % BUCKETS for name in names] or [0]


class StyleJudge(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.EmbeddingBag(BUCKETS, 1, mode="mean")
        nn.init.zeros_(self.weights.weight)
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.weights(ids, offsets).squeeze(1) + self.bias

    @torch.no_grad()
    def score(self, passages: list[str]) -> list[float]:
        ids, offsets = pack([feature_ids(analyse(p)) for p in passages])
        return self(ids, offsets).tolist()


def pack(bags: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    offsets = torch.tensor([0] + [len(b) for b in bags[:-1]], dtype=torch.long).cumsum(0)
    return torch.tensor([i for b in bags for i in b], dtype=torch.long), offsets


def train_style(real: list[str], written: list[str], epochs: int = 30, lr: float = 0.05,
                weight_decay: float = 1e-4, seed: int = 0) -> StyleJudge:
    """Fit on passages of the novels (label 1) and the base's own (label 0), balanced."""
    torch.manual_seed(seed)
    judge = StyleJudge()
    bags = [feature_ids(analyse(p)) for p in real + written]
    labels = torch.tensor([1.0] * len(real) + [0.0] * len(written))
    balance = torch.where(labels == 1, len(bags) / (2 * max(len(real), 1)), len(bags) / (2 * max(len(written), 1)))
    optimizer = torch.optim.Adam(judge.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(bags), generator=generator).tolist()
        for start in range(0, len(order), 64):
            batch = order[start: start + 64]
            ids, offsets = pack([bags[i] for i in batch])
            loss = nn.functional.binary_cross_entropy_with_logits(
                judge(ids, offsets), labels[batch], weight=balance[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    judge.eval()
    return judge
