"""Shifts (开班/交班): the cash float, pay-ins and payouts (备用金), and the one voucher per shift (日结).

A cashier opens a shift at a store with a float; sales and refunds need an open shift. Closing takes the
counted cash and posts ONE voucher in the company's books (DESIGN §5a), dated the shift's business day:

    Dr 1001 库存现金                cash taken − change (± the over/short, so 1001 moves by what was counted)
    Dr 1012 其他货币资金—微信/支付宝/银联/数字人民币  per method
    Dr 1122 应收账款 [customer]     挂账 per credit customer
        Cr 5001 主营业务收入 [channel, store, product category]   net of VAT
        Cr 2221 应交税费—应交增值税                            the per-sale VAT, summed
    Dr 5401 主营业务成本 [store] / Cr 1405 库存商品 [store]       stock relieved, at moving-average cost
    over: Cr 5301 营业外收入; short: Dr 1221 其他应收款 [cashier]

A figure that nets negative (a shift of refunds) goes to the other side, so every line stays positive.
Expected cash = float + cash received − change + pay-ins − payouts; pay-ins and payouts move cash between
the drawer and the safe inside 1001, so they are recorded and counted, not posted. This module never
changes a sale, and a closed shift never reopens.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TypedDict, Unpack

from sqlalchemy import Connection, RowMapping, Table, func, select, update

from ledger.access.auth import Principal
from ledger.books.county_time import business_date
from ledger.books.errors import Conflict, NotFound, ValidationError
from ledger.books.money import format_amount, split_to_bound
from ledger.books.orgs import counterparty, ensure_sub_account, now
from ledger.books.periods import (
    closed_through,
    next_period,
    period_bounds,
    register_close_check,
)
from ledger.books.posting import Draft, Line, post_entry
from ledger.db.engine import locking
from ledger.db.models import Counterparty
from ledger.db.rows import insert_id
from pos.catalogue import ensure_default_rates
from pos.fastsql import Sql
from pos.models import PosCashMove, PosCustomer, PosPayment, PosSale, PosSaleLine, PosShift
from pos.stores import StoreRef, get_store, require_store

shift_t = PosShift.__table__
cash_t = PosCashMove.__table__
sale_t = PosSale.__table__
line_t = PosSaleLine.__table__
pay_t = PosPayment.__table__
customer_t = PosCustomer.__table__
cp_t = Counterparty.__table__

METHOD_ACCOUNTS = {
    "wechat": ("101201", "微信"),
    "alipay": ("101202", "支付宝"),
    "unionpay": ("101203", "银联/云闪付"),
    "ecny": ("101204", "数字人民币"),
}
VAT_ACCOUNT = ("222101", "应交增值税")


class ShiftAlreadyClosed(Conflict):
    code = "shift_closed"


# -- open, pay-ins and payouts --------------------------------------------------------------------------


def own_open_shift(conn: Connection, user: Principal, store_id: int) -> int | None:
    """The id of the shift the user has open at the store (a cashier has at most one there), if any."""
    return conn.execute(
        select(shift_t.c.id).where(
            shift_t.c.store_id == store_id,
            shift_t.c.cashier_user_id == user.user_id,
            shift_t.c.status == "open",
        )
    ).scalar()


def open_shift(
    conn: Connection, user: Principal, store_id: int, float_fen: int, *, opened_at: datetime | None = None
) -> int:
    """开班. ``opened_at`` is the till's clock (an offline till opens the shift of its own day); the
    shift's business date, and so the period its voucher posts in, follows it. Never in the future."""
    store = require_store(conn, user, store_id)
    if user.role not in ("cashier", "admin", "officer"):
        raise ValidationError("only a cashier, officer or admin opens a shift", field="store_id")
    existing = own_open_shift(conn, user, store.id)
    if existing is not None:
        raise Conflict(
            f"you already have shift {existing} open at this store; close it first", field="store_id"
        )
    ensure_default_rates(conn, store.org_id)
    stamp = now()
    if opened_at is not None:
        if opened_at.tzinfo is None:
            raise ValidationError("opened_at needs a time zone", field="opened_at")
        if opened_at > stamp + timedelta(minutes=5):
            raise ValidationError(
                "opened_at is in the future (the till's clock is wrong?)", field="opened_at"
            )
        stamp = opened_at.astimezone(UTC)
    return insert_id(
        conn,
        shift_t,
        org_id=store.org_id,
        store_id=store.id,
        cashier_user_id=user.user_id,
        status="open",
        business_date=business_date(stamp),
        opened_at=stamp,
        float_fen=float_fen,
    )


