"""Ready tuples straight through the driver: the bulk steps' hot path (DESIGN §12).

Posting's lines and entries, imported statement lines, proposed matches and lease charges go in by the
10⁵. PostgreSQL: ``COPY … FROM STDIN`` (values travel as text, so an aware datetime bound for a column
without time zone would keep its wall time: none is); where a suffix such as ``ON CONFLICT`` asks for an
INSERT, one ``executemany``, which psycopg pipelines. SQLite: as many rows per statement as 32,766
parameters take (or the build's own lower limit), in order. A statement on a table with triggers or
foreign keys keeps a statement journal (a copy of each page it changes, so that it can be undone alone);
with one statement per row every row paid that and the statement's set-up again, which cost more than the
guards' own checks.

``insert_id`` is the one-row case a workflow's register writes: one INSERT, the new row's id back.
"""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.exc import DBAPIError

from ledger.db.engine import driver_connection

SQLITE_MAX_PARAMS = 32_766  # parameters a SQLite statement takes by default since 3.32 (999 before)
SQLITE_OLD_MAX_PARAMS = 999  # what every build takes
IN_CHUNK = 500  # values in one ``IN (…)`` list read through ``driver_rows`` (well under 999 with the rest)


def driver_run(
    conn: Connection, sql: str, params: Sequence[Any] | list[Sequence[Any]] = (), *, many: bool = False
) -> None:
    """``sql`` (``?`` placeholders, psycopg's ``%s`` on PostgreSQL) with ``params`` on the driver's own
    cursor, in the caller's transaction, its cursor closed after it; ``many``: ``params`` is a list of
    rows (``executemany``). A statement whose rows are wanted goes through ``driver_rows``.

    The hot paths' statements (posting's, the idempotency record, the audit row) go here: building a
    SQLAlchemy Core statement and its cache key per call cost more than running it. No type processing:
    values are bound as the columns store them (dates and instants as ``driver_time`` writes them)."""
    _driver(conn, sql, params, many, fetch=False)


def driver_rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """``driver_run`` for a statement that returns rows: every row, as plain tuples (none for a statement
    that returns none)."""
    return _driver(conn, sql, params, False, fetch=True) or []


def marks(count: int) -> str:
    """``count`` placeholders for an ``IN (…)`` list in ``driver_run``'s style: ``?, ?, ?``."""
    return ", ".join("?" * count)


def _driver(conn: Connection, sql: str, params: Any, many: bool, *, fetch: bool) -> Any:
    if conn.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    if not conn.in_transaction():
        conn.begin()  # what SQLAlchemy's own first statement would do (SQLite's BEGIN comes from its event)
    cursor = driver_connection(conn).cursor()
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        return cursor.fetchall() if fetch and cursor.description is not None else None
    except dbapi_error as exc:
        # As SQLAlchemy would raise it (IntegrityError, OperationalError …), so the callers' handling of a
        # taken key and ``run_write``'s retry of a transient lock are the same on both paths.
        raise DBAPIError.instance(sql, params, exc, dbapi_error) from exc
    finally:
        cursor.close()


def insert_id(conn: Connection, table: Table, /, **values: Any) -> int:
    """INSERT one row of ``values`` into ``table`` (a model's ``__table__``); the new row's ``id``."""
    new_id: int = conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one()
    return new_id


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]], *, suffix: str = ""
) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) into ``table``; ``suffix`` follows each VALUES list
    (e.g. ``ON CONFLICT DO NOTHING``). Table and column names are the caller's constants, never input."""
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    if conn.dialect.name != "sqlite":
        if not suffix:
            _copy_rows(conn, table, columns, rows)
            return
        driver_run(conn, head + "(" + ", ".join(["?"] * len(columns)) + ")" + suffix, rows, many=True)
        return
    per = sqlite_max_params(conn) // len(columns)
    one = "(" + ", ".join("?" * len(columns)) + ")"
    whole = len(rows) - len(rows) % per
    if whole:
        driver_run(
            conn,
            head + ", ".join([one] * per) + suffix,
            [tuple(chain.from_iterable(rows[i : i + per])) for i in range(0, whole, per)],
            many=True,
        )
    if whole < len(rows):
        rest = rows[whole:]
        driver_run(conn, head + ", ".join([one] * len(rest)) + suffix, tuple(chain.from_iterable(rest)))


def sqlite_max_params(conn: Connection) -> int:
    """Parameters one statement may bind on this SQLite build, at most ``SQLITE_MAX_PARAMS``: fewer, longer
    INSERTs mean fewer statement journals and fewer FTS5 segments to merge (each statement writes its
    pending terms as one), ≈ 5 % of posting at 10⁵ entries against 999 parameters."""
    raw = driver_connection(conn)
    try:
        limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except (AttributeError, sqlite3.Error):  # a driver without Python 3.11's getlimit
        return SQLITE_OLD_MAX_PARAMS
    return min(SQLITE_MAX_PARAMS, limit)


def _copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: ``COPY … FROM STDIN`` in the caller's transaction (a third of executemany's server
    time); triggers, constraints and foreign keys apply as to an INSERT. A refusal is raised as SQLAlchemy
    would raise it (IntegrityError, OperationalError …), so the callers' handling of a taken key and
    ``run_write``'s retry of a transient lock are the same on both paths."""
    import psycopg  # loaded already: this is the PostgreSQL path, and psycopg its driver

    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    dbapi_error = conn.dialect.loaded_dbapi.Error
    raw = driver_connection(conn)
    if not isinstance(raw, psycopg.Connection):
        raise TypeError(f"COPY needs psycopg's connection, not {type(raw).__name__}")
    cursor = raw.cursor()
    try:
        with cursor, cursor.copy(statement) as copy:
            write = copy.write_row
            for row in rows:
                write(row)
    except dbapi_error as exc:
        raise DBAPIError.instance(statement, rows[:1], exc, dbapi_error) from exc


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside a bulk step.

    A statement import or a ten-year accrual run allocates 10⁵–10⁶ small tuples and records that live
    until the step ends and form no reference cycles; the cyclic collector walked them again and again for
    nothing (measured: a statement parse 1.4 → 2.2 s CPU, a sixth of an accrual run). Reference counting
    still frees everything. The collector resumes after the step, unless it was off already (then whoever
    turned it off turns it back on)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
