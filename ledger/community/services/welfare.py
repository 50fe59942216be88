"""Public-welfare posts (公益性岗位) and facilities (公益设施) as services: register a post, end it, the
monthly stipend run and one post's month, pay a holder, spend on a facility."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from ledger.access.auth import Principal
from ledger.access.service import Write
from ledger.community import welfare
from ledger.community.accounts import BANK
from ledger.community.messages import EntryRef, PostOut, StipendRunOut, dump, post_out
from ledger.community.services.base import entry_ref, fields_of, on_collective, records_one, run_through


def add_post(actor: Principal, org_id: int, new: welfare.NewPost) -> Write[PostOut]:
    """Register a post and its holder; answers the post with what is owed (nothing yet)."""

    def run(conn: Connection) -> PostOut:
        return post_out(conn, org_id, welfare.create_post(conn, org_id, new))

    detail = f"{new.post} {new.holder}"
    return on_collective(actor, org_id, "welfare.post", asked=fields_of(new), run=run, detail=detail)


def end_post(actor: Principal, org_id: int, post_id: int, *, last_day: date) -> Write[PostOut]:
    """The holder leaves: no stipend after ``last_day``."""

    def run(conn: Connection) -> PostOut:
        welfare.end_post(conn, org_id, post_id, last_day=last_day)
        return post_out(conn, org_id, post_id)

    asked = [post_id, last_day]
    return on_collective(actor, org_id, "welfare.end", asked=asked, run=run, detail=str(post_id), status=200)


def stipends(actor: Principal, org_id: int, through: str) -> Write[StipendRunOut]:
    """The monthly stipend run through ``through`` of the org or of every collective org of its street (or
    county) the actor may change; idempotent per post and month, so a rerun posts nothing."""

    def run(conn: Connection, orgs: list[int]) -> StipendRunOut:
        done = welfare.run_stipends(conn, orgs, through, user_id=actor.recorded_id)
        return StipendRunOut(through=through, posted=done.posted, amount=done.amount_fen)

    return run_through(
        actor,
        org_id,
        "welfare.stipends",
        through,
        request="welfare.stipends",
        run=run,
        answer=dump,
        detail=lambda done: f"through {through}: {done.posted}" if done.posted else None,
    )


def post_stipend(actor: Principal, org_id: int, post_id: int, period: str) -> Write[StipendRunOut]:
    """One post's stipend for one month (refused for a month the post is not held; posted once)."""

    def run(conn: Connection) -> StipendRunOut:
        done = welfare.post_stipend(conn, org_id, post_id, period, user_id=actor.recorded_id)
        return StipendRunOut(through=period, posted=done.posted, amount=done.amount_fen)

    detail = f"{post_id}:{period}"
    return on_collective(actor, org_id, "welfare.stipend", asked=[post_id, period], run=run, detail=detail)


def pay_stipend(
    actor: Principal,
    org_id: int,
    post_id: int,
    *,
    amount_fen: int | None,
    paid_on: date,
    cash_account: str = BANK,
    idempotency_key: str | None = None,
) -> Write[EntryRef]:
    """Pay the holder the stipend owed (all of it when ``amount_fen`` is None): Dr 212 / Cr 102."""
    terms = {"amount_fen": amount_fen, "paid_on": paid_on, "cash_account": cash_account}
    post = welfare.pay_stipend
    return records_one(
        actor,
        org_id,
        "welfare.pay",
        post,
        post_id,
        terms=terms,
        key=idempotency_key,
        detail=str(post_id),
        answer=entry_ref,
    )


def facility(
    actor: Principal,
    org_id: int,
    *,
    amount_fen: int,
    spent_on: date,
    memo: str,
    cash_account: str = BANK,
    idempotency_key: str | None = None,
) -> Write[EntryRef]:
    """公益设施 spending: Dr 51402 / Cr 102."""
    terms = {"amount_fen": amount_fen, "spent_on": spent_on, "memo": memo, "cash_account": cash_account}
    post = welfare.facility_spending
    return records_one(
        actor,
        org_id,
        "welfare.facility",
        post,
        terms=terms,
        key=idempotency_key,
        detail=memo,
        answer=entry_ref,
    )
