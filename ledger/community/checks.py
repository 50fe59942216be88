"""The community sub-ledgers' promises, checked by ``cunshe verify`` and before a month closes.

* ``lease_receivables_tie``: per lease contract, Σ live charges − Σ receipt parts = the balance of its
  112 lines (DESIGN §7 "open lease receivables = 112 [lease contracts]"), and no charge or receipt part is
  allocated beyond its amount. A charge whose voucher was reversed (红字冲销) counts for nothing, as its
  voucher and the reversal together count for nothing on 112; its allocations are released.
* ``leases_accrued`` / ``stipends_posted``: a month closes only when every contract-month with rent and
  every active welfare post's stipend of that month has been posted.

This module only reads; it must never write or fix what it finds.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, func, select

from ledger.books.orgs import get_org
from ledger.books.periods import period_bounds, register_close_check
from ledger.books.posting import DimensionLookup, KeptAccount, register_dimension, register_kept_account
from ledger.books.verify import Problem, Tie, register_check, register_tie
from ledger.community.leases.contracts import CHARGE_LIVE, LIVE_RECEIPT_IDS, schedule_of, terms_of
from ledger.community.models import (
    LeaseAllocation,
    LeaseCharge,
    LeaseContract,
    LeaseReceiptPart,
    WelfarePost,
    WelfareStipend,
)
from ledger.db.models import Account, JournalLine

contract_t = LeaseContract.__table__
charge_t = LeaseCharge.__table__
part_t = LeaseReceiptPart.__table__
alloc_t = LeaseAllocation.__table__
post_t = WelfarePost.__table__
stipend_t = WelfareStipend.__table__
line_t = JournalLine.__table__
account_t = Account.__table__


def lease_tie_differences(conn: Connection, org_id: int) -> dict[int, tuple[int, int]]:
    """Contracts whose sub-ledger balance differs from their 112 balance: id → (sub-ledger, 112)."""
    sub: dict[int, int] = {}
    for cid, total in conn.execute(
        select(charge_t.c.contract_id, func.sum(charge_t.c.amount_fen))
        .where(charge_t.c.org_id == org_id, CHARGE_LIVE)
        .group_by(charge_t.c.contract_id)
    ):
        sub[cid] = sub.get(cid, 0) + int(total)
    for cid, total in conn.execute(
        select(part_t.c.contract_id, func.sum(part_t.c.amount_fen))
        .where(part_t.c.org_id == org_id, part_t.c.receipt_id.in_(LIVE_RECEIPT_IDS))
        .group_by(part_t.c.contract_id)
    ):
        sub[cid] = sub.get(cid, 0) - int(total)
    contracts = select(contract_t.c.id).where(contract_t.c.org_id == org_id)
    books: dict[int, int] = {}
    for cid, total in conn.execute(
        select(line_t.c.contract_id, func.sum(line_t.c.debit_fen - line_t.c.credit_fen))
        .join(account_t, account_t.c.id == line_t.c.account_id)
        .where(
            line_t.c.org_id == org_id,
            account_t.c.code == "112",
            line_t.c.contract_id.in_(contracts),
        )
        .group_by(line_t.c.contract_id)
    ):
        books[cid] = int(total)
    return {
        cid: (sub.get(cid, 0), books.get(cid, 0))
        for cid in set(sub) | set(books)
        if sub.get(cid, 0) != books.get(cid, 0)
    }


def _orgs_of(table: Table) -> DimensionLookup:
    def lookup(conn: Connection, ids: set[int]) -> dict[int, int]:
        found: dict[int, int] = {}
        ordered = sorted(ids)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            found.update(conn.execute(select(table.c.id, table.c.org_id).where(table.c.id.in_(chunk))).all())
        return found

    return lookup


register_dimension("contract_id", _orgs_of(contract_t))
register_dimension("welfare_post_id", _orgs_of(post_t))
# A plain entry naming a contract on 112 would move the lease tie: charges, receipts and transfers do it.
register_kept_account(
    KeptAccount(
        "112",
        "the lease sub-ledger (a lease charge, receipt or transfer: /orgs/{org}/leases…, /lease-receipts)",
        dimension="contract_id",
        source="lease",
    )
)
# A line naming a welfare post (its stipend accrued to 51401/212, paid from 212) is the post's sub-ledger:
# the stipend run and the payments post it, and what is owed to the holder is read from them.
register_kept_account(
    KeptAccount(
        "",
        "the welfare posts (a stipend run or a stipend payment: /orgs/{org}/welfare-posts…)",
        dimension="welfare_post_id",
        source="welfare",
    )
)


@register_tie(None)  # verify reports its contracts one by one in ``lease_receivables_tie`` below
def lease_tie(conn: Connection, org_id: int) -> Tie | None:
    """租赁应收 = 112 [合同]: open lease charges less receipts against 112 on the org's contracts."""
    if get_org(conn, org_id).standard != "collective":
        return None
    charged = conn.execute(
        select(func.coalesce(func.sum(charge_t.c.amount_fen), 0)).where(
            charge_t.c.org_id == org_id, CHARGE_LIVE
        )
    ).scalar_one()
    received = conn.execute(
        select(func.coalesce(func.sum(part_t.c.amount_fen), 0)).where(
            part_t.c.org_id == org_id, part_t.c.receipt_id.in_(LIVE_RECEIPT_IDS)
        )
    ).scalar_one()
    contracts = select(contract_t.c.id).where(contract_t.c.org_id == org_id)
    ledger = conn.execute(
        select(func.coalesce(func.sum(line_t.c.debit_fen - line_t.c.credit_fen), 0))
        .join(account_t, account_t.c.id == line_t.c.account_id)
        .where(line_t.c.org_id == org_id, account_t.c.code == "112", line_t.c.contract_id.in_(contracts))
    ).scalar_one()
    diffs = lease_tie_differences(conn, org_id)
    return Tie(
        "leases",
        "租赁应收 = 112 [合同]",
        int(charged) - int(received),
        int(ledger),
        ("contract_id", "subledger_fen", "ledger_fen", "difference_fen"),
        tuple((cid, sub, books, sub - books) for cid, (sub, books) in sorted(diffs.items())),
    )


