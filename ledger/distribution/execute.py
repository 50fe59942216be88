"""Distribution plans in the books: the register (versions, approval), execution, reversal, payment.

    execution (one link, one transaction, DESIGN §3 and §6 point 3):
      the org:          Dr 310401 / 310402 / 310403 (32201)  Cr 310101 / 310102 / 2232 [shareholder]
                        (collective: Cr 31101 / 31102 / 31103 / 21102 [member])         source distribution
                        Dr 310404 未分配利润 (32202)  Cr each 分配 sub-account               source close
      each shareholder: Dr 112 应收款 [company] / Cr 502 投资收益   (``ledger.community.stakes``)
    dividend paid:      company Dr 2232 [shareholder] / Cr 1002; shareholder Dr 102 / Cr 112 [company]

A plan is created as a draft (version 1, 2, … per org and year), approved with the body, date and document
number of the resolution, dry-run at any time, and executed once the year is closed. Executing posts
every entry above in one ``post_entries`` call: if any one org's entry fails (a closed period, a missing
account) nothing is posted anywhere. Reversing an executed plan reverses its whole link (红字冲销), and is
refused once dividends of the plan have been paid. Every entry of an execution carries
``source_ref = plan:{id}``, so the trail from any of them leads back to the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from ledger.books.errors import Conflict, NotFound, ValidationError
from ledger.books.orgs import counterparty, get_org, now, require_books
from ledger.books.posting import Draft, Line, Posted, new_link_id, post_entries, reverse_link
from ledger.community.stakes import company_counterparty, dividend_receivable_draft
from ledger.db.engine import locking
from ledger.db.models import JournalEntry
from ledger.db.rows import insert_id
from ledger.distribution import plans
from ledger.distribution.accounts import CHARTS, ensure_for
from ledger.distribution.models import (
    APPROVING_BODIES,
    DistributionPlan,
    DividendPayment,
    MemberShare,
    PlanExecution,
    PlanExecutionPart,
    PlanStep,
    WelfareFunding,
)
from ledger.distribution.shareholders import shares
from ledger.distribution.yearend import balance_through, closing_and_reversal_ids, year_closed, year_profit

plan_t = DistributionPlan.__table__
step_t = PlanStep.__table__
exec_t = PlanExecution.__table__
part_t = PlanExecutionPart.__table__
member_t = MemberShare.__table__
payment_t = DividendPayment.__table__
entry_t = JournalEntry.__table__

BODIES = {"small_enterprise": ("股东会",), "collective": ("成员大会", "成员代表大会")}


# -- the register -----------------------------------------------------------------------------------------


def add_member(conn: Connection, org_id: int, *, member: str, shares: int) -> int:
    """A collective's member (成员) and the shares that weigh the members' step."""
    if require_books(get_org(conn, org_id)) != "collective":
        raise ValidationError("members belong to a collective", field="org")
    if not member.strip():
        raise ValidationError("name the member", field="member")
    if not isinstance(shares, int) or shares < 0:
        raise ValidationError("shares are a whole number, zero or more", field="shares")
    taken = select(member_t.c.id).where(member_t.c.org_id == org_id, member_t.c.member == member.strip())
    if conn.execute(taken).first() is not None:
        raise Conflict(f"{member.strip()} is already a member", field="member")
    cp = counterparty(conn, org_id, "member", member.strip())
    return insert_id(conn, member_t, org_id=org_id, member=member.strip(), shares=shares, counterparty_id=cp)


def create_plan(
    conn: Connection,
    org_id: int,
    year: int,
    steps: Sequence[plans.Step],
    *,
    user_id: int | None = None,
) -> int:
    """A new draft version of the org's plan for ``year``; its shape (order, kinds, values) is checked now."""
    standard = require_books(get_org(conn, org_id))
    if not 1900 < year < 3000:
        raise ValidationError(f"{year} is not a year", field="year")
    problems = plans.check_steps(plans.Facts(standard, 0, 0), steps, recipients_for(conn, org_id, year))
    if problems:
        raise plans.PlanRefused(problems)
    version = (
        conn.execute(
            select(func.coalesce(func.max(plan_t.c.version), 0)).where(
                plan_t.c.org_id == org_id, plan_t.c.year == year
            )
        ).scalar_one()
        + 1
    )
    plan_id = insert_id(
        conn,
        plan_t,
        org_id=org_id,
        year=year,
        version=version,
        status="draft",
        approving_body="",
        document_no="",
        created_by=user_id,
        created_at=now(),
    )
    if steps:
        conn.execute(
            insert(step_t),
            [
                {
                    "plan_id": plan_id,
                    "step_order": n,
                    "kind": s.kind,
                    "rate_bp": s.rate_bp,
                    "amount_fen": s.amount_fen,
                    "target": s.target,
                }
                for n, s in enumerate(steps, start=1)
            ],
        )
    return plan_id


