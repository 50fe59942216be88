"""The year end's state changes as services: each returns the ``Write`` a door (the API, the CLI) carries out
with ``ledger.access.service.perform`` — scope, key, write, audit, in that order.

A service names what was asked (its ``request``: the same from every door, so a retry under one key is
answered once whichever door it comes through), whose books it touches and who may do it. The default answer
is JSON-able data, the same at every door (a plan's execution answers with the plan as it then stands and
the entries it posted), so a door only renders it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy import Connection

from ledger.access.auth import Principal
from ledger.access.service import Write, org_write
from ledger.books.errors import ValidationError
from ledger.books.money import format_amount
from ledger.distribution import execute as ex
from ledger.distribution import shareholders as sh
from ledger.distribution import vat, welfare_funds
from ledger.distribution.plans import Step
from ledger.distribution.yearend import YearClose, close_year


def _posted(entries: Any) -> list[dict[str, Any]]:
    return [{"id": e.id, "voucher_no": e.voucher_no, "created": e.created} for e in entries]


def year_close(actor: Principal, org_id: int, year: int) -> Write[YearClose]:
    """年终结账: income and expenses into 321/3103, then 322/3104; refused while a month has unposted
    sources."""
    return org_write(
        actor,
        org_id,
        "year.close",
        run=lambda conn: close_year(conn, org_id, year, user_id=actor.recorded_id),
        answer=lambda done: {
            "org_id": org_id,
            "year": year,
            "profit": format_amount(done.profit_fen),
            "entries": _posted(done.entries),
        },
        request={"close_year": [org_id, year]},
        detail=lambda done: f"{year}: net income {format_amount(done.profit_fen)}",
        status=200,
    )


def _plan_scope(actor: Principal, org_id: int, plan_id: int) -> Callable[[Connection], None]:
    """The scope of a write to a plan: the actor may change the org, and the plan is the org's."""

    def scope(conn: Connection) -> None:
        actor.require_org(conn, org_id, write=True)
        ex.get_plan(conn, plan_id, org_id)

    return scope


def execute_plan(actor: Principal, org_id: int, plan_id: int, *, entry_date: date | None) -> Write[Any]:
    """执行分配方案: the org's entries and each shareholder's, linked, all or nothing; the actor must be
    allowed to change every book the plan reaches."""

    def run(conn: Connection) -> ex.Execution:
        done = ex.execute_plan(conn, plan_id, entry_date=entry_date, user_id=actor.recorded_id)
        for p in done.entries:
            actor.require_org(conn, p.org_id, write=True)  # the link reaches the shareholders' books
        return done

    return org_write(
        actor,
        org_id,
        "plan.execute",
        scope=_plan_scope(actor, org_id, plan_id),
        run=run,
        view=lambda conn, done: {**plan_json(conn, plan_id), "entries": _posted(done.entries)},
        answer=lambda plan: plan,
        request={"execute_plan": [org_id, plan_id, entry_date.isoformat() if entry_date else None]},
        detail=lambda done: f"plan {plan_id}: {len(done.entries)} entries on link {done.link_id}",
        status=200,
    )


def reverse_plan(actor: Principal, org_id: int, plan_id: int, *, entry_date: date) -> Write[Any]:
    """红字冲销 every entry the plan posted, in every org, as one linked reversal."""

    def run(conn: Connection) -> list[Any]:
        posted = ex.reverse_plan(conn, plan_id, entry_date=entry_date, user_id=actor.recorded_id)
        for p in posted:
            actor.require_org(conn, p.org_id, write=True)
        return posted

    return org_write(
        actor,
        org_id,
        "plan.reverse",
        scope=_plan_scope(actor, org_id, plan_id),
        run=run,
        view=lambda conn, posted: {**plan_json(conn, plan_id), "entries": _posted(posted)},
        answer=lambda plan: plan,
        request={"reverse_plan": [org_id, plan_id, entry_date.isoformat()]},
        detail=lambda posted: f"plan {plan_id}: " + ", ".join(p.voucher_no for p in posted),
        status=200,
    )


def fen_strings(value: Any) -> Any:
    """Dataclass dicts with ``*_fen`` ints → the same keys without ``_fen``, as decimal strings."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if isinstance(k, str) and k.endswith("_fen") and isinstance(v, int):
                out[k[:-4]] = format_amount(v)
            elif k == "funded_from":
                out[k] = {str(y): format_amount(f) for y, f in v.items()}
            else:
                out[k] = fen_strings(v)
        return out
    if isinstance(value, list | tuple):
        return [fen_strings(v) for v in value]
    return value


def vat_exemption(actor: Principal, org_id: int, year: int, quarter: int) -> Write[vat.VatQuarter]:
    """小规模纳税人免征: within the quarterly threshold, the quarter's output VAT moves to income."""
    return org_write(
        actor,
        org_id,
        "vat.exemption",
        run=lambda conn: vat.post_vat_exemption(conn, org_id, year, quarter, user_id=actor.recorded_id),
        answer=lambda q: fen_strings(asdict(q)),
        request={"vat_exemption": [org_id, year, quarter]},
        detail=lambda q: f"{year}Q{quarter}: " + ("exempt" if q.exempt else "over the threshold"),
        status=200,
    )


