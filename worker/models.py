"""The model of this worker process: one ModelHost, built on first use, kept for later tasks.

Only worker processes import this module's torch-heavy targets (inside the functions)."""
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.training.models import ModelVersion

_host = None


def model_host(base: str):
    """The process's ModelHost for ``base`` (loads the base once; adapters switch per call)."""
    global _host
    if _host is None or _host.base != base:
        from model_server.host import ModelHost

        _host = ModelHost(base)
    return _host


def base_version(base: str) -> ModelVersion:
    """The ModelVersion row standing for the bare base, so its passages say what wrote them."""
    name = current_app.config["MODEL_NAME"]
    row = db.session.scalar(
        select(ModelVersion).where(ModelVersion.story_id.is_(None), ModelVersion.base == base)
        .order_by(ModelVersion.id).limit(1)
    )
    if row is None:
        row = ModelVersion(story_id=None, name=f"{name} (기본 모델)", base=base, path=None,
                           data={}, metrics={})
        db.session.add(row)
        db.session.flush()
    return row


def generation_seed() -> int | None:
    seed = current_app.config.get("GENERATION_SEED")
    return int(seed) if seed not in (None, "") else None
