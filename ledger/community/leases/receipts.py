"""Rent received (收租), deposits (押金) and how receipts pay charges (核销).

A receipt is any amount on any day from a lessee:

    Dr 102 银行存款 (or 101) / Cr 112 应收款 [lessee, contract]   — one credit line per contract

It pays the lessee's open charges oldest first (by due date; explicit allocation also possible); what is
left stays on one contract as a credit (预收, prepaid rent), which later accruals use up month by month, so
rent paid years ahead is still recognised monthly. When an accrual voucher is reversed (红字冲销), what
receipts had paid on its charges is released: the allocations stay as records but count for nothing, the
money is the contract's credit again and pays its next open charge (the re-accrued month, or another).
Per contract, the sub-ledger (live charges − receipt parts) equals the 112 balance of that contract;
allocations only say which charges are paid, for aging.

Deposits: received Dr 102 / Cr 21101 押金 [lessee, contract]; refunded the reverse; applied to arrears at
termination Dr 21101 / Cr 112 [lessee, contract] — a receipt whose source is the deposit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select

from ledger.books.errors import Conflict, ValidationError
from ledger.books.orgs import now
from ledger.books.posting import Draft, Line, post_entries
from ledger.community import accounts as acct
from ledger.community.idempotency import earlier_record
from ledger.community.leases.contracts import (
    CHARGE_LIVE,
    LIVE_RECEIPT_IDS,
    get_contract,
    lessee_of,
    lock_books,
    require_collective,
    terminate_contract,
)
from ledger.community.models import (
    LeaseAllocation,
    LeaseCharge,
    LeaseContract,
    LeaseDeposit,
    LeaseReceipt,
    LeaseReceiptPart,
)
from ledger.db.models import Counterparty
from ledger.db.rows import insert_id

contract_t = LeaseContract.__table__
charge_t = LeaseCharge.__table__
receipt_t = LeaseReceipt.__table__
part_t = LeaseReceiptPart.__table__
alloc_t = LeaseAllocation.__table__
deposit_t = LeaseDeposit.__table__
cp_t = Counterparty.__table__


@dataclass(frozen=True)
class OpenCharge:
    id: int
    contract_id: int
    period: str
    due_date: date
    amount_fen: int
    open_fen: int


@dataclass(frozen=True)
class ReceiptResult:
    receipt_id: int
    entry_id: int
    voucher_no: str
    applied_fen: int
    credit_fen: int
    created: bool


def open_charges(
    conn: Connection, org_id: int, *, lessee_id: int | None = None, contract_ids: Iterable[int] | None = None
) -> list[OpenCharge]:
    """Charges not fully paid, oldest first (due date, month, contract)."""
    paid = (
        select(alloc_t.c.charge_id, func.sum(alloc_t.c.amount_fen).label("paid"))
        .where(alloc_t.c.org_id == org_id, alloc_t.c.receipt_id.in_(LIVE_RECEIPT_IDS))
        .group_by(alloc_t.c.charge_id)
        .subquery()
    )
    stmt = (
        select(
            charge_t.c.id,
            charge_t.c.contract_id,
            charge_t.c.period,
            charge_t.c.due_date,
            charge_t.c.amount_fen,
            func.coalesce(paid.c.paid, 0).label("paid"),
        )
        .outerjoin(paid, paid.c.charge_id == charge_t.c.id)
        .where(
            charge_t.c.org_id == org_id, CHARGE_LIVE, charge_t.c.amount_fen > func.coalesce(paid.c.paid, 0)
        )
        .order_by(charge_t.c.due_date, charge_t.c.period, charge_t.c.contract_id, charge_t.c.id)
    )
    if lessee_id is not None:
        stmt = stmt.where(charge_t.c.lessee_id == lessee_id)
    if contract_ids is not None:
        stmt = stmt.where(charge_t.c.contract_id.in_(list(contract_ids)))
    return [
        OpenCharge(r.id, r.contract_id, r.period, r.due_date, r.amount_fen, r.amount_fen - int(r.paid))
        for r in conn.execute(stmt)
    ]


def find_lessee(conn: Connection, org_id: int, *, lessee_id: int | None, lessee: str | None) -> int:
    """An existing lessee of the org, by id or by name; a receipt never creates one."""
    if lessee_id is None:
        if not lessee:
            raise ValidationError("name the lessee (lessee_id or lessee)", field="lessee_id")
        lessee_id = conn.execute(
            select(cp_t.c.id).where(cp_t.c.org_id == org_id, cp_t.c.kind == "lessee", cp_t.c.name == lessee)
        ).scalar()
        if lessee_id is None:
            raise ValidationError(f"{lessee!r} has no lease contract with this org", field="lessee")
    return lessee_of(conn, org_id, lessee_id=lessee_id, lessee=None)


def _fifo(charges: Sequence[OpenCharge], amount: int) -> list[tuple[OpenCharge, int]]:
    out = []
    for ch in charges:
        if amount <= 0:
            break
        take = min(amount, ch.open_fen)
        out.append((ch, take))
        amount -= take
    return out


def _credit_contract(conn: Connection, org_id: int, lessee_id: int, wanted: int | None) -> int:
    """Where a lessee's overpayment waits: the contract asked for, or the lessee's latest contract."""
    rows = conn.execute(
        select(contract_t.c.id)
        .where(contract_t.c.org_id == org_id, contract_t.c.lessee_id == lessee_id)
        .order_by(contract_t.c.start_date.desc(), contract_t.c.id.desc())
    ).scalars()
    ids = list(rows)
    if not ids:
        raise ValidationError("this lessee has no lease contract to receive rent for", field="lessee_id")
    if wanted is None:
        return ids[0]
    if wanted not in ids:
        raise ValidationError(f"contract {wanted} is not this lessee's", field="credit_contract_id")
    return wanted


def _record_receipt(
    conn: Connection,
    draft: Draft,
    *,
    org_id: int,
    lessee_id: int,
    received_on: date,
    amount_fen: int,
    source: str,
    cash_account: str,
    memo: str,
    parts: dict[int, int],
    allocations: Sequence[tuple[OpenCharge, int]],
    user_id: int | None,
) -> ReceiptResult:
    posted = post_entries(conn, [draft], user_id=user_id)[0]
    applied = sum(a for _, a in allocations)
    if not posted.created:  # an idempotent retry: the receipt is already recorded
        row = conn.execute(select(receipt_t).where(receipt_t.c.entry_id == posted.id)).first()
        if row is None:
            raise Conflict("the idempotency key belongs to an entry that is not a rent receipt")
        done = _applied(conn, row.id)
        return ReceiptResult(row.id, posted.id, posted.voucher_no, done, row.amount_fen - done, False)
    receipt_id = insert_id(
        conn,
        receipt_t,
        org_id=org_id,
        lessee_id=lessee_id,
        received_on=received_on,
        amount_fen=amount_fen,
        source=source,
        cash_account=cash_account,
        memo=memo,
        entry_id=posted.id,
        created_at=now(),
    )
    conn.execute(
        insert(part_t),
        [
            {"receipt_id": receipt_id, "contract_id": c, "org_id": org_id, "amount_fen": a}
            for c, a in parts.items()
        ],
    )
    if allocations:
        conn.execute(
            insert(alloc_t),
            [
                {
                    "org_id": org_id,
                    "receipt_id": receipt_id,
                    "charge_id": ch.id,
                    "contract_id": ch.contract_id,
                    "amount_fen": a,
                }
                for ch, a in allocations
            ],
        )
    return ReceiptResult(receipt_id, posted.id, posted.voucher_no, applied, amount_fen - applied, True)


def _replayed(conn: Connection, row: Row[Any]) -> ReceiptResult:
    from ledger.db.models import JournalEntry

    entry_t = JournalEntry.__table__
    voucher = conn.execute(select(entry_t.c.voucher_no).where(entry_t.c.id == row.entry_id)).scalar_one()
    applied = _applied(conn, row.id)
    return ReceiptResult(row.id, row.entry_id, voucher, applied, row.amount_fen - applied, False)


def _applied(conn: Connection, receipt_id: int) -> int:
    """What the receipt pays on charges that count (allocations to a reversed charge are released)."""
    return int(
        conn.execute(
            select(func.coalesce(func.sum(alloc_t.c.amount_fen), 0))
            .join(charge_t, charge_t.c.id == alloc_t.c.charge_id)
            .where(
                alloc_t.c.receipt_id == receipt_id, alloc_t.c.receipt_id.in_(LIVE_RECEIPT_IDS), CHARGE_LIVE
            )
        ).scalar_one()
    )


def receive_rent(
    conn: Connection,
    org_id: int,
    *,
    amount_fen: int,
    received_on: date,
    lessee_id: int | None = None,
    lessee: str | None = None,
    cash_account: str = acct.BANK,
    allocations: Sequence[tuple[int, int]] | None = None,
    credit_contract_id: int | None = None,
    memo: str = "",
    idempotency_key: str | None = None,
    user_id: int | None = None,
) -> ReceiptResult:
    """Rent received from a lessee: pays the oldest open charges (or ``allocations``: (charge id, fen)),
    and any rest stays as a credit on the lessee's latest contract (or ``credit_contract_id``)."""
    require_collective(conn, org_id)
    lock_books(conn, [org_id])  # what is open is read before posting: serialise with other writers
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise ValidationError("the amount received must be more than zero", field="amount")
    if cash_account not in acct.CASH_ACCOUNTS:
        raise ValidationError(
            f"rent is received into {' or '.join(acct.CASH_ACCOUNTS)}", field="cash_account"
        )
    lessee_id = find_lessee(conn, org_id, lessee_id=lessee_id, lessee=lessee)
    done = earlier_record(
        conn,
        org_id,
        idempotency_key,
        receipt_t,
        {
            "lessee_id": lessee_id,
            "amount_fen": amount_fen,
            "received_on": received_on,
            "cash_account": cash_account,
        },
    )
    if done is not None:
        return _replayed(conn, done)
    credit_contract = _credit_contract(conn, org_id, lessee_id, credit_contract_id)
    charges = open_charges(conn, org_id, lessee_id=lessee_id)
    if allocations is None:
        chosen = _fifo(charges, amount_fen)
    else:
        by_id = {c.id: c for c in charges}
        chosen = []
        for i, (charge_id, fen) in enumerate(allocations):
            ch = by_id.get(charge_id)
            if ch is None:
                raise ValidationError(
                    f"charge {charge_id} is not an open charge of this lessee",
                    field=f"allocations[{i}].charge_id",
                )
            if not 0 < fen <= ch.open_fen:
                raise ValidationError(
                    f"charge {charge_id} has {ch.open_fen} fen open; allocate between 1 and that",
                    field=f"allocations[{i}].amount",
                )
            chosen.append((ch, fen))
            by_id[charge_id] = OpenCharge(
                ch.id, ch.contract_id, ch.period, ch.due_date, ch.amount_fen, ch.open_fen - fen
            )
        if sum(f for _, f in chosen) > amount_fen:
            raise ValidationError(
                "the allocations add up to more than the amount received", field="allocations"
            )
    parts: dict[int, int] = defaultdict(int)
    for ch, fen in chosen:
        parts[ch.contract_id] += fen
    rest = amount_fen - sum(parts.values())
    if rest:
        parts[credit_contract] += rest
    lines = [Line(cash_account, debit_fen=amount_fen, memo=memo)]
    lines += [
        Line(acct.RECEIVABLE, credit_fen=fen, counterparty_id=lessee_id, contract_id=cid)
        for cid, fen in sorted(parts.items())
    ]
    draft = Draft(
        org_id=org_id,
        entry_date=received_on,
        memo=memo or "收租金",
        lines=lines,
        source="lease",
        source_ref=f"receipt:{lessee_id}",
        idempotency_key=idempotency_key,
    )
    return _record_receipt(
        conn,
        draft,
        org_id=org_id,
        lessee_id=lessee_id,
        received_on=received_on,
        amount_fen=amount_fen,
        source="cash",
        cash_account=cash_account,
        memo=memo,
        parts=dict(parts),
        allocations=chosen,
        user_id=user_id,
    )


