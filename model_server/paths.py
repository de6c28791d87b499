"""Where bases live, without importing torch (the web asks whether a base exists yet)."""
from __future__ import annotations

import os
from pathlib import Path

STARTER = "starter"


def starter_dir(models_dir: str | Path) -> Path:
    return Path(models_dir) / STARTER


def is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file()


def resolve_base(model_name: str, models_dir: str | Path) -> str | None:
    """The path or hub id to load for ``MODEL_NAME``, or None while there is none to load.

    ``starter`` is the site's own base under ``models_dir``, present once an admin has
    pretrained it; a local folder is used as it is; anything else is a Hugging Face id, usable
    only when it is already in the local cache (nothing is downloaded unless MODEL_DOWNLOAD=1).
    """
    if model_name == STARTER:
        path = starter_dir(models_dir)
        return str(path) if is_model_dir(path) else None
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
