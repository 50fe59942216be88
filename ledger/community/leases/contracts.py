"""Lease contracts (承包 / 租赁 / 参股分红) and the monthly accrual run (租金计提).

A contract's rent schedule comes from ``ledger.community.leases.schedule.rent_schedule`` — the one schedule
generator (cached here per set of terms, ``schedule_of``); this module stores contracts, and charges each
contract-month's rent once. The run posts **one summary voucher per org and month**, as a village
accountant writes it (计提2025-03租金), dated the month's last day; per contract it carries

    Dr 112 应收款 [lessee, contract]

each line's 摘要 naming the contract, then one Cr 50102 租赁收入 for the month's rent net of VAT and one
Cr 214 应交税费 for its VAT, as the accountant's summary voucher has them (借 应收款—各承租人, 贷 经营收入—
租赁收入, 应交税费). Each contract's net rent and tax stay in its charge row (``lease_charge.net_fen``,
``tax_fen``): income per contract or lessee is read there, not from a line per contract, and the voucher
is half as long. The lease sub-ledger ties to 112 per contract. A
voucher takes at most ``MAX_LINES`` lines: an org with more contracts than fit gets several vouchers for
the month, numbered (1/2), (2/2). Beside the voucher, one ``lease_charge`` row per contract-month points
at it.

**Once per contract-month.** The charge rows are what make a contract-month charged once: the database
keeps at most one live charge per contract and month (a unique index). The run first locks the books of
the orgs it covers, so a second run started at the same time waits, then finds the months charged and
posts nothing; a run that finds months not charged yet (a contract added later, a month whose voucher
was reversed) posts another voucher for just those. The voucher's idempotency key is derived from the
org, the month and the contract-months it charges (``lease:{org}:{month}:{digest}``, the digest over each
contract id and how many of its charges for that month were reversed before), so a replayed run is
recognised as such and a re-accrual after a reversal is a new voucher; the unique charge index is the last
line of defence whatever happens.

**Closed months.** A month in a closed period is caught up in the first open month: its voucher is dated
the last day of that month and its memo says which month's rent it is, 计提2025-02租金(补提).

**Reversal (红字冲销).** Reversing a lease entry through the entries API is followed here
(``lease_entry_reversed``, run by ``ledger.books.posting.reverse_entry`` through ``ledger.books.reversals``):
an accrual voucher's charges are marked reversed — they stay as records but count for nothing, receipts
allocated to them become the contract's credit again, and the next run charges those months again; a
receipt's row is marked reversed — it credits no contract and pays no charge, so what it paid is open
again; a deposit movement is marked reversed and counts for nothing.

Amendments and early termination never touch a posted charge: a termination that would change a month
already charged is refused. An amendment is a new contract from its effective date, linked to the old one
(``relation`` ``amendment``); a renewal is a new contract after the old one's end (``renewal``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from ledger.access.auth import Principal
from ledger.books.errors import Conflict, NotFound, ValidationError
from ledger.books.orgs import counterparty, get_org, now
from ledger.books.periods import (
    check_run_size,
    check_run_through,
    closed_through,
    next_period,
    period_bounds,
)
from ledger.books.posting import MAX_LINES, Draft, Line, post_entries
from ledger.books.reversals import on_reversal
from ledger.community import accounts as acct
from ledger.community.leases.schedule import (
    BillingCycle,
    BillingTiming,
    LeaseTerms,
    ScheduleLine,
    effective_end,
    lease_terms_problems,
    rent_schedule,
)
from ledger.community.models import (
    LEASE_MODES,
    CommunityAsset,
    LeaseAllocation,
    LeaseCharge,
    LeaseContract,
    LeaseContractAsset,
    LeaseDeposit,
    LeaseReceipt,
    LeaseReceiptPart,
)
from ledger.db.models import BookState, Counterparty, Org
from ledger.db.rows import gc_paused, insert_id, insert_rows

contract_t = LeaseContract.__table__
contract_asset_t = LeaseContractAsset.__table__
asset_t = CommunityAsset.__table__
charge_t = LeaseCharge.__table__
part_t = LeaseReceiptPart.__table__
alloc_t = LeaseAllocation.__table__
cp_t = Counterparty.__table__
org_t = Org.__table__
book_t = BookState.__table__

CHARGE_LIVE = charge_t.c.reversed_by_entry_id.is_(None)
"""The charges that count: a reversed charge stays as the record of what was posted and counts for nothing."""
receipt_t = LeaseReceipt.__table__
deposit_t = LeaseDeposit.__table__
RECEIPT_LIVE = receipt_t.c.reversed_by_entry_id.is_(None)
"""Receipts that count: a reversed receipt credits no contract and pays no charge."""
LIVE_RECEIPT_IDS = select(receipt_t.c.id).where(RECEIPT_LIVE)
"""Parts and allocations of receipts that count: ``part_t.c.receipt_id.in_(LIVE_RECEIPT_IDS)``."""

RECEIVABLE, LEASE_INCOME, TAX_PAYABLE = acct.RECEIVABLE, acct.LEASE_INCOME, acct.TAX_PAYABLE
CONTRACTS_PER_VOUCHER = MAX_LINES - 2
"""A contract takes one line of a summary voucher (112) beside its 50102 and 214 lines; more split it."""
ANALYZE_AFTER = 10_000
"""A run that charges this many contract-months refreshes the planner's statistics (PostgreSQL)."""
LINES_PER_CALL = 20_000
"""Vouchers go to ``post_entries`` in calls of about this many lines (memory stays flat on a big run)."""
# The schedule module names fields by its own terms; the API names amounts without the ``_fen``.
_FIELD_NAMES = {"rent_per_cycle_fen": "rent_per_cycle"}


