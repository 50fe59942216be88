"""Public-welfare funds (公益性岗位 and 公益设施 earmarks), DESIGN §6 point 4.

    earmarked by the plan:      Dr 32201 各项分配 / Cr 31102 公益性岗位 (or 31103 公益设施)
    applied to a post:          Dr 31102 [welfare_post] / Cr 32203 收益分配—其他转入
    applied to facilities:      Dr 31103 / Cr 32203

A stipend itself is an expense (Dr 51401 / Cr 212, ``ledger.community.welfare``) that lowers the year's
income; applying an earmark carries that much of the fund back into 收益分配 as 其他转入 (the line of the
收益及收益分配表), so the earmark, not the year's income, bears the post. One post can be funded from
several years' earmarks (a ``welfare_funding`` row each), never beyond what each year earmarked.

The report per org and year: each earmark year's amount, what has been applied, what remains; each post's
stipends and payments of the year and how they were funded; facility spending. ``street_reach`` shows, for
a street, how much of the joint company's profit (investment income 502 from companies) reached each
community's public-welfare posts: the post earmark of the year × the share of the year's income that came
from company dividends, and what was applied to posts in the year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, func, select

from ledger.books.errors import NotFound, ValidationError
from ledger.books.money import round_half_up
from ledger.books.orgs import get_org, now, require_books
from ledger.books.periods import period_bounds
from ledger.books.posting import Draft, Line, post_entry
from ledger.books.trial_balance import movements, net_credit
from ledger.community.models import WelfarePayment, WelfarePost, WelfareStipend
from ledger.db.models import Account, Counterparty, JournalEntry, JournalLine, Org
from ledger.db.rows import insert_id
from ledger.distribution.accounts import ensure_for
from ledger.distribution.execute import get_execution, reversal_link_of
from ledger.distribution.models import DistributionPlan, PlanExecutionPart, WelfareFunding
from ledger.distribution.yearend import year_profit

funding_t = WelfareFunding.__table__
plan_t = DistributionPlan.__table__
part_t = PlanExecutionPart.__table__
post_t = WelfarePost.__table__
stipend_t = WelfareStipend.__table__
wpay_t = WelfarePayment.__table__
line_t = JournalLine.__table__
entry_t = JournalEntry.__table__
account_t = Account.__table__
cp_t = Counterparty.__table__
org_t = Org.__table__

EARMARK_KIND = {"post": "welfare_post_earmark", "facility": "facility_earmark"}
EARMARK_ACCOUNT = {"post": "31102", "facility": "31103"}


def earmarked(conn: Connection, org_id: int, year: int, kind: str, as_of: date | None = None) -> int:
    """What the executed plan of ``year`` earmarked for posts or facilities (none once reversed); with
    ``as_of``, as that day saw it: executed on or before it, and not reversed by then."""
    total = 0
    for plan_id in conn.execute(
        select(plan_t.c.id).where(
            plan_t.c.org_id == org_id, plan_t.c.year == year, plan_t.c.status.in_(("executed", "reversed"))
        )
    ).scalars():
        execution = get_execution(conn, plan_id)
        if as_of is not None and execution.executed_on > as_of:
            continue
        reversed_on = _reversed_on(conn, execution)
        if reversed_on is not None and (as_of is None or reversed_on <= as_of):
            continue
        if reversed_on is None and reversal_link_of(conn, execution) is not None:
            continue
        total += int(
            conn.execute(
                select(func.coalesce(func.sum(part_t.c.amount_fen), 0)).where(
                    part_t.c.plan_id == plan_id, part_t.c.kind == EARMARK_KIND[kind]
                )
            ).scalar_one()
        )
    return total


def _reversed_on(conn: Connection, execution: Row[Any]) -> date | None:
    """The date of the red ink that reversed an execution's own first entry, if any."""
    first = next((int(i) for i in execution.entry_ids.split(",") if i), None)
    if first is None:
        return None
    day = conn.execute(select(entry_t.c.entry_date).where(entry_t.c.reverses_id == first)).scalar()
    return date.fromisoformat(day) if isinstance(day, str) else day


def applied(conn: Connection, org_id: int, year: int, kind: str, as_of: date | None = None) -> int:
    """What has been applied of ``year``'s earmark (by ``as_of``: fundings dated on or before it)."""
    cond = [funding_t.c.org_id == org_id, funding_t.c.earmark_year == year, funding_t.c.kind == kind]
    if as_of is not None:
        cond.append(
            funding_t.c.entry_id.in_(
                select(entry_t.c.id).where(entry_t.c.org_id == org_id, entry_t.c.entry_date <= as_of)
            )
        )
    return int(
        conn.execute(select(func.coalesce(func.sum(funding_t.c.amount_fen), 0)).where(*cond)).scalar_one()
    )


