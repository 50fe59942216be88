"""Loading records from the database: statement, book and clearing lines, what is matched or settled."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Exists, Row, exists, select
from sqlalchemy.orm import aliased

from ledger.books.periods import Month, months_named
from ledger.reconcile.matching.records import BookRecord, ClearingRecord, StatementRecord
from ledger.reconcile.matching.scoring import reference_tokens, statement_references
from ledger.reconcile.matching.tables import account_t, entry_t, item_t, line_t, match_t, saccount_t, sline_t
from ledger.reconcile.store import void_t


def successor_exists() -> Exists:
    """A match record has been superseded: a later record names it in ``supersedes_id``."""
    later = aliased(match_t)
    return exists().where(later.c.supersedes_id == match_t.c.id)


def current_items(
    conn: Connection, org_id: int, status: str, role: str | None = None
) -> Sequence[Row[Any, Any, Any, Any]]:
    stmt = (
        select(item_t.c.match_id, item_t.c.statement_line_id, item_t.c.journal_line_id, item_t.c.role)
        .join(match_t, match_t.c.id == item_t.c.match_id)
        .where(match_t.c.org_id == org_id, match_t.c.status == status, ~successor_exists())
    )
    if role is not None:
        stmt = stmt.where(item_t.c.role == role)
    return conn.execute(stmt).all()


def matched_ids(conn: Connection, org_id: int) -> tuple[set[int], set[int]]:
    """Statement line ids, and journal line ids matched as book lines, in current confirmed matches.

    A journal line on a clearing account (101201 …) takes part in two relations: it is matched to the
    WeChat/Alipay bill (role ``book``), and it is settled into the bank by a fee-netted T+1 lump (role
    ``settled``). Each relation holds once; the two do not exclude each other (``settled_ids``)."""
    s_ids: set[int] = set()
    b_ids: set[int] = set()
    for r in current_items(conn, org_id, "confirmed"):
        if r.statement_line_id is not None:
            s_ids.add(r.statement_line_id)
        elif r.role != "settled":
            b_ids.add(r.journal_line_id)
    return s_ids, b_ids


def settled_ids(conn: Connection, org_id: int) -> set[int]:
    """Journal line ids already settled into the bank by a confirmed fee-netted settlement."""
    return {r.journal_line_id for r in current_items(conn, org_id, "confirmed", "settled")}


def account_ids(conn: Connection, org_id: int, code: str) -> list[int]:
    """The account and its sub-accounts (a summary account's postings are its children's)."""
    return list(
        conn.execute(
            select(account_t.c.id).where(
                account_t.c.org_id == org_id,
                (account_t.c.code == code) | account_t.c.code.startswith(code),
            )
        ).scalars()
    )


def parse_statement_time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _raw(conn: Connection, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
    """A read straight through the driver (``?`` marks): 10⁵ rows without SQLAlchemy's row objects."""
    if conn.dialect.name == "sqlite":
        params = [
            p.strftime("%Y-%m-%d %H:%M:%S.%f")
            if isinstance(p, datetime)
            else p.isoformat()
            if isinstance(p, date)
            else p
            for p in params
        ]
        return conn.exec_driver_sql(sql, tuple(params)).all()
    return conn.exec_driver_sql(sql.replace("?", "%s"), tuple(params)).all()


