"""Reading the journal: one entry with its lines, or a filtered, paged list. Read-only by design."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, exists, func, literal_column, or_, select

from ledger.books.errors import NotFound, ValidationError
from ledger.books.periods import period_bounds
from ledger.db.models import Account, Counterparty, JournalEntry, JournalLine

entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
account_t = Account.__table__
cp_t = Counterparty.__table__

MAX_PAGE = 500


@dataclass(frozen=True)
class EntryFilter:
    """What to list (凭证查询); every field narrows, none widens. Positional order is the API's (kept)."""

    period: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    account: str | None = None  # an account code; its sub-accounts match too
    source: str | None = None
    source_ref: str | None = None
    link_id: str | None = None
    voucher_no: str | None = None
    period_from: str | None = None  # YYYY-MM, inclusive
    period_to: str | None = None
    counterparty_id: int | None = None  # a line of the entry names this counterparty
    total_min_fen: int | None = None  # the entry's total (its debits), inclusive
    total_max_fen: int | None = None
    memo_contains: str | None = None  # text in the entry's 摘要
    reversed: bool | None = None  # True: entries reversed since; False: not reversed
    text_contains: str | None = None  # in the entry's 摘要, a line's 摘要, or a counterparty a line names

    def conditions(self, org_id: int, *, sqlite: bool = False) -> list[Any]:
        """The filter as conditions on ``journal_entry`` of one org. Each is an indexed equality or range
        on the entry, or an ``IN`` over the org's lines that an index answers (account:
        ``ix_line_org_account`` within the months asked for; counterparty: ``ix_line_counterparty``;
        reversed: the org's reversals).

        An amount band (both bounds) is the most telling filter there is; PostgreSQL's statistics know it,
        SQLite's planner does not and would walk the whole date range in order instead, so on SQLite the
        date terms are written ``+entry_date`` there (the unary plus keeps them off the index) and the
        band's index ``ix_entry_org_total`` finds the vouchers, which are then few to sort."""
        cond: list[Any] = [entry_t.c.org_id == org_id]
        day: ColumnElement[Any] = entry_t.c.entry_date
        if sqlite and self.total_min_fen is not None and self.total_max_fen is not None:
            day = literal_column("+journal_entry.entry_date", type_=entry_t.c.entry_date.type)
        if self.period:
            cond.append(entry_t.c.period == self.period)
        # A range of months is a range of days, so that one index (org, date, seq) both finds and orders.
        if self.period_from:
            cond.append(day >= period_bounds(self.period_from)[0])
        if self.period_to:
            cond.append(day <= period_bounds(self.period_to)[1])
        if self.date_from:
            cond.append(day >= self.date_from)
        if self.date_to:
            cond.append(day <= self.date_to)
        if self.source:
            cond.append(entry_t.c.source == self.source)
        if self.source_ref:
            cond.append(entry_t.c.source_ref == self.source_ref)
        if self.link_id:
            cond.append(entry_t.c.link_id == self.link_id)
        if self.voucher_no:
            cond.append(entry_t.c.voucher_no == self.voucher_no)
        if self.total_min_fen is not None:
            cond.append(entry_t.c.total_fen >= self.total_min_fen)
        if self.total_max_fen is not None:
            cond.append(entry_t.c.total_fen <= self.total_max_fen)
        if self.memo_contains:
            cond.append(entry_t.c.memo.contains(self.memo_contains, autoescape=True))
        if self.text_contains:
            cond.append(self._text_condition(org_id, self.text_contains))
        if self.account:
            months = [line_t.c.org_id == org_id]  # ix_line_org_account: org, account, month, entry
            first, last = self.period or self.period_from, self.period or self.period_to
            if first:
                months.append(line_t.c.period >= first)
            if last:
                months.append(line_t.c.period <= last)
            accounts = select(account_t.c.id).where(
                account_t.c.org_id == org_id, account_t.c.code.startswith(self.account, autoescape=True)
            )
            cond.append(
                entry_t.c.id.in_(select(line_t.c.entry_id).where(*months, line_t.c.account_id.in_(accounts)))
            )
        if self.counterparty_id is not None:  # ix_line_counterparty
            cond.append(
                entry_t.c.id.in_(
                    select(line_t.c.entry_id).where(
                        line_t.c.org_id == org_id, line_t.c.counterparty_id == self.counterparty_id
                    )
                )
            )
        if self.reversed is not None:  # the org's reversals (ix_entry_source_ref), and what they reverse
            later = entry_t.alias("later")
            undone = select(later.c.reverses_id).where(
                later.c.org_id == org_id, later.c.source == "reversal", later.c.reverses_id.is_not(None)
            )
            cond.append(entry_t.c.id.in_(undone) if self.reversed else entry_t.c.id.not_in(undone))
        return cond

    def _text_condition(self, org_id: int, text: str) -> ColumnElement[bool]:
        """The entry's 摘要 holds ``text``, or one of its lines' 摘要 does, or a line names a counterparty
        whose name holds it. The lines are read by ``ix_line_entry`` only for an entry whose own 摘要 does
        not match: a correlated EXISTS stops with the page's and the count's limits, where an IN over the
        months' lines read every one of them first (3-4 times slower on 2·10^5 lines, bench/README)."""
        named = select(cp_t.c.id).where(cp_t.c.org_id == org_id, cp_t.c.name.contains(text, autoescape=True))
        in_lines = exists().where(
            line_t.c.entry_id == entry_t.c.id,
            or_(line_t.c.memo.contains(text, autoescape=True), line_t.c.counterparty_id.in_(named)),
        )
        return or_(entry_t.c.memo.contains(text, autoescape=True), in_lines)


