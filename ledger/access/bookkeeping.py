"""Services over the books themselves (an org, its accounts, closing and reopening a month, vouchers): each
returns the ``Write`` that a door carries out with ``ledger.access.service.perform`` — scope, key, write,
audit — so the API, the pages and the CLI do the same, and answer the same JSON (a retry under one key is
answered once, whichever door it comes through)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Connection, select

from ledger.access.auth import Principal
from ledger.access.service import Write, org_keys, org_write
from ledger.books import checkpoints, periods, posting
from ledger.books import orgs as org_books
from ledger.books.journal import get_entry
from ledger.books.orgs import require_books
from ledger.books.posting import Draft, Posted, post_entries
from ledger.db.models import Account

account_t = Account.__table__

T = TypeVar("T")


def close_period(
    actor: Principal, org_id: int, period: str, *, including: Sequence[str] = ()
) -> Write[list[str]]:
    """结账: close ``period``, and first the open months before it that ``including`` names (never others),
    for an officer of the org's street. The answer lists every month closed.

    Each month closed gets its signed checkpoint (``ledger.books.checkpoints``) in the same transaction;
    without the signing key the close is refused before anything is written (``SigningKeyMissing``),
    except in development mode."""

    def run(conn: Connection) -> list[str]:
        periods.parse_period(period)  # after the scope: an outsider is told 404 whatever it sends
        # Imported here: the key's cryptography is needed by a close, not by every door's start-up.
        from ledger.access.signing_key import key_for_close

        key = key_for_close(conn.engine.url.render_as_string(hide_password=False))
        closed = periods.close_period(conn, org_id, period, user_id=actor.recorded_id, including=including)
        if key is not None:
            for month in closed:
                checkpoints.sign_close(conn, org_id, month, key.sign, key.public_bytes)
        return closed

    return org_write(
        actor,
        org_id,
        "period.close",
        run=run,
        answer=lambda closed: {
            "org_id": org_id,
            "period": period,
            "status": "closed",
            "closed_through": period,
            "closed": closed,
        },
        request={"close": [org_id, period, sorted(including)]},
        detail=period if not including else f"{period} (with {', '.join(sorted(including))})",
        status=200,
    )


def period_json(conn: Connection, org_id: int, period: str) -> dict[str, Any]:
    """A month as every door shows it: open or closed, and how far the org's books are closed."""
    return {
        "org_id": org_id,
        "period": period,
        "status": periods.period_status(conn, org_id, period),
        "closed_through": periods.closed_through(conn, org_id),
    }


def reopen_period(actor: Principal, org_id: int, period: str, *, reason: str) -> Write[str]:
    """反结账: reopen the latest closed month, for an admin, with the reason recorded."""

    def scope(conn: Connection) -> None:
        actor.require_org(conn, org_id, write=True)
        periods.check_reopen_right(actor.role)

    def run(conn: Connection) -> str:
        periods.parse_period(period)  # after the scope: an outsider is told 404/403 whatever it sends
        periods.reopen_period(conn, org_id, period, user_id=actor.recorded_id, role=actor.role, reason=reason)
        return period

    return org_write(
        actor,
        org_id,
        "period.reopen",
        scope=scope,
        run=run,
        view=lambda conn, month: period_json(conn, org_id, month),
        answer=lambda shown: shown,
        request={"reopen": [org_id, period, reason]},
        detail=f"{period}: {reason}",
        status=200,
    )


# ---- an org and its chart --------------------------------------------------------------------------------


def org_json(conn: Connection, org_id: int) -> dict[str, Any]:
    row = org_books.get_org(conn, org_id)
    return {
        "id": row.id,
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "standard": row.standard,
        "parent_id": row.parent_id,
        "street_id": row.street_id,
    }


