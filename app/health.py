"""GET /healthz: 200 once the database answers and a worker has shown a recent heartbeat.
GET /livez: 200 while this web process serves and reaches the database (the container health
check of a web process, which should not turn unhealthy because a worker is away)."""
import os
import socket
from datetime import timedelta

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select, text

from app.database import utcnow
from app.extensions import db
from app.jobs.models import WorkerHeartbeat

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        last_beat = db.session.scalar(select(func.max(WorkerHeartbeat.updated_at)))
    except Exception as e:  # the database is down: say so instead of a 500 page
        return jsonify({"status": "unavailable", "database": f"error: {type(e).__name__}"}), 503
    max_age = timedelta(seconds=current_app.config["WORKER_HEARTBEAT_SECONDS"])
    worker_ok = last_beat is not None and utcnow() - last_beat <= max_age
    body = {"status": "ok" if worker_ok else "starting", "database": "ok",
            "worker": "ok" if worker_ok else "no recent heartbeat",
            "worker_last_seen": last_beat.isoformat() + "Z" if last_beat else None}
    return jsonify(body), 200 if worker_ok else 503


@bp.route("/livez")
def livez():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as e:
        return jsonify({"status": "unavailable", "database": f"error: {type(e).__name__}"}), 503
    return jsonify({"status": "ok", "database": "ok"}), 200


def last_heartbeat_age() -> float | None:
    """Seconds since the newest worker heartbeat (the tick writes one every ROUND_TICK_SECONDS)."""
    last_beat = db.session.scalar(select(func.max(WorkerHeartbeat.updated_at)))
    return None if last_beat is None else (utcnow() - last_beat).total_seconds()


def beat(name: str | None = None) -> None:
    """Record that this worker process is alive (an upsert by name)."""
    name = name or f"{socket.gethostname()}:{os.getpid()}"
    row = db.session.get(WorkerHeartbeat, name)
    if row is None:
        db.session.add(WorkerHeartbeat(name=name, updated_at=utcnow()))
    else:
        row.updated_at = utcnow()
    db.session.commit()
