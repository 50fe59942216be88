"""A collective's lease business as services: each returns the ``Write`` a door (the API, the pages, the CLI)
carries out with ``ledger.access.service.perform`` — scope, key, write, audit, in that order.

The accrual run and rent received were written three times (the API's route, the rent page's form and
the CLI), each with its own request, audit text and answer; a key used at one door is now answered once at
the others, because they all carry out the same ``Write`` with the same ``request`` — and the same answer:
each service answers in the API's JSON (money as decimal strings), which is what a retry at any door gets
back, so no door reshapes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from ledger.access.auth import Principal
from ledger.access.service import Write, org_keys
from ledger.books.money import format_amount
from ledger.books.periods import parse_period
from ledger.community.accounts import BANK
from ledger.community.leases import contracts as leases
from ledger.community.leases import receipts


@dataclass(frozen=True)
class Accrual:
    """An accrual run's outcome over ``orgs`` collective orgs."""

    through: str
    orgs: int
    result: leases.AccrualResult


def accrue(actor: Principal, org_id: int, through: str) -> Write[Accrual]:
    """租金计提: every contract-month's rent through ``through`` not charged yet, for the org or for every
    collective org of its street (or county) the actor may change; a rerun posts nothing."""
    parse_period(through, "through")

    def covered(conn: Connection) -> list[int]:
        return leases.collective_orgs_for(conn, actor, org_id, write=True)

    def run(conn: Connection) -> Accrual:
        org_ids = covered(conn)
        return Accrual(
            through, len(org_ids), leases.accrue_leases(conn, org_ids, through, user_id=actor.recorded_id)
        )

    return Write(
        action="lease.accrue",
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=covered,
        run=run,
        answer=lambda done: {
            "through": through,
            "orgs": done.orgs,
            "posted": done.result.posted,
            "replayed": done.result.replayed,
            "amount": format_amount(done.result.amount_fen),
            "vouchers": done.result.vouchers,
        },
        request={"accrue": [org_id, through]},
        detail=lambda done: f"through {through}: {done.result.posted} months" if done.result.posted else None,
        status=200,
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

    def scope(conn: Connection) -> None:
        actor.require_org(conn, org_id, write=True)
        leases.require_collective(conn, org_id)

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
        scope=scope,
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