def require_collective(conn: Connection, org_id: int) -> None:
    """Leases, brokerage, subsidies and welfare posts are a collective's business (communities, villages)."""
    org = get_org(conn, org_id)
    if org.standard != "collective":
        raise ValidationError(f"{org.name} does not keep collective books", field="org")


def terms_of(row: Row[Any]) -> LeaseTerms:
    return LeaseTerms(
        start=row.start_date,
        end=row.end_date,
        rent_per_cycle_fen=row.rent_per_cycle_fen,
        cycle=BillingCycle(row.cycle),
        timing=BillingTiming(row.timing),
        free_months=row.free_months,
        escalation_bp=row.escalation_bp,
        escalation_every_years=row.escalation_every_years,
        vat_rate_bp=row.vat_rate_bp,
        terminated_on=row.terminated_on,
    )


def check_terms(terms: LeaseTerms) -> None:
    """Raise the first problem with the terms, naming the field as the API spells it."""
    problems = lease_terms_problems(terms)
    if problems:
        first = problems[0]
        raise ValidationError(first.message, field=_FIELD_NAMES.get(first.field or "", first.field))


def get_contract(conn: Connection, org_id: int, contract_id: int) -> Row[Any]:
    row = conn.execute(
        select(contract_t).where(contract_t.c.org_id == org_id, contract_t.c.id == contract_id)
    ).first()
    if row is None:
        raise NotFound(f"no lease contract {contract_id} in this org", field="contract_id")
    return row


def lessee_of(conn: Connection, org_id: int, *, lessee_id: int | None, lessee: str | None) -> int:
    """The lessee counterparty: an existing one by id, or one by name (created on first use)."""
    if lessee_id is not None:
        row = conn.execute(select(cp_t.c.kind).where(cp_t.c.org_id == org_id, cp_t.c.id == lessee_id)).first()
        if row is None:
            raise NotFound(f"counterparty {lessee_id} is not one of this org's", field="lessee_id")
        if row.kind != "lessee":
            raise ValidationError(
                f"counterparty {lessee_id} is a {row.kind}, not a lessee", field="lessee_id"
            )
        return lessee_id
    if lessee is None or not lessee.strip():
        raise ValidationError("name the lessee (承租方)", field="lessee")
    return counterparty(conn, org_id, "lessee", lessee.strip())


