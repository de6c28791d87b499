"""Training data: where texts come from and what a version records about them."""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Union

from model_server.errors import ModelServerError
from model_server.text import clean, normalize


class DataError(ModelServerError, ValueError):
    """The training data named on the command line or by the worker cannot be used."""


@dataclass(frozen=True)
class SourceText:
    name: str             # file path, or a label such as "passage:42" for in-memory text
    text: str             # decoded and normalised
    weight: float = 1.0   # how many times over it counts when examples are sampled

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


DataSource = Union[str, Path, SourceText]


def _text_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".txt")
        if not files:
            raise DataError(f"{path}: the folder holds no .txt files")
        return files
    if path.is_file():
        return [path]
    raise DataError(f"{path}: no such file or folder")


def read_texts(sources: Iterable[DataSource]) -> list[SourceText]:
    """Decode, normalise and label every source; refuse data that is empty as a whole."""
    texts: list[SourceText] = []
    for source in sources:
        if isinstance(source, SourceText):
            texts.append(SourceText(source.name, normalize(source.text), source.weight))
            continue
        for file in _text_files(Path(source)):
            try:
                decoded = clean(file.read_bytes())
            except ValueError as error:  # text.TextError and its kinds
                raise DataError(f"{file}: {error}") from error
            texts.append(SourceText(str(file), decoded.text))
    texts = [t for t in texts if t.text.strip()]
    if not texts:
        raise DataError("the training data is empty")
    return texts


def cut_heldout(texts: list[SourceText], share: float, passage_chars: int, seed: int
                ) -> tuple[list[SourceText], list[str]]:
    """Passages of about ``passage_chars`` characters, cut at line ends from the middle of
    randomly chosen texts until ``share`` of all the text is kept out, and the texts left to
    train on (a text cut in two is two pieces, so no window runs across the cut)."""
    rng = random.Random(seed)
    target = share * sum(len(t.text) for t in texts)
    order = sorted(range(len(texts)), key=lambda _: rng.random())
    cuts: dict[int, tuple[int, int]] = {}
    kept = 0
    for i in order:
        text = texts[i].text
        if kept >= target:
            break
        if len(text) < 4 * passage_chars:
            continue
        start = text.find("\n", rng.randrange(passage_chars, len(text) - 2 * passage_chars)) + 1
        end = text.find("\n", start + passage_chars)
        if start <= 0 or end < 0:
            continue
        cuts[i] = (start, end)
        kept += end - start
    training, heldout = [], []
    for i, t in enumerate(texts):
        if i not in cuts:
            training.append(t)
            continue
        start, end = cuts[i]
        heldout.append(t.text[start:end].strip())
        training += [SourceText(f"{t.name}#1", t.text[:start], t.weight),
                     SourceText(f"{t.name}#2", t.text[end:], t.weight)]
    return training, heldout


def without_passages(texts: list[SourceText], passages: list[str]) -> list[SourceText]:
    """The texts with each of ``passages`` cut out where it occurs (a continued pretrain keeps
    its parent's held-out passages unread)."""
    pieces = []
    for t in texts:
        parts = [t.text]
        for passage in passages:
            parts = [piece for part in parts for piece in part.split(passage)]
        pieces += [SourceText(f"{t.name}#{n}", part, t.weight) for n, part in enumerate(parts, 1) if part.strip()]
    return pieces
