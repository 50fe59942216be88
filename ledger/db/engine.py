"""Engines and transactions for SQLite (embedded default) and PostgreSQL (production).

SQLite: WAL, foreign keys on, a busy timeout, and every write transaction begins ``IMMEDIATE`` so that the
write lock is taken up front (no read-then-upgrade deadlocks). Inside one process writers also queue on a
lock, which beats SQLite's sleeping busy handler on tail latency. PostgreSQL: READ COMMITTED, with the
row locks the posting code takes. A lock timeout, deadlock or serialisation failure is retried a few times,
then surfaces as ``Busy`` (HTTP 503 + Retry-After), never as a raw database error.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Select, create_engine, event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, OperationalError

from ledger.books.errors import Busy, TimeLimit

T = TypeVar("T")
S = TypeVar("S", bound="Select[Any]")

_WRITE_LOCKS: dict[str, threading.Lock] = {}


def _bind_null(value: None) -> None:
    return None


# sqlite3 binds None only after looking for an adapter and asking the protocol and the object for one
# (each miss formats an AttributeError): ~0.4 µs per NULL, and a posted entry binds a dozen. Registered,
# None is one registry hit, and it still binds as NULL.
sqlite3.register_adapter(type(None), _bind_null)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the URL uses."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": 10, "check_same_thread": False, "isolation_level": None},
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: DBAPIConnection, _record: object) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")  # x 5 attempts in run_write, then a 503 with Retry-After
            # The books outgrow SQLite's default 2 MB page cache quickly; posting then slows as they grow.
            cur.execute("PRAGMA cache_size=-131072")  # 128 MB, allocated only as pages are read
            cur.execute("PRAGMA mmap_size=1073741824")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    # A writer blocked on a row lock gives up after 10 s (SQLSTATE 55P03), which run_write retries and then
    # answers 503 + Retry-After, instead of waiting for ever behind a stuck transaction.
    # (a DATABASE_URL that sets ``?options=…`` itself keeps its own settings).
    own_options = "options" in make_url(url).query
    return create_engine(
        url,
        echo=echo,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={} if own_options else {"options": "-c lock_timeout=10000"},
    )


def locking(conn: Connection, stmt: S, lock: bool = True) -> S:
    """``stmt``, holding the rows it reads until the transaction ends when ``lock`` (``FOR UPDATE`` on
    PostgreSQL; SQLite's write transaction holds the whole database from its first statement)."""
    return stmt.with_for_update() if lock and conn.dialect.name == "postgresql" else stmt


def is_sqlite(engine_or_conn: Engine | Connection) -> bool:
    return engine_or_conn.dialect.name == "sqlite"


@contextmanager
def read_tx(engine: Engine, *, seconds: float | None = None) -> Iterator[Connection]:
    """A read transaction: a consistent snapshot on both databases.

    With ``seconds``, the transaction's statements stop when that much time has passed since it began
    (PostgreSQL's ``statement_timeout``; SQLite's progress handler), and no statement starts after it:
    a report that would hold a worker longer is refused with ``TimeLimit`` (503) instead."""
    with engine.connect() as conn, conn.begin():
        if seconds is None:
            yield conn
            return
        with _time_limited(conn, seconds):
            yield conn


def driver_connection(conn: Connection) -> DBAPIConnection:
    """The driver's own connection under ``conn`` (sqlite3's or psycopg's), for the few hot paths that
    bypass SQLAlchemy. SQLAlchemy types it optional: it is gone once the connection is invalidated."""
    raw = conn.connection.dbapi_connection
    if raw is None:
        raise RuntimeError("the database connection was invalidated")
    return raw


@contextmanager
def _time_limited(conn: Connection, seconds: float) -> Iterator[None]:
    deadline = time.monotonic() + seconds
    message = f"the request took more than {seconds:.0f} s; ask for a shorter period or fewer orgs"

    def before_statement(*_args: object) -> None:
        if time.monotonic() > deadline:
            raise TimeLimit(message)

    raw = driver_connection(conn)
    sqlite = raw if isinstance(raw, sqlite3.Connection) else None  # pysqlite's, under the sqlite dialect
    if sqlite is not None:
        sqlite.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    else:
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}")
    event.listen(conn, "before_cursor_execute", before_statement)
    try:
        yield
    except DBAPIError as exc:
        cancelled = getattr(exc.orig, "sqlstate", None) == "57014" or "interrupted" in str(exc.orig)
        if cancelled and time.monotonic() > deadline - 0.05:
            raise TimeLimit(message) from None
        raise
    finally:
        event.remove(conn, "before_cursor_execute", before_statement)
        if sqlite is not None:
            sqlite.set_progress_handler(None, 0)


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """One write transaction: everything inside commits together or not at all."""
    if is_sqlite(engine):
        lock = _WRITE_LOCKS.setdefault(str(engine.url), threading.Lock())
        with lock, engine.connect() as conn:
            conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn
    else:
        with engine.connect() as conn, conn.begin():
            yield conn


def _is_transient(exc: DBAPIError) -> bool:
    if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate in {"40001", "40P01", "55P03"}


def run_write(engine: Engine, work: Callable[[Connection], T], *, attempts: int = 5) -> T:
    """Run ``work`` in a write transaction, retrying transient lock failures, then raise ``Busy``."""
    for attempt in range(attempts):
        try:
            with write_tx(engine) as conn:
                return work(conn)
        except DBAPIError as exc:
            if not _is_transient(exc):
                raise
            time.sleep(0.02 * (2**attempt))
    raise Busy("the books are busy; retry shortly")
