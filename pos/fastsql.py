"""Plain SQL for the sale hot path, written once and run through the driver on SQLite and PostgreSQL.

Building and caching a SQLAlchemy statement costs a few hundred microseconds per statement in Python, which
is most of a sale's budget (DESIGN §12); these statements are fixed strings with named parameters
(``:name``, rewritten to ``%(name)s`` for psycopg) run on the connection's own DBAPI cursor, inside its
transaction. They bypass SQLAlchemy's type processing and return plain tuples, so values are bound as the
column types store them (``db_time`` / ``db_date``). Only the hot path (sales, refunds, stock relief, the
till's token lookup) uses this module; everything else stays on Core.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from ledger.db.engine import driver_connection

_NAMED = re.compile(r"(?<![:\w]):(\w+)")


class Sql:
    """One statement in both parameter styles."""

    __slots__ = ("pg", "sqlite")

    def __init__(self, text: str) -> None:
        self.sqlite = text
        self.pg = _NAMED.sub(r"%(\1)s", text.replace("%", "%%"))

    def run(self, conn: Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Any:
        """Execute on the DBAPI cursor of ``conn`` (inside its transaction); returns the cursor."""
        sql = self.pg if conn.dialect.name == "postgresql" else self.sqlite
        cursor = driver_connection(conn).cursor()
        dbapi_error = conn.dialect.loaded_dbapi.Error
        try:
            if isinstance(params, Mapping):
                cursor.execute(sql, params)
            else:
                cursor.executemany(sql, list(params))
        except dbapi_error as exc:
            # As SQLAlchemy would raise it (IntegrityError, OperationalError …), so that the callers' retry
            # of a taken idempotency key or a transient lock works the same on both paths.
            raise DBAPIError.instance(sql, params, exc, dbapi_error) from exc
        return cursor


def is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def db_time(conn: Connection, value: datetime) -> Any:
    """A timezone-aware instant as the column stores it (SQLite: SQLAlchemy's naive-UTC text)."""
    utc = value.astimezone(UTC)
    if is_pg(conn):
        return utc
    return utc.strftime("%Y-%m-%d %H:%M:%S.%f")


def db_date(conn: Connection, value: date) -> Any:
    return value if is_pg(conn) else value.isoformat()


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def placeholders(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``:p0, :p1 …`` and their parameters, for an IN list."""
    names = [f"{prefix}{i}" for i in range(len(values))]
    return ", ".join(f":{n}" for n in names), dict(zip(names, values, strict=True))
