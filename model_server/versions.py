"""Version folders appear whole or not at all."""
from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a hidden sibling folder to write into; rename it to ``target`` only on success.

    A run killed midway leaves at most a ``.tmp-*`` folder, never a half-written version, and
    the rename is atomic because both folders are on the same file system.
    """
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} already exists; versions are never overwritten")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{target.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def is_complete(version_dir: str | Path) -> bool:
    """A version folder is complete once it holds its metadata file (written last, inside atomic_dir)."""
    path = Path(version_dir)
    return (path / "version.json").is_file() or (path / "starter.json").is_file()
