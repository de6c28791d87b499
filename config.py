"""Configuration classes, read from environment variables.

Embedded default: SQLite and the Celery broker live under ``instance/`` and need no server.
Production: set DATABASE_URL (PostgreSQL) and REDIS_URL (broker, results and rate-limit
storage); docker-compose.yml sets every variable read here, and nothing else.
"""
import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
# --- Files ---------------------------------------------------------------------------------------
# The site's own files: the SQLite database, the secret key, DATA_DIR and BROKER_DIR by default.
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
    # --- Site -----------------------------------------------------------------------------------
    # Signs sessions and CSRF tokens (run.py keeps a random one in instance/secret_key).
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")

    # Where run.py serves (HOST, read by run.py, says on which address).
    PORT = _int("PORT", 5000)

    # Model versions (models/<story>/..., models/starter) and uploads.
    DATA_DIR = os.environ.get("DATA_DIR", str(INSTANCE_DIR / "data"))

    # The time zone pages are written in; each viewer's browser then shows its own.
    DISPLAY_TIMEZONE = os.environ.get("DISPLAY_TIMEZONE", "Asia/Seoul")

    MAX_CONTENT_LENGTH = 1024 * 1024  # JSON and forms; novel uploads come with their own limit
    # A novel upload (.txt) may be this large; only the upload routes accept a body this big.
    NOVEL_MAX_BYTES = _int("NOVEL_MAX_BYTES", 5 * 1024 * 1024)

    # Characters of an uploaded novel's preview in answers.
    NOVEL_PREVIEW_CHARS = _int("NOVEL_PREVIEW_CHARS", 600)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # "Stay signed in" (the login page always sets it), in days; logout ends it everywhere
    # (User.session_generation).
    REMEMBER_COOKIE_DURATION = timedelta(days=_int("REMEMBER_COOKIE_DAYS", 14))
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the session

    # Proxies in front of the site whose X-Forwarded-For/-Proto are trusted (werkzeug's ProxyFix):
    # 0 when clients reach the site directly (make run), 1 behind one TLS proxy. Rate limits key
    # on the client address, so a wrong count either limits the proxy or lets clients pick theirs.
    PROXY_HOPS = _int("PROXY_HOPS", 0)

    # --- Database and Redis -----------------------------------------------------------------------
    # e.g. postgresql+psycopg://user@host/db
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'relay.sqlite'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = engine_options(SQLALCHEMY_DATABASE_URI)

    # Set in production: Celery broker and results, rate-limit storage, live round updates.
    REDIS_URL = os.environ.get("REDIS_URL") or None

    # Prefix of every Redis key this site writes (broker, results, rate limits).
    REDIS_KEY_PREFIX = os.environ.get("REDIS_KEY_PREFIX", "")

    # PostgreSQL's synchronous_commit for votes (the autocommit pool, app/database.py). "off":
    # a vote is acknowledged before its WAL record reaches the disk. On a slow virtual disk a
    # flush now and then is slow, and every vote committed meanwhile waits for it (bench/site_bench.py
    # shows the difference). The price: if the database server itself crashes, the votes of its
    # last moment may be missing afterwards (never half-written); anyone can vote again. "on"
    # keeps every acknowledged vote.
    VOTE_SYNCHRONOUS_COMMIT = os.environ.get("VOTE_SYNCHRONOUS_COMMIT", "off")

    # --- Limits ------------------------------------------------------------------------------------
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    # Every limit key starts with REDIS_KEY_PREFIX: create_app puts it in front of the storage's
    # own "LIMITS" (app.extensions.init_limiter), for API writes and failed logins too.
    # A Redis restart must not turn every write into a 500: limits fail open while it is away.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # X-RateLimit-* headers on every response cost a second storage round trip per request;
    # a refused request still says when to come back (Retry-After, app/api/errors.py).
    RATELIMIT_HEADERS_ENABLED = False

    # Writes (stories, proposals, uploads) per user, else per address.
    RATELIMIT_WRITE = os.environ.get("RATELIMIT_WRITE", "30/minute;300/hour")

    # Votes per user.
    RATELIMIT_VOTE = os.environ.get("RATELIMIT_VOTE", "60/minute")

    # Sign-ups and other account changes per address.
    RATELIMIT_ACCOUNT = os.environ.get("RATELIMIT_ACCOUNT", "10/minute;50/hour")

    # Failed logins per account, from any address (app/accounts/throttle.py); over it, that
    # account's logins wait.
    RATELIMIT_LOGIN_FAILURES = os.environ.get("RATELIMIT_LOGIN_FAILURES", "5/minute;20/hour")

    # How long each web process remembers a participant's API token (app/accounts/services.py):
    # a token replaced or a user blocked in another process stops working within this time.
    TOKEN_CACHE_SECONDS = float(os.environ.get("TOKEN_CACHE_SECONDS", 5))

    # --- Rounds and jobs ---------------------------------------------------------------------------
    # How often beat enforces deadlines and sweeps jobs.
    ROUND_TICK_SECONDS = float(os.environ.get("ROUND_TICK_SECONDS", 5))

    # Once everyone active in a round has voted, a timed voting or choosing phase ends this many
    # seconds later (time to move a last vote); the tick then moves it on.
    ROUND_EARLY_END_SECONDS = _int("ROUND_EARLY_END_SECONDS", 10)

    # After a failed generation in a round whose voting is timed, the owner or an admin has this
    # many minutes to choose a way out; then the round takes the runner-up by itself.
    ROUND_RECOVERY_MINUTES = _int("ROUND_RECOVERY_MINUTES", 3)

    # A queued or running job with no sign of life for this long is marked failed, so the round
    # can be retried instead of waiting for ever. Longer than the visibility timeout, so that a
    # job lost with its machine is redelivered by Redis before the sweep fails it (0: derived so).
    JOB_STALE_SECONDS = _int("JOB_STALE_SECONDS", 0) or max(1800, visibility_timeout(task_budgets()) + 60)

    # A queued job whose send to the broker failed (broker down) is sent again after this long.
    JOB_RESEND_SECONDS = _int("JOB_RESEND_SECONDS", 30)

    # /healthz wants a worker heartbeat no older than this.
    WORKER_HEARTBEAT_SECONDS = _int("WORKER_HEARTBEAT_SECONDS", 60)

    # The embedded broker's folders (when REDIS_URL is unset).
    BROKER_DIR = os.environ.get("BROKER_DIR", str(INSTANCE_DIR / "broker"))

    # The task budgets, as the site's own settings (app/jobs/kinds.py derives the tasks' limits).
    GENERATION_TIME_LIMIT = GENERATION_TIME_LIMIT
    TRAIN_MAX_MINUTES = TRAIN_MAX_MINUTES
    STARTER_MAX_MINUTES = STARTER_MAX_MINUTES
    TASK_OVERHEAD_SECONDS = TASK_OVERHEAD_SECONDS

    # --- Live rounds -------------------------------------------------------------------------------
    # Story pages open the live round stream (live/, behind the proxy at /api/v1/stories/<id>/live)
    # and poll only when it is lost; off, they poll.
    LIVE_EVENTS = os.environ.get("LIVE_EVENTS", "0") == "1"

    # Where the live round server (python -m live) listens.
    LIVE_HOST = os.environ.get("LIVE_HOST", "127.0.0.1")
    LIVE_PORT = _int("LIVE_PORT", 8001)

    # Where the live server reads the round: the web.
    LIVE_SITE_URL = os.environ.get("LIVE_SITE_URL", "http://127.0.0.1:8000")

    # How often a story's pages get the round at most.
    LIVE_BATCH_SECONDS = _float("LIVE_BATCH_SECONDS", 0.5)

    # How many pages the live server holds; beyond, 204 and the page polls.
    LIVE_MAX_STREAMS = _int("LIVE_MAX_STREAMS", 20000)

    # How often the live server says it is alive on a quiet stream.
    LIVE_HEARTBEAT_SECONDS = _float("LIVE_HEARTBEAT_SECONDS", 15)

    # A polled round's ETag (with Redis: the story's revision) turns over at least this often,
    # for what no change of the story marks (the site's writing speed bounds a proposal's length).
    ROUND_ETAG_SECONDS = _int("ROUND_ETAG_SECONDS", 60)

    # With Redis, the round as everyone sees it is read at most this often per story (each vote
    # moves the revision); a poll's answer is at most this old.
    ROUND_CACHE_SECONDS = _float("ROUND_CACHE_SECONDS", 0.5)

    # --- Model and generation ----------------------------------------------------------------------
    # The base model: "starter" (the site's own), a local folder, or a Hugging Face id in the
    # local cache.
    MODEL_NAME = os.environ.get("MODEL_NAME", "starter")

    # Characters of the story's end that generation gives the model.
    CONTEXT_CHARS = _int("CONTEXT_CHARS", 3000)

    # Shifts the seed of every generation job (each is seeded with its id); set it when job ids
    # start over, as in a test database.
    GENERATION_SEED = os.environ.get("GENERATION_SEED")

    # The seconds per candidate-sentence the web assumes until this site's own jobs have measured
    # it (app/rounds/estimate.py): careful, so a site without history refuses what is surely too
    # long for GENERATION_TIME_LIMIT.
    GENERATION_SECONDS_PER_SENTENCE = _float("GENERATION_SECONDS_PER_SENTENCE", 6.0)

    # torch's threads in a worker process (0: torch's own default, one per core). On a small
    # host shared with the web and the database, one thread wastes less time waiting for cores.
    TORCH_THREADS = _int("TORCH_THREADS", 1)

    # --- Training ----------------------------------------------------------------------------------
    # put_Human_txt: training steps.
    LEARN_STEPS = _int("LEARN_STEPS", 30)

    # put_Human_txt: sentences of the AI's continuation.
    LEARN_SENTENCES = _int("LEARN_SENTENCES", 3)

    # Retrain and preference training: a step budget instead of TRAIN_MAX_MINUTES (tests use a
    # few steps).
    TRAIN_STEPS = _optional_int("TRAIN_STEPS")

    # A retrained version becomes active by itself unless its loss on the story's held-out
    # passages is worse than the active version's by more than this (relative).
    MODEL_ACTIVATE_THRESHOLD = _float("MODEL_ACTIVATE_THRESHOLD", 0.05)

    # Share of the story's latest passages kept out of training to judge a new version.
    HELDOUT_FRACTION = _float("HELDOUT_FRACTION", 0.1)

    # Starter pretrain (MODEL_NAME=starter): how many times it reads the visible novels.
    STARTER_PASSES = _float("STARTER_PASSES", 8)

    # Starter pretrain: a step budget instead of passes (tests and demos).
    STARTER_STEPS = _optional_int("STARTER_STEPS")

    # The starter's StarterConfig: "default", or "tiny" for a seconds-long demo base.
    STARTER_CONFIG = os.environ.get("STARTER_CONFIG", "default")

    # A continued pretrain serves by itself only when its held-out bits per character beat the
    # active base's by more than this (relative); otherwise an admin may still switch to it.
    STARTER_IMPROVE_THRESHOLD = _float("STARTER_IMPROVE_THRESHOLD", 0.01)

    # "auto": the tick goes on training the active base while the site is quiet and its library
    # differs from what the base read; "off": only admins.
    STARTER_IMPROVE = os.environ.get("STARTER_IMPROVE", "auto")

    # How long nobody must have asked for AI writing or training before the tick improves the base.
    STARTER_QUIET_MINUTES = _float("STARTER_QUIET_MINUTES", 30)

    # The passes of such a run (more passes over the same novels do not pay).
    STARTER_IMPROVE_PASSES = _float("STARTER_IMPROVE_PASSES", 4)

    # The judges that rank the AI's candidates (model_server.judges): contexts the base writes for.
    JUDGE_CONTEXTS = _int("JUDGE_CONTEXTS", 800)

    # Held-out contexts that fit the judges' mixing weights.
    JUDGE_HELDOUT_CONTEXTS = _int("JUDGE_HELDOUT_CONTEXTS", 120)

    # Groups the relevance judge learns from.
    JUDGE_RELEVANCE_GROUPS = _int("JUDGE_RELEVANCE_GROUPS", 1500)

    # Preference training from candidate votes: a (chosen, rejected) pair counts when the chosen
    # candidate leads by at least this many votes (blocked users' votes left out).
    PREFERENCE_MIN_MARGIN = _int("PREFERENCE_MIN_MARGIN", 1)

    # Rounds with such pairs a preference job needs.
    PREFERENCE_MIN_ROUNDS = _int("PREFERENCE_MIN_ROUNDS", 4)

    # Share of those rounds, the latest, that judge the new version and are never trained on.
    PREFERENCE_HELDOUT_FRACTION = _float("PREFERENCE_HELDOUT_FRACTION", 0.25)

    # Held-out rounds a preference version's accuracy needs before it counts: over fewer, one
    # round moves it too far, so the held-out passage loss decides alone.
    PREFERENCE_MIN_HELDOUT_ROUNDS = _int("PREFERENCE_MIN_HELDOUT_ROUNDS", 5)

    # --- Queue ---------------------------------------------------------------------------------------
    # The broker's visibility timeout in seconds (0: derived from the budgets); tests set a short
    # one to see a dead worker's job come back.
    CELERY = celery_settings(
        REDIS_URL, Path(BROKER_DIR), ROUND_TICK_SECONDS, key_prefix=REDIS_KEY_PREFIX,
        visibility_seconds=_int("BROKER_VISIBILITY_TIMEOUT", 0) or None,
    )


class ProductionConfig(Config):
    # Session cookies only over https ("0" to try the stack on plain http://localhost).
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


def config_for_env() -> type[Config]:
    return ProductionConfig if os.environ.get("FLASK_ENV_CONFIG") == "production" else Config