@dataclass(frozen=True, kw_only=True)
class EarmarkUse:
    """公益金使用: ``amount_fen`` of the ``earmark_year``'s earmark for ``kind`` (post or facility) spent on
    ``on``; a post's funding names the post."""

    kind: str
    earmark_year: int
    amount_fen: int
    on: date
    post_id: int | None = None


def apply_earmark(conn: Connection, org_id: int, use: EarmarkUse, *, user_id: int | None = None) -> int:
    """Fund a post (or facilities) from one year's earmark: Dr 31102/31103 / Cr 32203. The funding id."""
    kind, earmark_year, amount_fen, post_id = use.kind, use.earmark_year, use.amount_fen, use.post_id
    if require_books(get_org(conn, org_id)) != "collective":
        raise ValidationError("public-welfare earmarks belong to a collective", field="org")
    if kind not in EARMARK_KIND:
        raise ValidationError("kind is post or facility", field="kind")
    if (kind == "post") != (post_id is not None):
        raise ValidationError("a post's funding names the post; facility funding names none", field="post_id")
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValidationError("the amount must be more than zero", field="amount")
    post = None
    if post_id is not None:
        post = conn.execute(select(post_t).where(post_t.c.id == post_id, post_t.c.org_id == org_id)).first()
        if post is None:
            raise NotFound(f"no welfare post {post_id} in this org", field="post_id")
    left = earmarked(conn, org_id, earmark_year, kind) - applied(conn, org_id, earmark_year, kind)
    if amount_fen > left:
        raise ValidationError(
            f"the {earmark_year} earmark for {kind}s has {left} fen left, not {amount_fen}", field="amount"
        )
    chart = ensure_for(conn, org_id)
    assert chart.other_transfers is not None
    what = f"{post.post} {post.holder}" if post is not None else "公益设施"
    entry = post_entry(
        conn,
        Draft(
            org_id=org_id,
            entry_date=use.on,
            memo=f"{earmark_year}年提取的公益资金用于 {what}",
            lines=[
                Line(EARMARK_ACCOUNT[kind], debit_fen=amount_fen, welfare_post_id=post_id),
                Line(chart.other_transfers, credit_fen=amount_fen, welfare_post_id=post_id),
            ],
            source="distribution",
            source_ref=f"earmark:{earmark_year}:{kind}" + (f":{post_id}" if post_id else ""),
        ),
        user_id=user_id,
    )
    return insert_id(
        conn,
        funding_t,
        org_id=org_id,
        earmark_year=earmark_year,
        kind=kind,
        post_id=post_id,
        funded_year=use.on.year,
        amount_fen=amount_fen,
        entry_id=entry.id,
        created_at=now(),
    )


@dataclass(frozen=True)
class EarmarkYear:
    year: int
    kind: str
    earmarked_fen: int
    applied_fen: int

    @property
    def remaining_fen(self) -> int:
        return self.earmarked_fen - self.applied_fen


@dataclass(frozen=True)
class PostFunds:
    post_id: int
    post: str
    holder: str
    stipends_fen: int  # stipends of the year's months (Dr 51401)
    paid_fen: int  # paid out in the year (Dr 212)
    funded_fen: int  # earmarks applied to it in the year
    funded_from: dict[int, int] = field(default_factory=dict)  # earmark year → fen
    funding_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class WelfareFunds:
    org_id: int
    year: int
    earmarks: list[EarmarkYear]
    posts: list[PostFunds]
    facilities_spent_fen: int
    facilities_funded_fen: int


