"""Runs of words copied from what a base read: kept out of candidates, and measured.

A small base that read a few novels many times has them by heart: a starved one wrote
"을밀대에서 기자 묘 솔밭으로 현무문으로" into 13 stories of 45. Real writing almost never repeats
four words in a row of another novel (0.05 % of the held-out novels' four-word runs are found in
the training novels), so a candidate may not either: the base saves the four-word runs of its
text (hashed, ``runs.npy``), and a row may not finish a word that would complete one. The
story being continued adds the runs of its recent text (``generation``): its names come back,
its phrases are not written again.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np

RUN = 4                  # words in a row that may not be copied
RUNS_FILE = "runs.npy"
EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def words_of(text: str) -> list[str]:
    """The words (eojeol, NFD, punctuation stripped) of ``text``, in order."""
    return [w for w in (EDGES.sub("", run) for run in unicodedata.normalize("NFD", text).split()) if w]


def run_hash(words: Iterable[str]) -> int:
    return _hash(tuple(words))


@lru_cache(maxsize=1 << 16)
def _hash(words: tuple[str, ...]) -> int:
    # stable across processes (runs.npy is written by one and read by others), unlike hash()
    return int.from_bytes(hashlib.blake2b("\x1f".join(words).encode(), digest_size=8).digest(), "little", signed=True)


def runs_of(texts: Iterable[str], n: int = RUN) -> set[int]:
    found = set()
    for text in texts:
        words = words_of(text)
        found.update(run_hash(words[i: i + n]) for i in range(len(words) - n + 1))
    return found


def save_runs(folder: str | Path, texts: Iterable[str], inherit: str | Path | None = None) -> None:
    """Write the four-word runs of ``texts`` (and those saved in ``inherit``, a parent) beside a model."""
    found = runs_of(texts) | (load_runs(inherit) if inherit is not None else set())
    np.save(Path(folder) / RUNS_FILE, np.array(sorted(found), dtype=np.int64))


def load_runs(folder: str | Path) -> set[int]:
    path = Path(folder) / RUNS_FILE
    return set(np.load(path).tolist()) if path.is_file() else set()


def copied_run(words: list[str], runs: set[int]) -> bool:
    """Whether the last ``RUN`` of ``words`` are a run the base read."""
    return len(words) >= RUN and run_hash(words[-RUN:]) in runs


# ---------------------------------------------------------------- measuring (the writing bench)

def longest_copied(text: str, corpus_runs: dict[int, set[int]]) -> int:
    """The longest run of words of ``text`` found in a corpus whose runs of every length up to
    some maximum are given (``{n: runs_of(corpus, n)}``)."""
    words = words_of(text)
    longest = 0
    for n in sorted(corpus_runs):
        if any(run_hash(words[i: i + n]) in corpus_runs[n] for i in range(len(words) - n + 1)):
            longest = n
        else:
            break
    return longest


def share_found(texts: list[str], runs: set[int], n: int) -> float:
    """The share of the ``n``-word runs of ``texts`` found in a corpus's ``runs`` of that length."""
    grams = [run_hash(w[i: i + n]) for t in texts for w in [words_of(t)] for i in range(len(w) - n + 1)]
    return sum(g in runs for g in grams) / len(grams) if grams else 0.0
