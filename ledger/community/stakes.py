"""参股: a collective's stakes in companies, and the receiving side of their dividends.

    stake paid in:      Dr 141 长期投资 [company] / Cr 102 (or 151)
    dividend declared:  Dr 112 应收款 [company] / Cr 502 投资收益   — linked with the company's entry

The company is a counterparty of the shareholder org (kind ``shareholder`` would read backwards — the
company is the one the collective holds shares *in* — so kind ``other``, with ``ref_org_id`` = the company
org). ``dividend_receivable_draft`` builds the shareholder's side; the company's distribution posts it in
the same ``post_entries`` call as its own 应付利润 entry, with one ``link_id`` (DESIGN §3, §6 point 3).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from ledger.books.errors import Conflict, ValidationError
from ledger.books.orgs import counterparty, get_org
from ledger.books.posting import Draft, Line
from ledger.community import accounts as acct
from ledger.community.idempotency import earlier_record, post_recorded
from ledger.community.leases.contracts import require_collective
from ledger.community.models import EquityStake
from ledger.db.models import Counterparty

stake_t = EquityStake.__table__
cp_t = Counterparty.__table__

FUNDING_ACCOUNTS = (acct.BANK, acct.CASH, "151")  # 151: contributed in kind (固定资产)
COMPANY_KIND = "other"


def company_counterparty(conn: Connection, org_id: int, company_org_id: int) -> int:
    """The shareholder org's counterparty for the company (created on first use)."""
    company = get_org(conn, company_org_id)
    if company.kind != "company":
        raise ValidationError(f"{company.name} is not a company", field="company_org_id")
    row = conn.execute(
        select(cp_t.c.id).where(cp_t.c.org_id == org_id, cp_t.c.ref_org_id == company_org_id)
    ).first()
    if row is not None:
        return row.id
    return counterparty(conn, org_id, COMPANY_KIND, company.name, ref_org_id=company_org_id)


def record_stake(
    conn: Connection,
    org_id: int,
    *,
    company_org_id: int,
    paid_in_fen: int,
    share_bp: int,
    acquired_on: date,
    funded_from: str = acct.BANK,
    idempotency_key: str | None = None,
    user_id: int | None = None,
) -> int:
    """Book a stake: Dr 141 [company] / Cr 102 (or 101, 151). Returns the stake id; a retry under the same
    ``idempotency_key`` returns the stake it recorded (a different request under it is a 409)."""
    require_collective(conn, org_id)
    expect = {
        "company_org_id": company_org_id,
        "paid_in_fen": paid_in_fen,
        "share_bp": share_bp,
        "acquired_on": acquired_on,
    }
    done = earlier_record(conn, org_id, idempotency_key, stake_t, expect)
    if done is not None:
        return int(done.id)
    if not isinstance(paid_in_fen, int) or paid_in_fen <= 0:
        raise ValidationError("the paid-in capital must be more than zero", field="paid_in")
    if not 0 < share_bp <= 10_000:
        raise ValidationError("the share is between 1 and 10000 bp (0.01 % to 100 %)", field="share_bp")
    if funded_from not in FUNDING_ACCOUNTS:
        raise ValidationError(f"a stake is paid from {', '.join(FUNDING_ACCOUNTS)}", field="funded_from")
    cp = company_counterparty(conn, org_id, company_org_id)
    if conn.execute(
        select(stake_t.c.id).where(stake_t.c.org_id == org_id, stake_t.c.company_org_id == company_org_id)
    ).first():
        raise Conflict("this org already holds a stake in that company", field="company_org_id")
    draft = Draft(
        org_id=org_id,
        entry_date=acquired_on,
        memo=f"参股 {get_org(conn, company_org_id).name}",
        lines=[
            Line(acct.LONG_TERM_INVESTMENT, debit_fen=paid_in_fen, counterparty_id=cp),
            Line(funded_from, credit_fen=paid_in_fen),
        ],
        source="stake",
        source_ref=f"stake:{company_org_id}",
        idempotency_key=idempotency_key,
    )
    row = {
        "org_id": org_id,
        "company_org_id": company_org_id,
        "counterparty_id": cp,
        "paid_in_fen": paid_in_fen,
        "share_bp": share_bp,
        "acquired_on": acquired_on,
    }
    return post_recorded(conn, draft, stake_t, row, user_id=user_id).row_id


def dividend_receivable_draft(
    conn: Connection,
    org_id: int,
    *,
    company_org_id: int,
    amount_fen: int,
    entry_date: date,
    link_id: str,
    memo: str = "",
    idempotency_key: str | None = None,
) -> Draft:
    """The shareholder's side of a dividend: Dr 112 [company] / Cr 502 投资收益, to be posted linked.

    Opens the company counterparty if needed (a write, in the caller's transaction); posts nothing.
    """
    require_collective(conn, org_id)
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValidationError("a dividend must be more than zero", field="amount")
    cp = company_counterparty(conn, org_id, company_org_id)
    return Draft(
        org_id=org_id,
        entry_date=entry_date,
        memo=memo or f"应收 {get_org(conn, company_org_id).name} 分红",
        lines=[
            Line(acct.RECEIVABLE, debit_fen=amount_fen, counterparty_id=cp),
            Line(acct.INVESTMENT_INCOME, credit_fen=amount_fen, counterparty_id=cp),
        ],
        source="distribution",
        source_ref=f"dividend:{company_org_id}",
        idempotency_key=idempotency_key,
        link_id=link_id,
    )


def list_stakes(conn: Connection, org_id: int) -> list[dict[str, Any]]:
    """The org's stakes, with the company's name and registered capital."""
    from ledger.db.models import Org

    org_t = Org.__table__
    rows = conn.execute(
        select(stake_t, org_t.c.name.label("company"), org_t.c.registered_capital_fen)
        .join(org_t, org_t.c.id == stake_t.c.company_org_id)
        .where(stake_t.c.org_id == org_id)
        .order_by(stake_t.c.id)
    ).mappings()
    return [dict(r) for r in rows]
