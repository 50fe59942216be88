"""Reading the journal: one entry with its lines, or a filtered, paged list. Read-only by design."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy import column as column_of
from sqlalchemy import table as table_of
from sqlalchemy import text as sql_text

from ledger.books.errors import NotFound, ValidationError
from ledger.books.periods import month_list, months_named, period_bounds
from ledger.db.models import Account, AccountTurnover, Counterparty, JournalEntry, JournalLine

entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
account_t = Account.__table__
cp_t = Counterparty.__table__
# SQLite's trigram full-text tables of the 摘要 (``0012_core``): rowid = the entry's or the line's id
entry_memo_fts = table_of("journal_entry_memo_fts", column_of("rowid"), column_of("memo"))
line_memo_fts = table_of("journal_line_memo_fts", column_of("rowid"), column_of("memo"))

MAX_PAGE = 500
_MONTHS_AND_ROWS = {
    "period",
    "period_from",
    "period_to",
    "account",
    "counterparty_id",
    "reversed",
    "text_contains",
}


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

    def entry_conditions(self, org_id: int, *, sqlite: bool = False, by_date: bool = True) -> list[Any]:
        """The filter's conditions on the entry's own columns (one org), each an indexed equality or range
        where one can be (the text in the 摘要 cannot; ``text_contains`` is a semi-join).

        An amount band (both bounds) is the most telling filter there is; PostgreSQL's statistics know it,
        SQLite's planner does not and would walk the whole date range in order instead, so on SQLite the
        date terms are written ``+entry_date`` there (the unary plus keeps them off the index) and the
        band's index ``ix_entry_org_total`` finds the vouchers, which are then few to sort. ``by_date=False``
        does the same whatever the filter: the caller knows the matches are few and found another way."""
        cond: list[Any] = [entry_t.c.org_id == org_id]
        band = self.total_min_fen is not None and self.total_max_fen is not None
        day = _day(unindexed=sqlite and (band or not by_date))
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
        return cond

    def semi_joins(self, org_id: int, *, memo_match: MemoMatch | None = None) -> list[SemiJoin]:
        """The filter's conditions on other rows than the entry. Most telling first: a counterparty's
        lines, the org's reversals, an account's lines (``ix_line_tb``, a seek per month asked for), a
        text (the entry's 摘要 among its own columns too, but also its lines'). ``memo_match``: on
        SQLite, the text as ``0012_core``'s trigram tables are asked for it (``memo_match``)."""
        found: list[SemiJoin] = []
        if self.counterparty_id is not None:  # ix_line_counterparty; per entry, ix_line_entry
            found.append(
                SemiJoin(
                    select(line_t.c.entry_id).where(
                        line_t.c.org_id == org_id, line_t.c.counterparty_id == self.counterparty_id
                    ),
                    select(line_t.c.id).where(
                        line_t.c.entry_id == entry_t.c.id, line_t.c.counterparty_id == self.counterparty_id
                    ),
                )
            )
        if self.reversed is not None:  # the org's reversals (ix_entry_source_ref); of one, uq_entry_reverses
            later = entry_t.alias("later")
            found.append(
                SemiJoin(
                    select(later.c.reverses_id).where(
                        later.c.org_id == org_id,
                        later.c.source == "reversal",
                        later.c.reverses_id.is_not(None),
                    ),
                    select(later.c.id).where(
                        later.c.reverses_id == entry_t.c.id, later.c.source == "reversal"
                    ),
                    wanted=self.reversed,
                )
            )
        if self.account:
            accounts = select(account_t.c.id).where(
                account_t.c.org_id == org_id, account_t.c.code.startswith(self.account, autoescape=True)
            )
            # ix_line_tb: org, month, account, entry
            months = self._line_months(org_id, listed=True, accounts=accounts)
            found.append(
                SemiJoin(
                    select(line_t.c.entry_id).where(*months, line_t.c.account_id.in_(accounts)),
                    # the entry's own org and months are the outer query's: only ix_line_entry can answer
                    select(line_t.c.id).where(
                        line_t.c.entry_id == entry_t.c.id, line_t.c.account_id.in_(accounts)
                    ),
                    within_months=True,
                )
            )
        if self.text_contains:
            found.append(self._text_join(org_id, self.text_contains, memo_match))
        return found

    def _text_join(self, org_id: int, text: str, memo_match: MemoMatch | None = None) -> SemiJoin:
        """The entry's 摘要 holds ``text``, or one of its lines' 摘要 does, or a line names a counterparty
        whose name holds it.

        Gathered (``ids``: to count, or to read the few matches) as the entries whose own 摘要 holds it, then
        the lines naming such a counterparty (``ix_line_counterparty``), then the lines whose 摘要 holds it —
        one after the other, so that a common word is counted up to the page's limit from the entries' 摘要
        alone, without a look at their lines. On PostgreSQL the 摘要 are found by their trigram indexes
        (``0011_core``, pg_trgm) when the extension is there, and read in full otherwise; on SQLite by
        ``0012_core``'s trigram tables (``memo_match``), each candidate still tested with ``LIKE``, or
        where they cannot tell (one character) by reading the 摘要.
        Per entry (``check``, while the date index is walked): its 摘要, then its lines by ``ix_line_entry``
        only when that does not match."""
        named = select(cp_t.c.id).where(cp_t.c.org_id == org_id, cp_t.c.name.contains(text, autoescape=True))
        own = entry_t.alias("own_memo")  # not the outer query's entry: this list is not correlated
        first, last = self.period or self.period_from, self.period or self.period_to
        # Under three characters pg_trgm finds no trigram to look up, and its index would name every entry
        # of every org to recheck (a bitmap of the whole table: 2-5x slower than reading the org's year):
        # ``memo || ''`` keeps it to the org's months. (The lines' index holds only lines with a 摘要.)
        own_said = own.c.memo if len(text) >= 3 else own.c.memo + ""
        own_memo = [own_said.contains(text, autoescape=True)]
        line_memo = [line_t.c.memo != "", line_t.c.memo.contains(text, autoescape=True)]
        if memo_match is not None:
            # The trigram tables name the rows that may hold the text (a superset of LIKE's), looked up by
            # id; the org and months (written as expressions, ``+ 0`` and ``|| ''``) are checked on those
            # rows rather than chosen to drive the query.
            own_org, own_period = own.c.org_id + 0, own.c.period + ""
            own_memo.append(memo_match.among(own.c.id, entry_memo_fts, memo_match.entries))
            line_memo.append(memo_match.among(line_t.c.id, line_memo_fts, memo_match.lines))
            months = self._line_months(org_id, line_t.c.period + "", org=line_t.c.org_id + 0)
        else:
            own_org, own_period = own.c.org_id, own.c.period
            months = self._line_months(org_id)
        own_months = [own_org == org_id]
        if first:
            own_months.append(own_period >= first)
        if last:
            own_months.append(own_period <= last)
        ids = union_all(
            select(own.c.id).where(*own_months, *own_memo),
            # ix_line_counterparty (org, counterparty), the months checked on its lines: ``period || ''``
            # keeps SQLite from reading the months' lines by ix_line_tb instead
            select(line_t.c.entry_id).where(
                *self._line_months(org_id, line_t.c.period + ""), line_t.c.counterparty_id.in_(named)
            ),
            # ``memo <> ''`` changes no answer and lets PostgreSQL use its index of the lines that have one
            select(line_t.c.entry_id).where(*months, *line_memo),
        )
        in_lines = exists().where(
            line_t.c.entry_id == entry_t.c.id,
            or_(line_t.c.memo.contains(text, autoescape=True), line_t.c.counterparty_id.in_(named)),
        )
        return SemiJoin(
            ids,
            None,
            within_months=True,  # each part holds the org and the months: with no other term, they count
            check=or_(entry_t.c.memo.contains(text, autoescape=True), in_lines),
            rows_per_entry=1,
        )

    def _line_months(
        self, org_id: int, period: Any = None, *, org: Any = None, listed: bool = False, accounts: Any = None
    ) -> list[Any]:
        """A line's own terms for the org and the months asked for (a line is in its entry's month);
        ``period``, ``org``: the line's month and org as written (expressions no index answers);
        ``listed``: the months named one by one where they can be (``months_named``); where they cannot
        (no months asked for, or too many), and ``accounts`` (a SELECT of account ids) is given, the months
        those accounts have lines in, as ``account_turnover`` holds them: a seek per month still, not every
        line of the org's years."""
        period = line_t.c.period if period is None else period
        months = [(line_t.c.org_id if org is None else org) == org_id]
        first, last = self.period or self.period_from, self.period or self.period_to
        if listed:  # an entry dated within the days is of their months too: they narrow the months named
            if self.date_from is not None:
                first = max(filter(None, (first, f"{self.date_from:%Y-%m}")))
            if self.date_to is not None:
                last = min(filter(None, (last, f"{self.date_to:%Y-%m}")))
            if accounts is not None and month_list(first, last) is None:
                turnover = AccountTurnover.__table__
                posted = select(turnover.c.period).where(
                    turnover.c.org_id == org_id,
                    turnover.c.account_id.in_(accounts),
                    *months_named(turnover.c.period, first, last),
                )
                return [*months, period.in_(posted), *months_named(period, first, last)]
            return [*months, *months_named(period, first, last)]
        if first:
            months.append(period >= first)
        if last:
            months.append(period <= last)
        return months

    def months_only(self) -> bool:
        """Whether the entry's own terms are only whole months (``period``, ``period_from``, ``period_to``;
        the rest are semi-joins): then a line in those months is a line of an entry that matches them. Any
        other field set, one added later too, says no."""
        return all(getattr(self, f.name) == f.default for f in fields(self) if f.name not in _MONTHS_AND_ROWS)

    def conditions(self, org_id: int, *, sqlite: bool = False) -> list[Any]:
        """The whole filter as conditions on ``journal_entry`` of one org: ``entry_conditions`` and each of
        ``semi_joins`` as an ``IN`` (or ``NOT IN``)."""
        return [*self.entry_conditions(org_id, sqlite=sqlite), *(j.among() for j in self.semi_joins(org_id))]