@dataclass(frozen=True, kw_only=True)
class NewContract:
    """A lease contract as registered: its number, mode, terms, lessee (an id, or a name created on first
    use), the assets it leases and the deposit agreed."""

    code: str
    mode: str
    terms: LeaseTerms
    lessee_id: int | None = None
    lessee: str | None = None
    asset_ids: Sequence[int] = ()
    deposit_fen: int = 0
    memo: str = ""


def create_contract(
    conn: Connection,
    org_id: int,
    new: NewContract,
    *,
    previous_id: int | None = None,
    relation: str | None = None,
) -> int:
    """Register a contract; its assets become ``leased``. Nothing is posted until the accrual run."""
    require_collective(conn, org_id)
    if not new.code.strip():
        raise ValidationError("a contract needs its number (合同编号)", field="code")
    if new.mode not in LEASE_MODES:
        raise ValidationError(f"mode is one of {', '.join(LEASE_MODES)}", field="mode")
    check_terms(new.terms)
    if not isinstance(new.deposit_fen, int) or new.deposit_fen < 0:
        raise ValidationError("the deposit must not be negative", field="deposit")
    if new.terms.terminated_on is not None:
        raise ValidationError("a new contract is not terminated", field="terminated_on")
    if conn.execute(
        select(contract_t.c.id).where(contract_t.c.org_id == org_id, contract_t.c.code == new.code)
    ).first():
        raise Conflict(f"contract {new.code!r} already exists in this org", field="code")
    lessee_id = lessee_of(conn, org_id, lessee_id=new.lessee_id, lessee=new.lessee)
    assets = list(dict.fromkeys(new.asset_ids))
    if assets:
        found = set(
            conn.execute(
                select(asset_t.c.id).where(asset_t.c.org_id == org_id, asset_t.c.id.in_(assets))
            ).scalars()
        )
        for i, asset_id in enumerate(assets):
            if asset_id not in found:
                raise NotFound(f"asset {asset_id} is not one of this org's", field=f"asset_ids[{i}]")
    contract_id = insert_id(
        conn,
        contract_t,
        org_id=org_id,
        code=new.code.strip(),
        mode=new.mode,
        lessee_id=lessee_id,
        start_date=new.terms.start,
        end_date=new.terms.end,
        rent_per_cycle_fen=new.terms.rent_per_cycle_fen,
        cycle=BillingCycle(new.terms.cycle).value,
        timing=BillingTiming(new.terms.timing).value,
        free_months=new.terms.free_months,
        escalation_bp=new.terms.escalation_bp,
        escalation_every_years=new.terms.escalation_every_years,
        vat_rate_bp=new.terms.vat_rate_bp,
        deposit_fen=new.deposit_fen,
        previous_id=previous_id,
        relation=relation,
        memo=new.memo,
        created_at=now(),
    )
    if assets:
        conn.execute(
            insert(contract_asset_t),
            [{"contract_id": contract_id, "asset_id": a, "org_id": org_id} for a in assets],
        )
        conn.execute(update(asset_t).where(asset_t.c.id.in_(assets)).values(status="leased"))
    return contract_id


def _release_assets(conn: Connection, org_id: int, contract_id: int, after: date) -> None:
    """Assets of the contract with no other contract running after ``after`` become idle again."""
    assets = (
        conn.execute(select(contract_asset_t.c.asset_id).where(contract_asset_t.c.contract_id == contract_id))
        .scalars()
        .all()
    )
    for asset_id in assets:
        others = conn.execute(
            select(contract_t)
            .join(contract_asset_t, contract_asset_t.c.contract_id == contract_t.c.id)
            .where(contract_asset_t.c.asset_id == asset_id, contract_t.c.id != contract_id)
        ).all()
        if not any(effective_end(terms_of(o)) > after for o in others):
            conn.execute(
                update(asset_t)
                .where(asset_t.c.org_id == org_id, asset_t.c.id == asset_id, asset_t.c.status == "leased")
                .values(status="idle")
            )


