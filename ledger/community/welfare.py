"""公益性岗位 (public-welfare posts): the register, the monthly stipend run, payments, facility spending.

    stipend (monthly, per post):  Dr 51401 公益支出—公益性岗位 [welfare_post] / Cr 212 应付工资 [welfare_post]
    paid to the holder:           Dr 212 [welfare_post] / Cr 102
    public facility spending:     Dr 51402 公益支出—公益设施 / Cr 102

A post earns its monthly stipend for each calendar month it is held; a first or last month held only in
part is prorated by days (round half up to the fen), as rent is. The run posts each post-month once
(idempotency key ``stipend:{post}:{period}``, plus the ``welfare_stipend`` row unique per post and month),
so it is safe to rerun; a month cannot close before its stipends are posted (``ledger.community.checks``).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from ledger.books.errors import Conflict, NotFound, ValidationError
from ledger.books.money import round_half_up
from ledger.books.orgs import now
from ledger.books.periods import (
    Month,
    check_day,
    check_run_size,
    check_run_through,
    closed_through,
    next_period,
    parse_period,
    period_bounds,
)
from ledger.books.posting import Draft, Line, post_entries, post_entry
from ledger.community import accounts as acct
from ledger.community.idempotency import earlier_record, post_recorded
from ledger.community.leases.contracts import lock_books, require_collective
from ledger.community.models import WelfarePayment, WelfarePost, WelfareStipend
from ledger.db.rows import insert_id

post_t = WelfarePost.__table__
stipend_t = WelfareStipend.__table__
payment_t = WelfarePayment.__table__


@dataclass(frozen=True, kw_only=True)
class NewPost:
    """A public-welfare post and its holder as registered; ``end`` is None while the post runs on."""

    post: str
    holder: str
    monthly_stipend_fen: int
    start: date
    end: date | None = None


def create_post(conn: Connection, org_id: int, new: NewPost) -> int:
    require_collective(conn, org_id)
    if not new.post.strip():
        raise ValidationError("name the post (保洁员, 护路员 …)", field="post")
    if not new.holder.strip():
        raise ValidationError("name the holder of the post", field="holder")
    if not isinstance(new.monthly_stipend_fen, int) or new.monthly_stipend_fen <= 0:
        raise ValidationError("the monthly stipend must be more than zero", field="monthly_stipend")
    check_day(new.start, "start")
    if new.end is not None:
        check_day(new.end, "end")
        if new.end < new.start:
            raise ValidationError(f"the post ends ({new.end}) before it starts ({new.start})", field="end")
    return insert_id(
        conn,
        post_t,
        org_id=org_id,
        post=new.post.strip(),
        holder=new.holder.strip(),
        monthly_stipend_fen=new.monthly_stipend_fen,
        start_date=new.start,
        end_date=new.end,
        created_at=now(),
    )


def get_post(conn: Connection, org_id: int, post_id: int) -> Row[Any]:
    row = conn.execute(select(post_t).where(post_t.c.org_id == org_id, post_t.c.id == post_id)).first()
    if row is None:
        raise NotFound(f"no welfare post {post_id} in this org", field="post_id")
    return row


def end_post(conn: Connection, org_id: int, post_id: int, *, last_day: date) -> None:
    """The holder leaves: no stipend after ``last_day``. Months already posted stay as they are."""
    row = get_post(conn, org_id, post_id)
    check_day(last_day, "end")
    if last_day < row.start_date:
        raise ValidationError("a post cannot end before it starts", field="end")
    for period, amount in conn.execute(
        select(stipend_t.c.period, stipend_t.c.amount_fen).where(stipend_t.c.post_id == post_id)
    ):
        if stipend_for(row.monthly_stipend_fen, row.start_date, last_day, period) != amount:
            raise Conflict(f"the stipend of {period} is already posted; end the post after it", field="end")
    conn.execute(update(post_t).where(post_t.c.id == post_id).values(end_date=last_day))


def stipend_for(monthly_fen: int, start: date, end: date | None, period: str) -> int:
    """The stipend of ``period``: the monthly stipend, prorated by days held when the month is partial."""
    first, last = period_bounds(period)
    held_from = max(first, start)
    held_to = min(last, end) if end is not None else last
    if held_to < held_from:
        return 0
    days = (held_to - held_from).days + 1
    month_days = calendar.monthrange(first.year, first.month)[1]
    return monthly_fen if days == month_days else round_half_up(monthly_fen * days, month_days)


def _months(start: date, through: str) -> list[str]:
    """The months from the post's start through ``through``, stepped as numbers."""
    first, last = Month.of(start), Month.parse(through, "through")
    return [str(Month.from_index(i)) for i in range(first.index, last.index + 1)]