def get_plan(conn: Connection, plan_id: int, org_id: int | None = None, *, lock: bool = False) -> Row[Any]:
    """The plan row; with ``lock``, held for this transaction (PostgreSQL), so two executions serialise."""
    stmt = select(plan_t).where(plan_t.c.id == plan_id)
    if org_id is not None:
        stmt = stmt.where(plan_t.c.org_id == org_id)
    row = conn.execute(locking(conn, stmt, lock)).first()
    if row is None:
        raise NotFound(f"no distribution plan {plan_id}", field="plan_id")
    return row


def plan_steps(conn: Connection, plan_id: int) -> list[plans.Step]:
    return [
        plans.Step(r.kind, r.rate_bp, r.amount_fen, r.target)
        for r in conn.execute(select(step_t).where(step_t.c.plan_id == plan_id).order_by(step_t.c.step_order))
    ]


def approve_plan(
    conn: Connection, plan_id: int, *, approving_body: str, resolution_date: date, document_no: str
) -> None:
    """Record the resolution (成员大会 / 股东会决议) that adopted the plan; the plan must dry-run cleanly."""
    plan = get_plan(conn, plan_id)
    standard = require_books(get_org(conn, plan.org_id))
    if plan.status != "draft":
        raise Conflict(f"plan {plan_id} is {plan.status}; only a draft is approved", field="status")
    if approving_body not in BODIES[standard]:
        raise ValidationError(
            f"a {standard} plan is approved by {' or '.join(BODIES[standard])}", field="approving_body"
        )
    assert approving_body in APPROVING_BODIES
    if not document_no.strip():
        raise ValidationError("the resolution's document number is required", field="document_no")
    if resolution_date.year < plan.year:
        raise ValidationError("a plan for a year is resolved in or after that year", field="resolution_date")
    dry_run_plan(conn, plan_id)
    conn.execute(
        update(plan_t)
        .where(plan_t.c.id == plan_id)
        .values(
            status="approved",
            approving_body=approving_body,
            resolution_date=resolution_date,
            document_no=document_no.strip(),
        )
    )


# -- the facts and the dry run ----------------------------------------------------------------------------


def _plan_entry_ids(conn: Connection, org_id: int, year: int) -> list[int]:
    """Entries of this org-year's executed plans and their reversals, left out of the year's facts."""
    links = list(
        conn.execute(
            select(exec_t.c.link_id)
            .join(plan_t, plan_t.c.id == exec_t.c.plan_id)
            .where(plan_t.c.org_id == org_id, plan_t.c.year == year)
        ).scalars()
    )
    if not links:
        return []
    ids = list(
        conn.execute(
            select(entry_t.c.id).where(entry_t.c.org_id == org_id, entry_t.c.link_id.in_(links))
        ).scalars()
    )
    # reversals however made: by reverse_plan, or by reversing one of the entries through the entries API
    return ids + list(conn.execute(select(entry_t.c.id).where(entry_t.c.reverses_id.in_(ids))).scalars())


def reversal_link_of(conn: Connection, execution: Row[Any]) -> str | None:
    """The link of the entries that reversed an execution, if they exist (whoever posted them)."""
    first = next((int(i) for i in execution.entry_ids.split(",") if i), None)
    if first is None:
        return execution.reversal_link_id
    row = conn.execute(select(entry_t.c.link_id).where(entry_t.c.reverses_id == first)).first()
    return row.link_id if row is not None else None


def sync_status(conn: Connection, plan_id: int) -> str:
    """An executed plan whose entries were reversed through the entries API becomes ``reversed`` here."""
    plan = get_plan(conn, plan_id)
    if plan.status != "executed":
        return plan.status
    execution = get_execution(conn, plan_id)
    link = reversal_link_of(conn, execution)
    if link is None or not execution.entry_ids:
        return plan.status
    conn.execute(
        update(exec_t).where(exec_t.c.plan_id == plan_id).values(reversal_link_id=link, reversed_at=now())
    )
    conn.execute(update(plan_t).where(plan_t.c.id == plan_id).values(status="reversed"))
    return "reversed"


