"""Configuration classes, read from environment variables.

Embedded default: SQLite and the Celery broker live under ``instance/`` and need no server.
Production: set DATABASE_URL (PostgreSQL) and REDIS_URL (broker and rate-limit storage).
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _optional_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else None


def celery_settings(redis_url: str | None, broker_dir: Path, tick_seconds: float) -> dict:
    """Celery settings (one dict, Flask's Celery pattern). Generation and training go to the
    ``gpu`` queue; the deadline tick to the default queue."""
    settings = {
        "task_ignore_result": True,
        "task_default_queue": "celery",
        "task_routes": {
            "relay.generate_candidates": {"queue": "gpu"},
            "relay.learn_and_continue": {"queue": "gpu"},
            "relay.retrain_story": {"queue": "gpu"},
            "relay.pretrain_starter": {"queue": "gpu"},
        },
        # One long model job at a time per process; a second one waits in the broker, not in a prefetch buffer.
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "beat_schedule": {
            "round-tick": {"task": "relay.tick", "schedule": tick_seconds},
        },
    }
    if redis_url:
        settings["broker_url"] = redis_url
        # Redis redelivers an unacknowledged (acks_late) message after this long.
        settings["broker_transport_options"] = {"visibility_timeout": 3600}
    else:
        queue_dir = broker_dir / "queue"
        settings.update(
            broker_url="relayfs://localhost//",
            broker_transport_options={
                "data_folder_in": str(queue_dir),
                "data_folder_out": str(queue_dir),
                "processed_folder": str(broker_dir / "processed"),
                "control_folder": str(broker_dir / "control"),
                "polling_interval": 0.2,
            },
            # The file broker has no broadcast worth relying on: no remote control, gossip or mingle.
            worker_enable_remote_control=False,
        )
    return settings


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'relay.sqlite'}"
    )
    REDIS_URL = os.environ.get("REDIS_URL") or None
    MODEL_NAME = os.environ.get("MODEL_NAME", "starter")
    DATA_DIR = os.environ.get("DATA_DIR", str(INSTANCE_DIR / "data"))
    BROKER_DIR = os.environ.get("BROKER_DIR", str(INSTANCE_DIR / "broker"))
    PORT = _int("PORT", 5000)

    MAX_CONTENT_LENGTH = 1024 * 1024  # JSON and forms; novel uploads come with their own limit
    # A novel upload (.txt) may be this large; only the upload routes accept a body this big.
    NOVEL_MAX_BYTES = _int("NOVEL_MAX_BYTES", 5 * 1024 * 1024)
    NOVEL_PREVIEW_CHARS = _int("NOVEL_PREVIEW_CHARS", 600)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the session

    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    # X-RateLimit-* headers on every response cost a second storage round trip per request;
    # a refused request still says when to come back (Retry-After, app/api/errors.py).
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_WRITE = os.environ.get("RATELIMIT_WRITE", "30/minute;300/hour")
    RATELIMIT_VOTE = os.environ.get("RATELIMIT_VOTE", "60/minute")
    RATELIMIT_ACCOUNT = os.environ.get("RATELIMIT_ACCOUNT", "10/minute;50/hour")

    ROUND_TICK_SECONDS = float(os.environ.get("ROUND_TICK_SECONDS", 5))
    # A queued or running job with no sign of life for this long is marked failed, so the round
    # can be retried instead of waiting for ever.
    JOB_STALE_SECONDS = _int("JOB_STALE_SECONDS", 1800)
    # /healthz wants a worker heartbeat no older than this.
    WORKER_HEARTBEAT_SECONDS = _int("WORKER_HEARTBEAT_SECONDS", 60)
    # put_Human_txt: training budget and continuation length.
    LEARN_STEPS = _int("LEARN_STEPS", 30)
    LEARN_SENTENCES = _int("LEARN_SENTENCES", 3)
    GENERATION_SEED = os.environ.get("GENERATION_SEED")
    # Retrain (admin): wall-clock budget of the training loop. 2 minutes keeps request ->
    # active version under 3 minutes on 2 CPU cores (bench/retrain_bench.py). TRAIN_STEPS, when
    # set, is a step budget instead (tests use a few steps).
    TRAIN_MAX_MINUTES = _float("TRAIN_MAX_MINUTES", 2.0)
    TRAIN_STEPS = _optional_int("TRAIN_STEPS")
    # Starter pretrain (admin, MODEL_NAME=starter): time budget, or STARTER_STEPS steps, of
    # StarterConfig STARTER_CONFIG ("default", or "tiny" for tests and demos).
    STARTER_MAX_MINUTES = _float("STARTER_MAX_MINUTES", 10.0)
    STARTER_STEPS = _optional_int("STARTER_STEPS")
    STARTER_CONFIG = os.environ.get("STARTER_CONFIG", "default")
    # A retrained version becomes active by itself unless its loss on the story's held-out
    # passages is worse than the active version's by more than this (relative: 0.05 = 5 %).
    MODEL_ACTIVATE_THRESHOLD = _float("MODEL_ACTIVATE_THRESHOLD", 0.05)
    # Share of the story's latest passages kept out of training to judge a new version.
    HELDOUT_FRACTION = _float("HELDOUT_FRACTION", 0.1)

    CELERY = celery_settings(REDIS_URL, Path(BROKER_DIR), ROUND_TICK_SECONDS)


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"


class TestConfig(Config):
    TESTING = True
    RATELIMIT_ENABLED = False
    SECRET_KEY = "test"


def config_for_env() -> type[Config]:
    return ProductionConfig if os.environ.get("FLASK_ENV_CONFIG") == "production" else Config
