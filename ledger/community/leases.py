"""Lease contracts (承包 / 租赁 / 参股分红) and the monthly accrual run (租金计提).

A contract's rent schedule comes from ``ledger.leases.schedule.rent_schedule`` — the one schedule
generator; this module stores contracts, and posts each contract-month's rent once:

    Dr 112 应收款 [lessee, contract] / Cr 50102 租赁收入 [lessee, contract], Cr 214 应交税费

dated the last day of its month, with the idempotency key ``lease:{contract}:{period}``. The run first
locks the books of the orgs it covers, so a second run started at the same time waits and then finds the
months already charged; the idempotency key (unique per org in the database) is the last line of defence.
A month in a closed period is caught up in the first open month (memo says which month it is for).

Amendments and early termination never touch a posted charge: a termination that would change a month
already charged is refused. An amendment is a new contract from its effective date, linked to the old one
(``relation`` ``amendment``); a renewal is a new contract after the old one's end (``renewal``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, func, insert, select, update

from ledger.community import accounts as acct
from ledger.community.models import (
    LEASE_MODES,
    CommunityAsset,
    LeaseAllocation,
    LeaseCharge,
    LeaseContract,
    LeaseContractAsset,
    LeaseReceiptPart,
)
from ledger.db.models import BookState, Counterparty, Org
from ledger.errors import Conflict, NotFound, ValidationError
from ledger.leases.schedule import (
    BillingCycle,
    BillingTiming,
    LeaseTerms,
    ScheduleLine,
    effective_end,
    lease_terms_problems,
    rent_schedule,
)
from ledger.orgs import counterparty, get_org, now
from ledger.periods import closed_through, next_period, parse_period, period_bounds
from ledger.posting import Draft, Line, post_entries

contract_t = LeaseContract.__table__
contract_asset_t = LeaseContractAsset.__table__
asset_t = CommunityAsset.__table__
charge_t = LeaseCharge.__table__
part_t = LeaseReceiptPart.__table__
alloc_t = LeaseAllocation.__table__
cp_t = Counterparty.__table__
org_t = Org.__table__
book_t = BookState.__table__

BATCH = 4000
# The schedule module names fields by its own terms; the API names amounts without the ``_fen``.
_FIELD_NAMES = {"rent_per_cycle_fen": "rent_per_cycle"}


def require_collective(conn: Connection, org_id: int) -> None:
    """Leases, brokerage, subsidies and welfare posts are a collective's business (communities, villages)."""
    org = get_org(conn, org_id)
    if org.standard != "collective":
        raise ValidationError(f"{org.name} does not keep collective books", field="org")


def terms_of(row) -> LeaseTerms:  # type: ignore[no-untyped-def]
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


def get_contract(conn: Connection, org_id: int, contract_id: int):  # type: ignore[no-untyped-def]
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


def create_contract(
    conn: Connection,
    org_id: int,
    *,
    code: str,
    mode: str,
    terms: LeaseTerms,
    lessee_id: int | None = None,
    lessee: str | None = None,
    asset_ids: Sequence[int] = (),
    deposit_fen: int = 0,
    memo: str = "",
    previous_id: int | None = None,
    relation: str | None = None,
) -> int:
    """Register a contract; its assets become ``leased``. Nothing is posted until the accrual run."""
    require_collective(conn, org_id)
    if not code.strip():
        raise ValidationError("a contract needs its number (合同编号)", field="code")
    if mode not in LEASE_MODES:
        raise ValidationError(f"mode is one of {', '.join(LEASE_MODES)}", field="mode")
    check_terms(terms)
    if not isinstance(deposit_fen, int) or deposit_fen < 0:
        raise ValidationError("the deposit must not be negative", field="deposit")
    if terms.terminated_on is not None:
        raise ValidationError("a new contract is not terminated", field="terminated_on")
    if conn.execute(
        select(contract_t.c.id).where(contract_t.c.org_id == org_id, contract_t.c.code == code)
    ).first():
        raise Conflict(f"contract {code!r} already exists in this org", field="code")
    lessee_id = lessee_of(conn, org_id, lessee_id=lessee_id, lessee=lessee)
    assets = list(dict.fromkeys(asset_ids))
    if assets:
        found = set(
            conn.execute(
                select(asset_t.c.id).where(asset_t.c.org_id == org_id, asset_t.c.id.in_(assets))
            ).scalars()
        )
        for i, asset_id in enumerate(assets):
            if asset_id not in found:
                raise NotFound(f"asset {asset_id} is not one of this org's", field=f"asset_ids[{i}]")
    contract_id = conn.execute(
        insert(contract_t)
        .values(
            org_id=org_id,
            code=code.strip(),
            mode=mode,
            lessee_id=lessee_id,
            start_date=terms.start,
            end_date=terms.end,
            rent_per_cycle_fen=terms.rent_per_cycle_fen,
            cycle=BillingCycle(terms.cycle).value,
            timing=BillingTiming(terms.timing).value,
            free_months=terms.free_months,
            escalation_bp=terms.escalation_bp,
            escalation_every_years=terms.escalation_every_years,
            vat_rate_bp=terms.vat_rate_bp,
            deposit_fen=deposit_fen,
            previous_id=previous_id,
            relation=relation,
            memo=memo,
            created_at=now(),
        )
        .returning(contract_t.c.id)
    ).scalar_one()
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
        select(charge_t.c.period, charge_t.c.amount_fen).where(charge_t.c.contract_id == contract_id)
    ):
        if amounts.get(period) != amount:
            raise Conflict(
                f"the rent of {period} is already posted ({amount} fen) and the change would alter it; "
                "choose a date that leaves every posted month as it is",
                field=field,
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
    new_id = create_contract(
        conn,
        org_id,
        code=code,
        mode=old.mode,
        terms=terms,
        lessee_id=old.lessee_id,
        asset_ids=assets,
        deposit_fen=old.deposit_fen if deposit_fen is None else deposit_fen,
        memo=memo,
        previous_id=contract_id,
        relation=relation,
    )
    from ledger.community.receipts import transfer_credit  # receipts builds on this module

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
        conn.execute(select(charge_t.c.period).where(charge_t.c.contract_id == contract_id)).scalars()
    )
    return sum(ln.amount_fen for ln in rent_schedule(terms_of(row)) if ln.period not in charged)


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