@register_check
def lease_receivables_tie(conn: Connection, org_id: int) -> list[Problem]:
    problems = [
        Problem(org_id, "lease_receivables", f"contract {cid}: charges − receipts = {s} fen, 112 = {b} fen")
        for cid, (s, b) in sorted(lease_tie_differences(conn, org_id).items())
    ]
    over_charge = conn.execute(
        select(charge_t.c.id)
        .join(alloc_t, alloc_t.c.charge_id == charge_t.c.id)
        .where(charge_t.c.org_id == org_id, CHARGE_LIVE, alloc_t.c.receipt_id.in_(LIVE_RECEIPT_IDS))
        .group_by(charge_t.c.id, charge_t.c.amount_fen)
        .having(func.sum(alloc_t.c.amount_fen) > charge_t.c.amount_fen)
    ).scalars()
    problems += [
        Problem(org_id, "lease_receivables", f"charge {cid} is allocated more than its amount")
        for cid in over_charge
    ]
    over_part = conn.execute(
        select(part_t.c.receipt_id, part_t.c.contract_id)
        .join(
            alloc_t,
            (alloc_t.c.receipt_id == part_t.c.receipt_id) & (alloc_t.c.contract_id == part_t.c.contract_id),
        )
        .join(charge_t, charge_t.c.id == alloc_t.c.charge_id)
        .where(part_t.c.org_id == org_id, CHARGE_LIVE, part_t.c.receipt_id.in_(LIVE_RECEIPT_IDS))
        .group_by(part_t.c.receipt_id, part_t.c.contract_id, part_t.c.amount_fen)
        .having(func.sum(alloc_t.c.amount_fen) > part_t.c.amount_fen)
    ).all()
    problems += [
        Problem(org_id, "lease_receivables", f"receipt {r} allocates more than it credited contract {c}")
        for r, c in over_part
    ]
    return problems


@register_close_check
def leases_accrued(conn: Connection, org_id: int, period: str) -> list[str]:
    first, last = period_bounds(period)
    contracts = conn.execute(
        select(contract_t).where(
            contract_t.c.org_id == org_id, contract_t.c.start_date <= last, contract_t.c.end_date >= first
        )
    ).all()
    if not contracts:
        return []
    charged = set(
        conn.execute(
            select(charge_t.c.contract_id).where(
                charge_t.c.org_id == org_id, charge_t.c.period == period, CHARGE_LIVE
            )
        ).scalars()
    )
    missing = [
        c.code
        for c in contracts
        if c.id not in charged
        and (c.accrued_through is None or c.accrued_through < period)
        and any(ln.period == period and ln.amount_fen > 0 for ln in schedule_of(terms_of(c)))
    ]
    if not missing:
        return []
    shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
    return [f"lease accruals of {period} not run for {len(missing)} contract(s): {shown}"]


@register_close_check
def stipends_posted(conn: Connection, org_id: int, period: str) -> list[str]:
    first, last = period_bounds(period)
    posts = set(
        conn.execute(
            select(post_t.c.id).where(
                post_t.c.org_id == org_id,
                post_t.c.start_date <= last,
                (post_t.c.end_date.is_(None)) | (post_t.c.end_date >= first),
            )
        ).scalars()
    )
    if not posts:
        return []
    done = set(
        conn.execute(
            select(stipend_t.c.post_id).where(stipend_t.c.org_id == org_id, stipend_t.c.period == period)
        ).scalars()
    )
    missing = posts - done
    return [f"welfare stipends of {period} not posted for {len(missing)} post(s)"] if missing else []