def _day(value: Any) -> date:
    """A DATE or TIMESTAMP column's day: SQLite hands back text, PostgreSQL date / datetime."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if isinstance(value, datetime) else value


def _day_reader() -> Callable[[Any], date]:
    """``_day`` remembering SQLite's date texts: a month's 10⁵ lines fall on some 31 days."""
    seen: dict[str, date] = {}

    def read(value: Any) -> date:
        if not isinstance(value, str):
            return _day(value)
        key = value[:10]
        found = seen.get(key)
        if found is None:
            found = seen[key] = date.fromisoformat(key)
        return found

    return read


def load_statement_records(
    conn: Connection, org_id: int, statement_account_id: int, first: date, last: date, *, exclude: set[int]
) -> list[StatementRecord]:
    rows = _raw(
        conn,
        "SELECT id, occurred_at, amount_fen, reference, merchant_ref, counterparty, memo, kind, fee_fen "
        "FROM statement_line WHERE org_id = ? AND statement_account_id = ? AND occurred_at >= ? "
        "AND occurred_at < ? AND import_id NOT IN "
        "(SELECT import_id FROM statement_import_void WHERE statement_account_id = ?)",  # voided: not counted
        [
            org_id,
            statement_account_id,
            datetime.combine(first, datetime.min.time()),
            datetime.combine(last + timedelta(days=1), datetime.min.time()),
            statement_account_id,
        ],
    )
    day = _day_reader()
    return [
        StatementRecord(
            line_id,
            day(occurred_at),
            amount,
            statement_references(reference, merchant_ref),
            counterparty,
            memo,
            kind,
            fee,
        )
        for line_id, occurred_at, amount, reference, merchant_ref, counterparty, memo, kind, fee in rows
        if line_id not in exclude
    ]


def load_book_records(
    conn: Connection, org_id: int, ledger_account: str, first: date, last: date, *, exclude: set[int]
) -> list[BookRecord]:
    ids = account_ids(conn, org_id, ledger_account)
    if not ids:
        return []
    # The months named one by one, not as a range: ix_line_tb (org, period, account, …) then seeks each
    # month's lines of the account instead of scanning both sides of every entry (0.45 → 0.32 s, 10⁵ lines).
    periods = [str(Month.from_index(i)) for i in range(Month.of(first).index, Month.of(last).index + 1)]
    rows = _raw(
        conn,
        "SELECT l.id, l.entry_id, l.debit_fen - l.credit_fen, l.memo, e.entry_date, e.voucher_no, e.memo, "
        "e.source_ref, c.name FROM journal_line l JOIN journal_entry e ON e.id = l.entry_id "
        "LEFT JOIN counterparty c ON c.id = l.counterparty_id "
        f"WHERE l.org_id = ? AND l.account_id IN ({', '.join('?' * len(ids))}) "
        f"AND l.period IN ({', '.join('?' * len(periods))}) AND e.entry_date >= ? AND e.entry_date <= ?",
        [org_id, *ids, *periods, first, last],
    )
    day = _day_reader()
    return [
        BookRecord(
            line_id,
            day(entry_date),
            amount,
            entry_id,
            reference_tokens(source_ref, memo, entry_memo),
            cp_name or "",
            memo or entry_memo or "",
            voucher_no,
            ledger_account,
        )
        for line_id, entry_id, amount, memo, entry_date, voucher_no, entry_memo, source_ref, cp_name in rows
        if line_id not in exclude
    ]


def load_clearing(
    conn: Connection, org_id: int, statement_account: Row[Any], first: date, last: date
) -> list[ClearingRecord]:
    """Unsettled debits (sales) and POS credits (refunds) on the org's WeChat / Alipay accounts."""
    if statement_account.kind != "bank":
        return []
    clearing = conn.execute(
        select(saccount_t.c.ledger_account, saccount_t.c.kind).where(
            saccount_t.c.org_id == org_id, saccount_t.c.kind.in_(("wechat", "alipay"))
        )
    ).all()
    settled = settled_ids(conn, org_id)
    out: list[ClearingRecord] = []
    for code, kind in {(c.ledger_account, c.kind) for c in clearing}:
        ids = account_ids(conn, org_id, code)
        rows = conn.execute(
            select(line_t.c.id, line_t.c.debit_fen, line_t.c.credit_fen, entry_t.c.entry_date)
            .join(entry_t, entry_t.c.id == line_t.c.entry_id)
            .where(
                line_t.c.org_id == org_id,
                line_t.c.account_id.in_(ids),
                # the dates' months named too: ix_line_tb (org, month, account, …) seeks each month's lines
                *months_named(line_t.c.period, str(Month.of(first)), str(Month.of(last))),
                entry_t.c.entry_date >= first,
                entry_t.c.entry_date <= last,
                entry_t.c.source != "import",  # settlements we posted clear the account; they are not sales
            )
        ).all()
        for r in rows:
            if r.id in settled:
                continue
            on = r.entry_date if isinstance(r.entry_date, date) else date.fromisoformat(str(r.entry_date))
            out.append(ClearingRecord(r.id, on, r.debit_fen - r.credit_fen, code, kind))
    return out


def load_bill_fees(conn: Connection, org_id: int, first: date, last: date) -> dict[tuple[str, date], int]:
    """Per clearing account and day, the fees its imported payment bill reports."""
    rows = conn.execute(
        select(
            saccount_t.c.ledger_account,
            sline_t.c.occurred_at,
            sline_t.c.fee_fen,
            sline_t.c.amount_fen,
            sline_t.c.kind,
        )
        .join(saccount_t, saccount_t.c.id == sline_t.c.statement_account_id)
        .where(
            sline_t.c.org_id == org_id,
            saccount_t.c.kind.in_(("wechat", "alipay")),
            sline_t.c.import_id.not_in(select(void_t.c.import_id).where(void_t.c.org_id == org_id)),
            sline_t.c.occurred_at >= datetime.combine(first, datetime.min.time()),
            sline_t.c.occurred_at < datetime.combine(last + timedelta(days=1), datetime.min.time()),
        )
    ).all()
    fees: dict[tuple[str, date], int] = defaultdict(int)
    for r in rows:
        key = (r.ledger_account, parse_statement_time(r.occurred_at).date())
        fees[key] += r.fee_fen if r.kind != "fee" else -r.amount_fen
    return dict(fees)


def rejected_keys(conn: Connection, org_id: int, statement_account_id: int) -> frozenset:
    """The statement-line and journal-line sets of every rejected match of the account, which are not
    proposed again."""
    groups: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    rows = conn.execute(
        select(item_t.c.match_id, item_t.c.statement_line_id, item_t.c.journal_line_id)
        .join(match_t, match_t.c.id == item_t.c.match_id)
        .where(
            match_t.c.org_id == org_id,
            match_t.c.statement_account_id == statement_account_id,
            match_t.c.status == "rejected",
            ~successor_exists(),
        )
    ).all()
    for r in rows:
        s, b = groups[r.match_id]
        if r.statement_line_id is not None:
            s.append(r.statement_line_id)
        else:
            b.append(r.journal_line_id)
    return frozenset((tuple(sorted(s)), tuple(sorted(b))) for s, b in groups.values())
