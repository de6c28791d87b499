"""Where bases live, without importing torch (the web asks whether a base exists yet).

The site's starter base has versions: the first at ``models/starter``, each later one (a
continued pretrain) at ``models/starter-<job id>``. ``models/starter.active`` names the one
that serves; without it, ``models/starter`` does. A version counts once complete (its
``config.json`` and ``starter.json``, written last inside an atomic folder rename).
"""
from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

STARTER = "starter"
ACTIVE_FILE = "starter.active"
STARTER_FILE = "starter.json"
VERSION_NAME = re.compile(r"^starter(-[1-9][0-9]{0,9})?$")  # starter, starter-12: never a path


def starter_dir(models_dir: str | Path) -> Path:
    return Path(models_dir) / STARTER


def is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file()


def is_starter_name(name: str) -> bool:
    return isinstance(name, str) and bool(VERSION_NAME.match(name))


def starter_version_dir(models_dir: str | Path, name: str) -> Path:
    if not is_starter_name(name):
        raise ValueError(f"not a starter version name: {name!r}")
    return Path(models_dir) / name


def is_complete_starter(path: Path) -> bool:
    return is_model_dir(path) and (path / STARTER_FILE).is_file()


def active_starter(models_dir: str | Path) -> Path | None:
    """The starter version that serves: the one ``starter.active`` names when it is complete,
    else the first one, else None (no base yet)."""
    pointer = Path(models_dir) / ACTIVE_FILE
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        name = ""
    if is_starter_name(name) and is_complete_starter(Path(models_dir) / name):
        return Path(models_dir) / name
    first = starter_dir(models_dir)
    return first if is_model_dir(first) else None


def set_active_starter(models_dir: str | Path, name: str) -> None:
    """Point ``starter.active`` at version ``name``: written beside it and renamed over it, so a
    reader sees the old name or the new one, never half of one."""
    target = starter_version_dir(models_dir, name)
    if not is_complete_starter(target):
        raise FileNotFoundError(f"{target} is not a complete starter version")
    pointer = Path(models_dir) / ACTIVE_FILE
    partial = pointer.with_name(f".{ACTIVE_FILE}.{uuid.uuid4().hex[:8]}")
    with open(partial, "w", encoding="utf-8") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, pointer)


def read_starter(path: str | Path) -> dict:
    """A starter version's ``starter.json`` ({} when it has none, or it cannot be read)."""
    try:
        return json.loads(Path(path, STARTER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def starter_versions(models_dir: str | Path) -> list[dict]:
    """Every complete starter version, oldest first: ``{name, path, starter}`` with its
    starter.json. Half-written (``.tmp-*``) folders are not versions."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    found = [p for p in models_dir.iterdir() if is_starter_name(p.name) and is_complete_starter(p)]
    found.sort(key=lambda p: int(p.name.partition("-")[2] or 0))
    return [{"name": p.name, "path": str(p), "starter": read_starter(p)} for p in found]


def lineage_root(path: str | Path) -> str | None:
    """The first version of a starter's lineage (its parents followed back as far as their
    folders tell), or None for a base that is not a starter version. Versions of one lineage
    share the tokenizer and the model's shape, so an adapter trained on one runs on any other;
    a version whose folder was removed still names its lineage's first version."""
    path = Path(path)
    if not is_starter_name(path.name):
        return None
    seen = set()
    while path.name not in seen:
        seen.add(path.name)
        parent = read_starter(path).get("parent")
        if not is_starter_name(parent or ""):
            return str(path)
        path = path.parent / parent
    return None  # a loop of parents: nothing to trust


def same_lineage(base: str, other: str) -> bool:
    """Whether an adapter trained on ``base`` may run on (or go on training on) ``other``."""
    if base == other:
        return True
    root = lineage_root(base)
    return root is not None and root == lineage_root(other)


def resolve_base(model_name: str, models_dir: str | Path) -> str | None:
    """The path or hub id to load for ``MODEL_NAME``, or None while there is none to load.

    ``starter`` is the site's own base under ``models_dir``: its active version, present once
    an admin has pretrained one; a local folder is used as it is; anything else is a Hugging
    Face id, usable only when it is already in the local cache (nothing is downloaded unless
    MODEL_DOWNLOAD=1).
    """
    if model_name == STARTER:
        path = active_starter(models_dir)
        return str(path) if path is not None else None
    path = Path(model_name).expanduser()
    if path.is_dir():
        return str(path) if is_model_dir(path) else None
    if looks_like_local_path(model_name):
        return None
    if downloads_allowed() or hub_cached(model_name):
        return model_name
    return None


def looks_like_local_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.count("/") != 1


def downloads_allowed() -> bool:
    return os.environ.get("MODEL_DOWNLOAD") == "1"


def hub_cached(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(found, str)