def credit_pools(
    conn: Connection, org_ids: Sequence[int], contract_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], list[list[int]]]:
    """Per (org, contract): the receipts whose parts are not yet allocated, [receipt id, fen left], oldest
    first. A negative part (credit carried to another contract) uses up the oldest credit first."""
    wanted = set(contract_ids) if contract_ids is not None else None
    used = (
        select(alloc_t.c.receipt_id, alloc_t.c.contract_id, func.sum(alloc_t.c.amount_fen).label("used"))
        .join(charge_t, charge_t.c.id == alloc_t.c.charge_id)
        .where(alloc_t.c.org_id.in_(org_ids), CHARGE_LIVE)  # a reversed charge's allocations are released
        .group_by(alloc_t.c.receipt_id, alloc_t.c.contract_id)
        .subquery()
    )
    stmt = (
        select(
            part_t.c.org_id,
            part_t.c.receipt_id,
            part_t.c.contract_id,
            (part_t.c.amount_fen - func.coalesce(used.c.used, 0)).label("left"),
        )
        .outerjoin(
            used, (used.c.receipt_id == part_t.c.receipt_id) & (used.c.contract_id == part_t.c.contract_id)
        )
        .where(
            part_t.c.org_id.in_(org_ids),
            part_t.c.receipt_id.in_(LIVE_RECEIPT_IDS),
            part_t.c.amount_fen != func.coalesce(used.c.used, 0),
        )
        .order_by(part_t.c.contract_id, part_t.c.receipt_id)
    )
    pools: dict[tuple[int, int], list[list[int]]] = defaultdict(list)
    taken: dict[tuple[int, int], int] = defaultdict(int)
    for r in conn.execute(stmt):
        if wanted is not None and r.contract_id not in wanted:
            continue
        if r.left > 0:
            pools[(r.org_id, r.contract_id)].append([r.receipt_id, int(r.left)])
        else:
            taken[(r.org_id, r.contract_id)] -= int(r.left)
    for key, fen in taken.items():
        pool = pools.get(key, [])
        while fen and pool:
            take = min(fen, pool[0][1])
            pool[0][1] -= take
            fen -= take
            if pool[0][1] == 0:
                pool.pop(0)
    return {k: v for k, v in pools.items() if v}


