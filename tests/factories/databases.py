"""Where a test's database lives: the PostgreSQL server's address, and a fresh copy of the migrated template
(a copied SQLite file, or ``CREATE DATABASE … TEMPLATE``) for the ``engine`` fixture and for tests that need
more than one database."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from ledger.db.engine import make_engine

PG_HOST = os.environ.get("CUNSHE_TEST_PG_HOST", "127.0.0.1")
PG_ADMIN = f"postgresql://postgres@{PG_HOST}:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_counter = itertools.count()


def pg_problem() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


def pg_url(dbname: str) -> str:
    return f"postgresql+psycopg://postgres@{PG_HOST}:5432/{dbname}"


def admin_exec(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def fresh_engine(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if kind == "sqlite":
        path = tmp_path / "books.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    template = request.getfixturevalue("pg_template")
    name = f"cunshe_t_{WORKER}_{os.getpid()}_{next(_counter)}"
    admin_exec(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
    engine = make_engine(pg_url(name))
    yield engine
    engine.dispose()
    admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
