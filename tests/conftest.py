"""Fixtures shared by every test package.

The Korean fiction corpus lives outside the repository (the project ships no third-party
text); RELAY_CORPUS_DIR points at it when it is not beside the checkout.
"""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_CANDIDATES = [
    os.environ.get("RELAY_CORPUS_DIR"),
    REPO_ROOT.parent / "shared" / "corpus",
    "/work/shared/corpus",
]


def find_corpus() -> Path:
    for candidate in CORPUS_CANDIDATES:
        if candidate and (Path(candidate) / "novels").is_dir():
            return Path(candidate)
    raise RuntimeError(
        "The Korean corpus was not found; set RELAY_CORPUS_DIR to the folder holding novels/ "
        "and encodings/ (tried: %s)" % ", ".join(str(c) for c in CORPUS_CANDIDATES if c)
    )


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return find_corpus()


@pytest.fixture(scope="session")
def novels_dir(corpus_dir) -> Path:
    return corpus_dir / "novels"


@pytest.fixture(scope="session")
def encodings_dir(corpus_dir) -> Path:
    return corpus_dir / "encodings"


@pytest.fixture(scope="session")
def tiny_base_novels(novels_dir) -> list[Path]:
    return [novels_dir / name for name in ("46_Sunrise.txt", "36_Presence.txt", "17_Good_Sentences.txt")]


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory, tiny_base_novels) -> Path:
    """A starter base pretrained for seconds on three corpus novels (nothing is downloaded).
    It writes Korean-looking text, which is all the model and relay tests need."""
    from model_server.starter import StarterConfig, pretrain

    out = tmp_path_factory.mktemp("bases") / "starter"
    steps = int(os.environ.get("RELAY_TEST_STARTER_STEPS", 150))
    return pretrain(tiny_base_novels, out, steps=steps, seed=0, config=StarterConfig.tiny())


def services_required() -> bool:
    """CI sets REQUIRE_SERVICES=1: a missing PostgreSQL or Redis then fails instead of skipping."""
    return os.environ.get("REQUIRE_SERVICES") == "1"


def missing_service(reason: str):
    if services_required():
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def reachable_redis() -> str:
    """The test Redis's URL; skips the test (fails it under REQUIRE_SERVICES=1) when it does not answer."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception:
        missing_service(f"Redis is not running at {REDIS_URL}")
    return REDIS_URL


# --- The web site: app, client, runner, db; a fresh database per test ------------------------
# SQLite: the migrations run once into a template file that each test copies. PostgreSQL
# (tests marked ``postgres``): a schema of its own per test, migrated from scratch. Either way
# the tables come from the Alembic migrations, never from create_all.

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def site_config(tmp_path: Path, database_url: str, **overrides) -> dict:
    from config import celery_settings

    broker_dir = tmp_path / "broker"
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "BROKER_DIR": str(broker_dir),
        "MODEL_NAME": "starter",
        "REDIS_URL": None,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "CELERY": celery_settings(None, broker_dir, 5),
    }
    config.update(overrides)
    return config


def migrate_database(config: dict) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    app = create_app(config)
    with app.app_context():
        upgrade()
        db.engine.dispose()


def postgres_available() -> bool:
    try:
        import psycopg

        psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3").close()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "relay.sqlite"
    migrate_database(site_config(folder, f"sqlite:///{path}"))
    return path


@pytest.fixture
def pg_schema():
    """A PostgreSQL schema of its own, dropped afterwards; yields the database URL for it."""
    if not postgres_available():
        missing_service("PostgreSQL is not running at 127.0.0.1:5432")
    import uuid

    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def database_url(request, tmp_path, sqlite_template):
    if request.node.get_closest_marker("postgres"):
        url = request.getfixturevalue("pg_schema")
        migrate_database(site_config(tmp_path, url))
        return url
    import shutil

    path = tmp_path / "relay.sqlite"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def site_overrides() -> dict:
    """Override in a test module (or parametrize) to change the app's configuration."""
    return {}


@pytest.fixture
def app(tmp_path, database_url, site_overrides):
    from app import create_app
    from app.database import dispose_engines
    from app.extensions import db as _db

    app = create_app(site_config(tmp_path, database_url, **site_overrides))
    yield app
    with app.app_context():
        _db.session.remove()
    dispose_engines(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    """The Flask-SQLAlchemy extension inside an app context of the test's app."""
    from app.extensions import db as _db

    with app.app_context():
        yield _db
        _db.session.remove()


@pytest.fixture
def live_server(app):
    """The test's app served over real HTTP from a thread; yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
