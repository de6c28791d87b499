"""The repetition judge: does a passage say the same thing twice, or copy its context?

Small models loop: the same opener sentence after sentence (그는 ... 그는 ...), a word twice in
one sentence, a sentence of the context written again. Each of these is measured (below) and a
logistic regression, trained like the style judge on the novels' passages against the base's
own, weighs them. Its logit is the score: higher repeats less.
"""
from __future__ import annotations

import torch
from torch import nn

from model_server.judges.features import Analysed, analyse

FEATURES = ("sentence_overlap", "context_overlap", "repeated_words", "repeated_pairs",
            "copied_run", "word_twice_in_sentence", "same_opener")


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _content(sentence) -> set[str]:
    return {f"{m.form}/{m.tag}" for m in sentence if m.tag[0] in "NVMX"}


def _longest_shared_run(words: tuple[str, ...], context_words: tuple[str, ...]) -> int:
    """The longest run of eojeol the passage shares, in order, with its context."""
    seen = {}
    for n in range(1, len(words) + 1):
        grams = {context_words[i: i + n] for i in range(len(context_words) - n + 1)}
        if not any(words[i: i + n] in grams for i in range(len(words) - n + 1)):
            return n - 1
        seen[n] = True
    return len(words)


def measures(context: Analysed, passage: Analysed) -> list[float]:
    own = [_content(s) for s in passage.sentences]
    recent = [_content(s) for s in context.sentences[-10:]]
    pairs = [(a, b) for i, a in enumerate(own) for b in own[i + 1:]]
    words = passage.words
    word_pairs = list(zip(words, words[1:]))
    twice = 0
    for sentence in passage.sentences:
        forms = [m.form for m in sentence if m.tag in ("NNG", "NNP", "NP", "VV", "VA")]
        twice += len(forms) - len(set(forms))
    openers = [s[0].form for s in passage.sentences if s]
    return [
        max((_jaccard(a, b) for a, b in pairs), default=0.0),
        max((_jaccard(a, b) for a in own for b in recent), default=0.0),
        1 - len(set(words)) / len(words) if words else 0.0,
        1 - len(set(word_pairs)) / len(word_pairs) if word_pairs else 0.0,
        min(_longest_shared_run(words, context.words[-300:]), 12) / 4,
        twice / max(len(passage.sentences), 1),
        (len(openers) - len(set(openers))) / max(len(openers), 1),
    ]


class RepetitionJudge(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(len(FEATURES), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).squeeze(1)

    @torch.no_grad()
    def score(self, context: str, passages: list[str]) -> list[float]:
        read = analyse(context)
        return self(torch.tensor([measures(read, analyse(p)) for p in passages])).tolist()


def train_repetition(pairs_real: list[tuple[str, str]], pairs_written: list[tuple[str, str]],
                     epochs: int = 300, lr: float = 0.05, seed: int = 0) -> RepetitionJudge:
    """Fit on (context, passage) pairs of the novels (label 1) and of the base (label 0)."""
    torch.manual_seed(seed)
    judge = RepetitionJudge()
    x = torch.tensor([measures(analyse(c), analyse(p)) for c, p in pairs_real + pairs_written])
    y = torch.tensor([1.0] * len(pairs_real) + [0.0] * len(pairs_written))
    weight = torch.where(y == 1, len(y) / (2 * max(len(pairs_real), 1)), len(y) / (2 * max(len(pairs_written), 1)))
    optimizer = torch.optim.Adam(judge.parameters(), lr=lr, weight_decay=1e-3)
    for _ in range(epochs):
        loss = nn.functional.binary_cross_entropy_with_logits(judge(x), y, weight=weight)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    judge.eval()
    return judge