def terminate_contract(conn: Connection, org_id: int, contract_id: int, *, last_day: date) -> None:
    """End a contract early: ``last_day`` is the last day charged. Posted charges are never changed."""
    lock_books(conn, [org_id])  # the posted months are read before the change: serialise with accruals
    row = get_contract(conn, org_id, contract_id)
    if row.terminated_on is not None:
        raise Conflict(
            f"contract {row.code} was already terminated on {row.terminated_on}", field="contract_id"
        )
    terms = terms_of(row)
    cut = LeaseTerms(**{**terms.__dict__, "terminated_on": last_day})
    check_terms(cut)
    _refuse_changing_posted(conn, contract_id, rent_schedule(cut), "last_day")
    conn.execute(update(contract_t).where(contract_t.c.id == contract_id).values(terminated_on=last_day))
    _release_assets(conn, org_id, contract_id, last_day)


def _refuse_changing_posted(
    conn: Connection, contract_id: int, schedule: Sequence[ScheduleLine], field: str
) -> None:
    amounts = {line.period: line.amount_fen for line in schedule}
    for period, amount in conn.execute(
        select(charge_t.c.period, charge_t.c.amount_fen).where(
            charge_t.c.contract_id == contract_id, CHARGE_LIVE
        )
    ):
        if amounts.get(period) != amount:
            raise Conflict(
                f"the rent of {period} is already posted ({amount} fen) and the change would alter it; "
                "choose a date that leaves every posted month as it is",
                field=field,
            )


def successor_terms(
    conn: Connection,
    org_id: int,
    contract_id: int,
    *,
    start: date,
    end: date,
    rent_per_cycle_fen: int,
    cycle: BillingCycle | None = None,
    timing: BillingTiming | None = None,
    free_months: int = 0,
    escalation_bp: int | None = None,
    escalation_every_years: int | None = None,
    vat_rate_bp: int | None = None,
) -> LeaseTerms:
    """The terms of a renewal or an amendment of a contract: the dates and the rent given, and for what is
    not given the old contract's billing cycle, timing, escalation and VAT rate. Rent-free months are not
    carried over (an incentive of the first term); the rent is always given, since the old contract's
    base rent is not what its tenant pays once it has escalated."""
    old = terms_of(get_contract(conn, org_id, contract_id))
    return replace(
        old,
        start=start,
        end=end,
        rent_per_cycle_fen=rent_per_cycle_fen,
        free_months=free_months,
        terminated_on=None,
        cycle=old.cycle if cycle is None else cycle,
        timing=old.timing if timing is None else timing,
        escalation_bp=old.escalation_bp if escalation_bp is None else escalation_bp,
        escalation_every_years=(
            old.escalation_every_years if escalation_every_years is None else escalation_every_years
        ),
        vat_rate_bp=old.vat_rate_bp if vat_rate_bp is None else vat_rate_bp,
    )


def supersede_contract(
    conn: Connection,
    org_id: int,
    contract_id: int,
    *,
    relation: str,
    code: str,
    terms: LeaseTerms,
    deposit_fen: int | None = None,
    memo: str = "",
) -> int:
    """An amendment (from ``terms.start``; the old contract ends the day before) or a renewal (after the
    old contract's end): a new contract, same lessee and assets, linked to the old one."""
    old = get_contract(conn, org_id, contract_id)
    old_end = effective_end(terms_of(old))
    if relation == "amendment":
        if not old.start_date < terms.start <= old_end:
            raise ValidationError(
                f"an amendment takes effect inside the contract ({old.start_date} to {old_end})",
                field="start",
            )
        terminate_contract(conn, org_id, contract_id, last_day=terms.start - timedelta(days=1))
    elif relation == "renewal":
        if terms.start <= old_end:
            raise ValidationError(f"a renewal starts after the old contract ends ({old_end})", field="start")
    else:
        raise ValidationError("relation is amendment or renewal", field="relation")
    assets = (
        conn.execute(select(contract_asset_t.c.asset_id).where(contract_asset_t.c.contract_id == contract_id))
        .scalars()
        .all()
    )
    successor = NewContract(
        code=code,
        mode=old.mode,
        terms=terms,
        lessee_id=old.lessee_id,
        asset_ids=assets,
        deposit_fen=old.deposit_fen if deposit_fen is None else deposit_fen,
        memo=memo,
    )
    new_id = create_contract(conn, org_id, successor, previous_id=contract_id, relation=relation)
    from ledger.community.leases.receipts import transfer_credit  # receipts builds on this module

    transfer_credit(
        conn,
        org_id,
        contract_id,
        new_id,
        on=first_open_day(conn, org_id, terms.start),
        keep_fen=rent_not_yet_charged(conn, org_id, contract_id),
    )
    return new_id


