"""Subsidies received (补助收入) and stakes in companies (参股) as services."""

from __future__ import annotations

from datetime import date

from ledger.access.auth import Principal
from ledger.access.service import Write
from ledger.community import stakes, subsidies
from ledger.community.accounts import BANK
from ledger.community.messages import StakeOut, SubsidyOut
from ledger.community.services.base import records_one


def receive_subsidy(
    actor: Principal,
    org_id: int,
    *,
    source: str,
    amount_fen: int,
    received_on: date,
    grantor: str = "",
    cash_account: str = BANK,
    idempotency_key: str | None = None,
) -> Write[SubsidyOut]:
    """A subsidy received: Dr 102 / Cr 503, with its source (工作经费 …) in the register."""
    terms = {
        "source": source,
        "grantor": grantor,
        "amount_fen": amount_fen,
        "received_on": received_on,
        "cash_account": cash_account,
    }
    return records_one(
        actor,
        org_id,
        "subsidy.receive",
        subsidies.receive_subsidy,
        terms=terms,
        key=idempotency_key,
        detail=source,
        answer=lambda subsidy_id: SubsidyOut(subsidy_id=subsidy_id),
    )


def record_stake(
    actor: Principal,
    org_id: int,
    *,
    company_org_id: int,
    paid_in_fen: int,
    share_bp: int,
    acquired_on: date,
    funded_from: str = BANK,
    idempotency_key: str | None = None,
) -> Write[StakeOut]:
    """A stake in a company: Dr 141 长期投资 [company] / Cr 102 (or 101, 151)."""
    terms = {
        "company_org_id": company_org_id,
        "paid_in_fen": paid_in_fen,
        "share_bp": share_bp,
        "acquired_on": acquired_on,
        "funded_from": funded_from,
    }
    return records_one(
        actor,
        org_id,
        "stake.record",
        stakes.record_stake,
        terms=terms,
        key=idempotency_key,
        detail=str(company_org_id),
        answer=lambda stake_id: StakeOut(stake_id=stake_id),
    )
