"""The model of this worker process: one ModelHost, built on first use, kept for later tasks.

Only worker processes import this module's torch-heavy targets (inside the functions)."""
import os

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.training.models import BASE_VERSION_NAME, ModelVersion

_host = None
_base_loads = 0


def model_host(base: str):
    """The process's ModelHost for ``base`` (loads the base once; adapters switch per call)."""
    global _host, _base_loads
    if _host is None or _host.base != base:
        from model_server.host import ModelHost

        _host = ModelHost(base)
        _base_loads += 1
    return _host


def host_stats() -> dict:
    """What this process's host has loaded so far, kept in each generation job's metrics: one
    base load per process while adapters switch per story is the point of the host."""
    return {"pid": os.getpid(), "base_loads": _base_loads,
            "adapter_loads": _host.adapter_loads if _host is not None else 0,
            "adapters_cached": len(_host.adapters) if _host is not None else 0}


def base_version(base: str) -> ModelVersion:
    """The ModelVersion row standing for the bare base, so its passages say what wrote them.
    Participants read its name beside every passage it wrote, so it is "기본 모델", not the
    MODEL_NAME setting (``base`` keeps which base it was)."""
    row = db.session.scalar(
        select(ModelVersion).where(ModelVersion.story_id.is_(None), ModelVersion.base == base)
        .order_by(ModelVersion.id).limit(1)
    )
    if row is None:
        row = ModelVersion(story_id=None, name=BASE_VERSION_NAME, base=base, path=None,
                           data={}, metrics={})
        db.session.add(row)
        db.session.flush()
    return row


def generation_seed(job_id: int) -> int:
    """The seed of a generation job: its id, so that every round and every retry (a new job)
    samples afresh, and what a job wrote can be written again. GENERATION_SEED shifts every
    job's seed, for a site whose job ids start over (a test database)."""
    shift = current_app.config.get("GENERATION_SEED")
    return (int(shift) if shift not in (None, "") else 0) * 2**32 + job_id
