"""How much a passage reads like Korean, by Kiwi's model of the language. Torch-free.

Generation asks two things of it: whether a sentence starts the way Korean sentences start
(not with an ending, a particle or an auxiliary verb: '않았다.', '는켰다.'), and how well a
whole row reads (``fluency``), to keep the best K of the rows it sampled. Kiwi was trained on
large Korean corpora; it is the same analyser that counts sentences, loaded once per process.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from model_server.text import _get_kiwi

WORD = re.compile(r"\S+")
# Korean sentences never open with these: endings (E*), particles (J*), suffixes (XS*), the
# copula and auxiliary verbs ('않았다' alone is the tail of '가지 않았다').
NOT_A_START = ("E", "J", "XS", "VCP", "VX")
# Punctuation, quotes and symbols (S*) may come before a sentence's first word.
SYMBOL = "S"
# Kiwi reads some of these as words when they stand first (를 as 르 + ㄹ, 였다 as 이다 "to carry"):
# particles that are never a word alone, and syllables that open no Korean word, only endings.
FIRST_WORD = re.compile(r"[^\W_]+")
LONE_PARTICLES = {"를", "을", "는", "은", "의", "에게", "에서", "으로"}
ENDING_SYLLABLES = set("었았였겠")


@dataclass(frozen=True)
class Fluency:
    score_per_char: float   # log-probability of Kiwi's best analysis per non-space character
    unknown_words: int      # words holding a morpheme Kiwi does not know
    words: int

    @property
    def unknown_share(self) -> float:
        return self.unknown_words / self.words if self.words else 0.0


def fluency(text: str) -> Fluency:
    text = unicodedata.normalize("NFC", text)
    chars = sum(1 for c in text if not c.isspace())
    if not chars:
        return Fluency(0.0, 0, 0)
    tokens, score = _get_kiwi().analyze(text, top_n=1)[0]
    spans = [m.span() for m in WORD.finditer(text)]
    unknown = {_word_at(spans, t.start) for t in tokens if t.oov}
    return Fluency(score / chars, len(unknown), len(spans))


def _word_at(spans: list[tuple[int, int]], offset: int) -> int:
    for i, (start, end) in enumerate(spans):
        if start <= offset < end:
            return i
    return len(spans) - 1


def starts_like_a_sentence(sentence: str) -> bool:
    """False when the sentence's first morpheme is one that only follows another word."""
    sentence = unicodedata.normalize("NFC", sentence)
    first = FIRST_WORD.search(sentence)
    if first and (first.group() in LONE_PARTICLES or first.group()[0] in ENDING_SYLLABLES):
        return False
    for token in _get_kiwi().tokenize(sentence):
        if token.tag.startswith(SYMBOL):
            continue
        return not token.tag.startswith(NOT_A_START)
    return True
