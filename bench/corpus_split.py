"""The benchmarks' train / held-out split of the Korean corpus (read from outside the repo)."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Unseen by default: three novels kept out of training, and 동백꽃 (not among the novels at all).
DEFAULT_HELDOUT = ["novels/08_Dark_Moon.txt", "novels/20_Anemone.txt", "novels/29_The_Calf.txt",
                   "encodings/dongbaekkkot.utf8.txt"]


def corpus_dir() -> Path:
    for candidate in (os.environ.get("RELAY_CORPUS_DIR"), REPO_ROOT.parent / "shared" / "corpus",
                      "/work/shared/corpus"):
        if candidate and (Path(candidate) / "novels").is_dir():
            return Path(candidate)
    raise SystemExit("corpus not found: set RELAY_CORPUS_DIR to the folder holding novels/")


def load_split(data: str | None, heldout: str | None) -> tuple[list[str], list[str]]:
    """Training texts and held-out texts; a held-out text is never also trained on."""
    from model_server.data import read_texts

    root = corpus_dir()
    train = read_texts([Path(data) if data else root / "novels"])
    if heldout:
        held = read_texts([Path(heldout)])
    else:
        held = read_texts([root / p for p in DEFAULT_HELDOUT])
    held_hashes = {t.sha256 for t in held}
    held_names = {Path(t.name).name for t in held}
    train = [t for t in train if t.sha256 not in held_hashes and Path(t.name).name not in held_names]
    return [t.text for t in train], [t.text for t in held]
