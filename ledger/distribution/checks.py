"""The distribution registers' promises, checked by ``cunshe verify``; this module only reads.

* ``capital_ties``: in a company, each shareholder's 3001 实收资本 [shareholder] balance equals its paid-in
  capital in the register; in a shareholder org, its 141 长期投资 [company] balance equals the paid-in
  capital the company's register shows for it.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from ledger.books.posting import KeptAccount, register_kept_account
from ledger.books.verify import Problem, register_check
from ledger.community.models import EquityStake
from ledger.db.models import Account, Counterparty, JournalLine
from ledger.distribution.models import Shareholding

holding_t = Shareholding.__table__
stake_t = EquityStake.__table__
line_t = JournalLine.__table__
account_t = Account.__table__
cp_t = Counterparty.__table__


def _credit_balance_by_cp(conn: Connection, org_id: int, prefix: str) -> dict[int | None, int]:
    rows = conn.execute(
        select(line_t.c.counterparty_id, func.sum(line_t.c.credit_fen - line_t.c.debit_fen))
        .join(account_t, account_t.c.id == line_t.c.account_id)
        .where(line_t.c.org_id == org_id, account_t.c.code.like(f"{prefix}%"))
        .group_by(line_t.c.counterparty_id)
    )
    return {cp: int(total) for cp, total in rows}


def _has_shareholders(conn: Connection, org_id: int) -> bool:
    found = select(holding_t.c.id).where(holding_t.c.company_org_id == org_id).limit(1)
    return conn.execute(found).first() is not None


def _holds_shares(conn: Connection, org_id: int) -> bool:
    """The org holds a recorded stake in a company, or is a company's registered shareholder."""
    if conn.execute(select(stake_t.c.id).where(stake_t.c.org_id == org_id).limit(1)).first() is not None:
        return True
    found = select(holding_t.c.id).where(holding_t.c.shareholder_org_id == org_id).limit(1)
    return conn.execute(found).first() is not None


# The accounts the distribution's registers keep:
# * in a company with registered shareholders, the profit payable to them (2232 [shareholder]) moves only
#   with the distribution: a plan executed credits it, a dividend paid debits it;
# * its paid-in capital (3001 实收资本 [shareholder]) moves only with its shareholders' register once it has
#   one: capital paid in is booked there, and 3001 of no registered shareholder breaks the capital tie;
# * an org holding a stake keeps its 141 长期投资 with the stake: the stake is recorded with its payment, and
#   the capital tie reads 141 against the company's register.
for _code, _workflow, _applies, _source in (
    (
        "2232",
        "the distribution (a plan executed, a dividend paid: /plans…, /dividends)",
        _has_shareholders,
        "distribution",
    ),
    (
        "3001",
        "the shareholders' register (capital paid in: /orgs/{org}/shareholdings/{id}/capital)",
        _has_shareholders,
        "capital",
    ),
    ("141", "the stakes (a stake recorded with its payment: /orgs/{org}/stakes)", _holds_shares, "stake"),
):
    register_kept_account(KeptAccount(_code, _workflow, applies=_applies, source=_source))


@register_check
def capital_ties(conn: Connection, org_id: int) -> list[Problem]:
    problems: list[Problem] = []
    held = conn.execute(select(holding_t).where(holding_t.c.company_org_id == org_id)).all()
    if held:
        books = _credit_balance_by_cp(conn, org_id, "3001")
        for h in held:
            if books.get(h.counterparty_id, 0) != h.paid_in_fen:
                problems.append(
                    Problem(
                        org_id,
                        "capital_tie",
                        f"shareholder org {h.shareholder_org_id}: paid-in {h.paid_in_fen} fen, "
                        f"3001 [shareholder] {books.get(h.counterparty_id, 0)} fen",
                    )
                )
        stray = sum(v for cp, v in books.items() if cp not in {h.counterparty_id for h in held})
        if stray:
            problems.append(
                Problem(org_id, "capital_tie", f"3001 holds {stray} fen of no registered shareholder")
            )
    holdings = conn.execute(select(holding_t).where(holding_t.c.shareholder_org_id == org_id)).all()
    if holdings:
        invested = {
            ref: -int(total)
            for ref, total in conn.execute(
                select(cp_t.c.ref_org_id, func.sum(line_t.c.credit_fen - line_t.c.debit_fen))
                .join(account_t, account_t.c.id == line_t.c.account_id)
                .join(cp_t, cp_t.c.id == line_t.c.counterparty_id)
                .where(line_t.c.org_id == org_id, account_t.c.code.like("141%"))
                .group_by(cp_t.c.ref_org_id)
            )
        }
        for h in holdings:
            if invested.get(h.company_org_id, 0) != h.paid_in_fen:
                problems.append(
                    Problem(
                        org_id,
                        "capital_tie",
                        f"company org {h.company_org_id}: its register shows {h.paid_in_fen} fen paid in, "
                        f"141 [company] is {invested.get(h.company_org_id, 0)} fen",
                    )
                )
    return problems
