"""A collective's lease business as services: contracts (register, terminate, renew, amend), the accrual
run, rent received, deposits received and refunded.

The accrual run and rent received were written three times (the API's route, the rent page's form and
the CLI), each with its own request, audit text and answer; a key used at one door is now answered once at
the others, because they all carry out the same ``Write`` with the same ``request`` — and the same answer:
each service answers in the API's JSON (money as decimal strings), which is what a retry at any door gets
back, so no door reshapes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import Connection

from ledger.access.auth import Principal
from ledger.access.service import Write, org_keys
from ledger.books.money import format_amount
from ledger.community.accounts import BANK
from ledger.community.leases import contracts as leases
from ledger.community.leases import receipts
from ledger.community.leases.schedule import BillingCycle, BillingTiming, LeaseTerms, choice
from ledger.community.messages import ContractOut, EntryRef, TerminateOut, contract_out
from ledger.community.services.base import collective, entry_ref, on_collective, records_one, run_through


@dataclass(frozen=True)
class Accrual:
    """An accrual run's outcome over ``orgs`` collective orgs."""

    through: str
    orgs: int
    result: leases.AccrualResult


def accrue(actor: Principal, org_id: int, through: str) -> Write[Accrual]:
    """租金计提: every contract-month's rent through ``through`` not charged yet, for the org or for every
    collective org of its street (or county) the actor may change; a rerun posts nothing."""

    def run(conn: Connection, orgs: list[int]) -> Accrual:
        return Accrual(
            through, len(orgs), leases.accrue_leases(conn, orgs, through, user_id=actor.recorded_id)
        )

    return run_through(
        actor,
        org_id,
        "lease.accrue",
        through,
        request="accrue",
        run=run,
        answer=lambda done: {
            "through": through,
            "orgs": done.orgs,
            "posted": done.result.posted,
            "replayed": done.result.replayed,
            "amount": format_amount(done.result.amount_fen),
            "vouchers": done.result.vouchers,
        },
        detail=lambda done: f"through {through}: {done.result.posted} months" if done.result.posted else None,
    )


def receive_rent(
    actor: Principal,
    org_id: int,
    *,
    amount_fen: int,
    received_on: date,
    lessee_id: int | None = None,
    lessee: str | None = None,
    cash_account: str = BANK,
    allocations: Sequence[tuple[int, int]] | None = None,
    credit_contract_id: int | None = None,
    memo: str = "",
    idempotency_key: str | None = None,
) -> Write[receipts.ReceiptResult]:
    """收租: rent received pays the oldest open charges (or the ``allocations``: charge id, fen); the rest
    stays as a credit on the lessee's latest contract (or ``credit_contract_id``). ``idempotency_key`` is
    the door's key, kept on the receipt too (the books' own defence against a retry)."""

    def run(conn: Connection) -> receipts.ReceiptResult:
        return receipts.receive_rent(
            conn,
            org_id,
            amount_fen=amount_fen,
            received_on=received_on,
            lessee_id=lessee_id,
            lessee=lessee,
            cash_account=cash_account,
            allocations=allocations,
            credit_contract_id=credit_contract_id,
            memo=memo,
            idempotency_key=idempotency_key,
            user_id=actor.recorded_id,
        )

    asked: list[Any] = [org_id, lessee_id, lessee, amount_fen, received_on.isoformat(), cash_account]
    asked += [[list(a) for a in allocations] if allocations is not None else None, credit_contract_id, memo]
    return Write(
        action="lease.receipt",
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=collective(actor, org_id),
        run=run,
        answer=lambda r: {
            "receipt_id": r.receipt_id,
            "entry_id": r.entry_id,
            "voucher_no": r.voucher_no,
            "applied": format_amount(r.applied_fen),
            "credit": format_amount(r.credit_fen),
        },
        request={"receipt": asked},
        detail=lambda r: r.voucher_no,
    )


@dataclass(frozen=True)
class SpeltTerms:
    """A contract's terms as a door received them, the billing cycle and timing still spelt: ``add_contract``
    reads them (a 422 naming ``cycle`` or ``timing``) only once the actor's scope is checked, so an outsider
    is told 404 whatever it sends."""

    start: date
    end: date
    rent_per_cycle_fen: int
    cycle: str = BillingCycle.MONTHLY.value
    timing: str = BillingTiming.ADVANCE.value
    free_months: int = 0
    escalation_bp: int = 0
    escalation_every_years: int = 0
    vat_rate_bp: int = 500

    def read(self) -> LeaseTerms:
        cycle = choice(BillingCycle, self.cycle, "cycle")
        return LeaseTerms(
            **{**asdict(self), "cycle": cycle, "timing": choice(BillingTiming, self.timing, "timing")}
        )

    def asked(self) -> dict[str, Any]:
        """The request as the ``LeaseTerms`` it spells (a key stored for those is the same request)."""
        return {f.name: getattr(self, f.name, None) for f in fields(LeaseTerms)}


