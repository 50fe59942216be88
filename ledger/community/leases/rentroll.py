"""Rent roll (租金台账) and arrears aging (欠租账龄), per org or for every org of a street.

Read-only figures from the lease sub-ledger, as of a given date (never today's clock inside). *As of means
as of*: a charge counts when its accrual voucher is dated on or before the date and was not reversed by a
voucher dated on or before it; a receipt likewise by its date and its reversal's; an allocation (which
charge a receipt paid) counts when both its receipt and its charge count. So a January statement printed
again after February is booked shows what it showed in January.

* per contract: lessee, mode, term, the monthly rent of the as-of month (from the schedule), billed
  (Σ charges posted), received (Σ receipts credited to it), outstanding (billed − received; negative is a
  credit, rent paid ahead), and the open charges by aging bucket of their due date;
* totals that never net one tenant's prepaid credit against another's arrears (``roll_totals``);
* contracts whose term ends within ``horizon_days`` after the as-of date;
* idle assets (``ledger.community.assets``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, and_, func, or_, select

from ledger.community.leases.contracts import schedule_of, terms_of
from ledger.community.leases.schedule import AGING_BUCKETS, aging_bucket, effective_end
from ledger.community.models import (
    LeaseAllocation,
    LeaseCharge,
    LeaseContract,
    LeaseReceipt,
    LeaseReceiptPart,
)
from ledger.db.models import Counterparty, JournalEntry, Org

contract_t = LeaseContract.__table__
charge_t = LeaseCharge.__table__
receipt_t = LeaseReceipt.__table__
part_t = LeaseReceiptPart.__table__
entry_t = JournalEntry.__table__
alloc_t = LeaseAllocation.__table__
cp_t = Counterparty.__table__
org_t = Org.__table__


@dataclass
class RentRollRow:
    org_id: int
    org_code: str
    contract_id: int
    code: str
    mode: str
    lessee: str
    start: date
    end: date
    terminated_on: date | None
    monthly_rent_fen: int
    billed_fen: int = 0
    received_fen: int = 0
    aging: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AGING_BUCKETS, 0))

    @property
    def outstanding_fen(self) -> int:
        return self.billed_fen - self.received_fen

    @property
    def arrears_fen(self) -> int:
        """欠租: what the lessee owes on this contract (0 when paid up or ahead)."""
        return max(self.outstanding_fen, 0)

    @property
    def prepaid_fen(self) -> int:
        """预收: rent paid ahead on this contract (0 when it owes)."""
        return max(-self.outstanding_fen, 0)


def _counts_on(
    entry_id: ColumnElement[int], reversed_by_entry_id: ColumnElement[int | None], as_of: date
) -> ColumnElement[bool]:
    """Posted on or before ``as_of`` and not reversed by then (a reversal dated later counts later)."""
    return and_(
        select(entry_t.c.entry_date).where(entry_t.c.id == entry_id).scalar_subquery() <= as_of,
        or_(
            reversed_by_entry_id.is_(None),
            select(entry_t.c.entry_date).where(entry_t.c.id == reversed_by_entry_id).scalar_subquery()
            > as_of,
        ),
    )


def charges_on(as_of: date) -> ColumnElement[bool]:
    """The charges that count on ``as_of``."""
    return _counts_on(charge_t.c.entry_id, charge_t.c.reversed_by_entry_id, as_of)


def receipt_ids_on(as_of: date) -> Select[int]:
    """The receipts that count on ``as_of``, for ``part_t.c.receipt_id.in_(…)``."""
    return select(receipt_t.c.id).where(
        _counts_on(receipt_t.c.entry_id, receipt_t.c.reversed_by_entry_id, as_of)
    )


def rent_roll(conn: Connection, org_ids: Sequence[int], as_of: date) -> list[RentRollRow]:
    """Every contract of the orgs begun by ``as_of``, by org and contract number, as of that day."""
    ids = list(org_ids)
    period = f"{as_of.year:04d}-{as_of.month:02d}"
    live = charges_on(as_of)
    this_month = dict(
        conn.execute(
            select(charge_t.c.contract_id, charge_t.c.amount_fen).where(
                charge_t.c.org_id.in_(ids), charge_t.c.period == period, live
            )
        ).all()
    )
    rows: dict[int, RentRollRow] = {}
    for c in conn.execute(
        select(contract_t, cp_t.c.name.label("lessee"), org_t.c.code.label("org_code"))
        .join(cp_t, cp_t.c.id == contract_t.c.lessee_id)
        .join(org_t, org_t.c.id == contract_t.c.org_id)
        .where(contract_t.c.org_id.in_(ids), contract_t.c.start_date <= as_of)
        .order_by(contract_t.c.org_id, contract_t.c.code)
    ):
        terminated = c.terminated_on if c.terminated_on is not None and c.terminated_on <= as_of else None
        rows[c.id] = RentRollRow(
            c.org_id,
            c.org_code,
            c.id,
            c.code,
            c.mode,
            c.lessee,
            c.start_date,
            c.end_date,
            terminated,
            _month_rent(c, period, this_month),
        )
    for cid, total in conn.execute(
        select(charge_t.c.contract_id, func.sum(charge_t.c.amount_fen))
        .where(charge_t.c.org_id.in_(ids), live)
        .group_by(charge_t.c.contract_id)
    ):
        rows[cid].billed_fen = int(total)
    for cid, total in conn.execute(
        select(part_t.c.contract_id, func.sum(part_t.c.amount_fen))
        .where(part_t.c.org_id.in_(ids), part_t.c.receipt_id.in_(receipt_ids_on(as_of)))
        .group_by(part_t.c.contract_id)
    ):
        rows[cid].received_fen = int(total)
    for cid, due, amount_open in open_by_charge(conn, ids, as_of):
        rows[cid].aging[aging_bucket(due, as_of)] += amount_open
    return list(rows.values())


def roll_totals(rows: Sequence[RentRollRow]) -> dict[str, int]:
    """The roll's totals: arrears and prepaid rent summed apart (one tenant's credit never hides another's
    arrears); ``outstanding`` is the arrears, equal to the aging buckets' sum."""
    return {
        "monthly_rent": sum(r.monthly_rent_fen for r in rows),
        "billed": sum(r.billed_fen for r in rows),
        "received": sum(r.received_fen for r in rows),
        "outstanding": sum(r.arrears_fen for r in rows),
        "prepaid": sum(r.prepaid_fen for r in rows),
    }