def apply_credit(conn: Connection, org_ids: Sequence[int], contract_ids: Iterable[int] | None = None) -> int:
    """Use each contract's credit (receipt parts not yet allocated) on its open charges, oldest first.

    No entry is needed: the receipt already credited the contract's 112. Returns the fen applied.
    """
    if contract_ids is not None and not contract_ids:
        return 0
    rows = []
    for (org_id, contract_id), pool in credit_pools(conn, org_ids, contract_ids).items():
        for ch in open_charges(conn, org_id, contract_ids=[contract_id]):
            need = ch.open_fen
            while need and pool:
                receipt_id, left = pool[0]
                take = min(need, left)
                rows.append(
                    {
                        "org_id": org_id,
                        "receipt_id": receipt_id,
                        "charge_id": ch.id,
                        "contract_id": contract_id,
                        "amount_fen": take,
                    }
                )
                need -= take
                pool[0][1] -= take
                if pool[0][1] == 0:
                    pool.pop(0)
            if not pool:
                break
    if rows:
        conn.execute(insert(alloc_t), rows)
    return sum(r["amount_fen"] for r in rows)


def transfer_credit(
    conn: Connection,
    org_id: int,
    from_id: int,
    to_id: int,
    *,
    on: date,
    keep_fen: int = 0,
    user_id: int | None = None,
) -> int:
    """Carry a contract's unused credit (prepaid rent), less ``keep_fen`` still to be charged on it, to the
    contract that supersedes it: Dr 112 [lessee, old] / Cr 112 [lessee, new]; then use it on the new
    contract's open charges. Returns the fen carried."""
    old = get_contract(conn, org_id, from_id)
    new = get_contract(conn, org_id, to_id)
    lock_books(conn, [org_id])
    credit = sum(left for _, left in credit_pools(conn, [org_id], [from_id]).get((org_id, from_id), []))
    credit -= keep_fen
    if credit <= 0:
        return 0
    draft = Draft(
        org_id=org_id,
        entry_date=on,
        memo=f"预收租金转入 {old.code} → {new.code}",
        lines=[
            Line(acct.RECEIVABLE, debit_fen=credit, counterparty_id=old.lessee_id, contract_id=from_id),
            Line(acct.RECEIVABLE, credit_fen=credit, counterparty_id=new.lessee_id, contract_id=to_id),
        ],
        source="lease",
        source_ref=f"credit:{from_id}:{to_id}",
        idempotency_key=f"lease-credit:{from_id}:{to_id}",
    )
    _record_receipt(
        conn,
        draft,
        org_id=org_id,
        lessee_id=new.lessee_id,
        received_on=on,
        amount_fen=credit,
        source="transfer",
        cash_account=acct.RECEIVABLE,
        memo="预收租金转入",
        parts={from_id: -credit, to_id: credit},
        allocations=[],
        user_id=user_id,
    )
    apply_credit(conn, [org_id], [to_id])
    return credit


