"""Group commit for the till on SQLite: concurrent sales share one transaction, each on its own savepoint.

SQLite has one writer, and on a busy till most of a sale's cost is the transaction around it (BEGIN
IMMEDIATE, the WAL commit), not the sale. Requests that arrive while a transaction is running queue here; the
next transaction takes all of them (up to ``MAX_BATCH``), runs each sale in a savepoint so that a bad one
rolls back alone, commits once, and only then answers each request. So a response still means "committed",
a failing sale still writes nothing, and the cost of a commit is shared by everyone waiting for it.
PostgreSQL has concurrent writers and does not use this. It must never answer a request before its commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ledger.db.engine import driver_connection, run_write

T = TypeVar("T")
MAX_BATCH = 64

Work = Callable[[Connection], Any]


class GroupCommitWriter:
    """One per engine and event loop: a queue of till writes, run in batches on the loop's thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pending: list[tuple[Work, asyncio.Future[Any]]] = []
        self.draining = False
        self.task: asyncio.Task[None] | None = None

    async def submit(self, work: Callable[[Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.pending.append((work, future))
        if not self.draining:
            self.draining = True
            self.task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self.pending:
                await asyncio.sleep(0)  # requests that arrived meanwhile are read now and join this batch
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                # On the loop's own thread: a writer thread would only fight the loop for the GIL, and while a
                # batch runs the next requests wait in the socket buffer, to form the next batch.
                outcomes = self._run([w for w, _ in batch])
                for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self.draining = False

    def _run(self, works: list[Work]) -> list[tuple[bool, Any]]:
        try:
            return run_write(self.engine, lambda conn: [_one(conn, work) for work in works])
        except Exception as exc:  # the commit itself failed: nobody's sale was written
            return [(False, exc)] * len(works)


def _one(conn: Connection, work: Work) -> tuple[bool, Any]:
    """One sale on its own savepoint (plain SQL: SQLAlchemy's nested transaction costs more than the sale)."""
    cursor = driver_connection(conn).cursor()
    for attempt in range(2):
        cursor.execute("SAVEPOINT pos_sale")
        try:
            result = work(conn)
        except IntegrityError as exc:  # an idempotency key taken meanwhile: the second run replays it
            cursor.execute("ROLLBACK TO SAVEPOINT pos_sale")
            cursor.execute("RELEASE SAVEPOINT pos_sale")
            if attempt:
                return False, exc
            continue
        except Exception as exc:  # this sale only; its savepoint is rolled back
            cursor.execute("ROLLBACK TO SAVEPOINT pos_sale")
            cursor.execute("RELEASE SAVEPOINT pos_sale")
            return False, exc
        cursor.execute("RELEASE SAVEPOINT pos_sale")
        return True, result
    raise AssertionError("unreachable")


def writer_for(state: Any, engine: Engine) -> GroupCommitWriter:
    """The app's writer (created on first use and kept on ``app.state``)."""
    writer = getattr(state, "pos_writer", None)
    if writer is None or writer.engine is not engine:
        writer = GroupCommitWriter(engine)
        state.pos_writer = writer
    return writer