def _month_rent(contract: Row[Any], period: str, posted: dict[int, int]) -> int:
    """The rent of the as-of month: the posted charge (equal to the schedule line by construction), or the
    schedule's line when the month is not accrued yet; 0 outside the term."""
    if contract.id in posted:
        return posted[contract.id]
    terms = terms_of(contract)
    if not f"{terms.start:%Y-%m}" <= period <= f"{effective_end(terms):%Y-%m}":
        return 0
    return next((ln.amount_fen for ln in schedule_of(terms) if ln.period == period), 0)


def open_by_charge(conn: Connection, org_ids: Sequence[int], as_of: date) -> list[tuple[int, date, int]]:
    """(contract, due date, open fen) of every charge not fully paid on ``as_of``."""
    paid = (
        select(alloc_t.c.charge_id, func.sum(alloc_t.c.amount_fen).label("paid"))
        .where(alloc_t.c.org_id.in_(list(org_ids)), alloc_t.c.receipt_id.in_(receipt_ids_on(as_of)))
        .group_by(alloc_t.c.charge_id)
        .subquery()
    )
    open_fen = charge_t.c.amount_fen - func.coalesce(paid.c.paid, 0)
    return [
        (r.contract_id, r.due_date, int(r.open_fen))
        for r in conn.execute(
            select(charge_t.c.contract_id, charge_t.c.due_date, open_fen.label("open_fen"))
            .outerjoin(paid, paid.c.charge_id == charge_t.c.id)
            .where(charge_t.c.org_id.in_(list(org_ids)), charges_on(as_of), open_fen > 0)
        )
    ]


def aging_totals(rows: Sequence[RentRollRow]) -> dict[str, int]:
    """Open charges per aging bucket over the rows, in report order."""
    totals: dict[str, int] = defaultdict(int)
    for r in rows:
        for bucket, fen in r.aging.items():
            totals[bucket] += fen
    return {b: totals[b] for b in AGING_BUCKETS}


def expiring(rows: Sequence[RentRollRow], as_of: date, horizon_days: int = 90) -> list[RentRollRow]:
    """Contracts still running on ``as_of`` whose last day falls within the horizon."""
    limit = as_of + timedelta(days=horizon_days)
    out = []
    for r in rows:
        last = r.terminated_on if r.terminated_on is not None and r.terminated_on < r.end else r.end
        if as_of <= last <= limit:
            out.append(r)
    return out


__all__ = [
    "RentRollRow",
    "aging_totals",
    "effective_end",
    "expiring",
    "open_by_charge",
    "rent_roll",
    "roll_totals",
]