# -- shareholdings, members, thresholds: the books' registers -----------------------------------------------


def add_shareholder(
    actor: Principal,
    org_id: int,
    *,
    shareholder_org_id: int,
    subscribed_fen: int,
    agreed_ratio_bp: int | None = None,
) -> Write[int]:
    """入股登记: a village or community subscribes to the company's capital; the actor must see the holder."""

    def scope(conn: Connection) -> None:
        actor.require_org(conn, org_id, write=True)
        actor.require_org(conn, shareholder_org_id)

    return org_write(
        actor,
        org_id,
        "shareholding.add",
        scope=scope,
        run=lambda conn: sh.add_shareholder(
            conn,
            org_id,
            shareholder_org_id=shareholder_org_id,
            subscribed_fen=subscribed_fen,
            agreed_ratio_bp=agreed_ratio_bp,
        ),
        answer=lambda new_id: {"id": new_id},
        request={"shareholding": [org_id, shareholder_org_id, subscribed_fen, agreed_ratio_bp]},
        detail=lambda new_id: f"holding {new_id}: org {shareholder_org_id} {format_amount(subscribed_fen)}",
    )


def pay_in_capital(
    actor: Principal, org_id: int, holding_id: int, *, amount_fen: int, paid_on: date, key: str | None
) -> Write[int]:
    """实缴出资: Dr 1002 / Cr 3001 in the company's books. ``key`` is the door's idempotency key, kept on the
    entry too (the books' own defence against a retry)."""

    def scope(conn: Connection) -> None:
        actor.require_org(conn, org_id, write=True)
        if sh.get_shareholding(conn, holding_id).company_org_id != org_id:
            raise ValidationError("that shareholding is another company's", field="holding_id")

    return org_write(
        actor,
        org_id,
        "shareholding.capital",
        scope=scope,
        run=lambda conn: sh.pay_in_capital(
            conn,
            holding_id,
            amount_fen=amount_fen,
            paid_on=paid_on,
            user_id=actor.recorded_id,
            idempotency_key=key,
        ),
        answer=lambda entry_id: {"entry_id": entry_id},
        request={"capital": [org_id, holding_id, amount_fen, paid_on.isoformat()]},
        detail=lambda entry_id: f"holding {holding_id}: {format_amount(amount_fen)} (entry {entry_id})",
    )


def record_ratio_agreement(
    actor: Principal, org_id: int, *, effective_from: date, document_no: str, signed_on: date
) -> Write[int]:
    """约定分红比例: the shareholders' agreed ratios take effect from a date, under a signed document."""
    return org_write(
        actor,
        org_id,
        "shareholding.agreement",
        run=lambda conn: sh.record_ratio_agreement(
            conn, org_id, effective_from=effective_from, document_no=document_no, signed_on=signed_on
        ),
        answer=lambda new_id: {"id": new_id},
        request={"agreement": [org_id, effective_from.isoformat(), document_no, signed_on.isoformat()]},
        detail=f"{document_no} from {effective_from}",
    )


def add_member(actor: Principal, org_id: int, *, member: str, shares: int) -> Write[int]:
    """成员登记: a member of a collective and the shares they hold."""
    return org_write(
        actor,
        org_id,
        "member.add",
        run=lambda conn: ex.add_member(conn, org_id, member=member, shares=shares),
        answer=lambda new_id: {"id": new_id},
        request={"member": [org_id, member, shares]},
        detail=f"{member}: {shares} shares",
    )


def set_vat_threshold(
    actor: Principal, org_id: int, *, effective_from: date, quarterly_threshold_fen: int, rule: str = ""
) -> Write[int]:
    """起征点: the org's own quarterly VAT threshold from a date (before the shipped national schedule)."""
    return org_write(
        actor,
        org_id,
        "vat.threshold",
        run=lambda conn: vat.set_threshold(
            conn,
            org_id,
            effective_from=effective_from,
            quarterly_threshold_fen=quarterly_threshold_fen,
            rule=rule,
        ),
        answer=lambda new_id: {"id": new_id},
        request={"vat_threshold": [org_id, effective_from.isoformat(), quarterly_threshold_fen, rule]},
        detail=f"from {effective_from}: {format_amount(quarterly_threshold_fen)}",
    )


# -- plans, dividends, welfare funds ------------------------------------------------------------------------