def facts_for(conn: Connection, org_id: int, year: int) -> plans.Facts:
    """The year's figures from the books, before closing and before any plan of the year."""
    org = get_org(conn, org_id)
    standard = require_books(org)
    chart = CHARTS[standard]
    excluded = closing_and_reversal_ids(conn, org_id, year) + _plan_entry_ids(conn, org_id, year)
    parent = chart.undistributed[:-2]  # 322 / 3104
    # 未分配 brought forward, plus (collective) the year's 其他转入: everything in 322 / 3104 but this year's
    # own closing and distribution.
    brought = -balance_through(conn, org_id, parent, f"{year:04d}-12", excluding=excluded)
    reserve = (
        -balance_through(conn, org_id, "310101", f"{year:04d}-12", excluding=excluded)
        if standard == "small_enterprise"
        else 0
    )
    return plans.Facts(
        standard=standard,
        profit_fen=year_profit(conn, org_id, year),
        brought_forward_fen=brought,
        reserve_fen=reserve,
        registered_capital_fen=org.registered_capital_fen or 0,
    )


def recipients_for(conn: Connection, org_id: int, year: int, on: date | None = None) -> list[plans.Recipient]:
    """Shareholders (company) by org id, or members (collective) by register order, with their weights."""
    org = get_org(conn, org_id)
    if org.standard == "small_enterprise":
        weights, _ = shares(conn, org_id, on or date(year, 12, 31))
        names = {
            o.id: o.name
            for o in (get_org(conn, w.shareholder_org_id) for w in weights)  # a handful of shareholders
        }
        return [
            plans.Recipient(w.shareholder_org_id, w.counterparty_id, w.weight, names[w.shareholder_org_id])
            for w in weights
        ]
    return [
        plans.Recipient(r.id, r.counterparty_id, r.shares, r.member)
        for r in conn.execute(select(member_t).where(member_t.c.org_id == org_id).order_by(member_t.c.id))
    ]


def dry_run_plan(conn: Connection, plan_id: int) -> plans.DryRun:
    """The plan to the fen against the books as they stand; nothing is written."""
    plan = get_plan(conn, plan_id)
    return plans.dry_run(
        facts_for(conn, plan.org_id, plan.year),
        plan_steps(conn, plan_id),
        recipients_for(conn, plan.org_id, plan.year, plan.resolution_date),
    )


# -- execution --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Execution:
    plan_id: int
    link_id: str
    entries: list[Posted]
    result: plans.DryRun


def execution_date(plan: Row[Any]) -> date:
    """Booked on 31 December of the plan's year, or on the resolution date when that is later."""
    dec31 = date(plan.year, 12, 31)
    return max(dec31, plan.resolution_date) if plan.resolution_date else dec31


def execution_drafts(
    conn: Connection, plan: Row[Any], result: plans.DryRun, entry_date: date, link_id: str
) -> tuple[list[Draft], list[tuple[plans.PlanLine, plans.Share | None, int | None]]]:
    """The org's distribution and transfer entries and each shareholder's receivable, all on one link.

    The second value maps each part to the index of the draft that books it (None: nothing posts).
    """
    chart = ensure_for(conn, plan.org_id)
    ref = f"plan:{plan.id}"
    debits: dict[str, int] = {}
    credit_lines: list[Line] = []
    parts: list[tuple[plans.PlanLine, plans.Share | None, int | None]] = []
    shareholder_drafts: list[Draft] = []
    for line in result.lines:
        if not line.posts or line.amount_fen == 0:
            parts.append((line, None, None))
            continue
        debit_account = chart.distributions[line.kind]
        debits[debit_account] = debits.get(debit_account, 0) + line.amount_fen
        parts.append((line, None, 0))
        if line.shares:
            for share in line.shares:
                if share.amount_fen == 0:
                    parts.append((line, share, None))
                    continue
                credit_lines.append(
                    Line(
                        chart.credits[line.kind],
                        credit_fen=share.amount_fen,
                        memo=f"{line.label} {share.recipient.name}",
                        counterparty_id=share.recipient.counterparty_id,
                    )
                )
                if line.kind == "shareholders":
                    shareholder_drafts.append(
                        dividend_receivable_draft(
                            conn,
                            share.recipient.key,
                            company_org_id=plan.org_id,
                            amount_fen=share.amount_fen,
                            entry_date=entry_date,
                            link_id=link_id,
                            memo=f"应收{get_org(conn, plan.org_id).name}{plan.year}年度利润",
                            idempotency_key=f"dividend:{ref}",
                        )
                    )
                    parts.append((line, share, 2 + len(shareholder_drafts) - 1))
                else:
                    parts.append((line, share, 0))
        else:
            credit_lines.append(Line(chart.credits[line.kind], credit_fen=line.amount_fen, memo=line.label))
    if not debits:
        return [], parts
    noun = "利润" if chart.current_year == "3103" else "收益"
    own = Draft(
        org_id=plan.org_id,
        entry_date=entry_date,
        memo=f"{plan.year}年度{noun}分配 {plan.document_no}".strip(),
        lines=[Line(code, debit_fen=amount, memo="本年分配") for code, amount in sorted(debits.items())]
        + credit_lines,
        source="distribution",
        source_ref=ref,
        idempotency_key=f"distribution:{ref}",
        link_id=link_id,
    )
    total = sum(debits.values())
    transfer = Draft(
        org_id=plan.org_id,
        entry_date=entry_date,
        memo=f"结转{plan.year}年度已分配{noun}",
        lines=[Line(chart.undistributed, debit_fen=total)]
        + [Line(code, credit_fen=amount) for code, amount in sorted(debits.items())],
        source="close",
        source_ref=ref,
        idempotency_key=f"close:{plan.year}:distribution:{plan.id}",
        link_id=link_id,
    )
    return [own, transfer, *shareholder_drafts], parts