def stipend_draft(row: Row[Any], period: str, amount: int, entry_date: date) -> Draft:
    return Draft(
        org_id=row.org_id,
        entry_date=entry_date,
        memo=f"计提{period}公益性岗位补贴 {row.post} {row.holder}",
        lines=[
            Line(acct.WELFARE_POSTS, debit_fen=amount, welfare_post_id=row.id),
            Line(acct.WAGES_PAYABLE, credit_fen=amount, welfare_post_id=row.id),
        ],
        source="welfare",
        source_ref=f"stipend:{row.id}:{period}",
        idempotency_key=f"stipend:{row.id}:{period}",
    )


@dataclass(frozen=True)
class StipendRun:
    posted: int
    amount_fen: int


def run_stipends(
    conn: Connection,
    org_ids: Sequence[int],
    through: str,
    *,
    post_ids: Sequence[int] | None = None,
    user_id: int | None = None,
) -> StipendRun:
    """Post every post-month's stipend through ``through`` not yet posted (idempotent, rerunnable)."""
    check_run_through(through)
    org_ids = sorted(set(org_ids))
    lock_books(conn, org_ids)
    _, last = period_bounds(through)
    stmt = select(post_t).where(post_t.c.org_id.in_(org_ids), post_t.c.start_date <= last)
    if post_ids is not None:
        stmt = stmt.where(post_t.c.id.in_(list(post_ids)))
    posts = conn.execute(stmt.order_by(post_t.c.id)).all()
    if not posts:
        return StipendRun(0, 0)
    done = set(
        conn.execute(
            select(stipend_t.c.post_id, stipend_t.c.period).where(
                stipend_t.c.post_id.in_([p.id for p in posts])
            )
        ).all()
    )
    first_open: dict[int, str] = {}
    pending = []
    for p in posts:
        if p.org_id not in first_open:
            acct.ensure(conn, p.org_id, acct.WELFARE_POSTS)
            closed = closed_through(conn, p.org_id)
            first_open[p.org_id] = next_period(closed) if closed else ""
        for period in _months(p.start_date, through):
            if (p.id, period) in done:
                continue
            amount = stipend_for(p.monthly_stipend_fen, p.start_date, p.end_date, period)
            if amount > 0:
                entry_period = max(period, first_open[p.org_id])
                pending.append(
                    (p, period, amount, stipend_draft(p, period, amount, period_bounds(entry_period)[1]))
                )
    if not pending:
        return StipendRun(0, 0)
    check_run_size(
        {period for _, period, *_ in pending}, len(pending), sum(a for _, _, a, _ in pending), through
    )
    posted = post_entries(conn, [d for *_, d in pending], user_id=user_id)
    rows = [
        {"org_id": p.org_id, "post_id": p.id, "period": period, "amount_fen": amount, "entry_id": e.id}
        for (p, period, amount, _), e in zip(pending, posted, strict=True)
        if e.created
    ]
    if rows:
        conn.execute(insert(stipend_t), rows)
    return StipendRun(len(rows), sum(r["amount_fen"] for r in rows))


def post_stipend(
    conn: Connection, org_id: int, post_id: int, period: str, *, user_id: int | None = None
) -> StipendRun:
    """One post's stipend for one month; refused for a month the post is not held."""
    parse_period(period)
    row = get_post(conn, org_id, post_id)
    if stipend_for(row.monthly_stipend_fen, row.start_date, row.end_date, period) == 0:
        when = (
            f"ended on {row.end_date}"
            if row.end_date and period_bounds(period)[0] > row.end_date
            else f"starts on {row.start_date}"
        )
        raise ValidationError(f"the post {when}; it earns no stipend in {period}", field="period")
    return run_stipends(conn, [org_id], period, post_ids=[post_id], user_id=user_id)