def due_lines(conn: Connection, org_ids: Sequence[int], through: str) -> list[tuple]:  # type: ignore[type-arg]
    """(contract row, schedule line) for every month through ``through`` with rent and no charge yet."""
    _, last = period_bounds(through)
    contracts = conn.execute(
        select(contract_t).where(contract_t.c.org_id.in_(org_ids), contract_t.c.start_date <= last)
    ).all()
    charged: dict[int, set[str]] = defaultdict(set)
    for contract_id, period in conn.execute(
        select(charge_t.c.contract_id, charge_t.c.period).where(
            charge_t.c.org_id.in_(org_ids), charge_t.c.period <= through
        )
    ):
        charged[contract_id].add(period)
    out = []
    for c in contracts:
        if c.accrued_through is not None and c.accrued_through >= through:
            continue
        done = charged.get(c.id, set())
        for line in rent_schedule(terms_of(c)):
            if line.period > through:
                break
            if line.amount_fen > 0 and line.period not in done:
                out.append((c, line))
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


def accrual_draft(contract, line: ScheduleLine, entry_date: date) -> Draft:  # type: ignore[no-untyped-def]
    """The entry of one contract-month's rent."""
    dims = {"counterparty_id": contract.lessee_id, "contract_id": contract.id}
    lines = [
        Line(acct.RECEIVABLE, debit_fen=line.amount_fen, **dims),
        Line(acct.LEASE_INCOME, credit_fen=line.net_fen, **dims),
    ]
    if line.tax_fen:
        lines.append(Line(acct.TAX_PAYABLE, credit_fen=line.tax_fen, contract_id=contract.id))
    late = "" if entry_date.strftime("%Y-%m") == line.period else f"(补提{line.period})"
    return Draft(
        org_id=contract.org_id,
        entry_date=entry_date,
        memo=f"计提{line.period}租金 {contract.code}{late}",
        lines=lines,
        source="lease",
        source_ref=f"{contract.code}:{line.period}"[:128],
        idempotency_key=f"lease:{contract.id}:{line.period}",
    )


def accrue_leases(
    conn: Connection, org_ids: Sequence[int], through: str, *, user_id: int | None = None
) -> AccrualResult:
    """Post every contract-month's rent through ``through`` that is not posted yet (idempotent)."""
    parse_period(through, "through")
    org_ids = sorted(set(org_ids))
    if not org_ids:
        return AccrualResult(0, 0, 0)
    lock_books(conn, org_ids)
    pending = due_lines(conn, org_ids, through)
    _mark_accrued(conn, org_ids, through)
    if not pending:
        return AccrualResult(0, 0, 0)
    first_open: dict[int, str] = {}
    for org_id in {c.org_id for c, _ in pending}:
        acct.ensure(conn, org_id, acct.LEASE_INCOME)
        closed = closed_through(conn, org_id)
        first_open[org_id] = next_period(closed) if closed else ""
    drafts = []
    for c, line in pending:
        period = max(line.period, first_open[c.org_id])
        drafts.append(accrual_draft(c, line, period_bounds(period)[1]))
    posted_count = replayed = total = 0
    touched: set[int] = set()
    for start in range(0, len(drafts), BATCH):
        batch = drafts[start : start + BATCH]
        posted = post_entries(conn, batch, user_id=user_id)
        rows = []
        for (c, line), p in zip(pending[start : start + BATCH], posted, strict=True):
            if not p.created:
                replayed += 1
                continue
            rows.append(
                {
                    "org_id": c.org_id,
                    "contract_id": c.id,
                    "lessee_id": c.lessee_id,
                    "period": line.period,
                    "amount_fen": line.amount_fen,
                    "net_fen": line.net_fen,
                    "tax_fen": line.tax_fen,
                    "due_date": line.due_date,
                    "entry_id": p.id,
                }
            )
            touched.add(c.id)
            total += line.amount_fen
        if rows:
            conn.execute(insert(charge_t), rows)
            posted_count += len(rows)
    from ledger.community.receipts import apply_credit  # receipts builds on this module

    apply_credit(conn, org_ids, touched)
    return AccrualResult(posted_count, replayed, total)


def contract_balances(conn: Connection, contract_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Per contract: (Σ charges, Σ receipts credited), from the sub-ledger."""
    ids = list(contract_ids)
    out: dict[int, list[int]] = {i: [0, 0] for i in ids}
    if not ids:
        return {}
    for cid, total in conn.execute(
        select(charge_t.c.contract_id, func.sum(charge_t.c.amount_fen))
        .where(charge_t.c.contract_id.in_(ids))
        .group_by(charge_t.c.contract_id)
    ):
        out[cid][0] = int(total)
    for cid, total in conn.execute(
        select(part_t.c.contract_id, func.sum(part_t.c.amount_fen))
        .where(part_t.c.contract_id.in_(ids))
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