def plan_json(conn: Connection, plan_id: int) -> dict[str, Any]:
    """A plan as every door shows it: steps, approval, and what its execution posted (money as strings)."""
    plan = ex.get_plan(conn, plan_id)
    execution = None
    row = conn.execute(ex.exec_t.select().where(ex.exec_t.c.plan_id == plan_id)).first()
    if row is not None:
        execution = {
            "link_id": row.link_id,
            "entry_ids": [int(i) for i in row.entry_ids.split(",") if i],
            "distributable": format_amount(row.distributable_fen),
            "executed_on": row.executed_on.isoformat(),
            "reversal_link_id": row.reversal_link_id,
            "parts": [
                {
                    "step_order": p.step_order,
                    "kind": p.kind,
                    "amount": format_amount(p.amount_fen),
                    "recipient_org_id": p.recipient_org_id,
                    "counterparty_id": p.counterparty_id,
                    "entry_id": p.entry_id,
                }
                for p in ex.execution_parts(conn, plan_id)
            ],
        }
    return {
        "id": plan.id,
        "org_id": plan.org_id,
        "year": plan.year,
        "version": plan.version,
        "status": plan.status,
        "approving_body": plan.approving_body,
        "resolution_date": plan.resolution_date.isoformat() if plan.resolution_date else None,
        "document_no": plan.document_no,
        "steps": [
            {
                "kind": s.kind,
                "rate_bp": s.rate_bp,
                "amount": format_amount(s.amount_fen) if s.amount_fen is not None else None,
                "target": s.target,
            }
            for s in ex.plan_steps(conn, plan_id)
        ],
        "execution": execution,
    }


def _step_json(s: Step) -> list[Any]:
    return [s.kind, s.rate_bp, s.amount_fen, s.target]


def create_plan(actor: Principal, org_id: int, year: int, steps: Sequence[Step]) -> Write[int]:
    """分配方案 (draft): the ordered steps of the year's distribution, checked against its recipients."""
    return org_write(
        actor,
        org_id,
        "plan.create",
        run=lambda conn: ex.create_plan(conn, org_id, year, steps, user_id=actor.recorded_id),
        view=lambda conn, plan_id: plan_json(conn, plan_id),
        answer=lambda plan: plan,
        request={"plan": [org_id, year, [_step_json(s) for s in steps]]},
        detail=lambda plan_id: f"{year}: plan {plan_id}",
    )


def approve_plan(
    actor: Principal,
    org_id: int,
    plan_id: int,
    *,
    approving_body: str,
    resolution_date: date,
    document_no: str,
) -> Write[int]:
    """审议通过: the members' (or shareholders') meeting approved the draft, under a resolution."""

    def run(conn: Connection) -> int:
        ex.approve_plan(
            conn,
            plan_id,
            approving_body=approving_body,
            resolution_date=resolution_date,
            document_no=document_no,
        )
        return plan_id

    return org_write(
        actor,
        org_id,
        "plan.approve",
        scope=_plan_scope(actor, org_id, plan_id),
        run=run,
        view=plan_json,
        answer=lambda plan: plan,
        request={"approve": [org_id, plan_id, approving_body, resolution_date.isoformat(), document_no]},
        detail=f"plan {plan_id}: {approving_body} {document_no}",
        status=200,
    )


def pay_dividend(
    actor: Principal,
    org_id: int,
    *,
    shareholder_org_id: int,
    amount_fen: int,
    paid_on: date,
    plan_id: int | None = None,
    key: str | None = None,
) -> Write[int]:
    """支付股利: company Dr 2232 / Cr 1002 and the shareholder's Dr 102 / Cr 112, linked; the actor must be
    allowed to change both books. ``key`` is kept on the entries too."""

    def scope(conn: Connection) -> None:
        actor.require_org(conn, org_id, write=True)
        actor.require_org(conn, shareholder_org_id, write=True)

    return org_write(
        actor,
        org_id,
        "dividend.pay",
        scope=scope,
        run=lambda conn: ex.pay_dividend(
            conn,
            org_id,
            shareholder_org_id=shareholder_org_id,
            amount_fen=amount_fen,
            paid_on=paid_on,
            plan_id=plan_id,
            idempotency_key=key,
            user_id=actor.recorded_id,
        ),
        answer=lambda link_id: {"id": link_id},
        request={"dividend": [org_id, shareholder_org_id, amount_fen, paid_on.isoformat(), plan_id]},
        detail=f"org {shareholder_org_id}: {format_amount(amount_fen)}",
    )


def apply_earmark(actor: Principal, org_id: int, use: welfare_funds.EarmarkUse) -> Write[int]:
    """公益金使用: spend a year's earmarked welfare fund on a welfare post or a public facility."""
    return org_write(
        actor,
        org_id,
        "welfare.fund",
        run=lambda conn: welfare_funds.apply_earmark(conn, org_id, use, user_id=actor.recorded_id),
        answer=lambda new_id: {"id": new_id},
        request={
            "earmark": [org_id, use.kind, use.earmark_year, use.amount_fen, use.on.isoformat(), use.post_id]
        },
        detail=f"{use.kind} {use.earmark_year}: {format_amount(use.amount_fen)}",
    )