def shift_for(
    conn: Connection, user: Principal, shift_id: int, *, lock: bool = False, own: bool = False
) -> RowMapping:
    """The shift, once ``user`` may see its store (a cashier with ``own``: only their own shifts), else a 404;
    ``lock`` holds its row (FOR UPDATE on PostgreSQL) until the transaction ends."""
    stmt = select(shift_t).where(shift_t.c.id == shift_id)
    shift = conn.execute(locking(conn, stmt, lock)).mappings().first()
    if shift is None:
        raise NotFound(f"shift {shift_id} does not exist", field="shift_id")
    require_store(conn, user, shift["store_id"])
    if own and user.role == "cashier" and shift["cashier_user_id"] != user.user_id:
        raise NotFound(f"shift {shift_id} is not one of your shifts", field="shift_id")
    return shift


def record_cash_move(
    conn: Connection, user: Principal, shift_id: int, kind: str, amount_fen: int, reason: str
) -> int:
    shift = shift_for(conn, user, shift_id, lock=True, own=True)
    if shift["status"] != "open":
        raise ShiftAlreadyClosed(f"shift {shift_id} is closed", field="shift_id")
    if amount_fen <= 0:
        raise ValidationError("the amount is more than zero", field="amount")
    return insert_id(
        conn,
        cash_t,
        org_id=shift["org_id"],
        shift_id=shift_id,
        kind=kind,
        amount_fen=amount_fen,
        reason=reason.strip(),
        user_id=user.user_id,
        at=now(),
    )


# -- the shift's figures --------------------------------------------------------------------------------


@dataclass
class ShiftFigures:
    """Everything the close voucher and the shift report need, aggregated in SQL."""

    sales: int = 0
    refunds: int = 0
    cash_received: int = 0  # cash tendered (refunds paid out in cash are negative)
    change: int = 0
    pay_ins: int = 0
    payouts: int = 0
    by_method: dict[str, int] = field(default_factory=dict)  # applied amount per method (cash net of change)
    credit_by_customer: dict[int, int] = field(default_factory=dict)
    revenue: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, product category) → net
    takings: int = 0
    tax: int = 0
    cost: int = 0

    @property
    def net_revenue(self) -> int:
        return sum(self.revenue.values())


_FIG_SALES = Sql(
    "SELECT kind, count(*), sum(total_fen), sum(tax_fen), sum(cost_fen), sum(change_fen) "
    "FROM pos_sale WHERE shift_id = :shift GROUP BY kind"
)
_FIG_PAYMENTS = Sql(
    "SELECT p.method, s.customer_id, sum(p.amount_fen) FROM pos_payment p "
    "JOIN pos_sale s ON s.id = p.sale_id WHERE s.shift_id = :shift GROUP BY p.method, s.customer_id"
)
_FIG_REVENUE = Sql(
    "SELECT s.channel, l.product_category, sum(l.net_fen) FROM pos_sale_line l "
    "JOIN pos_sale s ON s.id = l.sale_id WHERE s.shift_id = :shift "
    "GROUP BY s.channel, l.product_category ORDER BY s.channel, l.product_category"
)
_FIG_CASH = Sql("SELECT kind, sum(amount_fen) FROM pos_cash_move WHERE shift_id = :shift GROUP BY kind")


def shift_figures(conn: Connection, shift_id: int) -> ShiftFigures:
    """The shift's figures in four aggregates, run on the driver (``pos.fastsql``): every close and every
    shift report reads them."""
    f = ShiftFigures(by_method={}, credit_by_customer={}, revenue={})
    params = {"shift": shift_id}
    for kind, n, total, tax, cost, change in _FIG_SALES.run(conn, params).fetchall():
        if kind == "sale":
            f.sales = n
        else:
            f.refunds = n
        f.takings += int(total)
        f.tax += int(tax)
        f.cost += int(cost)
        f.change += int(change)
    for method, customer_id, amount in _FIG_PAYMENTS.run(conn, params).fetchall():
        amount = int(amount)
        if method == "cash":
            f.cash_received += amount
        f.by_method[method] = f.by_method.get(method, 0) + amount
        if method == "credit":
            f.credit_by_customer[customer_id] = f.credit_by_customer.get(customer_id, 0) + amount
    if "cash" in f.by_method:
        f.by_method["cash"] -= f.change
    for channel, category, net in _FIG_REVENUE.run(conn, params).fetchall():
        f.revenue[(channel, category or "")] = int(net)
    for kind, amount in _FIG_CASH.run(conn, params).fetchall():
        if kind == "pay_in":
            f.pay_ins = int(amount)
        else:
            f.payouts = int(amount)
    return f


