"""Engine set-up and the few database helpers every feature shares."""
import select
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError

from app.extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


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
    that checks and writes at once). On PostgreSQL, while the session holds no transaction,
    it is a pooled connection in autocommit: no BEGIN and COMMIT round trips, which are most of
    the cost of the site's hottest requests (votes). Otherwise it is the session's own
    connection, inside the session's transaction."""
    if db.session().in_transaction() or db.engine.dialect.name != "postgresql":
        yield db.session.connection()
        return
    with db.engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def transaction():
    """Commit what the block wrote, or roll all of it back: nothing half-written stays."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
