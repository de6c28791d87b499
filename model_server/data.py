"""Training data: where texts come from and what a version records about them."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Union

from model_server.text import clean, normalize


class DataError(ValueError):
    """The training data named on the command line or by the worker cannot be used."""


@dataclass(frozen=True)
class TrainingText:
    name: str             # file path, or a label such as "passage:42" for in-memory text
    text: str             # decoded and normalised
    weight: float = 1.0   # how many times over it counts when examples are sampled

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


DataSource = Union[str, Path, TrainingText]


def _text_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".txt")
        if not files:
            raise DataError(f"{path}: the folder holds no .txt files")
        return files
    if path.is_file():
        return [path]
    raise DataError(f"{path}: no such file or folder")


def read_texts(sources: Iterable[DataSource]) -> list[TrainingText]:
    """Decode, normalise and label every source; refuse data that is empty as a whole."""
    texts: list[TrainingText] = []
    for source in sources:
        if isinstance(source, TrainingText):
            texts.append(TrainingText(source.name, normalize(source.text), source.weight))
            continue
        for file in _text_files(Path(source)):
            try:
                decoded = clean(file.read_bytes())
            except ValueError as error:  # text.TextError and its kinds
                raise DataError(f"{file}: {error}") from error
            texts.append(TrainingText(str(file), decoded.text))
    texts = [t for t in texts if t.text.strip()]
    if not texts:
        raise DataError("the training data is empty")
    return texts