def expected_cash(shift: RowMapping, f: ShiftFigures) -> int:
    """float + cash received − change + pay-ins − payouts (DESIGN §7, shift cash)."""
    return shift["float_fen"] + f.cash_received - f.change + f.pay_ins - f.payouts


# -- close ----------------------------------------------------------------------------------------------


class _Dims(TypedDict, total=False):
    """What a close line may carry besides its account and amount (``Line``'s own fields)."""

    memo: str
    counterparty_id: int | None
    store_id: int | None
    channel: str | None
    product_category: str | None


def _side(account: str, amount: int, debit: bool, **dims: Unpack[_Dims]) -> list[Line]:
    """Lines on the figure's natural side, or on the other side when it nets negative; none when zero.

    A figure is a sum of the shift's sales: beyond the largest amount a line takes it is split into several
    lines of at most that (money.split_to_bound), so a shift of any size can always be closed."""
    if amount < 0:
        amount, debit = -amount, not debit
    return [
        Line(account, debit_fen=part if debit else 0, credit_fen=0 if debit else part, **dims)
        for part in split_to_bound(amount)
    ]


def close_voucher_lines(
    conn: Connection,
    store: StoreRef,
    shift: RowMapping,
    f: ShiftFigures,
    variance: int,
    cashier_cp: int | None,
) -> list[Line]:
    org = store.org_id
    lines: list[Line] = [*_side("1001", f.by_method.get("cash", 0) + variance, True, memo="现金")]
    for method, (code, name) in METHOD_ACCOUNTS.items():
        amount = f.by_method.get(method, 0)
        if amount:
            ensure_sub_account(conn, org, "1012", code, name)
            lines += _side(code, amount, True, memo=name)
    if f.credit_by_customer:
        cps = dict(
            conn.execute(
                select(customer_t.c.id, customer_t.c.counterparty_id).where(
                    customer_t.c.id.in_(list(f.credit_by_customer))
                )
            ).all()
        )
        for customer_id, amount in sorted(f.credit_by_customer.items()):
            lines += _side("1122", amount, True, memo="挂账", counterparty_id=cps[customer_id])
    for (channel, category), net in sorted((f.revenue or {}).items()):
        lines += _side(
            "5001",
            net,
            False,
            memo="销售收入",
            channel=channel,
            store_id=store.id,
            product_category=category or None,
        )
    if f.tax:
        ensure_sub_account(conn, org, "2221", *VAT_ACCOUNT)
        lines += _side(VAT_ACCOUNT[0], f.tax, False, memo="销项税额")
    lines += _side("5401", f.cost, True, memo="结转销售成本", store_id=store.id)
    lines += _side("1405", f.cost, False, memo="结转销售成本", store_id=store.id)
    if variance > 0:
        lines += _side("5301", variance, False, memo="现金长款")
    elif variance < 0:
        lines += _side("1221", -variance, True, memo="现金短款", counterparty_id=cashier_cp)
    return lines


def voucher_date(conn: Connection, org_id: int, business_date: date) -> tuple[date, str]:
    """The date a shift's voucher posts on, and a note for its 摘要 when that is not the business date.

    A till is never blocked by an officer's close: when the shift's month is already closed (closed by
    mistake, or closed while this shift was still being rung up), the voucher posts on the first day of
    the first open month — the way a late voucher (补记) is booked by hand — and its 摘要 names the
    business date. The shift itself keeps its business date.
    """
    closed = closed_through(conn, org_id)
    if closed is None or f"{business_date:%Y-%m}" > closed:
        return business_date, ""
    first_open = period_bounds(next_period(closed))[0]
    return first_open, f"（营业日 {business_date.isoformat()}，{business_date:%Y-%m} 已结账，补记）"


