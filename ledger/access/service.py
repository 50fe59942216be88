"""The one way to write (DESIGN §9): scope → key → write → audit, in that order, in one transaction.

Every state change, from every door — an HTTP route, a web form, a CLI command — is described as a
``Write`` and carried out by ``perform`` with the actor who asked. The order is the point:

1. **scope**: the actor may change this org (or store); otherwise 403/404, before anything else, so another
   org's key is never looked up and its answer never leaks;
2. **key**: a retry under the same key answers what the first request answered and writes nothing; another
   request under the key is a 409 (``ledger.access.idempotency``);
3. **write**: the workflow's own function, which posts only through ``ledger.books.posting``;
4. **audit**: who, what, from where — once, with the write, never for a replay.

Doors stay thin: they parse their input, build the ``Write`` and shape ``Answer.body`` for their user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine

from ledger.access.auth import Principal, audit
from ledger.access.idempotency import Answer, once
from ledger.db.engine import run_write

T = TypeVar("T")


@dataclass(frozen=True)
class Write(Generic[T]):
    """One state change, as every door describes it.

    ``keyspace`` names whose keys these are (``org:24``, ``store:3``); ``scope`` raises unless the actor
    may make this change; ``run`` writes and returns a result that ``answer`` turns into JSON (stored for
    replays); ``request`` is what a retry must repeat (path values and body, as JSON-able data);
    ``status`` is the first answer's HTTP status (a callable of the result where the books replayed an
    entry); ``view``, where a door shows more than the result (the plan after its execution), reads it in
    the same transaction, and ``answer`` then shapes what it read. ``former_requests`` are this request as
    an older fingerprint scheme saw it, so that a key stored before an upgrade is replayed, not refused
    (``ledger.access.idempotency``).

    Where whose keys they are is known only once the scope has found it (a shift's store, a sale's store),
    ``keyspace`` and ``org_id`` are callables of what ``scope`` returned: another store's key is never looked
    up, because the scope has refused first."""

    action: str
    keyspace: str | Callable[[Any], str]
    scope: Callable[[Connection], object]
    run: Callable[[Connection], T]
    answer: Callable[[T], Any]
    request: Any = None
    org_id: int | Callable[[Any], int] | None = None
    detail: Callable[[T], str | None] | str = ""
    status: int | Callable[[T], int] = 201
    keep: Callable[[Any], Any] | None = None  # what a replay shows, where a secret is shown only once
    view: Callable[[Connection, T], Any] | None = None
    former_requests: tuple[Any, ...] = ()


def perform(
    conn: Connection,
    actor: Principal | None,
    write: Write[Any],
    *,
    key: str | None,
    remote_addr: str | None,
    key_field: str = "Idempotency-Key",
) -> Answer:
    """Carry out ``write`` for ``actor`` inside the caller's transaction (see the module docstring)."""
    found = write.scope(conn)
    keyspace = write.keyspace(found) if callable(write.keyspace) else write.keyspace
    org_id = write.org_id(found) if callable(write.org_id) else write.org_id

    def run() -> tuple[Any, int]:
        result = write.run(conn)
        detail = write.detail(result) if callable(write.detail) else write.detail
        if detail is not None:  # None: the write found nothing to do (an empty rerun), so nothing to audit
            audit(conn, actor, write.action, org_id=org_id, detail=detail, remote_addr=remote_addr)
        status = write.status(result) if callable(write.status) else write.status
        return write.answer(write.view(conn, result) if write.view else result), status

    return once(
        conn,
        keyspace=keyspace,
        key=key,
        action=write.action,
        request=write.request,
        run=run,
        keep=write.keep,
        key_field=key_field,
        former=write.former_requests,
    )


def carry_out(
    engine: Engine,
    actor: Principal | None,
    write: Write[Any],
    *,
    key: str | None,
    remote_addr: str | None = None,
) -> Answer:
    """``perform`` in a write transaction of its own (retried on transient lock failures)."""
    return run_write(engine, lambda conn: perform(conn, actor, write, key=key, remote_addr=remote_addr))


def org_keys(org_id: int) -> str:
    return f"org:{org_id}"


def store_keys(store_id: int) -> str:
    return f"store:{store_id}"


def org_write(
    actor: Principal,
    org_id: int,
    action: str,
    run: Callable[[Connection], T],
    *,
    answer: Callable[[Any], Any],
    request: Any,
    detail: Callable[[T], str | None] | str = "",
    status: int | Callable[[T], int] = 201,
    view: Callable[[Connection, T], Any] | None = None,
    scope: Callable[[Connection], object] | None = None,
) -> Write[T]:
    """The common ``Write``: a change to one org's books, under that org's keys, by an actor who may change
    them (or who passes ``scope``, which then checks the org itself and whatever else it needs)."""
    return Write(
        action=action,
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=scope or (lambda conn: actor.require_org(conn, org_id, write=True)),
        run=run,
        answer=answer,
        request=request,
        detail=detail,
        status=status,
        view=view,
    )