@dataclass(frozen=True)
class SemiJoin:
    """A filter on other rows: the entry is (``wanted``) or is not among the entries of ``ids`` — the rows'
    entry ids as an index range finds them — which for one entry are the rows of ``of_entry`` (a SELECT
    correlated on ``journal_entry.id``, answered by an index on the entry id)."""

    ids: Any
    of_entry: Any
    wanted: bool = True
    within_months: bool = False  # ``ids`` holds only entries of the filter's org and months
    check: Any = None  # instead of ``of_entry``: a condition on the entry (its own columns and others')
    rows_per_entry: int = 2  # ``ids`` rarely names an entry more often (an entry's lines on one account)

    def among(self) -> Any:
        """As ``IN``: every id gathered first (few, or what the planner wants)."""
        return entry_t.c.id.in_(self.ids) if self.wanted else entry_t.c.id.not_in(self.ids)

    def exists(self) -> Any:
        """As ``[NOT] EXISTS``: looked up per entry while an index of entries is walked, where ``IN`` would
        first gather every id (a whole year of an account's lines)."""
        if self.check is not None:
            return self.check if self.wanted else ~self.check
        match = self.of_entry.exists()
        return match if self.wanted else ~match


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


EntryKey = tuple[date, int]  # (entry date, chain seq): the journal's order, and where a page starts