def _lines(conn: Connection, entry_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in entry_ids}
    if not entry_ids:
        return out
    rows = conn.execute(
        select(line_t, account_t.c.code.label("account"), account_t.c.name.label("account_name"))
        .join(account_t, account_t.c.id == line_t.c.account_id)
        .where(line_t.c.entry_id.in_(entry_ids))
        .order_by(line_t.c.entry_id, line_t.c.line_no)
    ).mappings()
    for r in rows:
        out[r["entry_id"]].append(dict(r))
    return out


def _with_reversal(conn: Connection, entries: list[dict[str, Any]]) -> None:
    ids = [e["id"] for e in entries]
    if not ids:
        return
    reversed_by = dict(
        conn.execute(select(entry_t.c.reverses_id, entry_t.c.id).where(entry_t.c.reverses_id.in_(ids))).all()
    )
    for e in entries:
        e["reversed_by_id"] = reversed_by.get(e["id"])


def get_entry(conn: Connection, org_id: int, entry_id: int) -> dict[str, Any]:
    row = (
        conn.execute(select(entry_t).where(entry_t.c.id == entry_id, entry_t.c.org_id == org_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"entry {entry_id} does not exist in this org", field="entry_id")
    entry = dict(row)
    entry["lines"] = _lines(conn, [entry_id])[entry_id]
    _with_reversal(conn, [entry])
    return entry


def list_entries(
    conn: Connection,
    org_id: int,
    flt: EntryFilter,
    *,
    limit: int = 100,
    offset: int = 0,
    count_limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the org's entries matching ``flt`` in date and chain order, with their lines, and how many
    match in all — counted up to ``count_limit + 1`` at most when given (a page says "10,000+" rather than
    count a whole year of a big org at every turn of the page)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit is 1 to {MAX_PAGE}", field="limit")
    if offset < 0:
        raise ValidationError("offset is not negative", field="offset")
    if conn.dialect.name == "postgresql":
        # psycopg prepares a statement run often; PostgreSQL's generic plan for it cannot know how telling
        # this counterparty or account is, and picks a plan 10-20 times slower: plan each query as asked.
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    cond = flt.conditions(org_id, sqlite=conn.dialect.name == "sqlite")
    matching = select(entry_t.c.id).where(*cond)
    if count_limit is not None:
        matching = matching.limit(count_limit + 1)
    total = conn.execute(select(func.count()).select_from(matching.subquery())).scalar_one()
    rows = conn.execute(
        select(entry_t).where(*cond).order_by(entry_t.c.entry_date, entry_t.c.seq).limit(limit).offset(offset)
    ).mappings()
    entries = [dict(r) for r in rows]
    lines = _lines(conn, [e["id"] for e in entries])
    for e in entries:
        e["lines"] = lines[e["id"]]
    _with_reversal(conn, entries)
    return entries, total


def latest_period(conn: Connection, org_ids: list[int], *, not_after: str) -> str | None:
    """The latest month holding an entry of any of ``org_ids``, no later than ``not_after`` (YYYY-MM).

    The pages open on it when no month is asked for: the month the books were last worked in, which is the
    current month for books in daily use and the last month of a set of books kept up later (the demo's).
    """
    if not org_ids:
        return None
    return conn.execute(
        select(func.max(entry_t.c.period)).where(entry_t.c.org_id.in_(org_ids), entry_t.c.period <= not_after)
    ).scalar()
