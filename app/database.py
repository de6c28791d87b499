"""Engine set-up and the few database helpers every feature shares."""
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def configure_engine(engine: Engine) -> None:
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


@contextmanager
def transaction():
    """Commit what the block wrote, or roll all of it back: nothing half-written stays."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
