"""The relevance judge: does a passage follow from its context, or from somewhere else?

Trained without labels on the novels themselves (Holtzman et al. 2018's relevance and
entailment discriminators, for which Korean has no labelled data): for a context, its true
next passage should outrank one from later in the same novel (same people, wrong moment) and
ones from other novels. It weighs, by a softmax over such groups:

- how near the passage's content morphemes are to the context's in Kiwi's embedding;
- the share of them the context used, weighted by rarity (IDF over the training passages);
- whether it names someone the context named;
- the hand-over from the context's last sentence to the passage's first: hashed pairs of how
  the one ends and the other opens (a line of speech is followed by 하고 …, a question by an
  answer), a linear model learned from the same groups.
"""
from __future__ import annotations

import math
import zlib
from collections import Counter

import torch
from torch import nn

from model_server.judges.features import Analysed, analyse, names_reused, semantic_overlap, shared_share

BUCKETS = 1 << 16
MEASURES = ("semantic_overlap", "shared_share", "names_reused")


def handover_ids(context: Analysed, passage: Analysed) -> list[int]:
    """Hashed pairs of (how the context's last sentence ends) x (how the passage opens)."""
    if not context.sentences or not passage.sentences:
        return [0]
    last, first = context.sentences[-1], passage.sentences[0]
    ends = [f"{m.form}/{m.tag}" for m in last[-3:]] + [m.tag for m in last[-3:]]
    opens = [f"{m.form}/{m.tag}" for m in first[:3]] + [m.tag for m in first[:3]]
    return [zlib.crc32(f"{e}>{o}".encode()) % BUCKETS for e in ends for o in opens]


class RelevanceJudge(nn.Module):
    def __init__(self, idf: dict[str, float] | None = None):
        super().__init__()
        self.idf = idf or {}
        self.measures = nn.Linear(len(MEASURES), 1)
        self.handover = nn.EmbeddingBag(BUCKETS, 1, mode="mean")
        nn.init.zeros_(self.handover.weight)

    def measure(self, context: Analysed, passage: Analysed) -> list[float]:
        return [semantic_overlap(context, passage), shared_share(context, passage, self.idf),
                names_reused(context, passage)]

    def forward(self, measures: torch.Tensor, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.measures(measures).squeeze(1) + self.handover(ids, offsets).squeeze(1)

    @torch.no_grad()
    def score(self, context: str, passages: list[str]) -> list[float]:
        read = analyse(context)
        passages_read = [analyse(p) for p in passages]
        measures = torch.tensor([self.measure(read, p) for p in passages_read])
        ids, offsets = _pack([handover_ids(read, p) for p in passages_read])
        return self(measures, ids, offsets).tolist()


def _pack(bags: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    offsets = torch.tensor([0] + [len(b) for b in bags[:-1]], dtype=torch.long).cumsum(0)
    return torch.tensor([i for b in bags for i in b], dtype=torch.long), offsets


def idf_of(passages: list[str]) -> dict[str, float]:
    counts = Counter()
    for passage in passages:
        counts.update({m.key for m in analyse(passage).content})
    return {key: math.log(len(passages) / (1 + n)) for key, n in counts.items()}


def train_relevance(groups: list[tuple[str, list[str]]], idf: dict[str, float], epochs: int = 40,
                    lr: float = 0.05, seed: int = 0, should_stop=None) -> RelevanceJudge:
    """Fit on groups of (context, [true next passage, distractor, ...])."""
    torch.manual_seed(seed)
    judge = RelevanceJudge(idf)
    prepared = []
    for context, passages in groups:
        read = analyse(context)
        passages_read = [analyse(p) for p in passages]
        prepared.append((torch.tensor([judge.measure(read, p) for p in passages_read]),
                         [handover_ids(read, p) for p in passages_read]))
        if should_stop is not None and should_stop():
            break
    optimizer = torch.optim.Adam(judge.parameters(), lr=lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for start in torch.randperm(len(prepared), generator=generator).split(32):
            loss = 0.0
            for i in start.tolist():
                measures, bags = prepared[i]
                ids, offsets = _pack(bags)
                scores = judge(measures, ids, offsets)
                loss = loss + nn.functional.cross_entropy(scores[None], torch.zeros(1, dtype=torch.long))
            optimizer.zero_grad()
            (loss / len(start)).backward()
            optimizer.step()
    judge.eval()
    return judge
