"""What the judges read in a passage: its morphemes, by Kiwi, and how they meet the context's.

Kiwi ships a model of Korean trained on far more text than our novels (its CoNg model), with
an embedding of every morpheme. The relevance judge leans on it: 기차 and 정거장 are near in
it though no novel of ours has them side by side.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from model_server.text import _get_kiwi

# Morphemes that carry what a passage is about: nouns, pronouns, verbs, adjectives, adverbs,
# roots and foreign words. Particles and endings carry grammar, which the style judge reads.
CONTENT = ("NNG", "NNP", "NP", "VV", "VA", "MAG", "XR", "SL", "SH")
NAMES = ("NNP",)


@dataclass(frozen=True)
class Morpheme:
    form: str
    tag: str
    id: int

    @property
    def key(self) -> str:
        return f"{self.form}/{self.tag}"


@dataclass(frozen=True)
class Analysed:
    morphemes: tuple[Morpheme, ...]      # every morpheme, in order
    sentences: tuple[tuple[Morpheme, ...], ...]  # the same, sentence by sentence (Kiwi's split)
    words: tuple[str, ...]               # eojeol, punctuation stripped

    @property
    def content(self) -> tuple[Morpheme, ...]:
        return tuple(m for m in self.morphemes if m.tag in CONTENT)

    @property
    def nouns(self) -> frozenset[str]:
        return frozenset(m.form for m in self.morphemes if m.tag in ("NNG", "NNP") and len(m.form) > 1)


EDGES = re.compile(r"^[\W_]+|[\W_]+$")


@lru_cache(maxsize=4096)
def analyse(text: str) -> Analysed:
    """Kiwi's reading of ``text`` (NFC), remembered: a candidate is read by every judge."""
    text = unicodedata.normalize("NFC", text)
    kiwi = _get_kiwi()
    sentences = []
    for line in (line for line in text.split("\n") if line.strip()):
        for sentence in kiwi.split_into_sents(line, return_tokens=True):
            sentences.append(tuple(Morpheme(t.form, t.tag.split("-")[0], t.id) for t in sentence.tokens))
    words = tuple(w for w in (EDGES.sub("", run) for run in text.split()) if w)
    return Analysed(tuple(m for s in sentences for m in s), tuple(sentences), words)


def semantic_overlap(context: Analysed, candidate: Analysed) -> float:
    """How near, in Kiwi's embedding, the candidate's content morphemes are to the context's:
    for each, its best cosine similarity to any of the context's, averaged (0 with none)."""
    kiwi = _get_kiwi()
    theirs = list({m.id for m in context.content})
    mine = list({m.id for m in candidate.content})
    if not theirs or not mine:
        return 0.0
    best = []
    for own in mine:
        similarities = [kiwi.morpheme_similarity(own, other) for other in theirs]
        similarities = [s for s in similarities if not math.isnan(s)]
        best.append(max(similarities, default=0.0))
    return sum(best) / len(best)


def shared_share(context: Analysed, candidate: Analysed, weights: dict[str, float] | None = None) -> float:
    """The share of the candidate's content morphemes found in the context, each counted by its
    weight (an IDF: a shared name says more than a shared 하다)."""
    theirs = {m.key for m in context.content}
    mine = [m.key for m in candidate.content]
    if not mine:
        return 0.0
    weight = (lambda key: weights.get(key, 1.0)) if weights else (lambda key: 1.0)
    return sum(weight(k) for k in mine if k in theirs) / sum(weight(k) for k in mine)


def names_reused(context: Analysed, candidate: Analysed) -> float:
    """1 when the candidate names someone or something the context named (its proper nouns, or
    nouns the context used twice or more), else 0."""
    counts: dict[str, int] = {}
    for m in context.morphemes:
        if m.tag in ("NNG", "NNP") and len(m.form) > 1:
            counts[m.form] = counts.get(m.form, 0) + 1
    named = {m.form for m in context.morphemes if m.tag in NAMES} | {f for f, c in counts.items() if c >= 2}
    return 1.0 if candidate.nouns & named else 0.0