def accounts_json(conn: Connection, org_id: int, code: str | None = None) -> list[dict[str, Any]]:
    """The org's chart (or the one account ``code``) as every door shows it."""
    rows = conn.execute(
        select(account_t).where(account_t.c.org_id == org_id).order_by(account_t.c.code)
    ).all()
    by_id = {r.id: r for r in rows}
    parents = {r.parent_id for r in rows if r.parent_id is not None}
    return [
        {
            "id": r.id,
            "code": r.code,
            "name": r.name,
            "account_class": r.account_class,
            "normal_side": r.normal_side,
            "parent_code": by_id[r.parent_id].code if r.parent_id else None,
            "level": r.level,
            "is_closed": r.is_closed,
            "is_leaf": r.id not in parents,
        }
        for r in rows
        if code is None or r.code == code
    ]


def create_org(
    actor: Principal,
    *,
    code: str,
    name: str,
    kind: str,
    parent_id: int | None = None,
    standard: str | None = None,
) -> Write[int]:
    """A new org below ``parent_id`` (an officer: below their street) with its statutory chart; a top-level
    org is the admin's."""

    def scope(conn: Connection) -> None:
        if parent_id is None:
            actor.require_role("admin")
        else:
            actor.require_org(conn, parent_id, write=True)

    asked = {"code": code, "name": name, "kind": kind, "parent_id": parent_id, "standard": standard}
    return Write(
        action="org.create",
        keyspace=org_keys(parent_id) if parent_id is not None else "county",
        org_id=parent_id,
        scope=scope,
        run=lambda conn: org_books.create_org(
            conn, code=code, name=name, kind=kind, parent_id=parent_id, standard=standard
        ),
        view=org_json,
        answer=lambda shown: shown,
        request={"org": asked},
        detail=lambda new_id: f"org {new_id}: {code} {name} ({kind})",
    )


def add_account(
    actor: Principal, org_id: int, *, parent_code: str, name: str, code: str | None = None
) -> Write[str]:
    """增设明细科目: a sub-account under ``parent_code`` (its code the parent's plus the next free pair)."""
    return org_write(
        actor,
        org_id,
        "account.create",
        run=lambda conn: org_books.add_sub_account(conn, org_id, parent_code, name, code),
        view=lambda conn, made: accounts_json(conn, org_id, made)[0],
        answer=lambda shown: shown,
        request={"account": [org_id, parent_code, name, code]},
        detail=lambda made: f"{made} {name}",
    )


def close_account(actor: Principal, org_id: int, code: str) -> Write[str]:
    """停用科目: an account with a zero balance keeps its history and takes no new postings."""

    def run(conn: Connection) -> str:
        org_books.close_account(conn, org_id, code)
        return code

    return org_write(
        actor,
        org_id,
        "account.close",
        run=run,
        view=lambda conn, closed: accounts_json(conn, org_id, closed)[0],
        answer=lambda shown: shown,
        request={"close_account": [org_id, code]},
        detail=code,
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
        posted = post_entries(conn, [draft], user_id=actor.user_id, entered=True)[0]
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


def post_batch(actor: Principal, drafts: Sequence[Draft]) -> Write[list[Posted]]:
    """批量记账: many entries, all or nothing, each under its own key (an entry posted before under its key
    is found again, not posted twice); the actor must be allowed to change every org they reach."""

    def scope(conn: Connection) -> None:
        for org_id in sorted({d.org_id for d in drafts}):
            require_books(actor.require_org(conn, org_id, write=True))

    return Write(
        action="entry.bulk",
        keyspace="bulk",
        scope=scope,
        run=lambda conn: post_entries(conn, drafts, user_id=actor.recorded_id, entered=True),
        answer=lambda posted: {
            "posted": sum(p.created for p in posted),
            "entries": [{"id": p.id, "voucher_no": p.voucher_no, "created": p.created} for p in posted],
        },
        request=None,
        detail=lambda posted: (
            f"{sum(p.created for p in posted)} of {len(posted)} entries"
            if any(p.created for p in posted)
            else None
        ),
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

    return org_write(
        actor,
        org_id,
        "entry.reverse",
        scope=scope,
        run=run,
        answer=lambda result: result[1],
        request=request,
        detail=_vouchers,
        status=_created,
    )
