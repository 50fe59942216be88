"""Read-only queries the printed reports need beyond the trial balance (``reports/`` runs no SQL itself).

Every figure (movements, balances) comes through the one period window of the books,
``ledger.books.trial_balance.movements`` / ``balances``: closing entries are left out of a flow unless a
statement asks for them, and a balance counts what was posted on or before its date. What is left here
lists postings (the books of account print each line) and names (accounts, orgs, counterparties).
Amounts are integer fen; balances are debit positive. Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Connection, and_, func, literal, or_, select, tuple_

from ledger.books.orgs import subtree_ids
from ledger.books.periods import months_named
from ledger.books.trial_balance import Closing, balances, movements
from ledger.db.models import Account, BookState, Counterparty, JournalEntry, JournalLine, Org, Store

line_t = JournalLine.__table__
entry_t = JournalEntry.__table__
account_t = Account.__table__
book_t = BookState.__table__
org_t = Org.__table__
store_t = Store.__table__
cp_t = Counterparty.__table__


def chain_head(conn: Connection, org_id: int, through_period: str | None = None) -> str:
    """The org's hash-chain head (``0`` × 64 for books with no entries yet).

    With ``through_period``, the head as the period's books end: the hash of the org's last entry (by chain
    sequence) dated in or before that month. Once the month is closed nothing more posts on or before it,
    so a report of a closed period prints the same verification line forever, and ``cunshe verify`` still
    checks it (it is an entry of the chain).
    """
    if through_period is None:
        head = conn.execute(select(book_t.c.head_hash).where(book_t.c.org_id == org_id)).scalar_one_or_none()
        return head or "0" * 64
    head = conn.execute(
        select(entry_t.c.hash)
        .where(entry_t.c.org_id == org_id, entry_t.c.period <= through_period)
        .order_by(entry_t.c.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    return head or "0" * 64


def _prefixes(column: ColumnElement[str], prefixes: Iterable[str]) -> ColumnElement[bool]:
    return or_(*(column.startswith(p, autoescape=True) for p in prefixes))


def movement(
    conn: Connection,
    org_id: int,
    from_period: str,
    to_period: str,
    *,
    prefixes: Sequence[str] = ("",),
    closing: Closing = "exclude",
    only_sources: Sequence[str] = (),
) -> dict[str, tuple[int, int]]:
    """Debit and credit turnover per account code over the months (``ledger.books.trial_balance.movements``).

    Income statements pass ``closing="exclude"``: after the year-end closing entries an income account's
    turnover nets to zero, and the statement wants the figures before them.
    """
    found = movements(
        conn, org_id, from_period, to_period, accounts=prefixes, closing=closing, sources=only_sources
    )
    return {key[0]: amounts for key, amounts in found.items()}


def monthly_movement(
    conn: Connection,
    org_id: int,
    from_period: str,
    to_period: str,
    *,
    prefixes: Sequence[str],
    closing: Closing = "exclude",
) -> dict[tuple[str, str], tuple[int, int]]:
    """(period, account code) → (debit, credit) turnover, closing entries left out by default."""
    found = movements(
        conn, org_id, from_period, to_period, accounts=prefixes, closing=closing, by=("period",)
    )
    return {(period, code): amounts for (code, period), amounts in found.items()}


def counterparty_balances(
    conn: Connection, org_id: int, through_period: str, prefixes: Sequence[str]
) -> dict[tuple[str, int | None], int]:
    """Closing balance per (account code, counterparty id) through a month, for the given accounts."""
    found = balances(conn, org_id, through_period, accounts=prefixes, by=("counterparty",))
    return {(code, cp): balance for (code, cp), balance in found.items()}


PostingKey = tuple[
    date, int, int
]  # (entry date, chain seq, line no): a book's order, and where a page starts


@dataclass(frozen=True)
class PostingRow:
    """One 分录 as a book of account prints it: date, voucher, memo, account, amounts."""

    entry_date: date
    period: str
    voucher_no: str
    memo: str
    code: str
    debit_fen: int
    credit_fen: int
    seq: int = 0
    line_no: int = 0

    @property
    def key(self) -> PostingKey:
        return (self.entry_date, self.seq, self.line_no)


def _book_order() -> tuple[ColumnElement[date], ColumnElement[int], ColumnElement[int]]:
    return (entry_t.c.entry_date, entry_t.c.seq, line_t.c.line_no)


def _postings_where(
    org_id: int, prefixes: Sequence[str], from_period: str, to_period: str
) -> list[ColumnElement[bool]]:
    """The lines of the accounts over the months, as ``ix_line_tb`` (org, month, account, entry) finds
    them: the months named one by one and the accounts by id, not by a join on their code that would read
    every account's lines of the months."""
    accounts = select(account_t.c.id).where(
        account_t.c.org_id == org_id, _prefixes(account_t.c.code, prefixes)
    )
    return [
        line_t.c.org_id == org_id,
        line_t.c.account_id.in_(accounts),
        *months_named(line_t.c.period, from_period, to_period),
    ]