def funds_report(conn: Connection, org_id: int, year: int, through: str | None = None) -> WelfareFunds:
    """Earmarked, applied and remaining per earmark year (through ``year``), as of the end of ``through``
    (a month of ``year``; December when not given); per post, the figures from January to ``through``."""
    require_books(get_org(conn, org_id))
    first, last = f"{year:04d}-01", through or f"{year:04d}-12"
    if last[:4] != first[:4]:
        raise ValidationError("the funds report runs within one year", field="to")
    as_of = period_bounds(last)[1]
    years = sorted(
        set(
            conn.execute(
                select(plan_t.c.year).where(
                    plan_t.c.org_id == org_id,
                    plan_t.c.status.in_(("executed", "reversed")),
                    plan_t.c.year <= year,
                )
            ).scalars()
        )
    )
    earmarks = [
        EarmarkYear(y, kind, earmarked(conn, org_id, y, kind, as_of), applied(conn, org_id, y, kind, as_of))
        for y in years
        for kind in ("post", "facility")
    ]
    stipends = dict(
        conn.execute(
            select(stipend_t.c.post_id, func.sum(stipend_t.c.amount_fen))
            .where(stipend_t.c.org_id == org_id, stipend_t.c.period >= first, stipend_t.c.period <= last)
            .group_by(stipend_t.c.post_id)
        ).all()
    )
    paid = dict(
        conn.execute(
            select(wpay_t.c.post_id, func.sum(wpay_t.c.amount_fen))
            .where(
                wpay_t.c.org_id == org_id,
                wpay_t.c.paid_on >= date(year, 1, 1),
                wpay_t.c.paid_on <= as_of,
            )
            .group_by(wpay_t.c.post_id)
        ).all()
    )
    funded_by_then = select(entry_t.c.id).where(entry_t.c.org_id == org_id, entry_t.c.entry_date <= as_of)
    fundings = conn.execute(
        select(funding_t).where(
            funding_t.c.org_id == org_id,
            funding_t.c.kind == "post",
            funding_t.c.funded_year == year,
            funding_t.c.entry_id.in_(funded_by_then),
        )
    ).all()
    posts = []
    for p in conn.execute(select(post_t).where(post_t.c.org_id == org_id).order_by(post_t.c.id)):
        mine = [f for f in fundings if f.post_id == p.id]
        by_year: dict[int, int] = {}
        for f in mine:
            by_year[f.earmark_year] = by_year.get(f.earmark_year, 0) + f.amount_fen
        if not (stipends.get(p.id) or paid.get(p.id) or mine):
            continue
        posts.append(
            PostFunds(
                p.id,
                p.post,
                p.holder,
                int(stipends.get(p.id, 0)),
                int(paid.get(p.id, 0)),
                sum(by_year.values()),
                by_year,
                tuple(f.id for f in mine),
            )
        )
    # 公益设施 spending is an expense: the year's closing entry credits it away, so read it before the close.
    facilities_spent = -net_credit(conn, org_id, first, last, accounts=("51402",))
    facilities_funded = int(
        conn.execute(
            select(func.coalesce(func.sum(funding_t.c.amount_fen), 0)).where(
                funding_t.c.org_id == org_id,
                funding_t.c.kind == "facility",
                funding_t.c.funded_year == year,
                funding_t.c.entry_id.in_(funded_by_then),
            )
        ).scalar_one()
    )
    return WelfareFunds(org_id, year, earmarks, posts, facilities_spent, facilities_funded)


@dataclass(frozen=True)
class CommunityReach:
    org_id: int
    name: str
    dividends_fen: int  # 502 from companies in the year (the supermarkets' profit received)
    income_fen: int  # the year's net income
    post_earmark_fen: int  # the year's plan's earmark for 公益性岗位
    from_company_fen: int  # that earmark × dividends / income (never more than either)
    applied_to_posts_fen: int  # earmarks applied to posts in the year
    stipends_fen: int  # stipends of the year's months


def _dividends(conn: Connection, org_id: int, year: int) -> int:
    companies = set(
        conn.execute(
            select(cp_t.c.id)
            .join(org_t, org_t.c.id == cp_t.c.ref_org_id)
            .where(cp_t.c.org_id == org_id, org_t.c.kind == "company")
        ).scalars()
    )
    found = movements(
        conn, org_id, f"{year:04d}-01", f"{year:04d}-12", accounts=("502",), by=("counterparty",)
    )
    return sum(c - d for (_, cp), (d, c) in found.items() if cp in companies)


def street_reach(conn: Connection, street_id: int, year: int) -> list[CommunityReach]:
    """Per community and village of a street: how much of the company's profit reached welfare posts."""
    street = get_org(conn, street_id)
    if street.kind != "street":
        raise ValidationError(f"{street.name} is not a street", field="org")
    rows = []
    for org in conn.execute(
        select(org_t)
        .where(org_t.c.street_id == street_id, org_t.c.kind.in_(("community", "village")))
        .order_by(org_t.c.id)
    ):
        dividends = _dividends(conn, org.id, year)
        income = year_profit(conn, org.id, year)
        earmark = earmarked(conn, org.id, year, "post")
        share = (
            min(round_half_up(earmark * min(dividends, income), income), earmark)
            if income > 0 and dividends > 0
            else 0
        )
        applied_posts = int(
            conn.execute(
                select(func.coalesce(func.sum(funding_t.c.amount_fen), 0)).where(
                    funding_t.c.org_id == org.id, funding_t.c.kind == "post", funding_t.c.funded_year == year
                )
            ).scalar_one()
        )
        stipends = int(
            conn.execute(
                select(func.coalesce(func.sum(stipend_t.c.amount_fen), 0)).where(
                    stipend_t.c.org_id == org.id,
                    stipend_t.c.period >= f"{year:04d}-01",
                    stipend_t.c.period <= f"{year:04d}-12",
                )
            ).scalar_one()
        )
        rows.append(
            CommunityReach(org.id, org.name, dividends, income, earmark, share, applied_posts, stipends)
        )
    return rows
