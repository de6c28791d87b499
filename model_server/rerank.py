"""Choosing the K candidates to show from the rows that met the guarantees.

Rows are ranked by how well they read to Kiwi (its analysis score per character, less a
penalty for words it cannot analyse at all), with a small preference for rows that used the
keyword of their own accord; then the K best are taken, passing over a row that repeats one
already taken, so that the crowd chooses between different passages.
"""
from __future__ import annotations

from dataclasses import dataclass

from model_server.fluency import fluency

UNKNOWN_WORD_PENALTY = 5.0   # per unit of unknown-word share, in Kiwi score per character
OWN_KEYWORD_BONUS = 0.25     # a row that used the keyword unasked
MAX_SHARED_BIGRAMS = 0.5     # a row sharing more of its word pairs with a chosen one is a repeat


@dataclass
class Scored:
    text: str
    model_logprob: float     # the model's mean log-probability per token of the row
    keyword_forced: bool     # the keyword was required of the row rather than chosen by it

    @property
    def rank(self) -> float:
        judged = fluency(self.text)
        bonus = 0.0 if self.keyword_forced else OWN_KEYWORD_BONUS
        return judged.score_per_char - UNKNOWN_WORD_PENALTY * judged.unknown_share + bonus


def word_pairs(text: str) -> set[tuple[str, str]]:
    words = text.split()
    return set(zip(words, words[1:]))


def repeats(text: str, chosen: list[str]) -> bool:
    pairs = word_pairs(text)
    return any(len(pairs & word_pairs(other)) > MAX_SHARED_BIGRAMS * max(1, len(pairs)) for other in chosen)


def choose(rows: list[Scored], k: int) -> list[str]:
    """The ``k`` best-ranked texts, repeats passed over while others remain."""
    ranked = [row.text for row in sorted(rows, key=lambda row: row.rank, reverse=True)]
    chosen: list[str] = []
    for text in ranked:
        if len(chosen) < k and not repeats(text, chosen):
            chosen.append(text)
    for text in ranked:  # too few different rows: repeats rather than fewer than k
        if len(chosen) < k and text not in chosen:
            chosen.append(text)
    return chosen