def rent_not_yet_charged(conn: Connection, org_id: int, contract_id: int) -> int:
    """The rent the contract's schedule still has to charge (months not accrued yet)."""
    row = get_contract(conn, org_id, contract_id)
    charged = set(
        conn.execute(
            select(charge_t.c.period).where(charge_t.c.contract_id == contract_id, CHARGE_LIVE)
        ).scalars()
    )
    return sum(ln.amount_fen for ln in schedule_of(terms_of(row)) if ln.period not in charged)


def first_open_day(conn: Connection, org_id: int, day: date) -> date:
    """``day``, or the first day of the org's first open month when ``day`` falls in a closed one."""
    closed = closed_through(conn, org_id)
    if closed is None or f"{day:%Y-%m}" > closed:
        return day
    return period_bounds(next_period(closed))[0]


# -- accrual ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccrualResult:
    posted: int
    """Contract-months charged by this run."""
    replayed: int
    """Contract-months a concurrent run had charged first (nothing written twice)."""
    amount_fen: int
    vouchers: int = 0
    """Summary vouchers posted (one per org and month, more when a month has more contracts than fit)."""


def lock_books(conn: Connection, org_ids: Iterable[int]) -> None:
    """Take the orgs' posting locks now (PostgreSQL), so this transaction reads what a concurrent run wrote.

    SQLite's write transactions already hold the database lock from their first statement.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(
            select(book_t.c.org_id)
            .where(book_t.c.org_id.in_(sorted(set(org_ids))))
            .order_by(book_t.c.org_id)
            .with_for_update()
        ).all()


def collective_orgs_under(conn: Connection, org_id: int) -> list[int]:
    """The org itself if it keeps collective books, or every collective org of the street/county below it."""
    org = get_org(conn, org_id)
    if org.standard == "collective":
        return [org_id]
    if org.kind == "street":
        cond = org_t.c.street_id == org_id
    elif org.kind == "county":
        cond = org_t.c.id.is_not(None)
    else:
        raise ValidationError(f"{org.name} does not keep collective books", field="org")
    return list(
        conn.execute(
            select(org_t.c.id).where(cond, org_t.c.standard == "collective").order_by(org_t.c.id)
        ).scalars()
    )


def collective_orgs_for(conn: Connection, user: Principal, org_id: int, *, write: bool = False) -> list[int]:
    """The collective orgs a request on ``org_id`` covers for ``user`` (the API's and the web pages' rule):
    the org itself, or those of its street or the county that the user may see. ``require_org`` first, so
    an org outside the user's scope is a 404 and a write without rights a 403."""
    user.require_org(conn, org_id, write=write)
    visible = user.visible_orgs(conn)
    return [i for i in collective_orgs_under(conn, org_id) if visible is None or i in visible]


def schedule_of(terms: LeaseTerms) -> tuple[ScheduleLine, ...]:
    """The contract's rent schedule, computed once per set of terms in this process (terms are frozen)."""
    return _cached_schedule(terms)


@lru_cache(maxsize=8192)
def _cached_schedule(terms: LeaseTerms) -> tuple[ScheduleLine, ...]:
    return tuple(rent_schedule(terms))


#: (org, contract id, lessee, contract number, schedule line): a month of rent not charged yet
DueLine = tuple[int, int, int, str, ScheduleLine]
#: a lease_charge row in ``_CHARGE_COLUMNS`` order, for ``insert_rows``
ChargeRow = tuple[Any, ...]


