"""What the community's services share: the scope of a write to a collective's business, and its request.

A write to one community's (or village's) business is scoped to that org: the actor may change it, and it
keeps collective books; its keys are the org's. What a retry must repeat is the service's own arguments
(``asked``), never a door's path or form, so one key is answered once whichever door it comes through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, fields, is_dataclass
from datetime import date
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Connection

from ledger.access.auth import Principal
from ledger.access.service import Write, org_keys
from ledger.books.periods import parse_period
from ledger.community.leases import contracts as leases
from ledger.community.messages import EntryRef, dump

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def collective(actor: Principal, org_id: int) -> Callable[[Connection], None]:
    """The scope of a write to one collective org: the actor may change it, and it keeps collective books."""

    def scope(conn: Connection) -> None:
        actor.require_org(conn, org_id, write=True)
        leases.require_collective(conn, org_id)

    return scope


def covered(actor: Principal, org_id: int) -> Callable[[Connection], list[int]]:
    """The scope of a run over an org or a street: every collective org below it the actor may change."""
    return lambda conn: leases.collective_orgs_for(conn, actor, org_id, write=True)


def run_through(
    actor: Principal,
    org_id: int,
    action: str,
    through: str,
    *,
    request: str,
    run: Callable[[Connection, list[int]], T],
    answer: Callable[[T], Any],
    detail: Callable[[T], str | None],
) -> Write[T]:
    """A monthly run through ``through`` (YYYY-MM) over the org, or every collective org of its street (or
    county) the actor may change: ``run`` gets those orgs; a rerun posts nothing. The month is read after
    the scope, so an outsider is told 404 whatever it sends."""
    orgs = covered(actor, org_id)

    def run_covered(conn: Connection) -> T:
        parse_period(through, "through")
        return run(conn, orgs(conn))

    return Write(
        action=action,
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=orgs,
        run=run_covered,
        answer=answer,
        request={request: [org_id, through]},
        detail=detail,
        status=200,
    )


def plain(value: Any) -> Any:
    """A service's arguments as JSON data (dates as ISO days, choices as their values)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def fields_of(record: Any) -> list[Any]:
    """A record's fields in their order: what a retry with the record must repeat."""
    return [getattr(record, f.name) for f in fields(record)]


def on_collective(
    actor: Principal,
    org_id: int,
    action: str,
    *,
    asked: list[Any],
    run: Callable[[Connection], M],
    detail: Callable[[M], str | None] | str = "",
    status: int = 201,
) -> Write[M]:
    """A write to one collective org's business that answers a message model's JSON."""
    return Write(
        action=action,
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=collective(actor, org_id),
        run=run,
        answer=dump,
        request={action: plain([org_id, *asked])},
        detail=detail,
        status=status,
    )


def records_one(
    actor: Principal,
    org_id: int,
    action: str,
    record: Callable[..., int],
    *args: Any,
    terms: dict[str, Any],
    key: str | None,
    detail: str,
    answer: Callable[[int], M],
) -> Write[M]:
    """A write to one collective org that records one thing, ``record(conn, org_id, *args, **terms)`` with
    the door's ``key`` kept on it, and answers ``answer(its id)``. A retry must repeat ``args`` and
    ``terms``."""

    def run(conn: Connection) -> M:
        return answer(record(conn, org_id, *args, **terms, idempotency_key=key, user_id=actor.recorded_id))

    return on_collective(actor, org_id, action, asked=[*args, *terms.values()], run=run, detail=detail)


def entry_ref(entry_id: int) -> EntryRef:
    """The answer of a write that posted one entry (``records_one``'s ``answer``)."""
    return EntryRef(entry_id=entry_id)