def _day(*, unindexed: bool = False) -> ColumnElement[Any]:
    """The entry's date; ``unindexed`` on SQLite writes it ``+entry_date``, which its planner does not look
    up in an index (so that another index, or the matches already found, drive the query)."""
    if unindexed:
        return literal_column("+journal_entry.entry_date", type_=entry_t.c.entry_date.type)
    return entry_t.c.entry_date


def _count_entries(conn: Connection, ids: Any, at_most: int, rows_per_entry: int = 2) -> int:
    """How many distinct entry ids ``ids`` (a one-column SELECT) yields, counted up to ``at_most``: read
    ``rows_per_entry`` times that many rows at most (an entry has one line on an account, rarely two), and
    only if they were not that many distinct entries, count the distinct ids themselves up to ``at_most``."""
    read_at_most = rows_per_entry * at_most
    found = ids.limit(read_at_most).subquery()
    read, distinct = conn.execute(
        select(func.count(), func.count(func.distinct(next(iter(found.c))))).select_from(found)
    ).one()
    if read < read_at_most or distinct >= at_most:
        return int(min(distinct, at_most))
    return _count_distinct(conn, ids, at_most)


def _count_distinct(conn: Connection, ids: Any, at_most: int | None = None) -> int:
    every = ids.subquery()  # a SELECT or a UNION of them
    distinct_ids = select(next(iter(every.c))).distinct().limit(at_most).subquery()
    return int(conn.execute(select(func.count()).select_from(distinct_ids)).scalar_one())