def due_lines(conn: Connection, org_ids: Sequence[int], through: str) -> list[DueLine]:
    """(org, contract id, lessee, contract number, schedule line) for every month through ``through`` with
    rent and no live charge, by org, contract number and month."""
    _, last = period_bounds(through)
    contracts = conn.execute(
        select(contract_t)
        .where(
            contract_t.c.org_id.in_(org_ids),
            contract_t.c.start_date <= last,
            contract_t.c.accrued_through.is_(None) | (contract_t.c.accrued_through < through),
        )
        .order_by(contract_t.c.org_id, contract_t.c.code)
    ).all()
    if not contracts:
        return []
    charged: dict[int, set[str]] = defaultdict(set)
    for contract_id, period in conn.execute(
        select(charge_t.c.contract_id, charge_t.c.period).where(
            charge_t.c.org_id.in_(org_ids), charge_t.c.period <= through, CHARGE_LIVE
        )
    ):
        charged[contract_id].add(period)
    out: list[DueLine] = []
    nothing: set[str] = set()
    for c in contracts:
        done = charged.get(c.id, nothing)
        head = (c.org_id, c.id, c.lessee_id, c.code)
        for line in schedule_of(terms_of(c)):
            if line.period > through:
                break
            if line.amount_fen > 0 and line.period not in done:
                out.append((*head, line))
    return out


def _mark_accrued(conn: Connection, org_ids: Sequence[int], through: str) -> None:
    """Every contract of the orgs that started by ``through`` is now accrued through it."""
    _, last = period_bounds(through)
    conn.execute(
        update(contract_t)
        .where(
            contract_t.c.org_id.in_(org_ids),
            contract_t.c.start_date <= last,
            (contract_t.c.accrued_through.is_(None)) | (contract_t.c.accrued_through < through),
        )
        .values(accrued_through=through)
    )


def _reversed_counts(conn: Connection, org_ids: Sequence[int]) -> dict[tuple[int, str], int]:
    """(contract, month) → how many of its charges were reversed: part of a re-accrual's idempotency key."""
    return {
        (cid, period): int(n)
        for cid, period, n in conn.execute(
            select(charge_t.c.contract_id, charge_t.c.period, func.count())
            .where(charge_t.c.org_id.in_(org_ids), charge_t.c.reversed_by_entry_id.is_not(None))
            .group_by(charge_t.c.contract_id, charge_t.c.period)
        )
    }


def accrual_drafts(
    org_id: int,
    period: str,
    items: Sequence[DueLine],
    entry_date: date,
    reversed_counts: Mapping[tuple[int, str], int],
) -> list[tuple[Draft, list[ChargeRow]]]:
    """The org's summary voucher(s) of one month's rent (计提{period}租金) for ``items`` from ``due_lines``:
    per contract Dr 112 [lessee, contract], its 摘要 naming the contract, then one Cr 50102 for the
    month's rent net of VAT and one Cr 214 for the VAT (each contract's net and tax are in its charge
    row). More than ``CONTRACTS_PER_VOUCHER``
    contracts split into numbered vouchers. Returns each draft with its charge rows (entry id to add)."""
    late = "" if f"{entry_date:%Y-%m}" == period else "(补提)"
    chunks = [items[i : i + CONTRACTS_PER_VOUCHER] for i in range(0, len(items), CONTRACTS_PER_VOUCHER)]
    out = []
    for n, chunk in enumerate(chunks, 1):
        part = f"({n}/{len(chunks)})" if len(chunks) > 1 else ""
        lines: list[Line] = []
        charges = []
        charged = []
        net = tax = 0
        for org, cid, lessee, code, line in chunk:
            lines.append(
                Line(
                    RECEIVABLE,
                    line.amount_fen,
                    memo=f"计提{period}租金 {code}",
                    counterparty_id=lessee,
                    contract_id=cid,
                )
            )
            net += line.net_fen
            tax += line.tax_fen
            charges.append(
                (org, cid, lessee, period, line.amount_fen, line.net_fen, line.tax_fen, line.due_date)
            )
            charged.append(f"{cid}.{reversed_counts.get((cid, period), 0)}")
        lines.append(Line(LEASE_INCOME, 0, net, memo=f"计提{period}租金 {len(chunk)}份合同"))
        if tax:
            lines.append(Line(TAX_PAYABLE, 0, tax, memo=f"计提{period}租金 增值税"))
        digest = hashlib.sha256(",".join(charged).encode()).hexdigest()[:24]
        draft = Draft(
            org_id=org_id,
            entry_date=entry_date,
            memo=f"计提{period}租金{late}{part}",
            lines=lines,
            source="lease",
            source_ref=f"accrual:{period}",
            idempotency_key=f"lease:{org_id}:{period}:{digest}",
        )
        out.append((draft, charges))
    return out


