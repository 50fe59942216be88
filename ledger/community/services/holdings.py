"""Subsidies received (补助收入) and stakes in companies (参股) as services."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from ledger.access.auth import Principal
from ledger.access.service import Write
from ledger.community import stakes, subsidies
from ledger.community.accounts import BANK
from ledger.community.messages import StakeOut, SubsidyOut
from ledger.community.services.base import on_collective


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

    def run(conn: Connection) -> SubsidyOut:
        subsidy_id = subsidies.receive_subsidy(
            conn,
            org_id,
            source=source,
            grantor=grantor,
            amount_fen=amount_fen,
            received_on=received_on,
            cash_account=cash_account,
            idempotency_key=idempotency_key,
            user_id=actor.recorded_id,
        )
        return SubsidyOut(subsidy_id=subsidy_id)

    asked = [source, grantor, amount_fen, received_on, cash_account]
    return on_collective(actor, org_id, "subsidy.receive", asked=asked, run=run, detail=source)


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

    def run(conn: Connection) -> StakeOut:
        stake_id = stakes.record_stake(
            conn,
            org_id,
            company_org_id=company_org_id,
            paid_in_fen=paid_in_fen,
            share_bp=share_bp,
            acquired_on=acquired_on,
            funded_from=funded_from,
            idempotency_key=idempotency_key,
            user_id=actor.recorded_id,
        )
        return StakeOut(stake_id=stake_id)

    asked = [company_org_id, paid_in_fen, share_bp, acquired_on, funded_from]
    return on_collective(actor, org_id, "stake.record", asked=asked, run=run, detail=str(company_org_id))
