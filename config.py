"""Configuration classes, read from environment variables.

Embedded default: SQLite and the Celery broker live under ``instance/`` and need no server.
Production: set DATABASE_URL (PostgreSQL) and REDIS_URL (broker, results and rate-limit
storage); docker-compose.yml sets every variable read here, and nothing else.
"""
import os
from datetime import timedelta
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


# --- Task budgets: the time limits and the broker's visibility timeout derive from these ----
# A story's retrain: its training budget in minutes.
TRAIN_MAX_MINUTES = _float("TRAIN_MAX_MINUTES", 2)
# The starter pretrain and the judges: not a budget (the starter's is passes over the text, the
# same base however busy the host) but a ceiling: a run still going after this long fails and
# replaces nothing.
STARTER_MAX_MINUTES = _float("STARTER_MAX_MINUTES", 120)
# What a training task does around its budget: load the base, write the version, generate the
# continuation that follows put_Human_txt.
TASK_OVERHEAD_SECONDS = _int("TASK_OVERHEAD_SECONDS", 300)
# generate_candidates: K candidates in one batched call; its soft time limit in seconds.
GENERATION_TIME_LIMIT = _int("GENERATION_TIME_LIMIT", 300)
# Between a soft limit (the task fails its job cleanly) and the hard one (the child is killed).
HARD_LIMIT_GRACE_SECONDS = 60


def task_budgets(train_minutes: float = TRAIN_MAX_MINUTES, starter_minutes: float = STARTER_MAX_MINUTES,
                 generation_seconds: int = GENERATION_TIME_LIMIT,
                 overhead_seconds: int = TASK_OVERHEAD_SECONDS) -> dict[str, int]:
    """Soft time limit in seconds of each budget (app/jobs/kinds.py says which task has which).
    A training task gets its loop's budget plus the overhead; the starter pretraining is the
    longest job any worker may run."""
    return {"generation": int(generation_seconds),
            "training": int(train_minutes * 60 + overhead_seconds),
            "starter": int(starter_minutes * 60 + overhead_seconds)}


def visibility_timeout(budgets: dict[str, int]) -> int:
    """Redis redelivers a late-acked message that has not been acknowledged after this many
    seconds. It must outlast the longest job (its hard limit), or a job still running would be
    delivered a second time; a message lost with its worker (a machine gone) waits this long."""
    return max(budgets.values()) + 2 * HARD_LIMIT_GRACE_SECONDS