# -- deposits ---------------------------------------------------------------------------------------------


def deposit_held(conn: Connection, contract_id: int) -> int:
    held = 0
    for kind, total in conn.execute(
        select(deposit_t.c.kind, func.sum(deposit_t.c.amount_fen))
        .where(deposit_t.c.contract_id == contract_id, deposit_t.c.reversed_by_entry_id.is_(None))
        .group_by(deposit_t.c.kind)
    ):
        held += int(total) if kind == "received" else -int(total)
    return held


def _deposit(
    conn: Connection,
    org_id: int,
    contract_id: int,
    kind: str,
    amount_fen: int,
    on: date,
    lines: list[Line],
    memo: str,
    idempotency_key: str | None,
    user_id: int | None,
) -> int:
    draft = Draft(
        org_id=org_id,
        entry_date=on,
        memo=memo,
        lines=lines,
        source="lease",
        source_ref=f"deposit:{contract_id}",
        idempotency_key=idempotency_key,
    )
    posted = post_entries(conn, [draft], user_id=user_id)[0]
    if posted.created:
        conn.execute(
            insert(deposit_t).values(
                org_id=org_id,
                contract_id=contract_id,
                kind=kind,
                on_date=on,
                amount_fen=amount_fen,
                entry_id=posted.id,
            )
        )
    return posted.id