def add_contract(
    actor: Principal,
    org_id: int,
    *,
    code: str,
    mode: str,
    terms: LeaseTerms | SpeltTerms,
    lessee_id: int | None = None,
    lessee: str | None = None,
    asset_ids: Sequence[int] = (),
    deposit_fen: int = 0,
    memo: str = "",
) -> Write[ContractOut]:
    """Register a lease contract (its assets become leased); its rent is posted by the accrual run. Answers
    the contract with its rent schedule. ``SpeltTerms`` are read after the scope check."""

    def run(conn: Connection) -> ContractOut:
        new = leases.NewContract(
            code=code,
            mode=mode,
            terms=terms.read() if isinstance(terms, SpeltTerms) else terms,
            lessee_id=lessee_id,
            lessee=lessee,
            asset_ids=asset_ids,
            deposit_fen=deposit_fen,
            memo=memo,
        )
        contract_id = leases.create_contract(conn, org_id, new)
        return contract_out(conn, org_id, contract_id, schedule=True)

    spelt = terms.asked() if isinstance(terms, SpeltTerms) else terms
    asked = [code, mode, spelt, lessee_id, lessee, list(asset_ids), deposit_fen, memo]
    return on_collective(actor, org_id, "lease.create", asked=asked, run=run, detail=code)


def terminate(
    actor: Principal,
    org_id: int,
    contract_id: int,
    *,
    last_day: date,
    settle_on: date | None = None,
    apply_deposit: bool = True,
    refund_rest: bool = False,
) -> Write[TerminateOut]:
    """Early termination: no charges after ``last_day``; unless ``apply_deposit`` is off, the deposit pays the
    open charges on ``settle_on`` (default ``last_day``) and, with ``refund_rest``, the rest is refunded."""

    def run(conn: Connection) -> TerminateOut:
        if apply_deposit:
            done = receipts.terminate_and_settle(
                conn,
                org_id,
                contract_id,
                last_day=last_day,
                on=settle_on or last_day,
                refund_rest=refund_rest,
                user_id=actor.recorded_id,
            )
        else:
            leases.terminate_contract(conn, org_id, contract_id, last_day=last_day)
            done = {"applied": 0, "refunded": 0, "deposit_left": receipts.deposit_held(conn, contract_id)}
        return TerminateOut(
            contract=contract_out(conn, org_id, contract_id),
            deposit_applied=done["applied"],
            deposit_refunded=done["refunded"],
            deposit_left=done["deposit_left"],
        )

    asked = [contract_id, last_day, settle_on, apply_deposit, refund_rest]
    return on_collective(
        actor, org_id, "lease.terminate", asked=asked, run=run, detail=str(contract_id), status=200
    )


def supersede(
    actor: Principal,
    org_id: int,
    contract_id: int,
    *,
    relation: str,
    code: str,
    start: date,
    end: date,
    rent_per_cycle_fen: int,
    cycle: str | None = None,
    timing: str | None = None,
    free_months: int = 0,
    escalation_bp: int | None = None,
    escalation_every_years: int | None = None,
    vat_rate_bp: int | None = None,
    deposit_fen: int | None = None,
    memo: str = "",
) -> Write[ContractOut]:
    """A renewal (``relation="renewal"``) or an amendment (``"amendment"``): a new contract linked to the
    old one, on the old contract's billing cycle, timing, escalation and VAT rate where they are None
    (``leases.successor_terms``). Answers the new contract with its rent schedule. ``cycle`` and ``timing``
    are spelt as a ``BillingCycle`` and a ``BillingTiming``; like every other term they are checked only once
    the actor's scope is, so an outsider is told 404 whatever it sends."""

    def run(conn: Connection) -> ContractOut:
        terms = leases.successor_terms(
            conn,
            org_id,
            contract_id,
            start=start,
            end=end,
            rent_per_cycle_fen=rent_per_cycle_fen,
            cycle=None if cycle is None else choice(BillingCycle, cycle, "cycle"),
            timing=None if timing is None else choice(BillingTiming, timing, "timing"),
            free_months=free_months,
            escalation_bp=escalation_bp,
            escalation_every_years=escalation_every_years,
            vat_rate_bp=vat_rate_bp,
        )
        new = leases.supersede_contract(
            conn,
            org_id,
            contract_id,
            relation=relation,
            code=code,
            terms=terms,
            deposit_fen=deposit_fen,
            memo=memo,
        )
        return contract_out(conn, org_id, new, schedule=True)

    asked = [contract_id, code, start, end, rent_per_cycle_fen, cycle, timing, free_months]
    asked += [escalation_bp, escalation_every_years, vat_rate_bp, deposit_fen, memo]
    return on_collective(
        actor, org_id, f"lease.{relation}", asked=asked, run=run, detail=lambda c: f"{contract_id}->{c.id}"
    )


def receive_deposit(
    actor: Principal,
    org_id: int,
    contract_id: int,
    *,
    amount_fen: int,
    on: date,
    cash_account: str = BANK,
    idempotency_key: str | None = None,
) -> Write[EntryRef]:
    """押金 received: Dr 102 / Cr 21101 [lessee, contract]."""
    terms = {"amount_fen": amount_fen, "on": on, "cash_account": cash_account}
    post = receipts.receive_deposit
    return records_one(
        actor,
        org_id,
        "lease.deposit",
        post,
        contract_id,
        terms=terms,
        key=idempotency_key,
        detail=str(contract_id),
        answer=entry_ref,
    )


def refund_deposit(
    actor: Principal,
    org_id: int,
    contract_id: int,
    *,
    amount_fen: int | None,
    on: date,
    cash_account: str = BANK,
    idempotency_key: str | None = None,
) -> Write[EntryRef]:
    """押金 refunded (all that is held when ``amount_fen`` is None): Dr 21101 / Cr 102."""
    terms = {"amount_fen": amount_fen, "on": on, "cash_account": cash_account}
    post = receipts.refund_deposit
    return records_one(
        actor,
        org_id,
        "lease.deposit_refund",
        post,
        contract_id,
        terms=terms,
        key=idempotency_key,
        detail=str(contract_id),
        answer=entry_ref,
    )