def close_shift(conn: Connection, user: Principal, shift_id: int, counted_cash_fen: int) -> dict:
    """交班: count the cash, post the shift's one voucher, close the shift. A repeat returns the report."""
    shift = shift_for(conn, user, shift_id, lock=True, own=True)
    if shift["status"] == "closed":
        if shift["counted_cash_fen"] != counted_cash_fen:
            raise ShiftAlreadyClosed(
                f"shift {shift_id} was closed with {format_amount(shift['counted_cash_fen'])} counted",
                field="counted_cash",
            )
        return shift_report(conn, user, shift_id)
    store = get_store(conn, shift["store_id"])
    f = shift_figures(conn, shift_id)
    expected = expected_cash(shift, f)
    variance = counted_cash_fen - expected
    cashier_cp = None
    if variance < 0:
        cashier = conn.execute(
            select(func.coalesce(func.nullif(_user_t().c.display_name, ""), _user_t().c.username)).where(
                _user_t().c.id == shift["cashier_user_id"]
            )
        ).scalar_one()
        cashier_cp = counterparty(conn, store.org_id, "cashier", cashier)
    lines = close_voucher_lines(conn, store, shift, f, variance, cashier_cp)
    entry_id = voucher_no = None
    if lines:
        entry_date, late = voucher_date(conn, store.org_id, shift["business_date"])
        posted = post_entry(
            conn,
            Draft(
                org_id=store.org_id,
                entry_date=entry_date,
                memo=f"{store.name} 日结 第{shift_id}班 ({f.sales}笔销售, {f.refunds}笔退货){late}",
                lines=lines,
                source="pos",
                source_ref=f"shift:{shift_id}",
                idempotency_key=f"shift-close:{shift_id}",
            ),
            user_id=user.user_id,
        )
        entry_id, voucher_no = posted.id, posted.voucher_no
    conn.execute(
        update(shift_t)
        .where(shift_t.c.id == shift_id)
        .values(
            status="closed",
            closed_at=now(),
            closed_by=user.user_id,
            counted_cash_fen=counted_cash_fen,
            expected_cash_fen=expected,
            entry_id=entry_id,
            voucher_no=voucher_no,
        )
    )
    return shift_report(conn, user, shift_id, figures=f)


def _user_t() -> Table:
    from ledger.db.models import UserAccount

    return UserAccount.__table__


def shift_report(
    conn: Connection, user: Principal, shift_id: int, *, figures: ShiftFigures | None = None
) -> dict:
    shift = shift_for(conn, user, shift_id)
    f = figures or shift_figures(conn, shift_id)
    expected = expected_cash(shift, f)
    counted = shift["counted_cash_fen"]
    return {
        "id": shift["id"],
        "store_id": shift["store_id"],
        "cashier_user_id": shift["cashier_user_id"],
        "status": shift["status"],
        "business_date": shift["business_date"].isoformat()
        if isinstance(shift["business_date"], date)
        else str(shift["business_date"]),
        "opened_at": _iso(shift["opened_at"]),
        "closed_at": _iso(shift["closed_at"]),
        "sales": f.sales,
        "refunds": f.refunds,
        "takings": format_amount(f.takings),
        "revenue": format_amount(f.net_revenue),
        "tax": format_amount(f.tax),
        "cost": format_amount(f.cost),
        "by_method": {m: format_amount(v) for m, v in sorted((f.by_method or {}).items())},
        "revenue_by_channel": _by_channel(f),
        "cash": {
            "float": format_amount(shift["float_fen"]),
            "received": format_amount(f.cash_received),
            "change": format_amount(f.change),
            "pay_ins": format_amount(f.pay_ins),
            "payouts": format_amount(f.payouts),
            "expected": format_amount(expected),
            "counted": format_amount(counted) if counted is not None else None,
            "over_short": format_amount(counted - expected) if counted is not None else None,
        },
        "voucher_no": shift["voucher_no"],
        "entry_id": shift["entry_id"],
    }


def _by_channel(f: ShiftFigures) -> dict[str, str]:
    out: dict[str, int] = defaultdict(int)
    for (channel, _), net in (f.revenue or {}).items():
        out[channel] += net
    return {k: format_amount(v) for k, v in sorted(out.items())}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def list_shifts(conn: Connection, user: Principal, store_id: int, status: str | None) -> list[dict]:
    require_store(conn, user, store_id)
    stmt = select(shift_t.c.id).where(shift_t.c.store_id == store_id).order_by(shift_t.c.id.desc()).limit(200)
    if status:
        stmt = stmt.where(shift_t.c.status == status)
    return [shift_report(conn, user, sid) for sid in conn.execute(stmt).scalars()]


@register_close_check
def open_shifts_block_close(conn: Connection, org_id: int, period: str) -> list[str]:
    """A month cannot close while a shift opened in or before it is still open (its voucher is not posted)."""
    _, last = period_bounds(period)
    ids = (
        conn.execute(
            select(shift_t.c.id).where(
                shift_t.c.org_id == org_id, shift_t.c.status == "open", shift_t.c.business_date <= last
            )
        )
        .scalars()
        .all()
    )
    if not ids:
        return []
    return [f"POS shift(s) {', '.join(map(str, ids[:10]))} still open; close them (交班) first"]
