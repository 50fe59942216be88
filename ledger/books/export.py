"""Export the books as plain-text journals that hledger and Beancount load, so anyone can check our
balances with independent tools. Accounts are named ``<Root>:<Org>:A<code>`` (Beancount wants ASCII-led
components); the Chinese name rides along as metadata. Amounts are exact decimals in CNY, debit positive.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlalchemy import Connection, select

from ledger.books.errors import ValidationError
from ledger.books.money import format_amount
from ledger.db.models import Account, JournalEntry, JournalLine, Org

entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
account_t = Account.__table__
org_t = Org.__table__

ROOTS = {
    "asset": "Assets",
    "cost": "Assets",
    "liability": "Liabilities",
    "equity": "Equity",
    "income": "Income",
    "expense": "Expenses",
}
CHUNK = 5000


def _org_component(code: str, org_id: int) -> str:
    clean = re.sub(r"[^A-Za-z0-9-]", "-", code).strip("-")
    return f"O{org_id}-{clean}" if clean else f"O{org_id}"


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def export_journal(conn: Connection, fmt: str, *, org_id: int | None = None) -> str:
    return "".join(iter_journal(conn, fmt, org_id=org_id))


def iter_journal(conn: Connection, fmt: str, *, org_id: int | None = None) -> Iterator[str]:
    if fmt not in ("hledger", "beancount"):
        raise ValidationError("format is hledger or beancount", field="format")
    orgs = conn.execute(
        select(org_t.c.id, org_t.c.code).where(
            org_t.c.standard.is_not(None), *([org_t.c.id == org_id] if org_id else [])
        )
    ).all()
    org_ids = [o.id for o in orgs]
    comp = {o.id: _org_component(o.code, o.id) for o in orgs}
    names: dict[int, str] = {}
    for a in conn.execute(
        select(account_t)
        .where(account_t.c.org_id.in_(org_ids))
        .order_by(account_t.c.org_id, account_t.c.code)
    ):
        names[a.id] = f"{ROOTS[a.account_class]}:{comp[a.org_id]}:A{a.code}"
        if fmt == "beancount":
            yield f'1970-01-01 open {names[a.id]} CNY\n  name: "{_quote(a.name)}"\n'
        else:
            yield f"account {names[a.id]}  ; {a.name}\n"
    if fmt == "beancount":
        yield 'option "operating_currency" "CNY"\n\n'
    else:
        yield "commodity 1,000.00 CNY\n\n"
    last_id = 0
    while True:
        entries = conn.execute(
            select(entry_t)
            .where(entry_t.c.org_id.in_(org_ids), entry_t.c.id > last_id)
            .order_by(entry_t.c.id)
            .limit(CHUNK)
        ).all()
        if not entries:
            break
        ids = [e.id for e in entries]
        lines: dict[int, list] = {i: [] for i in ids}
        for ln in conn.execute(
            select(line_t).where(line_t.c.entry_id.in_(ids)).order_by(line_t.c.entry_id, line_t.c.line_no)
        ):
            lines[ln.entry_id].append(ln)
        for e in entries:
            memo = _quote(e.memo or e.voucher_no)
            if fmt == "beancount":
                out = [f'{e.entry_date.isoformat()} * "{memo}"\n  voucher: "{e.voucher_no}"\n']
            else:
                out = [f"{e.entry_date.isoformat()} * {memo}  ; voucher:{e.voucher_no}\n"]
            for ln in lines[e.id]:
                amount = format_amount(ln.debit_fen - ln.credit_fen)
                out.append(f"  {names[ln.account_id]}  {amount} CNY\n")
            out.append("\n")
            yield "".join(out)
        last_id = ids[-1]