def account_postings(
    conn: Connection,
    org_id: int,
    prefixes: Sequence[str],
    from_period: str,
    to_period: str,
    *,
    after: PostingKey | None = None,
    before: PostingKey | None = None,
    limit: int | None = None,
) -> list[PostingRow]:
    """Every line on the accounts (and their sub-accounts) over the months, in date and voucher order.

    A page of them with ``limit``: the first ``limit`` after the key ``after``, or the last ``limit`` before
    ``before`` (still returned in book order). Either reads only these accounts' lines of these months
    (``ix_line_tb``) with their entries, never the rest of the journal."""
    cond = _postings_where(org_id, prefixes, from_period, to_period)
    order = _book_order()
    if after is not None:
        cond.append(tuple_(*order) > tuple_(*_key_binds(after)))
    if before is not None:
        cond.append(tuple_(*order) < tuple_(*_key_binds(before)))
    stmt = (
        select(
            entry_t.c.entry_date,
            entry_t.c.period,
            entry_t.c.voucher_no,
            entry_t.c.memo.label("entry_memo"),
            entry_t.c.seq,
            line_t.c.line_no,
            line_t.c.memo,
            account_t.c.code,
            line_t.c.debit_fen,
            line_t.c.credit_fen,
        )
        .select_from(line_t)
        .join(entry_t, entry_t.c.id == line_t.c.entry_id)
        .join(account_t, account_t.c.id == line_t.c.account_id)
        .where(*cond)
        .order_by(*(c.desc() for c in order) if before is not None else order)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    found = [
        PostingRow(
            entry_date=r.entry_date if isinstance(r.entry_date, date) else date.fromisoformat(r.entry_date),
            period=r.period,
            voucher_no=r.voucher_no,
            memo=r.memo or r.entry_memo,
            code=r.code,
            debit_fen=int(r.debit_fen),
            credit_fen=int(r.credit_fen),
            seq=int(r.seq),
            line_no=int(r.line_no),
        )
        for r in conn.execute(stmt)
    ]
    return found[::-1] if before is not None else found


def postings_through(
    conn: Connection, org_id: int, prefixes: Sequence[str], from_period: str, key: PostingKey
) -> tuple[int, int]:
    """Debits and credits on the accounts from the first day of ``from_period`` through the posting at
    ``key``: what the page after it brings forward (承前页) past the opening balance. Bounded by those
    months' lines of these accounts, whatever the history before them."""
    to_period = f"{key[0].year:04d}-{key[0].month:02d}"
    cond = _postings_where(org_id, prefixes, from_period, to_period)
    cond.append(tuple_(*_book_order()) <= tuple_(*_key_binds(key)))
    debit, credit = conn.execute(
        select(
            func.coalesce(func.sum(line_t.c.debit_fen), 0), func.coalesce(func.sum(line_t.c.credit_fen), 0)
        )
        .select_from(line_t)
        .join(entry_t, entry_t.c.id == line_t.c.entry_id)
        .where(*cond)
    ).one()
    return int(debit), int(credit)


def _key_binds(key: PostingKey) -> tuple[ColumnElement[date], ColumnElement[int], ColumnElement[int]]:
    day, seq, line_no = key
    return (
        literal(day, entry_t.c.entry_date.type),
        literal(seq, entry_t.c.seq.type),
        literal(line_no, line_t.c.line_no.type),
    )


@dataclass(frozen=True)
class ChannelSales:
    """Net sales (贷 − 借 of the revenue account) of one store and channel in one month."""

    period: str
    store_id: int | None
    store_name: str
    channel: str | None
    net_fen: int


def channel_sales(
    conn: Connection, org_id: int, from_period: str, to_period: str, *, revenue_prefix: str = "5001"
) -> list[ChannelSales]:
    """六进 sales from the books: the revenue lines' ``store`` and ``channel`` dimensions, by month, before
    the year-end closing entry (which carries no channel and would cancel the year's sales)."""
    found = movements(
        conn, org_id, from_period, to_period, accounts=(revenue_prefix,), by=("period", "store", "channel")
    )
    net: dict[tuple[str, int | None, str | None], int] = defaultdict(int)
    for (_, period, store_id, channel), (debit, credit) in found.items():
        net[(period, store_id, channel)] += credit - debit
    names = dict(conn.execute(select(store_t.c.id, store_t.c.name).where(store_t.c.org_id == org_id)).all())
    return [
        ChannelSales(period, store_id, names.get(store_id, ""), channel, amount)
        for (period, store_id, channel), amount in sorted(
            net.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0, kv[0][2] or "")
        )
    ]


