"""Engine set-up and the few database helpers every feature shares."""
import select
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from flask import Flask, current_app
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError

from app.extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


AUTOCOMMIT_ENGINE = "relay.autocommit_engine"


def configure_engines(app: Flask) -> None:
    """Our settings on Flask-SQLAlchemy's engine, and on PostgreSQL a second engine whose
    pooled connections stay in autocommit (see ``autocommit_connection``)."""
    configure_engine(db.engine)
    if db.engine.dialect.name == "postgresql":
        # Its own pool: switching a shared pool's connections in and out of autocommit at
        # every checkout is itself about a tenth of a vote's CPU. Connections open on first use.
        engine = create_engine(db.engine.url, isolation_level="AUTOCOMMIT",
                               **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        configure_engine(engine)
        _set_on_connect(engine, "synchronous_commit", _commit_mode(app.config["VOTE_SYNCHRONOUS_COMMIT"]))
        app.extensions[AUTOCOMMIT_ENGINE] = engine


COMMIT_MODES = ("on", "off", "local", "remote_write", "remote_apply")


def _commit_mode(value: str) -> str:
    mode = str(value).strip().lower()
    if mode not in COMMIT_MODES:
        raise ValueError(f"VOTE_SYNCHRONOUS_COMMIT must be one of {', '.join(COMMIT_MODES)}, not {value!r}")
    return mode


def _set_on_connect(engine: Engine, name: str, value: str) -> None:
    """A session setting on every connection the engine opens (for the connection's life)."""

    @event.listens_for(engine, "connect")
    def _set(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, false)", (name, value))
        if not dbapi_connection.autocommit:
            dbapi_connection.commit()


def dispose_engines(app: Flask, close: bool = True) -> None:
    """Let go of every pooled connection (close=False in a forked child: the parent's
    connections are left to the parent)."""
    with app.app_context():
        db.engine.dispose(close=close)
    autocommit = app.extensions.get(AUTOCOMMIT_ENGINE)
    if autocommit is not None:
        autocommit.dispose(close=close)


def configure_engine(engine: Engine) -> None:
    if engine.dialect.driver == "psycopg":
        event.listen(engine, "checkout", _drop_dead_connection)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record):
        # Let SQLAlchemy emit BEGIN itself (below) instead of pysqlite's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        # Every transaction takes SQLite's write lock up front. A deferred transaction that
        # reads and then writes can fail at once with SQLITE_BUSY_SNAPSHOT (busy_timeout does
        # not help) or act on a phase another process has just changed; IMMEDIATE waits its
        # turn instead. Fine for the embedded single-machine site; production runs PostgreSQL.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _drop_dead_connection(dbapi_connection, _record, _proxy) -> None:
    """Replace a pooled connection the server has hung up on (a restart, a proxy cut, an idle
    timeout) before anyone uses it. pool_pre_ping would ask the server with a round trip on
    every checkout; an idle connection has nothing to read unless the server closed it (or
    sent its last error before closing), so looking at the socket is enough and costs none."""
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the database connection is closed")
    readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    if readable:
        raise DisconnectionError("the database server closed this connection while it was idle")


@contextmanager
def autocommit_connection() -> Iterator[Connection]:
    """A connection for statements that are each atomic by themselves (a lookup, or one upsert
    that checks and writes at once); what they wrote is committed when the block ends.

    On PostgreSQL, while the session holds no transaction, it is a pooled connection in
    autocommit: no BEGIN and COMMIT round trips, which are most of the cost of the site's
    hottest requests (votes). Otherwise it is the session's connection, and the session's
    transaction is committed at the end (on the site's pages it holds only the signed-in
    user, read by Flask-Login)."""
    engine = current_app.extensions.get(AUTOCOMMIT_ENGINE)
    # registry.has(): look without creating a session; most votes never need one.
    if engine is None or (db.session.registry.has() and db.session().in_transaction()):
        with transaction() as session:
            yield session.connection()
        return
    with engine.connect() as connection:
        yield connection


@contextmanager
def transaction():
    """Commit what the block wrote, or roll all of it back: nothing half-written stays."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