def execute_plan(
    conn: Connection, plan_id: int, *, entry_date: date | None = None, user_id: int | None = None
) -> Execution:
    """Post an approved plan, linked across the org and its shareholders; all or nothing."""
    plan = get_plan(conn, plan_id, lock=True)
    if plan.status != "approved":
        raise Conflict(f"plan {plan_id} is {plan.status}; only an approved plan is executed", field="status")
    if not year_closed(conn, plan.org_id, plan.year):
        raise Conflict(f"close the year {plan.year} first (cunshe close-year)", field="year")
    for other in conn.execute(
        select(plan_t.c.id, plan_t.c.version).where(
            plan_t.c.org_id == plan.org_id, plan_t.c.year == plan.year, plan_t.c.status == "executed"
        )
    ).all():
        if sync_status(conn, other.id) == "executed":
            raise Conflict(
                f"version {other.version} of the {plan.year} plan is executed; reverse it first",
                field="plan_id",
            )
    result = dry_run_plan(conn, plan_id)
    when = entry_date or execution_date(plan)
    link_id = new_link_id()
    drafts, parts = execution_drafts(conn, plan, result, when, link_id)
    posted = post_entries(conn, drafts, user_id=user_id)
    conn.execute(
        insert(exec_t).values(
            plan_id=plan_id,
            link_id=link_id,
            entry_ids=",".join(str(p.id) for p in posted),
            distributable_fen=result.distributable_fen,
            executed_on=when,
            executed_at=now(),
        )
    )
    rows = [
        {
            "plan_id": plan_id,
            "step_order": line.order,
            "kind": line.kind,
            "amount_fen": share.amount_fen if share else line.amount_fen,
            "recipient_org_id": share.recipient.key if share and line.kind == "shareholders" else None,
            "counterparty_id": share.recipient.counterparty_id if share else None,
            "entry_id": posted[index].id if index is not None and posted else None,
        }
        for line, share, index in parts
    ]
    if rows:
        conn.execute(insert(part_t), rows)
    conn.execute(update(plan_t).where(plan_t.c.id == plan_id).values(status="executed"))
    return Execution(plan_id, link_id, posted, result)


def get_execution(conn: Connection, plan_id: int) -> Row[Any]:
    row = conn.execute(select(exec_t).where(exec_t.c.plan_id == plan_id)).first()
    if row is None:
        raise NotFound(f"plan {plan_id} has not been executed", field="plan_id")
    return row


def execution_parts(conn: Connection, plan_id: int) -> list[Row[Any]]:
    return list(conn.execute(select(part_t).where(part_t.c.plan_id == plan_id).order_by(part_t.c.id)).all())


def reverse_plan(
    conn: Connection, plan_id: int, *, entry_date: date, user_id: int | None = None
) -> list[Posted]:
    """Reverse every entry the plan posted, in every org, as one linked reversal (红字冲销)."""
    plan = get_plan(conn, plan_id, lock=True)
    if sync_status(conn, plan_id) == "reversed" and plan.status == "executed":
        return []  # its entries were already reversed through the entries API; the register follows
    if plan.status != "executed":
        raise Conflict(f"plan {plan_id} is {plan.status}; only an executed plan is reversed", field="status")
    if conn.execute(select(payment_t.c.id).where(payment_t.c.plan_id == plan_id)).first():
        raise Conflict("dividends of this plan have been paid; reverse the payments first", field="plan_id")
    funding_t = WelfareFunding.__table__
    if conn.execute(
        select(funding_t.c.id).where(funding_t.c.org_id == plan.org_id, funding_t.c.earmark_year == plan.year)
    ).first():
        raise Conflict(
            f"earmarks of {plan.year} have been applied to public-welfare spending; reverse those first",
            field="plan_id",
        )
    execution = get_execution(conn, plan_id)
    reversals: list[Posted] = []
    if execution.entry_ids:
        reversals = reverse_link(conn, execution.link_id, entry_date=entry_date, user_id=user_id)
        link = conn.execute(select(entry_t.c.link_id).where(entry_t.c.id == reversals[0].id)).scalar_one()
    else:
        link = None
    conn.execute(
        update(exec_t).where(exec_t.c.plan_id == plan_id).values(reversal_link_id=link, reversed_at=now())
    )
    conn.execute(update(plan_t).where(plan_t.c.id == plan_id).values(status="reversed"))
    return reversals