def accrue_leases(
    conn: Connection, org_ids: Sequence[int], through: str, *, user_id: int | None = None
) -> AccrualResult:
    """Post every contract-month's rent through ``through`` that is not charged yet (idempotent): one
    summary voucher per org and month, dated the month's last day (or the first open month's)."""
    check_run_through(through)
    org_ids = sorted(set(org_ids))
    if not org_ids:
        return AccrualResult(0, 0, 0)
    lock_books(conn, org_ids)
    with gc_paused():
        return _accrue(conn, org_ids, through, user_id)


def _accrue(conn: Connection, org_ids: list[int], through: str, user_id: int | None) -> AccrualResult:
    pending = due_lines(conn, org_ids, through)
    _mark_accrued(conn, org_ids, through)
    if not pending:
        return AccrualResult(0, 0, 0)
    by_month: dict[tuple[int, str], list[DueLine]] = defaultdict(list)
    for item in pending:
        by_month[(item[0], item[4].period)].append(item)
    first_open: dict[int, str] = {}
    for org_id in sorted({org for org, _ in by_month}):
        acct.ensure(conn, org_id, acct.LEASE_INCOME)
        closed = closed_through(conn, org_id)
        first_open[org_id] = next_period(closed) if closed else ""
    reversed_counts = _reversed_counts(conn, org_ids)
    drafts: list[tuple[Draft, list[ChargeRow]]] = []
    for (org_id, period), items in sorted(by_month.items()):
        entry_date = period_bounds(max(period, first_open[org_id]))[1]
        drafts += accrual_drafts(org_id, period, items, entry_date, reversed_counts)
    check_run_size({p for _, p in by_month}, len(drafts), sum(i[4].amount_fen for i in pending), through)
    posted_count = replayed = total = vouchers = 0
    touched: set[int] = set()
    start = 0
    while start < len(drafts):
        stop, lines = start, 0
        while stop < len(drafts) and (stop == start or lines + len(drafts[stop][0].lines) <= LINES_PER_CALL):
            lines += len(drafts[stop][0].lines)
            stop += 1
        batch = drafts[start:stop]
        posted = post_entries(conn, [d for d, _ in batch], user_id=user_id)
        rows = []
        for (_, charges), p in zip(batch, posted, strict=True):
            if not p.created:  # a run that got here first charged exactly these months
                replayed += len(charges)
                continue
            rows += [(*ch, p.id) for ch in charges]
            vouchers += 1
        _insert_charges(conn, rows)
        posted_count += len(rows)
        total += sum(r[4] for r in rows)
        touched.update(r[1] for r in rows)
        start = stop
    if posted_count >= ANALYZE_AFTER and conn.dialect.name == "postgresql":
        # Right after a bulk run the planner has no statistics for the new rows yet (autovacuum comes a
        # minute later) and, guessing a handful of live charges, joins them to their allocations by nested
        # loop: a street's rent roll then took seconds instead of milliseconds.
        conn.exec_driver_sql("ANALYZE lease_charge")
    from ledger.community.leases.receipts import apply_credit  # receipts builds on this module

    apply_credit(conn, org_ids, touched)
    return AccrualResult(posted_count, replayed, total, vouchers)


_CHARGE_COLUMNS = (
    "org_id",
    "contract_id",
    "lessee_id",
    "period",
    "amount_fen",
    "net_fen",
    "tax_fen",
    "due_date",
    "entry_id",
)


def _insert_charges(conn: Connection, rows: list[ChargeRow]) -> None:
    """The run's charges, many rows a statement (dates as SQLAlchemy stores them)."""
    if conn.dialect.name == "sqlite":
        rows = [(*r[:7], r[7].isoformat(), r[8]) for r in rows]
    if rows:
        insert_rows(conn, charge_t.name, _CHARGE_COLUMNS, rows)