def _check_amount(amount_fen: int) -> None:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise ValidationError("the amount must be more than zero", field="amount")


def receive_deposit(
    conn: Connection,
    org_id: int,
    contract_id: int,
    *,
    amount_fen: int,
    on: date,
    cash_account: str = acct.BANK,
    idempotency_key: str | None = None,
    user_id: int | None = None,
) -> int:
    """押金 received: Dr 102 / Cr 21101 [lessee, contract]. Returns the entry id."""
    require_collective(conn, org_id)
    _check_amount(amount_fen)
    if cash_account not in acct.CASH_ACCOUNTS:
        raise ValidationError(
            f"deposits are received into {' or '.join(acct.CASH_ACCOUNTS)}", field="cash_account"
        )
    c = get_contract(conn, org_id, contract_id)
    acct.ensure(conn, org_id, acct.DEPOSITS)
    dims = {"counterparty_id": c.lessee_id, "contract_id": c.id}
    lines = [Line(cash_account, debit_fen=amount_fen), Line(acct.DEPOSITS, credit_fen=amount_fen, **dims)]
    return _deposit(
        conn,
        org_id,
        contract_id,
        "received",
        amount_fen,
        on,
        lines,
        f"收押金 {c.code}",
        idempotency_key,
        user_id,
    )