def stipend_owed(conn: Connection, post_id: int) -> int:
    posted = conn.execute(
        select(func.coalesce(func.sum(stipend_t.c.amount_fen), 0)).where(stipend_t.c.post_id == post_id)
    ).scalar_one()
    paid = conn.execute(
        select(func.coalesce(func.sum(payment_t.c.amount_fen), 0)).where(payment_t.c.post_id == post_id)
    ).scalar_one()
    return int(posted) - int(paid)


def pay_stipend(
    conn: Connection,
    org_id: int,
    post_id: int,
    *,
    amount_fen: int | None = None,
    paid_on: date,
    cash_account: str = acct.BANK,
    idempotency_key: str | None = None,
    user_id: int | None = None,
) -> int:
    """Pay the holder (all that is owed unless ``amount_fen``): Dr 212 [welfare_post] / Cr 102."""
    row = get_post(conn, org_id, post_id)
    expect = {"post_id": post_id, "amount_fen": amount_fen, "paid_on": paid_on}
    lock_books(conn, [org_id])  # what is owed is read before posting
    done = earlier_record(conn, org_id, idempotency_key, payment_t, expect)
    if done is not None:
        return done.entry_id
    owed = stipend_owed(conn, post_id)
    amount = owed if amount_fen is None else amount_fen
    if amount <= 0:
        raise ValidationError(
            "nothing is owed to this post's holder"
            if amount_fen is None
            else "the amount must be more than zero",
            field="amount",
        )
    if amount > owed:
        raise ValidationError(f"only {owed} fen of stipend is owed to this post", field="amount")
    if cash_account not in acct.CASH_ACCOUNTS:
        raise ValidationError(f"pay from {' or '.join(acct.CASH_ACCOUNTS)}", field="cash_account")
    draft = Draft(
        org_id=org_id,
        entry_date=paid_on,
        memo=f"发放公益性岗位补贴 {row.post} {row.holder}",
        lines=[
            Line(acct.WAGES_PAYABLE, debit_fen=amount, welfare_post_id=post_id),
            Line(cash_account, credit_fen=amount),
        ],
        source="welfare",
        source_ref=f"stipend-paid:{post_id}",
        idempotency_key=idempotency_key,
    )
    paid = {"org_id": org_id, "post_id": post_id, "paid_on": paid_on, "amount_fen": amount}
    return post_recorded(conn, draft, payment_t, paid, user_id=user_id).entry_id


def facility_spending(
    conn: Connection,
    org_id: int,
    *,
    amount_fen: int,
    spent_on: date,
    memo: str,
    cash_account: str = acct.BANK,
    idempotency_key: str | None = None,
    user_id: int | None = None,
) -> int:
    """公益设施 spending: Dr 51402 / Cr 102. Returns the entry id."""
    require_collective(conn, org_id)
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValidationError("the amount must be more than zero", field="amount")
    if not memo.strip():
        raise ValidationError("say what was spent on (摘要)", field="memo")
    if cash_account not in acct.CASH_ACCOUNTS:
        raise ValidationError(f"pay from {' or '.join(acct.CASH_ACCOUNTS)}", field="cash_account")
    acct.ensure(conn, org_id, acct.WELFARE_FACILITIES)
    return post_entry(
        conn,
        Draft(
            org_id=org_id,
            entry_date=spent_on,
            memo=memo,
            lines=[
                Line(acct.WELFARE_FACILITIES, debit_fen=amount_fen),
                Line(cash_account, credit_fen=amount_fen),
            ],
            source="welfare",
            source_ref="welfare-facility",
            idempotency_key=idempotency_key,
        ),
        user_id=user_id,
    ).id


def post_ids(conn: Connection, org_id: int) -> list[int]:
    return list(
        conn.execute(select(post_t.c.id).where(post_t.c.org_id == org_id).order_by(post_t.c.id)).scalars()
    )