# -- dividends paid ---------------------------------------------------------------------------------------


def dividend_owed(conn: Connection, company_org_id: int, counterparty_id: int) -> int:
    """The company's 2232 应付利润 balance to one shareholder (credit positive)."""
    from ledger.db.models import Account, JournalLine

    line_t, account_t = JournalLine.__table__, Account.__table__
    return int(
        conn.execute(
            select(func.coalesce(func.sum(line_t.c.credit_fen - line_t.c.debit_fen), 0))
            .join(account_t, account_t.c.id == line_t.c.account_id)
            .where(
                line_t.c.org_id == company_org_id,
                account_t.c.code == "2232",
                line_t.c.counterparty_id == counterparty_id,
            )
        ).scalar_one()
    )


def pay_dividend(
    conn: Connection,
    company_org_id: int,
    *,
    shareholder_org_id: int,
    amount_fen: int,
    paid_on: date,
    plan_id: int | None = None,
    idempotency_key: str | None = None,
    user_id: int | None = None,
) -> int:
    """Pay a shareholder: company Dr 2232 / Cr 1002, shareholder Dr 102 / Cr 112, linked; the payment id."""
    from ledger.distribution.shareholders import list_shareholdings

    holding = next(
        (h for h in list_shareholdings(conn, company_org_id) if h.shareholder_org_id == shareholder_org_id),
        None,
    )
    if holding is None:
        raise NotFound("that org is not a shareholder of the company", field="shareholder_org_id")
    if plan_id is not None and get_plan(conn, plan_id, company_org_id).status != "executed":
        raise Conflict(f"plan {plan_id} is not executed", field="plan_id")
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValidationError("the amount must be more than zero", field="amount")
    owed = dividend_owed(conn, company_org_id, holding.counterparty_id)
    # A retry of a payment already made finds less owed (its own payment took it); posting replays it.
    retry = idempotency_key is not None and (
        conn.execute(
            select(entry_t.c.id).where(
                entry_t.c.org_id == company_org_id, entry_t.c.idempotency_key == idempotency_key
            )
        ).first()
        is not None
    )
    if amount_fen > owed and not retry:
        raise ValidationError(f"only {owed} fen of profit is payable to this shareholder", field="amount")
    company = get_org(conn, company_org_id)
    holder_cp = company_counterparty(conn, shareholder_org_id, company_org_id)
    link_id = new_link_id()
    ref = f"dividend-paid:{plan_id or ''}"
    posted = post_entries(
        conn,
        [
            Draft(
                org_id=company_org_id,
                entry_date=paid_on,
                memo=f"支付 {get_org(conn, shareholder_org_id).name} 利润",
                lines=[
                    Line("2232", debit_fen=amount_fen, counterparty_id=holding.counterparty_id),
                    Line("1002", credit_fen=amount_fen),
                ],
                source="distribution",
                source_ref=ref,
                idempotency_key=idempotency_key,
                link_id=link_id,
            ),
            Draft(
                org_id=shareholder_org_id,
                entry_date=paid_on,
                memo=f"收到 {company.name} 分红",
                lines=[
                    Line("102", debit_fen=amount_fen),
                    Line("112", credit_fen=amount_fen, counterparty_id=holder_cp),
                ],
                source="distribution",
                source_ref=ref,
                idempotency_key=idempotency_key,
                link_id=link_id,
            ),
        ],
        user_id=user_id,
    )
    if not posted[0].created:
        return conn.execute(
            select(payment_t.c.id).where(payment_t.c.company_entry_id == posted[0].id)
        ).scalar_one()
    return insert_id(
        conn,
        payment_t,
        company_org_id=company_org_id,
        shareholder_org_id=shareholder_org_id,
        plan_id=plan_id,
        paid_on=paid_on,
        amount_fen=amount_fen,
        link_id=link_id,
        company_entry_id=posted[0].id,
        shareholder_entry_id=posted[1].id,
    )
