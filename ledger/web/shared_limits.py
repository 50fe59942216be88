"""Rate-limit counts every server process sees: a ``limits`` storage in a small SQLite file of its own.

``cunshe serve --workers N`` runs N processes; with the ``limits`` package's memory storage each keeps
its own counts, so a flood spread over the workers gets N times the limit. ``SqliteFileStorage`` keeps the
moving windows' hits in one file on the host (``CUNSHE_LIMITS_FILE``; ``cunshe serve`` makes one in a
temporary directory for the server's run and removes it at exit), which every worker opens: one short
write transaction per counted hit (WAL, no fsync — counts need not survive a crash), ``busy_timeout`` for
the moment another worker holds the lock. It is not the books' database: a login flood must never take
the write lock the tills need. Without the setting (tests, a single process) the counts stay in memory.

Only what ``MovingWindowRateLimiter`` uses is kept in the file; the fixed-window calls (``incr``, ``get``)
work too, as a moving window of their expiry.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from limits.storage import MemoryStorage, Storage
from limits.storage.base import MovingWindowSupport

from ledger.settings import Settings

PRUNE_EVERY_SECONDS = 30.0


class SqliteFileStorage(Storage, MovingWindowSupport):
    """A moving-window ``limits`` storage in the SQLite file ``path``, shared by whoever opens it."""

    # Typed as limits' base class declares it (an instance attribute, though its registry reads the class's).
    STORAGE_SCHEME: list[str] | None = ["cunshe+sqlite"]  # noqa: RUF012

    def __init__(self, uri: str = "", *, path: Path | str | None = None, **options: object) -> None:
        super().__init__(uri or None, wrap_exceptions=False)
        self.path = Path(path if path is not None else uri.removeprefix("cunshe+sqlite://"))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._pruned = 0.0
        with self._conn() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS hit (key TEXT NOT NULL, at REAL NOT NULL, until REAL NOT NULL)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS ix_hit_key_at ON hit (key, at)")
            conn.execute("CREATE INDEX IF NOT EXISTS ix_hit_until ON hit (until)")

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections stay in their thread)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("PRAGMA busy_timeout = 5000")
            self._local.conn = conn
        return conn

    def _window(self, conn: sqlite3.Connection, key: str, expiry: int, now: float) -> tuple[float, int]:
        oldest, count = conn.execute(
            "SELECT MIN(at), COUNT(*) FROM hit WHERE key = ? AND at > ?", (key, now - expiry)
        ).fetchone()
        return (float(oldest) if oldest is not None else now), int(count)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        conn = self._conn()
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")  # count and add under one lock, whichever worker asks
        try:
            if now - self._pruned > PRUNE_EVERY_SECONDS:
                conn.execute("DELETE FROM hit WHERE until < ?", (now,))
                self._pruned = now
            _oldest, count = self._window(conn, key, expiry, now)
            if count + amount > limit:
                conn.execute("COMMIT")
                return False
            conn.executemany("INSERT INTO hit VALUES (?, ?, ?)", [(key, now, now + expiry)] * amount)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        return self._window(self._conn(), key, expiry, time.time())

    # The fixed-window calls, answered from the same hits.
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        conn = self._conn()
        conn.executemany("INSERT INTO hit VALUES (?, ?, ?)", [(key, now, now + expiry)] * amount)
        return self.get(key)

    def get(self, key: str) -> int:
        row = self._conn().execute("SELECT COUNT(*) FROM hit WHERE key = ? AND until > ?", (key, time.time()))
        return int(row.fetchone()[0])

    def get_expiry(self, key: str) -> float:
        row = self._conn().execute("SELECT MAX(until) FROM hit WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row[0] is not None else time.time()

    def check(self) -> bool:
        try:
            self._conn().execute("SELECT 1")
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._conn().execute("DELETE FROM hit").rowcount

    def clear(self, key: str) -> None:
        self._conn().execute("DELETE FROM hit WHERE key = ?", (key,))


def limits_storage(settings: Settings) -> Storage:
    """This server's rate-limit storage: the shared file when one is set, else this process's memory."""
    if settings.limits_file is not None:
        return SqliteFileStorage(path=settings.limits_file)
    return MemoryStorage()