def refund_deposit(
    conn: Connection,
    org_id: int,
    contract_id: int,
    *,
    amount_fen: int | None = None,
    on: date,
    cash_account: str = acct.BANK,
    idempotency_key: str | None = None,
    user_id: int | None = None,
) -> int:
    """押金 refunded (all that is held, unless ``amount_fen``): Dr 21101 [lessee, contract] / Cr 102."""
    c = get_contract(conn, org_id, contract_id)
    lock_books(conn, [org_id])
    expect = {"contract_id": contract_id, "kind": "refunded", "amount_fen": amount_fen, "on_date": on}
    done = earlier_record(conn, org_id, idempotency_key, deposit_t, expect)
    if done is not None:
        return done.entry_id
    held = deposit_held(conn, contract_id)
    amount = held if amount_fen is None else amount_fen
    _check_amount(amount)
    if amount > held:
        raise ValidationError(f"the contract holds a deposit of {held} fen only", field="amount")
    dims = {"counterparty_id": c.lessee_id, "contract_id": c.id}
    lines = [Line(acct.DEPOSITS, debit_fen=amount, **dims), Line(cash_account, credit_fen=amount)]
    return _deposit(
        conn, org_id, contract_id, "refunded", amount, on, lines, f"退押金 {c.code}", idempotency_key, user_id
    )


def apply_deposit_to_arrears(
    conn: Connection, org_id: int, contract_id: int, *, on: date, user_id: int | None = None
) -> int:
    """Use the held deposit on the contract's open charges (oldest first): Dr 21101 / Cr 112. Returns fen."""
    c = get_contract(conn, org_id, contract_id)
    lock_books(conn, [org_id])
    held = deposit_held(conn, contract_id)
    charges = open_charges(conn, org_id, contract_ids=[contract_id])
    amount = min(held, sum(ch.open_fen for ch in charges))
    if amount <= 0:
        return 0
    chosen = _fifo(charges, amount)
    dims = {"counterparty_id": c.lessee_id, "contract_id": c.id}
    draft = Draft(
        org_id=org_id,
        entry_date=on,
        memo=f"押金抵欠租 {c.code}",
        lines=[
            Line(acct.DEPOSITS, debit_fen=amount, **dims),
            Line(acct.RECEIVABLE, credit_fen=amount, **dims),
        ],
        source="lease",
        source_ref=f"deposit:{contract_id}",
    )
    result = _record_receipt(
        conn,
        draft,
        org_id=org_id,
        lessee_id=c.lessee_id,
        received_on=on,
        amount_fen=amount,
        source="deposit",
        cash_account=acct.DEPOSITS,
        memo="押金抵欠租",
        parts={contract_id: amount},
        allocations=chosen,
        user_id=user_id,
    )
    conn.execute(
        insert(deposit_t).values(
            org_id=org_id,
            contract_id=contract_id,
            kind="applied",
            on_date=on,
            amount_fen=amount,
            entry_id=result.entry_id,
        )
    )
    return amount


def terminate_and_settle(
    conn: Connection,
    org_id: int,
    contract_id: int,
    *,
    last_day: date,
    on: date,
    refund_rest: bool = False,
    user_id: int | None = None,
) -> dict[str, int]:
    """Early termination: stop future charges, apply the deposit to arrears, optionally refund the rest.

    Charges through ``last_day`` should be accrued first (the accrual run); the deposit pays what is open.
    """
    terminate_contract(conn, org_id, contract_id, last_day=last_day)
    applied = apply_deposit_to_arrears(conn, org_id, contract_id, on=on, user_id=user_id)
    refunded = 0
    if refund_rest and deposit_held(conn, contract_id) > 0:
        refunded = deposit_held(conn, contract_id)
        refund_deposit(conn, org_id, contract_id, on=on, user_id=user_id)
    return {"applied": applied, "refunded": refunded, "deposit_left": deposit_held(conn, contract_id)}