@on_reversal("lease")
def lease_entry_reversed(conn: Connection, entry_id: int, reversal_id: int) -> None:
    """The sub-ledger follows a 红字冲销 of a lease entry.

    An accrual voucher: its charges are marked reversed (kept as records, counting for
    nothing), their contracts lose the ``accrued_through`` shortcut so the next run charges those months
    again, and what receipts had paid on them becomes the contract's credit (预收) again, used at once on
    the contract's other open charges, oldest first, and otherwise on the re-accrued months.

    The reversal of a receipt (收租, 押金抵欠租, a credit transfer) marks the receipt reversed: it credits no
    contract and pays no charge, so the charges it paid are open again (and other credit of the contract
    pays them, oldest first). The reversal of a deposit movement marks it reversed: it counts for nothing."""
    conn.execute(
        update(deposit_t)
        .where(deposit_t.c.entry_id == entry_id, deposit_t.c.reversed_by_entry_id.is_(None))
        .values(reversed_by_entry_id=reversal_id)
    )
    receipt = conn.execute(
        select(receipt_t.c.id, receipt_t.c.org_id).where(receipt_t.c.entry_id == entry_id, RECEIPT_LIVE)
    ).first()
    if receipt is not None:
        conn.execute(
            update(receipt_t).where(receipt_t.c.id == receipt.id).values(reversed_by_entry_id=reversal_id)
        )
        contracts = sorted(
            conn.execute(select(part_t.c.contract_id).where(part_t.c.receipt_id == receipt.id)).scalars()
        )
        from ledger.community.leases.receipts import apply_credit  # receipts builds on this module

        apply_credit(conn, [receipt.org_id], contracts)
        return
    rows = conn.execute(
        select(charge_t.c.org_id, charge_t.c.contract_id).where(charge_t.c.entry_id == entry_id, CHARGE_LIVE)
    ).all()
    if not rows:
        return
    conn.execute(
        update(charge_t)
        .where(charge_t.c.entry_id == entry_id, CHARGE_LIVE)
        .values(reversed_by_entry_id=reversal_id)
    )
    contracts = sorted({r.contract_id for r in rows})
    conn.execute(update(contract_t).where(contract_t.c.id.in_(contracts)).values(accrued_through=None))
    from ledger.community.leases.receipts import apply_credit  # receipts builds on this module

    apply_credit(conn, [rows[0].org_id], contracts)


def contract_balances(conn: Connection, contract_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Per contract: (Σ charges, Σ receipts credited), from the sub-ledger."""
    ids = list(contract_ids)
    out: dict[int, list[int]] = {i: [0, 0] for i in ids}
    if not ids:
        return {}
    for cid, total in conn.execute(
        select(charge_t.c.contract_id, func.sum(charge_t.c.amount_fen))
        .where(charge_t.c.contract_id.in_(ids), CHARGE_LIVE)
        .group_by(charge_t.c.contract_id)
    ):
        out[cid][0] = int(total)
    for cid, total in conn.execute(
        select(part_t.c.contract_id, func.sum(part_t.c.amount_fen))
        .where(part_t.c.contract_id.in_(ids), part_t.c.receipt_id.in_(LIVE_RECEIPT_IDS))
        .group_by(part_t.c.contract_id)
    ):
        out[cid][1] = int(total)
    return {k: (v[0], v[1]) for k, v in out.items()}


def contract_ids(conn: Connection, org_id: int) -> list[int]:
    return list(
        conn.execute(
            select(contract_t.c.id).where(contract_t.c.org_id == org_id).order_by(contract_t.c.code)
        ).scalars()
    )


def contract_asset_ids(conn: Connection, contract_id: int) -> list[int]:
    return list(
        conn.execute(
            select(contract_asset_t.c.asset_id)
            .where(contract_asset_t.c.contract_id == contract_id)
            .order_by(contract_asset_t.c.asset_id)
        ).scalars()
    )
