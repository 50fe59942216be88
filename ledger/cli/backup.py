"""``cunshe backup`` and ``cunshe restore``: a consistent copy of the whole books, and back.

SQLite uses the online backup API (a consistent snapshot while the server keeps writing). PostgreSQL uses
``pg_dump --format=custom`` and ``pg_restore``, which load the data before creating triggers and foreign
keys, so the journal's guards do not fire on restore. A restore only goes into an empty database: it never
merges into or overwrites live books. Prove a restore with ``cunshe verify``: the chain heads must match.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url

from ledger.books.errors import Conflict, LedgerError, ValidationError


def _libpq_url(engine: Engine) -> str:
    url = make_url(engine.url.render_as_string(hide_password=False)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise LedgerError(f"{name} is not installed (Debian: postgresql-client)", code="tool_missing")
    return path


def _copy_sqlite(src: sqlite3.Connection, dst: sqlite3.Connection) -> None:
    """Copy every page of ``src`` into ``dst`` with SQLite's online backup (a consistent snapshot), then close
    both."""
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def backup(engine: Engine, out: Path) -> Path:
    """Write a backup of the database behind ``engine`` to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        src_path = engine.url.database
        if not src_path or src_path == ":memory:":
            raise ValidationError("only a SQLite file can be backed up", field="db")
        _copy_sqlite(sqlite3.connect(src_path), sqlite3.connect(out))
        return out
    subprocess.run(
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--file",
            str(out),
            _libpq_url(engine),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def _is_empty(engine: Engine) -> bool:
    return not inspect(engine).get_table_names()


def restore(engine: Engine, source: Path) -> None:
    """Restore ``source`` into the EMPTY database behind ``engine``."""
    if not source.exists():
        raise ValidationError(f"no backup file {source}", field="file")
    if not _is_empty(engine):
        raise Conflict("restore goes only into an empty database; create a new one", field="db")
    if engine.dialect.name == "sqlite":
        _copy_sqlite(
            sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(engine.url.database or "")
        )
        return
    proc = subprocess.run(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--dbname",
            _libpq_url(engine),
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise LedgerError(f"pg_restore failed: {proc.stderr.strip()[:500]}", code="restore_failed")