def celery_settings(redis_url: str | None, broker_dir: Path, tick_seconds: float, *,
                    budgets: dict[str, int] | None = None, key_prefix: str = "",
                    visibility_seconds: int | None = None) -> dict:
    """Celery settings (one dict, Flask's Celery pattern); the tasks' queues and time limits are
    added from the job kinds (app/jobs/kinds.py) when the app starts Celery.

    ``key_prefix`` puts every Redis key of the broker and the results under a prefix (several
    sites, or test runs, on one Redis); ``visibility_seconds`` overrides the derived timeout."""
    settings = {
        "task_ignore_result": True,
        "task_default_queue": "celery",
        # One long model job at a time per process; a second one waits in the broker, not in a
        # prefetch buffer, where another worker can take it. (The gpu tasks ack late.)
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # a broker restart is waited out, not fatal
        "beat_schedule": {
            "round-tick": {"task": "relay.tick", "schedule": tick_seconds},
        },
    }
    if redis_url:
        timeout = visibility_seconds or visibility_timeout(budgets or task_budgets())
        transport = {
            "visibility_timeout": timeout,
            # How often a worker looks for messages whose worker died (kombu's default is every
            # 100 s); a tenth of the timeout, at most every 10 s.
            "unacked_restore_interval": max(1, min(10, timeout // 10)),
            "unacked_restore_throttle": 1,
            "socket_keepalive": True,
            "health_check_interval": 10,
        }
        if key_prefix:
            transport["global_keyprefix"] = key_prefix
        settings.update(
            broker_url=redis_url,
            broker_transport_options=transport,
            result_backend=redis_url,
            result_backend_transport_options={"global_keyprefix": key_prefix} if key_prefix else {},
            result_expires=3600,
        )
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


# --- Web processes (gunicorn.conf.py reads these) and their database pool ------------------
WEB_CONCURRENCY = _int("WEB_CONCURRENCY", 4)      # gunicorn worker processes
GUNICORN_THREADS = _int("GUNICORN_THREADS", 4)    # threads per worker process (gthread)
# Where gunicorn logs each request ("-": standard output); off unless set. Formatting the line
# costs a vote a noticeable share of its CPU, and the TLS proxy in front logs requests anyway.
GUNICORN_ACCESS_LOG = os.environ.get("GUNICORN_ACCESS_LOG") or None


def engine_options(database_url: str) -> dict:
    """SQLAlchemy pool settings for a server database. A gunicorn process serves at most
    GUNICORN_THREADS requests at once, so that many pooled connections (plus a small overflow
    for the odd second session) is all it can use. Each process has two such pools on
    PostgreSQL, the session's and one in autocommit for votes and token lookups (app.database),
    so the server sees at most 2 x WEB_CONCURRENCY x (DB_POOL_SIZE + DB_MAX_OVERFLOW)
    connections from the web; the autocommit pool opens its connections only when used."""
    if database_url.startswith("sqlite"):
        return {}
    return {
        "pool_size": _int("DB_POOL_SIZE", GUNICORN_THREADS),
        "max_overflow": _int("DB_MAX_OVERFLOW", 2),
        "pool_timeout": _int("DB_POOL_TIMEOUT", 10),
        # A connection cut by the server, a proxy or a restart is noticed at checkout and
        # replaced, so the site recovers by itself after the database comes back. That check
        # looks at the socket (app.database), not pool_pre_ping's round trip per request.
        "pool_pre_ping": False,
        "pool_recycle": _int("DB_POOL_RECYCLE", 1800),
    }


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'relay.sqlite'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = engine_options(SQLALCHEMY_DATABASE_URI)
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # Prefix of every Redis key this site writes (broker, results, rate limits).
    REDIS_KEY_PREFIX = os.environ.get("REDIS_KEY_PREFIX", "")
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
    # "Stay signed in" (the login page always sets it); logout ends it everywhere (User.session_generation).
    REMEMBER_COOKIE_DURATION = timedelta(days=_int("REMEMBER_COOKIE_DAYS", 14))
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the session
    # Proxies in front of the site whose X-Forwarded-For/-Proto are trusted (werkzeug's ProxyFix):
    # 0 when clients reach the site directly (make run), 1 behind one TLS proxy. Rate limits key
    # on the client address, so a wrong count either limits the proxy or lets clients pick theirs.
    PROXY_HOPS = _int("PROXY_HOPS", 0)

    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    # Every limit key starts with REDIS_KEY_PREFIX: create_app puts it in front of the storage's
    # own "LIMITS" (app.extensions.init_limiter), for API writes and failed logins too.
    # A Redis restart must not turn every write into a 500: limits fail open while it is away.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # X-RateLimit-* headers on every response cost a second storage round trip per request;
    # a refused request still says when to come back (Retry-After, app/api/errors.py).
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_WRITE = os.environ.get("RATELIMIT_WRITE", "30/minute;300/hour")
    RATELIMIT_VOTE = os.environ.get("RATELIMIT_VOTE", "60/minute")
    RATELIMIT_ACCOUNT = os.environ.get("RATELIMIT_ACCOUNT", "10/minute;50/hour")
    # Failed logins per account, from any address (app/accounts/throttle.py).
    RATELIMIT_LOGIN_FAILURES = os.environ.get("RATELIMIT_LOGIN_FAILURES", "5/minute;20/hour")
    # How long each web process remembers a participant's API token (app/accounts/services.py):
    # a token replaced or a user blocked in another process stops working within this time.
    TOKEN_CACHE_SECONDS = float(os.environ.get("TOKEN_CACHE_SECONDS", 5))
    # PostgreSQL's synchronous_commit for votes (the autocommit pool, app/database.py). "off":
    # a vote is acknowledged before its WAL record reaches the disk. On a slow virtual disk a
    # flush now and then is slow, and every vote committed meanwhile waits for it (bench/site_bench.py
    # shows the difference). The price: if the database server itself crashes, the votes of its
    # last moment may be missing afterwards (never half-written); anyone can vote again. "on"
    # keeps every acknowledged vote.
    VOTE_SYNCHRONOUS_COMMIT = os.environ.get("VOTE_SYNCHRONOUS_COMMIT", "off")

    ROUND_TICK_SECONDS = float(os.environ.get("ROUND_TICK_SECONDS", 5))
    # Once everyone active in a round has voted, a timed voting or choosing phase ends this many
    # seconds later (time to move a last vote); the tick then moves it on.
    ROUND_EARLY_END_SECONDS = _int("ROUND_EARLY_END_SECONDS", 10)
    # A queued or running job with no sign of life for this long is marked failed, so the round
    # can be retried instead of waiting for ever. Longer than the visibility timeout, so that a
    # job lost with its machine is redelivered by Redis before the sweep fails it (0: derived so).
    JOB_STALE_SECONDS = _int("JOB_STALE_SECONDS", 0) or max(1800, visibility_timeout(task_budgets()) + 60)
    # A queued job whose send to the broker failed (broker down) is sent again after this long.
    JOB_RESEND_SECONDS = _int("JOB_RESEND_SECONDS", 30)
    # /healthz wants a worker heartbeat no older than this.
    WORKER_HEARTBEAT_SECONDS = _int("WORKER_HEARTBEAT_SECONDS", 60)
    # Story pages open the live round stream (live/, behind the proxy at /api/v1/stories/<id>/live)
    # and poll only when it is lost; off, they poll.
    LIVE_EVENTS = os.environ.get("LIVE_EVENTS", "0") == "1"
    # The live round server (python -m live): where it listens, where it reads the round (the
    # web), how often a story's pages get it at most, how many pages it holds (then 204: the
    # page polls), and how often it says it is alive on a quiet stream.
    LIVE_HOST = os.environ.get("LIVE_HOST", "127.0.0.1")
    LIVE_PORT = _int("LIVE_PORT", 8001)
    LIVE_SITE_URL = os.environ.get("LIVE_SITE_URL", "http://127.0.0.1:8000")
    LIVE_BATCH_SECONDS = _float("LIVE_BATCH_SECONDS", 0.5)
    LIVE_MAX_STREAMS = _int("LIVE_MAX_STREAMS", 20000)
    LIVE_HEARTBEAT_SECONDS = _float("LIVE_HEARTBEAT_SECONDS", 15)
    # A polled round's ETag (with Redis: the story's revision) turns over at least this often,
    # for what no change of the story marks (the site's writing speed bounds a proposal's length).
    ROUND_ETAG_SECONDS = _int("ROUND_ETAG_SECONDS", 60)
    # With Redis, the round as everyone sees it is read at most this often per story (each vote
    # moves the revision); a poll's answer is at most this old.
    ROUND_CACHE_SECONDS = _float("ROUND_CACHE_SECONDS", 0.5)
    # put_Human_txt: training budget and continuation length.
    LEARN_STEPS = _int("LEARN_STEPS", 30)
    LEARN_SENTENCES = _int("LEARN_SENTENCES", 3)
    GENERATION_SEED = os.environ.get("GENERATION_SEED")
    # generate_candidates' soft time limit (seconds), which the web checks requests against, and
    # the seconds per candidate-sentence it assumes until this site's own jobs have measured it
    # (app/rounds/estimate.py): careful, so a site without history refuses what is surely too long.
    GENERATION_TIME_LIMIT = GENERATION_TIME_LIMIT
    GENERATION_SECONDS_PER_SENTENCE = _float("GENERATION_SECONDS_PER_SENTENCE", 6.0)
    # After a failed generation in a round whose voting is timed, the owner or an admin has this
    # many minutes to choose a way out; then the round takes the runner-up by itself.
    ROUND_RECOVERY_MINUTES = _int("ROUND_RECOVERY_MINUTES", 3)
    # The time zone pages are written in; each viewer's browser then shows its own.
    DISPLAY_TIMEZONE = os.environ.get("DISPLAY_TIMEZONE", "Asia/Seoul")
    # Retrain and preference training (admin): wall-clock budget of the training loop
    # (bench/retrain_bench.py measures request -> active version). TRAIN_STEPS, when set, is a
    # step budget instead (tests use a few steps).
    TRAIN_MAX_MINUTES = TRAIN_MAX_MINUTES
    TRAIN_STEPS = _optional_int("TRAIN_STEPS")
    # Starter pretrain (MODEL_NAME=starter): STARTER_PASSES readings of the visible novels (or
    # STARTER_STEPS steps, for tests and demos) of StarterConfig STARTER_CONFIG ("default", or
    # "tiny"); STARTER_MAX_MINUTES is only the ceiling of the task's time limits.
    STARTER_MAX_MINUTES = STARTER_MAX_MINUTES
    TASK_OVERHEAD_SECONDS = TASK_OVERHEAD_SECONDS
    STARTER_PASSES = _float("STARTER_PASSES", 8)
    STARTER_STEPS = _optional_int("STARTER_STEPS")
    STARTER_CONFIG = os.environ.get("STARTER_CONFIG", "default")
    # A continued pretrain serves by itself only when its held-out bits per character beat the
    # active base's by more than this (relative); otherwise an admin may still switch to it.
    STARTER_IMPROVE_THRESHOLD = _float("STARTER_IMPROVE_THRESHOLD", 0.01)
    # "auto": the tick continues the active base for STARTER_IMPROVE_PASSES passes once the
    # library differs from what it read and no AI writing or training job has been asked for in
    # STARTER_QUIET_MINUTES (more passes over the same novels do not pay); "off": only admins.
    STARTER_IMPROVE = os.environ.get("STARTER_IMPROVE", "auto")
    STARTER_QUIET_MINUTES = _float("STARTER_QUIET_MINUTES", 30)
    STARTER_IMPROVE_PASSES = _float("STARTER_IMPROVE_PASSES", 4)
    # The judges that rank the AI's candidates (model_server.judges): how many contexts the base
    # writes for, how many held-out ones fit the mixing weights, how many relevance groups.
    JUDGE_CONTEXTS = _int("JUDGE_CONTEXTS", 800)
    JUDGE_HELDOUT_CONTEXTS = _int("JUDGE_HELDOUT_CONTEXTS", 120)
    JUDGE_RELEVANCE_GROUPS = _int("JUDGE_RELEVANCE_GROUPS", 1500)
    # torch's threads in a worker process (0: torch's own default, one per core). On a small
    # host shared with the web and the database, one thread wastes less time waiting for cores.
    TORCH_THREADS = _int("TORCH_THREADS", 1)
    # A retrained version becomes active by itself unless its loss on the story's held-out
    # passages is worse than the active version's by more than this (relative: 0.05 = 5 %).
    MODEL_ACTIVATE_THRESHOLD = _float("MODEL_ACTIVATE_THRESHOLD", 0.05)
    # Share of the story's latest passages kept out of training to judge a new version.
    HELDOUT_FRACTION = _float("HELDOUT_FRACTION", 0.1)
    # Characters of the story's end that generation gives the model.
    CONTEXT_CHARS = _int("CONTEXT_CHARS", 3000)
    # Preference training from candidate votes: a (chosen, rejected) pair counts when the chosen
    # candidate leads by at least PREFERENCE_MIN_MARGIN votes (blocked users' votes left out); a
    # run needs PREFERENCE_MIN_ROUNDS such rounds, of which the latest PREFERENCE_HELDOUT_FRACTION
    # judge the new version and are never trained on.
    PREFERENCE_MIN_MARGIN = _int("PREFERENCE_MIN_MARGIN", 1)
    PREFERENCE_MIN_ROUNDS = _int("PREFERENCE_MIN_ROUNDS", 4)
    PREFERENCE_HELDOUT_FRACTION = _float("PREFERENCE_HELDOUT_FRACTION", 0.25)
    # Held-out rounds a preference version's accuracy needs before it counts: over fewer, one
    # round moves it by more than 20 points (over one, it is 0 % or 100 %), so the held-out
    # passage loss decides alone.
    PREFERENCE_MIN_HELDOUT_ROUNDS = _int("PREFERENCE_MIN_HELDOUT_ROUNDS", 5)

    CELERY = celery_settings(
        REDIS_URL, Path(BROKER_DIR), ROUND_TICK_SECONDS, key_prefix=REDIS_KEY_PREFIX,
        # Tests set a short one to see a dead worker's job come back; production derives it.
        visibility_seconds=_int("BROKER_VISIBILITY_TIMEOUT", 0) or None,
    )


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE



def config_for_env() -> type[Config]:
    return ProductionConfig if os.environ.get("FLASK_ENV_CONFIG") == "production" else Config
