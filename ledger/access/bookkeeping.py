"""Services over the books themselves (closing a month …): each returns the ``Write`` that a door carries out
with ``ledger.access.service.perform`` — scope, key, write, audit — so the API and the pages do the same."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Connection

from ledger.access.auth import Principal
from ledger.access.service import Write, org_keys
from ledger.books import checkpoints, periods, posting
from ledger.books.journal import get_entry
from ledger.books.orgs import require_books
from ledger.books.posting import Draft, Posted, post_entries

T = TypeVar("T")


def close_period(
    actor: Principal, org_id: int, period: str, *, including: Sequence[str] = ()
) -> Write[list[str]]:
    """结账: close ``period``, and first the open months before it that ``including`` names (never others),
    for an officer of the org's street. The answer lists every month closed.

    Each month closed gets its signed checkpoint (``ledger.books.checkpoints``) in the same transaction;
    without the signing key the close is refused before anything is written (``SigningKeyMissing``),
    except in development mode."""
    periods.parse_period(period)

    def run(conn: Connection) -> list[str]:
        # Imported here: the key's cryptography is needed by a close, not by every door's start-up.
        from ledger.access.signing_key import key_for_close

        key = key_for_close(conn.engine.url.render_as_string(hide_password=False))
        closed = periods.close_period(conn, org_id, period, user_id=actor.recorded_id, including=including)
        if key is not None:
            for month in closed:
                checkpoints.sign_close(conn, org_id, month, key.sign, key.public_bytes)
        return closed

    return Write(
        action="period.close",
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=lambda conn: actor.require_org(conn, org_id, write=True),
        run=run,
        answer=lambda closed: {"period": period, "closed": closed},
        request={"close": [org_id, period, sorted(including)]},
        detail=period if not including else f"{period} (with {', '.join(sorted(including))})",
        status=200,
    )


# ---- 记账凭证: post and reverse (the API's entry routes and the voucher pages carry out these Writes) ----

Posting = tuple[list[Posted], T]
"""What an entry write returns: the entries posted (or found again under their key), and the door's answer."""


def _created(result: Posting[Any]) -> int:
    """201 when the books took a new entry; 200 when they answered with one posted earlier under its key."""
    return 201 if any(p.created for p in result[0]) else 200


def _vouchers(result: Posting[Any]) -> str:
    return ",".join(p.voucher_no for p in result[0])


def post_entry(
    actor: Principal, draft: Draft, *, answer: Callable[[Connection, Posted], T], request: Any
) -> Write[Posting[T]]:
    """填制凭证: post one entry of ``draft.org_id`` for an actor who may change that org's books.

    The door builds the draft (with its idempotency key as the entry's key, the last line of defence), says
    what a retry must repeat (``request``) and how to answer (``answer``, read in the same transaction)."""

    def run(conn: Connection) -> Posting[T]:
        posted = post_entries(conn, [draft], user_id=actor.user_id)[0]
        return [posted], answer(conn, posted)

    return Write(
        action="entry.post",
        keyspace=org_keys(draft.org_id),
        org_id=draft.org_id,
        scope=lambda conn: require_books(actor.require_org(conn, draft.org_id, write=True)),
        run=run,
        answer=lambda result: result[1],
        request=request,
        detail=_vouchers,
        status=_created,
    )


def reverse_entry(
    actor: Principal,
    org_id: int,
    entry_id: int,
    *,
    entry_date: date,
    memo: str | None,
    key: str | None,
    answer: Callable[[Connection, list[Posted]], T],
    request: Any,
) -> Write[Posting[T]]:
    """红字冲销: reverse an entry of ``org_id`` (with every entry linked to it) into an open period; every
    org a link reaches must be one the actor may change."""

    def scope(conn: Connection) -> None:
        actor.require_org(conn, org_id, write=True)
        get_entry(conn, org_id, entry_id)  # 404 unless the entry is this org's

    def run(conn: Connection) -> Posting[T]:
        posted = posting.reverse_entry(
            conn, entry_id, entry_date=entry_date, user_id=actor.user_id, memo=memo, idempotency_key=key
        )
        for p in posted:
            actor.require_org(conn, p.org_id, write=True)  # a link may reach orgs outside the actor's scope
        return posted, answer(conn, posted)

    return Write(
        action="entry.reverse",
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=scope,
        run=run,
        answer=lambda result: result[1],
        request=request,
        detail=_vouchers,
        status=_created,
    )