def _gather_entries(conn: Connection, ids: Any, at_most: int) -> tuple[list[int] | None, int]:
    """The distinct entry ids ``ids`` yields, sorted, and how many, if fewer than ``at_most``; else
    (None, ``at_most``).

    One query reads ``at_most`` rows at most and answers how many there were, how many entries, and the
    ids themselves joined in one string (``group_concat``, ``string_agg``), which is split only when they
    were all the rows there are. A common word's 10,001 ids never come to Python one by one: as rows they
    were ~20,000 objects a request and, every ninth request or so, a full garbage collection of the whole
    process (~150 ms of CPU: the PostgreSQL page's slow runs). Only if the rows named some entry twice and
    were the limit are the distinct ids counted, and then read if fewer."""
    found = ids.limit(at_most).subquery()
    key = next(iter(found.c))
    if conn.dialect.name == "sqlite":
        joined = func.group_concat(key)
    else:
        joined = func.string_agg(cast(key, String), literal(","))
    read, distinct, listed = conn.execute(
        select(func.count(), func.count(func.distinct(key)), joined).select_from(found)
    ).one()
    if distinct >= at_most:
        return None, at_most
    if read < at_most:
        gathered = sorted({int(i) for i in listed.split(",")}) if listed else []
        return gathered, len(gathered)
    total = _count_distinct(conn, ids, at_most)
    if total >= at_most:
        return None, at_most
    return sorted(set(conn.execute(ids).scalars())), total


TERMS_AT_MOST = 300  # a two-character text's trigrams asked for at once; more, and the 摘要 are read


@dataclass(frozen=True)
class MemoMatch:
    """A text as SQLite's trigram tables (``0012_core``) are asked for it: an FTS5 query for the entries'
    table and one for the lines' — each naming a superset of the rows whose 摘要 holds the text (LIKE still
    decides) — or None where no row can hold it."""

    entries: str | None
    lines: str | None

    @staticmethod
    def among(row_id: Any, fts: Any, query: str | None) -> Any:
        if query is None:
            return false()
        return row_id.in_(select(fts.c.rowid).where(fts.c.memo.match(query)))


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def memo_match(conn: Connection, text: str) -> MemoMatch | None:
    """How SQLite's trigram tables find the 摘要 holding ``text``; None where they cannot (no such tables:
    a SQLite without FTS5; one character; a two-character text of cased non-ASCII letters, whose folding
    FTS5 and LIKE do not share; one followed in the 摘要 by more than ``TERMS_AT_MOST`` characters).

    Three characters or more: the phrase of their trigrams. Two (most Chinese words: 租金, a name like
    张三): every trigram that begins with them, from the tables' vocabularies (``…_terms``, a range of
    terms) — each 摘要 is indexed with a U+001F after it, so two characters at its end make a trigram too."""
    found = conn.execute(
        sql_text("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (:entries, :lines)"),
        {"entries": entry_memo_fts.name, "lines": line_memo_fts.name},
    ).scalar_one()
    if found != 2 or len(text) < 2:
        return None
    if len(text) >= 3:
        return MemoMatch(_phrase(text), _phrase(text))
    if not all(ch.isascii() or ch.lower() == ch == ch.upper() for ch in text):
        return None
    folded = text.lower()  # FTS5's case folding (case_sensitive=0), on ASCII letters as LIKE's
    queries: list[str | None] = []
    for fts in (entry_memo_fts, line_memo_fts):
        terms = conn.execute(
            sql_text(f"SELECT term FROM {fts.name}_terms WHERE term >= :low AND term < :high LIMIT :n"),
            {"low": folded, "high": folded + "\U0010ffff", "n": TERMS_AT_MOST + 1},
        ).scalars()
        listed = [_phrase(t) for t in terms]
        if len(listed) > TERMS_AT_MOST:
            return None
        queries.append(" OR ".join(listed) or None)
    return MemoMatch(*queries)