@dataclass(frozen=True)
class OrgRow:
    id: int
    code: str
    name: str
    kind: str
    standard: str | None


def orgs_below(conn: Connection, root_id: int, *, standard: str | None = None) -> list[OrgRow]:
    """The orgs with books under a street or the county (the root itself excluded), by code."""
    ids = [i for i in subtree_ids(conn, root_id) if i != root_id]
    cond: list[ColumnElement[bool]] = [org_t.c.id.in_(ids), org_t.c.standard.is_not(None)]
    if standard is not None:
        cond.append(org_t.c.standard == standard)
    rows = conn.execute(select(org_t).where(and_(*cond)).order_by(org_t.c.code))
    return [OrgRow(r.id, r.code, r.name, r.kind, r.standard) for r in rows]


def counterparty_names(conn: Connection, org_id: int) -> dict[int, str]:
    return dict(conn.execute(select(cp_t.c.id, cp_t.c.name).where(cp_t.c.org_id == org_id)).all())


@dataclass(frozen=True)
class AccountName:
    code: str
    name: str
    full_name: str  # 经营收入—租赁收入: the names from the first level down, as vouchers print them
    level: int
    account_class: str
    normal_side: str
    first_level: str


def account_names(conn: Connection, org_id: int) -> dict[str, AccountName]:
    """Every account of the org by code, with its full name and first-level code."""
    rows = conn.execute(
        select(
            account_t.c.id,
            account_t.c.code,
            account_t.c.name,
            account_t.c.parent_id,
            account_t.c.level,
            account_t.c.account_class,
            account_t.c.normal_side,
        ).where(account_t.c.org_id == org_id)
    ).all()
    by_id = {r.id: r for r in rows}
    out: dict[str, AccountName] = {}
    for r in rows:
        chain, node = [r], r
        while node.parent_id is not None and node.parent_id in by_id:
            node = by_id[node.parent_id]
            chain.append(node)
        out[r.code] = AccountName(
            code=r.code,
            name=r.name,
            full_name="—".join(n.name for n in reversed(chain)),
            level=r.level,
            account_class=r.account_class,
            normal_side=r.normal_side,
            first_level=chain[-1].code,
        )
    return out


def sales_by_origin(conn: Connection, org_id: int, first_day: date, last_day: date) -> list[tuple[str, int]]:
    """POS net sales (excluding tax; refunds negative) by the product's origin village, over the days.

    Products with no origin are grouped under an empty name. Reads the POS tables (``pos.models``).
    """
    from pos.models import PosProduct, PosSale, PosSaleLine

    sale_t, sale_line_t, product_t = PosSale.__table__, PosSaleLine.__table__, PosProduct.__table__
    rows = conn.execute(
        select(org_t.c.name, func.sum(sale_line_t.c.net_fen))
        .select_from(sale_line_t)
        .join(sale_t, sale_t.c.id == sale_line_t.c.sale_id)
        .join(product_t, product_t.c.id == sale_line_t.c.product_id)
        .outerjoin(org_t, org_t.c.id == product_t.c.origin_org_id)
        .where(
            sale_t.c.org_id == org_id,
            sale_t.c.business_date >= first_day,
            sale_t.c.business_date <= last_day,
        )
        .group_by(org_t.c.name)
        .order_by(org_t.c.name)
    )
    return [(name or "", int(net)) for name, net in rows]


def memo_turnover(
    conn: Connection, org_id: int, codes: Sequence[str], from_period: str, to_period: str
) -> list[tuple[str, str, int, int]]:
    """(account code, 摘要, debit, credit) over the months for lines posted to exactly these accounts,
    closing entries left out. The 摘要 is the line's own, else its entry's; a red-ink reversal's line
    without one takes the reversed entry's, so a reversal is analysed like the entry it cancels."""
    if not codes:
        return []
    original = entry_t.alias("reversed_entry")
    memo = func.coalesce(
        func.nullif(line_t.c.memo, ""), func.coalesce(original.c.memo, entry_t.c.memo), ""
    ).label("memo")
    rows = conn.execute(
        select(account_t.c.code, memo, func.sum(line_t.c.debit_fen), func.sum(line_t.c.credit_fen))
        .join(entry_t, entry_t.c.id == line_t.c.entry_id)
        .outerjoin(original, original.c.id == entry_t.c.reverses_id)
        .join(account_t, account_t.c.id == line_t.c.account_id)
        .where(
            line_t.c.org_id == org_id,
            line_t.c.period >= from_period,
            line_t.c.period <= to_period,
            account_t.c.code.in_(list(codes)),
            entry_t.c.source != "close",
        )
        .group_by(account_t.c.code, memo)
    )
    return [(code, text, int(d), int(c)) for code, text, d, c in rows]