def list_entries(
    conn: Connection,
    org_id: int,
    flt: EntryFilter,
    *,
    limit: int = 100,
    offset: int = 0,
    count_limit: int | None = None,
    after: EntryKey | None = None,
    before: EntryKey | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the org's entries matching ``flt`` in date and chain order, with their lines, and how many
    match in all — counted up to ``count_limit + 1`` at most when given (a page says "10,000+" rather than
    count a whole year of a big org at every turn of the page).

    A page is the first ``limit`` after ``offset`` others, or (keyset, what the journal page turns by)
    the first ``limit`` after the entry at ``after``, or the last ``limit`` before the one at ``before``.

    With ``count_limit``, a filter on other rows (a counterparty, an account, reversed) counts its matches
    from those rows (the account's lines, say) and stops at ``count_limit + 1``. If it stopped there, the
    matches are many and the page walks the date index from the key, checking each entry (``EXISTS``) until
    the page is full; if not, they are few, and the page reads just them and sorts them."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit is 1 to {MAX_PAGE}", field="limit")
    if offset < 0:
        raise ValidationError("offset is not negative", field="offset")
    sqlite = conn.dialect.name == "sqlite"
    if conn.dialect.name == "postgresql":
        # psycopg prepares a statement run often; PostgreSQL's generic plan for it cannot know how telling
        # this counterparty or account is, and picks a plan 10-20 times slower: plan each query as asked.
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    text = flt.text_contains
    semis = flt.semi_joins(org_id, memo_match=memo_match(conn, text) if text and sqlite else None)
    driver = next((j for j in semis if j.wanted), None)
    few = False
    few_ids: list[int] | None = None
    if count_limit is not None and driver is not None:
        others = [j.exists() for j in semis if j is not driver]
        if others or not (driver.within_months and flt.months_only()):
            found = driver.ids.subquery()
            key = next(iter(found.c))
            counted = (
                select(key)
                .join_from(found, entry_t, entry_t.c.id == key)
                .where(*flt.entry_conditions(org_id, sqlite=sqlite, by_date=False), *others)
            )
        else:  # the account's lines hold the org and the months: an index alone counts
            counted = driver.ids
        if driver.check is not None:  # a text: its matches gathered once, to count and, if few, to read
            few_ids, total = _gather_entries(conn, counted, count_limit + 1)
        else:
            total = _count_entries(conn, counted, count_limit + 1, driver.rows_per_entry)
        few = total <= count_limit
    elif (
        driver is not None
        and len(semis) == 1
        and driver.check is None
        and driver.within_months
        and flt.months_only()
    ):
        # every match counted (the API's): an account's lines hold the org and the months, so their distinct
        # entries are the matches, counted from the one index without a walk over the org's entries
        total = _count_distinct(conn, driver.ids)
    else:
        matching = select(entry_t.c.id).where(*flt.conditions(org_id, sqlite=sqlite))
        if count_limit is not None:
            matching = matching.limit(count_limit + 1)
        total = conn.execute(select(func.count()).select_from(matching.subquery())).scalar_one()
    if few and few_ids is not None:  # the matches themselves, sorted
        cond: list[Any] = [entry_t.c.id.in_(few_ids)]
        day = _day(unindexed=sqlite)
    elif few:  # read the few matches (IN) and sort them
        cond = [
            *flt.entry_conditions(org_id, sqlite=sqlite, by_date=False),
            *(j.among() for j in semis),
        ]
        day = _day(unindexed=sqlite)
    else:  # walk the date index (or the amount band's), checking each entry
        band = flt.total_min_fen is not None and flt.total_max_fen is not None
        cond = [
            *flt.entry_conditions(org_id, sqlite=sqlite),
            *(j.exists() for j in semis),
        ]
        day = _day(unindexed=sqlite and band)
    order: list[Any] = [entry_t.c.entry_date, entry_t.c.seq]
    if after is not None:
        cond.append(tuple_(day, entry_t.c.seq) > tuple_(*_key_binds(after)))
    if before is not None:
        cond.append(tuple_(day, entry_t.c.seq) < tuple_(*_key_binds(before)))
        order = [c.desc() for c in order]
    rows = conn.execute(select(entry_t).where(*cond).order_by(*order).limit(limit).offset(offset)).mappings()
    entries = [dict(r) for r in rows]
    if before is not None:
        entries.reverse()
    lines = _lines(conn, [e["id"] for e in entries])
    for e in entries:
        e["lines"] = lines[e["id"]]
    _with_reversal(conn, entries)
    return entries, total


def entry_key(entry: dict[str, Any]) -> EntryKey:
    """Where ``entry`` stands in the journal's order: the key of the page after (or before) it."""
    day = entry["entry_date"]
    return (day if isinstance(day, date) else date.fromisoformat(day), int(entry["seq"]))


def _key_binds(key: EntryKey) -> tuple[Any, Any]:
    return (literal(key[0], entry_t.c.entry_date.type), literal(key[1], entry_t.c.seq.type))


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
