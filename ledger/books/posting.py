"""Posting journal entries (记账凭证): the one way anything enters the books.

``post_entries`` takes drafts (possibly for several orgs: a linked posting) and, inside the caller's
transaction, validates them, locks each org's chain head (in org-id order, so linked postings cannot
deadlock), replays idempotent retries, numbers vouchers gaplessly per org and month, extends each org's
hash chain and writes lines then entries with ``executemany``. The database re-checks balance, leaf
accounts, open periods and immutability in its triggers; this module checks first so that a person gets a
clear message naming the field. It must never write an entry that it has not validated, and never update
or delete one: corrections are reversals (红字冲销), made by ``reverse_entry``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from itertools import chain
from operator import attrgetter

from sqlalchemy import Connection, select

from ledger.books.account_dimensions import DIMENSION_FIELDS, required_for
from ledger.books.chain import LINE_FIELDS, posted_hash
from ledger.books.errors import (
    AccountKept,
    AccountNotPostable,
    Conflict,
    IdempotencyConflict,
    NotFound,
    PeriodClosed,
    UnbalancedEntry,
    ValidationError,
)
from ledger.books.money import MAX_AMOUNT_FEN, check_bound
from ledger.books.orgs import now
from ledger.books.periods import FIRST_DAY, LAST_DAY, check_posting_day, latest_posting_day, period_of
from ledger.db.models import (
    CHANNELS,
    ENTRY_SOURCES,
    Account,
    BookState,
    Counterparty,
    JournalEntry,
    JournalLine,
    Org,
    Period,
    Store,
    VoucherCounter,
)
from ledger.db.rows import IN_CHUNK, driver_rows, driver_run, gc_paused, insert_rows, marks

entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
account_t = Account.__table__
book_t = BookState.__table__
period_t = Period.__table__
counter_t = VoucherCounter.__table__

MAX_LINES = 1000
MAX_ATTACHMENTS = 999  # 附单据数 a voucher states (three digits, as its paper form)
# Entries whose total someone typed (a manual entry, an imported one) are bounded like any amount; vouchers
# built from sums (a shift's 日结, a year's close) are bounded line by line only (money.split_to_bound).
TYPED_SOURCES = frozenset({"manual", "import"})
BULK_DRAFTS = 100  # from this many drafts on, posting pauses the cyclic garbage collector (rows.gc_paused)


@dataclass(frozen=True)
class Line:
    """One 分录: exactly one of ``debit_fen`` / ``credit_fen`` is non-zero; dimensions are optional."""

    account: str
    debit_fen: int = 0
    credit_fen: int = 0
    memo: str = ""
    counterparty_id: int | None = None
    store_id: int | None = None
    channel: str | None = None
    contract_id: int | None = None
    welfare_post_id: int | None = None
    product_category: str | None = None


@dataclass(frozen=True)
class Draft:
    """An entry before it is posted."""

    org_id: int
    entry_date: date
    memo: str
    lines: Sequence[Line]
    source: str = "manual"
    source_ref: str | None = None
    idempotency_key: str | None = None
    link_id: str | None = None
    reverses_id: int | None = None
    attachments: int = 0  # 附单据数: documents the paper voucher carries (hashed with the entry when not 0)

    @cached_property
    def period(self) -> str:
        return period_of(self.entry_date)

    @cached_property
    def fingerprint(self) -> str:
        """What an idempotent retry must repeat exactly (the body, not the key or who sent it)."""
        doc = [
            self.org_id,
            self.entry_date.isoformat(),
            self.memo,
            self.source,
            self.source_ref,
            self.reverses_id,
            [
                [
                    ln.account,
                    ln.debit_fen,
                    ln.credit_fen,
                    ln.memo,
                    ln.counterparty_id,
                    ln.store_id,
                    ln.channel,
                    ln.contract_id,
                    ln.welfare_post_id,
                    ln.product_category,
                ]
                for ln in self.lines
            ],
        ]
        if self.attachments:  # absent when 0: the fingerprints stored before the count existed still match
            doc.append(self.attachments)
        return hashlib.sha256(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class Posted:
    id: int
    org_id: int
    voucher_no: str
    period: str
    seq: int
    hash: str
    created: bool = True  # False when an idempotent retry returned the original entry


@dataclass
class _OrgBooks:
    last_seq: int
    head_hash: str
    accounts: dict[str, tuple[int, bool, bool]] = field(
        default_factory=dict
    )  # code -> (id, closed, is_parent), for the codes the drafts name
    postable: dict[str, int] = field(default_factory=dict)  # code -> id of the open leaf accounts


def voucher_number(period: str, number: int) -> str:
    return f"记-{period}-{number:04d}"


def new_link_id() -> str:
    return str(uuid.uuid4())


# -- validation -------------------------------------------------------------------------------------------


def check_draft(draft: Draft, *, where: str = "") -> None:
    """Rules that need no database: balanced, at least two lines, amounts and dimensions well formed."""
    _checked_total(draft, where)


def _checked_total(draft: Draft, where: str, latest_day: date | None = None) -> int:
    """``check_draft``, returning the entry's total (its debits) for the posting code. ``latest_day``: the
    last day an entry may be dated (``_latest_day``), read once for a batch instead of once per entry.

    Each line is tested with one cheap expression; only a line that fails it goes through
    ``_refuse_line``, which names the rule and the field (bulk posting checks millions of good lines)."""
    p = where
    if draft.source not in ENTRY_SOURCES:
        raise ValidationError(f"unknown source {draft.source!r}", field=f"{p}source")
    if not isinstance(draft.entry_date, date) or isinstance(draft.entry_date, datetime):
        raise ValidationError("date must be a calendar date", field=f"{p}date")
    if latest_day is None or not FIRST_DAY <= draft.entry_date <= latest_day:
        check_posting_day(draft.entry_date, f"{p}date")  # raises the error that names the rule
    if len(draft.memo) > 500:
        raise ValidationError("memo is longer than 500 characters", field=f"{p}memo")
    if type(draft.attachments) is not int or not 0 <= draft.attachments <= MAX_ATTACHMENTS:
        raise ValidationError(
            f"attachments is a whole number 0 to {MAX_ATTACHMENTS}", field=f"{p}attachments"
        )
    if len(draft.lines) < 2:
        raise UnbalancedEntry("an entry needs at least two lines", field=f"{p}lines")
    if len(draft.lines) > MAX_LINES:
        raise ValidationError(f"an entry takes at most {MAX_LINES} lines", field=f"{p}lines")
    reversal = draft.reverses_id is not None
    debit = credit = 0
    for i, line in enumerate(draft.lines):
        d, c = line.debit_fen, line.credit_fen
        if (
            type(d) is not int
            or type(c) is not int
            or (d == 0) == (c == 0)
            or (not reversal and (d < 0 or c < 0))
            or not -MAX_AMOUNT_FEN <= d + c <= MAX_AMOUNT_FEN  # one of the two is 0
            or (line.channel is not None and line.channel not in CHANNELS)
        ):
            _refuse_line(line, f"{p}lines[{i}]", reversal)
        debit += d
        credit += c
    if debit != credit:
        raise UnbalancedEntry(
            f"debits {debit} fen and credits {credit} fen differ by {debit - credit} fen", field=f"{p}lines"
        )
    if draft.source in TYPED_SOURCES:
        check_bound(debit, f"{p}lines", "entry's total")
    return debit


def _latest_day() -> date:
    """The last day an entry may be dated, both bounds of ``check_posting_day`` in one."""
    return min(LAST_DAY, latest_posting_day())


def _refuse_line(line: Line, lp: str, reversal: bool) -> None:
    """Raise the error of the first rule ``line`` breaks; return if it breaks none (an int subclass)."""
    for name in ("debit_fen", "credit_fen"):
        value = getattr(line, name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationError("amounts are integer fen", field=f"{lp}.{name[:-4]}")
    if (line.debit_fen == 0) == (line.credit_fen == 0):
        raise UnbalancedEntry(
            "each line has exactly one of debit or credit, and it is not zero", field=f"{lp}.debit"
        )
    if not reversal and (line.debit_fen < 0 or line.credit_fen < 0):
        side = "debit" if line.debit_fen < 0 else "credit"
        raise UnbalancedEntry("amounts are positive; only a reversal carries red ink", field=f"{lp}.{side}")
    if line.channel is not None and line.channel not in CHANNELS:
        raise ValidationError(f"unknown channel {line.channel!r}", field=f"{lp}.channel")
    for name in ("debit_fen", "credit_fen"):
        check_bound(getattr(line, name), f"{lp}.{name[:-4]}")


_LOCK = "SELECT last_seq, head_hash FROM book_state WHERE org_id = ?"
_LOCK_PG = _LOCK + " FOR UPDATE"


def _lock_books(conn: Connection, org_ids: Iterable[int], codes: Iterable[str]) -> dict[int, _OrgBooks]:
    """Lock each org's chain head (in org-id order) and read the accounts the drafts name, by code: only
    those (an indexed lookup each, with whether any account hangs under it), not the whole chart, which a
    posting of one entry would otherwise read and sort through for every entry. Read in the caller's
    transaction after the lock, so an account opened or closed earlier in it is seen as it now is. Plain
    SQL on the driver (``ledger.db.rows.driver_rows``), as every statement of a posting: building the
    statements with SQLAlchemy cost more than running them."""
    lock = _LOCK_PG if conn.dialect.name == "postgresql" else _LOCK
    books: dict[int, _OrgBooks] = {}
    for org_id in sorted(set(org_ids)):
        rows = driver_rows(conn, lock, (org_id,))
        if not rows:
            raise NotFound(f"org {org_id} does not exist or keeps no books", field="org_id")
        books[org_id] = _OrgBooks(*rows[0])
    orgs, named = list(books), list(dict.fromkeys(codes))
    for i in range(0, len(named), IN_CHUNK):
        part = named[i : i + IN_CHUNK]
        rows = driver_rows(
            conn,
            f"SELECT a.org_id, a.id, a.code, a.is_closed, "
            f"EXISTS (SELECT 1 FROM account c WHERE c.parent_id = a.id) "
            f"FROM account a WHERE a.org_id IN ({marks(len(orgs))}) AND a.code IN ({marks(len(part))})",
            (*orgs, *part),
        )
        for org_id, account_id, code, is_closed, is_parent in rows:
            ob = books[org_id]
            ob.accounts[code] = (account_id, bool(is_closed), bool(is_parent))
            if not is_closed and not is_parent:
                ob.postable[code] = account_id
    return books


def _check_accounts(draft: Draft, books: _OrgBooks, where: str) -> list[int]:
    """The account id of each line; every one an open leaf account of the entry's org."""
    postable = books.postable
    try:
        return [postable[line.account] for line in draft.lines]
    except KeyError:
        pass
    ids = []
    for i, line in enumerate(draft.lines):
        acct = books.accounts.get(line.account)
        if acct is None:
            raise AccountNotPostable(
                f"no account {line.account} in this org's chart", field=f"{where}lines[{i}].account"
            )
        account_id, closed, is_parent = acct
        if closed:
            raise AccountNotPostable(f"account {line.account} is closed", field=f"{where}lines[{i}].account")
        if is_parent:
            raise AccountNotPostable(
                f"account {line.account} has sub-accounts; post to one of them",
                field=f"{where}lines[{i}].account",
            )
        ids.append(account_id)
    return ids


# A dimension a workflow keeps (a line's ``contract_id``, ``welfare_post_id``): the workflow registers a
# lookup ``ids → {id: org id}`` (``register_dimension``) when ``ledger.workflows.start`` imports it.
DimensionLookup = Callable[[Connection, set[int]], dict[int, int]]
_DIMENSIONS: dict[str, DimensionLookup] = {}
# Sources whose dimensions come from a person or a file; a workflow's own drafts carry ids it just read.
_ENTERED_SOURCES = frozenset({"manual", "import"})


def register_dimension(name: str, lookup: DimensionLookup) -> DimensionLookup:
    """A workflow names the org of each id of a line dimension it keeps (``contract_id`` …)."""
    _DIMENSIONS[name] = lookup
    return lookup


def _check_workflow_dimensions(conn: Connection, drafts: Sequence[Draft], prefix: Sequence[str]) -> None:
    """A contract or welfare post named on an entered line exists and belongs to the entry's org (else a
    404 naming the line's field), checked here rather than left to a sub-ledger tie that breaks later."""
    entered = [(d, p) for d, p in zip(drafts, prefix, strict=True) if d.source in _ENTERED_SOURCES]
    if not entered:
        return
    lines = list(chain.from_iterable(d.lines for d, _ in entered))
    for name, lookup in _DIMENSIONS.items():
        wanted = set(map(attrgetter(name), lines))  # one C pass over the batch's lines
        wanted.discard(None)
        if not wanted:
            continue
        orgs = lookup(conn, wanted)
        for d, p in entered:
            for i, ln in enumerate(d.lines):
                value = getattr(ln, name)
                if value is not None and orgs.get(value) != d.org_id:
                    what = name.removesuffix("_id").replace("_", " ")
                    raise NotFound(f"{what} {value} is not one of this org's", field=f"{p}lines[{i}].{name}")


@dataclass(frozen=True)
class KeptAccount:
    """Lines a workflow keeps (DESIGN §7 sub-ledger ties): a person's or a file's entry never writes them, the
    workflow's own rule does. ``prefix`` is the account code (and its sub-accounts); with ``dimension`` only
    lines naming one (112 naming a contract); with ``applies`` only orgs that keep the sub-ledger (1405 in a
    company with stock). ``workflow`` tells the person what to do instead; ``source`` is the source that
    workflow posts under (a page names it from its words for the source)."""

    prefix: str
    workflow: str
    dimension: str | None = None
    applies: Callable[[Connection, int], bool] | None = None
    source: str = ""

    def keeps(self, line: Line) -> bool:
        if not line.account.startswith(self.prefix):
            return False
        return self.dimension is None or getattr(line, self.dimension) is not None


_KEPT: list[KeptAccount] = []


def register_kept_account(kept: KeptAccount) -> KeptAccount:
    """A workflow names an account (or an account's lines with its dimension) that only it posts."""
    if kept not in _KEPT:
        _KEPT.append(kept)
    return kept


def _check_kept_accounts(conn: Connection, drafts: Sequence[Draft], prefix: Sequence[str]) -> None:
    """An entered line to an account a workflow keeps is refused (422 naming the line), so a plain entry can
    never break a sub-ledger tie that ``cunshe verify`` checks.

    The rules that could keep an account are found once per account code of the batch, not per line, less
    those that keep only lines naming a dimension no line of the batch names (one C pass over the lines a
    dimension): a batch whose codes no rule names (almost every one) looks at no line again."""
    entered = [(d, p) for d, p in zip(drafts, prefix, strict=True) if d.source in _ENTERED_SOURCES]
    if not entered:
        return
    lines = list(chain.from_iterable(d.lines for d, _ in entered))
    unnamed = {
        name
        for name in {kept.dimension for kept in _KEPT if kept.dimension is not None}
        if set(map(attrgetter(name), lines)) == {None}
    }
    live = [(k, kept) for k, kept in enumerate(_KEPT) if kept.dimension not in unnamed]
    codes = set(map(_account_of, lines))
    rules: dict[str, list[tuple[int, KeptAccount]]] = {}
    for code in codes:
        matching = [(k, kept) for k, kept in live if code.startswith(kept.prefix)]
        if matching:
            rules[code] = matching
    if not rules:
        return
    applies: dict[tuple[int, int], bool] = {}
    for d, p in entered:
        for i, ln in enumerate(d.lines):
            for k, kept in rules.get(ln.account, ()):
                if not kept.keeps(ln):
                    continue
                if kept.applies is not None and (k, d.org_id) not in applies:
                    applies[(k, d.org_id)] = kept.applies(conn, d.org_id)
                if kept.applies is None or applies[(k, d.org_id)]:
                    what = f"account {ln.account}"
                    if kept.dimension is not None:
                        name = kept.dimension.removesuffix("_id").replace("_", " ")
                        what += f" naming {name} {getattr(ln, kept.dimension)}"
                    raise AccountKept(
                        f"{what} is kept by {kept.workflow}; a plain entry cannot post it",
                        field=f"{p}lines[{i}].account",
                        source=kept.source,
                    )


_cp_and_store = attrgetter("counterparty_id", "store_id")
_account_of = attrgetter("account")


def _check_dimensions(conn: Connection, drafts: Sequence[Draft], prefix: Sequence[str]) -> None:
    """Counterparties and stores on a line belong to the entry's own org; no entered line posts to an
    account a workflow keeps."""
    _check_workflow_dimensions(conn, drafts, prefix)
    if _KEPT:
        _check_kept_accounts(conn, drafts, prefix)
    named = set(map(_cp_and_store, chain.from_iterable(d.lines for d in drafts)))
    if named == {(None, None)}:  # no line names either (one C pass over the batch's lines)
        return
    wanted_cp = {(d.org_id, ln.counterparty_id) for d in drafts for ln in d.lines if ln.counterparty_id}
    wanted_store = {(d.org_id, ln.store_id) for d in drafts for ln in d.lines if ln.store_id}
    if not wanted_cp and not wanted_store:
        return
    known_cp: set[tuple[int, int]] = set()
    known_store: set[tuple[int, int]] = set()
    if wanted_cp:
        known_cp = _orgs_of(conn, Counterparty.__table__.name, {c for _, c in wanted_cp})
    if wanted_store:
        known_store = _orgs_of(conn, Store.__table__.name, {s for _, s in wanted_store})
    for d, p in zip(drafts, prefix, strict=True):
        for i, ln in enumerate(d.lines):
            if ln.counterparty_id and (d.org_id, ln.counterparty_id) not in known_cp:
                raise NotFound(
                    f"counterparty {ln.counterparty_id} is not one of this org's",
                    field=f"{p}lines[{i}].counterparty_id",
                )
            if ln.store_id and (d.org_id, ln.store_id) not in known_store:
                raise NotFound(
                    f"store {ln.store_id} is not one of this org's", field=f"{p}lines[{i}].store_id"
                )


def _orgs_of(conn: Connection, table: str, ids: set[int]) -> set[tuple[int, int]]:
    """``(org_id, id)`` of the rows of ``table`` (a constant) with these ids."""
    wanted = sorted(ids)
    found: set[tuple[int, int]] = set()
    for i in range(0, len(wanted), IN_CHUNK):
        part = wanted[i : i + IN_CHUNK]
        found.update(
            driver_rows(conn, f"SELECT org_id, id FROM {table} WHERE id IN ({marks(len(part))})", part)
        )
    return found


def _check_required_dimensions(conn: Connection, drafts: Sequence[Draft], prefix: Sequence[str]) -> None:
    """Each line of an entered entry names the dimensions its account requires (else a 422 naming the
    line's field, ``lines[1].counterparty_id``), as the entry form asks before it posts.

    Entered: typed by a person or read from a file, through a door (``post_entries(entered=True)``). A
    workflow's lines are built from its own register, which names what its sub-ledger needs, and carry
    nothing where a dimension means nothing (a year's 结转 of a store's income is the company's); code that
    posts on its own (a subsidy, the VAT exemption, the demo) posts no account that asks for one."""
    typed = list(zip(drafts, prefix, strict=True))
    if not typed:
        return
    org_ids = sorted({d.org_id for d, _ in typed})
    standards: dict[int, str | None] = dict(
        driver_rows(
            conn,
            f"SELECT id, standard FROM {Org.__table__.name} WHERE id IN ({marks(len(org_ids))})",
            org_ids,
        )
    )
    with_stores: set[int] | None = None  # a company without a store yet names none (its 1405 is plain)
    required: dict[tuple[str | None, str], tuple[str, ...]] = {}  # per code of the batch, not per line
    for d, p in typed:
        standard = standards.get(d.org_id)
        for i, ln in enumerate(d.lines):
            key = (standard, ln.account)
            dimensions = required.get(key)
            if dimensions is None:
                dimensions = required[key] = required_for(standard, ln.account)
            for dimension in dimensions:
                name = DIMENSION_FIELDS[dimension]
                if getattr(ln, name) is not None:
                    continue
                if dimension == "store":
                    if with_stores is None:
                        with_stores = {
                            r[0]
                            for r in driver_rows(
                                conn,
                                f"SELECT DISTINCT org_id FROM {Store.__table__.name} "
                                f"WHERE org_id IN ({marks(len(org_ids))})",
                                org_ids,
                            )
                        }
                    if d.org_id not in with_stores:
                        continue
                what = dimension.replace("_", " ")
                message = f"a line on account {ln.account} names its {what} (辅助核算)"
                kept = next(
                    (k for k in _KEPT if k.dimension == name and ln.account.startswith(k.prefix)), None
                )
                if kept is not None:  # naming one is the workflow's business: say where to go
                    message += f"; lines naming a {what} are kept by {kept.workflow}"
                raise ValidationError(message, field=f"{p}lines[{i}].{name}")


def _check_periods_open(
    conn: Connection, drafts: Sequence[Draft], prefix: Sequence[str], periods: Sequence[str]
) -> None:
    """Nothing posts on or before an org's latest closed month (books close in order). ``periods``: each
    draft's month (``Draft.period``)."""
    if not drafts:
        return
    orgs = sorted({d.org_id for d in drafts})
    latest: dict[int, str] = dict(
        driver_rows(
            conn,
            f"SELECT org_id, MAX(period) FROM {period_t.name} "
            f"WHERE org_id IN ({marks(len(orgs))}) AND status = 'closed' GROUP BY org_id",
            orgs,
        )
    )
    for d, p, period in zip(drafts, prefix, periods, strict=True):
        if d.org_id in latest and period <= latest[d.org_id]:
            raise PeriodClosed(
                f"period {period} is closed (books are closed through {latest[d.org_id]})", field=f"{p}date"
            )


def _check_reversals(conn: Connection, drafts: Sequence[Draft], prefix: Sequence[str]) -> None:
    """A reversal mirrors an existing entry of the same org exactly: same lines, amounts negated."""
    for d, p in zip(drafts, prefix, strict=True):
        if d.reverses_id is None:
            continue
        original = conn.execute(
            select(entry_t.c.org_id, entry_t.c.source, entry_t.c.voucher_no).where(
                entry_t.c.id == d.reverses_id
            )
        ).first()
        if original is None or original.org_id != d.org_id:
            raise NotFound(f"entry {d.reverses_id} does not exist in this org", field=f"{p}reverses_id")
        if original.source == "reversal":
            raise Conflict("a reversal cannot itself be reversed; post a new entry", field=f"{p}reverses_id")
        if conn.execute(select(entry_t.c.voucher_no).where(entry_t.c.reverses_id == d.reverses_id)).first():
            raise Conflict(f"{original.voucher_no} has already been reversed", field=f"{p}reverses_id")
        mirror = [
            (r.code, -r.debit_fen, -r.credit_fen)
            for r in conn.execute(
                select(account_t.c.code, line_t.c.debit_fen, line_t.c.credit_fen)
                .join(account_t, account_t.c.id == line_t.c.account_id)
                .where(line_t.c.entry_id == d.reverses_id)
                .order_by(line_t.c.line_no)
            )
        ]
        if mirror != [(ln.account, ln.debit_fen, ln.credit_fen) for ln in d.lines]:
            raise UnbalancedEntry(
                f"a reversal must mirror {original.voucher_no} line by line with negated amounts",
                field=f"{p}lines",
            )


def _allocate_vouchers(conn: Connection, org_id: int, period: str, count: int) -> int:
    """Reserve ``count`` voucher numbers; returns the first. Gapless: a rollback gives them back."""
    [(last,)] = driver_rows(conn, _COUNT_ONE, (org_id, period, count))
    return int(last) - count + 1


_COUNT = (
    "INSERT INTO voucher_counter (org_id, period, last_no) VALUES (?, ?, ?) "
    "ON CONFLICT (org_id, period) DO UPDATE SET last_no = voucher_counter.last_no + excluded.last_no"
)
_COUNT_ONE = _COUNT + " RETURNING last_no"


def _allocate_all_vouchers(
    conn: Connection, counts: dict[tuple[int, str], int]
) -> dict[tuple[int, str], int]:
    """``_allocate_vouchers`` for many (org, month) pairs in two statements: the first number of each.

    Reading the counters and then adding to them is safe because the caller holds every org's book lock
    (``_lock_books``), and uq_entry_org_voucher would refuse a number used twice all the same."""
    if not counts:
        return {}
    if len(counts) == 1:
        [(pair, count)] = counts.items()
        return {pair: _allocate_vouchers(conn, *pair, count)}
    orgs = sorted({org for org, _ in counts})
    periods = sorted({period for _, period in counts})  # at most a few hundred months
    last = {
        (org_id, period): last_no
        for org_id, period, last_no in driver_rows(
            conn,
            f"SELECT org_id, period, last_no FROM {counter_t.name} "
            f"WHERE org_id IN ({marks(len(orgs))}) AND period IN ({marks(len(periods))})",
            (*orgs, *periods),
        )
    }
    driver_run(conn, _COUNT, [(org, period, count) for (org, period), count in counts.items()], many=True)
    return {pair: last.get(pair, 0) + 1 for pair in counts}


def _allocate_entry_ids(conn: Connection, count: int) -> list[int]:
    if conn.dialect.name == "postgresql":
        rows = driver_rows(
            conn, "SELECT nextval('journal_entry_id_seq') FROM generate_series(1, ?)", (count,)
        )
        return sorted(r[0] for r in rows)
    # SQLite: the write transaction holds the database lock (BEGIN IMMEDIATE), so max+1 is ours alone.
    [(first,)] = driver_rows(conn, "SELECT COALESCE(MAX(id), 0) + 1 FROM journal_entry")
    return list(range(first, first + count))


def _replays(conn: Connection, drafts: Sequence[Draft], prefix: Sequence[str]) -> dict[int, Posted]:
    """Drafts whose idempotency key was already used: the original entry, or a 409 if the body differs."""
    keyed: dict[int, list[int]] = defaultdict(list)
    for i, d in enumerate(drafts):
        if d.idempotency_key is not None:
            if not d.idempotency_key or len(d.idempotency_key) > 128:
                raise ValidationError(
                    "an idempotency key has 1 to 128 characters", field=f"{prefix[i]}idempotency_key"
                )
            keyed[d.org_id].append(i)
    found: dict[int, Posted] = {}
    for org_id, idxs in keyed.items():
        keys = sorted({drafts[i].idempotency_key or "" for i in idxs})
        rows: dict[str, tuple] = {}
        for j in range(0, len(keys), IN_CHUNK):
            part = keys[j : j + IN_CHUNK]
            for r in driver_rows(
                conn,
                "SELECT idempotency_key, id, voucher_no, period, seq, hash, request_hash FROM journal_entry "
                f"WHERE org_id = ? AND idempotency_key IN ({marks(len(part))})",
                (org_id, *part),
            ):
                rows[r[0]] = r
        seen: dict[str, int] = {}
        for i in idxs:
            d = drafts[i]
            key = d.idempotency_key
            assert key is not None
            row = rows.get(key)
            if row is not None:
                _, entry_id, voucher_no, period, seq, digest, request_hash = row
                if request_hash != d.fingerprint:
                    raise IdempotencyConflict(
                        f"idempotency key {key!r} was used for a different entry ({voucher_no})",
                        field=f"{prefix[i]}idempotency_key",
                    )
                found[i] = Posted(entry_id, org_id, voucher_no, period, seq, digest, created=False)
            elif key in seen:
                if drafts[seen[key]].fingerprint != d.fingerprint:
                    raise IdempotencyConflict(
                        f"idempotency key {key!r} appears twice with different bodies",
                        field=f"{prefix[i]}idempotency_key",
                    )
                found[i] = Posted(-1, org_id, "", d.period, -1, "", created=False)  # filled after posting
            else:
                seen[key] = i
    return found


ENTRY_COLUMNS = (
    "id",
    "org_id",
    "seq",
    "entry_date",
    "period",
    "voucher_no",
    "memo",
    "source",
    "source_ref",
    "created_by",
    "created_at",
    "idempotency_key",
    "request_hash",
    "link_id",
    "reverses_id",
    "total_fen",
    "line_count",
    "prev_hash",
    "hash",
    "attachments",  # last: written only when a draft of the batch states one (see post_entries)
)
# A line's values from ``account`` on, in one C call: its canonical list (ledger.books.chain.LINE_FIELDS) is
# ``(line_no, *values)``; its row (LINE_COLUMNS) is ``(entry_id, org_id, period, line_no, account_id,
# *_row_values(line))``, the same values less the account's code.
_ROW_FIELDS = LINE_FIELDS[2:]  # debit_fen … product_category: a line's own values after its account
LINE_COLUMNS = ("entry_id", "org_id", "period", "line_no", "account_id", *_ROW_FIELDS)
_line_values = attrgetter("account", *_ROW_FIELDS)
_row_values = attrgetter(*_ROW_FIELDS)


def _add_turnover(conn: Connection, line_rows: list[tuple]) -> None:
    """Add the batch's lines to ``account_turnover`` (one upsert per org, month and account touched)."""
    totals: dict[tuple[int, str, int], list[int]] = {}
    for row in line_rows:  # LINE_COLUMNS: org_id, period, account_id, debit_fen, credit_fen at 1, 2, 4, 5, 6
        key = (row[1], row[2], row[4])
        t = totals.get(key)
        if t is None:
            totals[key] = [row[5], row[6]]
        else:
            t[0] += row[5]
            t[1] += row[6]
    driver_run(
        conn,
        "INSERT INTO account_turnover (org_id, period, account_id, debit_fen, credit_fen) "
        "VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (org_id, period, account_id) DO UPDATE SET "
        "debit_fen = account_turnover.debit_fen + excluded.debit_fen, "
        "credit_fen = account_turnover.credit_fen + excluded.credit_fen",
        [(*key, d, c) for key, (d, c) in totals.items()],
        many=True,
    )


# -- posting ----------------------------------------------------------------------------------------------


def post_entries(
    conn: Connection,
    drafts: Sequence[Draft],
    *,
    user_id: int | None = None,
    field_prefix: Sequence[str] | None = None,
    entered: bool = False,
) -> list[Posted]:
    """Post ``drafts`` in the caller's transaction: all of them, or (on any error) none.

    Drafts for different orgs posted together are a linked posting; give them one ``link_id``
    (``new_link_id()``) so each side can find the other. ``entered``: the drafts are what a person typed
    or a file holds (the doors' entries: the page, the API, ``cunshe post``), whose lines must each name
    the 辅助核算 their account requires (``ledger/data/account_dimensions.toml``).
    """
    if not drafts:
        return []
    if len(drafts) < BULK_DRAFTS:
        return _post_entries(conn, drafts, user_id, field_prefix, entered)
    with (
        gc_paused()
    ):  # a bulk load's rows and tuples form no cycles: the collector would walk them for nothing
        return _post_entries(conn, drafts, user_id, field_prefix, entered)


def _post_entries(
    conn: Connection,
    drafts: Sequence[Draft],
    user_id: int | None,
    field_prefix: Sequence[str] | None,
    entered: bool,
) -> list[Posted]:
    prefix = (
        list(field_prefix)
        if field_prefix is not None
        else ([""] if len(drafts) == 1 else [f"entries[{i}]." for i in range(len(drafts))])
    )
    latest_day = _latest_day()
    totals = [_checked_total(d, p, latest_day) for d, p in zip(drafts, prefix, strict=True)]
    books = _lock_books(
        conn, (d.org_id for d in drafts), set(map(_account_of, chain.from_iterable(d.lines for d in drafts)))
    )
    replays = _replays(conn, drafts, prefix)
    fresh = [i for i in range(len(drafts)) if i not in replays]
    fresh_drafts = [drafts[i] for i in fresh]
    fresh_prefix = [prefix[i] for i in fresh]
    account_ids = [_check_accounts(drafts[i], books[drafts[i].org_id], prefix[i]) for i in fresh]
    # Each month once per batch, not through ``Draft.period`` (a cached_property takes a lock per draft).
    months: dict[date, str] = {}
    periods = [months.get(d.entry_date) or months.setdefault(d.entry_date, d.period) for d in fresh_drafts]
    _check_periods_open(conn, fresh_drafts, fresh_prefix, periods)
    _check_dimensions(conn, fresh_drafts, fresh_prefix)
    if entered:
        _check_required_dimensions(conn, fresh_drafts, fresh_prefix)
    _check_reversals(conn, fresh_drafts, fresh_prefix)

    by_month: dict[tuple[int, str], list[int]] = defaultdict(list)
    for k, d in enumerate(fresh_drafts):
        by_month[(d.org_id, periods[k])].append(k)
    numbers: list[str] = [""] * len(fresh)
    firsts = _allocate_all_vouchers(conn, {pair: len(ks) for pair, ks in sorted(by_month.items())})
    for (org_id, period), ks in by_month.items():
        first = firsts[(org_id, period)]
        for n, k in enumerate(ks):
            numbers[k] = voucher_number(period, first + n)
    ids = _allocate_entry_ids(conn, len(fresh)) if fresh else []

    # The chain hashes the ISO forms; SQLite stores the two dates as SQLAlchemy itself writes them (text),
    # PostgreSQL takes the objects.
    sqlite = conn.dialect.name == "sqlite"
    created_at = now()
    created_iso = created_at.astimezone(UTC).isoformat()
    stored_at = created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else created_at
    entry_rows: list[tuple] = []
    line_rows: list[tuple] = []
    results: dict[int, Posted] = {}
    for k, i in enumerate(fresh):
        d = drafts[i]
        org_id, period, entry_id, voucher_no = d.org_id, periods[k], ids[k], numbers[k]
        ob = books[org_id]
        ob.last_seq += 1
        entry_date = d.entry_date.isoformat()
        canonical = [(n, *values) for n, values in enumerate(map(_line_values, d.lines), 1)]
        line_rows.extend(
            [
                (entry_id, org_id, period, n, account_id, *_row_values(ln))
                for n, (ln, account_id) in enumerate(zip(d.lines, account_ids[k], strict=True), 1)
            ]
        )
        digest = posted_hash(
            ob.head_hash,
            entry_id=entry_id,
            org_id=org_id,
            seq=ob.last_seq,
            entry_date=entry_date,
            period=period,
            voucher_no=voucher_no,
            memo=d.memo,
            source=d.source,
            source_ref=d.source_ref,
            created_by=user_id,
            created_at=created_iso,
            idempotency_key=d.idempotency_key,
            link_id=d.link_id,
            reverses_id=d.reverses_id,
            attachments=d.attachments,
            lines=canonical,
        )
        entry_rows.append(
            (
                entry_id,
                org_id,
                ob.last_seq,
                entry_date if sqlite else d.entry_date,
                period,
                voucher_no,
                d.memo,
                d.source,
                d.source_ref,
                user_id,
                stored_at,
                d.idempotency_key,
                d.fingerprint if d.idempotency_key is not None else None,
                d.link_id,
                d.reverses_id,
                totals[i],
                len(d.lines),
                ob.head_hash,
                digest,
            )
        )
        ob.head_hash = digest
        results[i] = Posted(entry_id, org_id, voucher_no, period, ob.last_seq, digest)

    if fresh:
        insert_rows(conn, line_t.name, LINE_COLUMNS, line_rows)
        if any(d.attachments for d in fresh_drafts):
            rows = [(*row, d.attachments) for row, d in zip(entry_rows, fresh_drafts, strict=True)]
            insert_rows(conn, entry_t.name, ENTRY_COLUMNS, rows)
        else:  # the column's default: books at a revision before 附单据数 (0009_core) take these rows too
            insert_rows(conn, entry_t.name, ENTRY_COLUMNS[:-1], entry_rows)
        _add_turnover(conn, line_rows)
        driver_run(
            conn,
            "UPDATE book_state SET last_seq = ?, head_hash = ? WHERE org_id = ?",
            [(ob.last_seq, ob.head_hash, org_id) for org_id, ob in books.items()],
            many=True,
        )

    out: list[Posted] = []
    first_by_key: dict[tuple[int, str], Posted] = {}
    for i, d in enumerate(drafts):
        if i in results:
            posted = results[i]
            if d.idempotency_key is not None:
                first_by_key[(d.org_id, d.idempotency_key)] = posted
        else:
            posted = replays[i]
            if posted.id == -1:  # a duplicate inside this same batch
                p = first_by_key[(d.org_id, d.idempotency_key or "")]
                posted = Posted(p.id, p.org_id, p.voucher_no, p.period, p.seq, p.hash, created=False)
        out.append(posted)
    return out


def post_entry(conn: Connection, draft: Draft, *, user_id: int | None = None) -> Posted:
    return post_entries(conn, [draft], user_id=user_id)[0]


def reversal_draft(
    conn: Connection,
    entry_id: int,
    *,
    entry_date: date,
    memo: str | None = None,
    idempotency_key: str | None = None,
    link_id: str | None = None,
) -> Draft:
    """The 红字冲销 of an entry: the same lines on the same sides with negated amounts."""
    original = conn.execute(select(entry_t).where(entry_t.c.id == entry_id)).first()
    if original is None:
        raise NotFound(f"entry {entry_id} does not exist", field="entry_id")
    rows = conn.execute(
        select(line_t, account_t.c.code)
        .join(account_t, account_t.c.id == line_t.c.account_id)
        .where(line_t.c.entry_id == entry_id)
        .order_by(line_t.c.line_no)
    ).all()
    lines = [
        Line(
            account=r.code,
            debit_fen=-r.debit_fen,
            credit_fen=-r.credit_fen,
            memo=r.memo,
            counterparty_id=r.counterparty_id,
            store_id=r.store_id,
            channel=r.channel,
            contract_id=r.contract_id,
            welfare_post_id=r.welfare_post_id,
            product_category=r.product_category,
        )
        for r in rows
    ]
    return Draft(
        org_id=original.org_id,
        entry_date=entry_date,
        memo=memo or f"冲销 {original.voucher_no}",
        lines=lines,
        source="reversal",
        source_ref=original.voucher_no,
        idempotency_key=idempotency_key,
        link_id=link_id,
        reverses_id=entry_id,
    )


def reverse_entry(
    conn: Connection,
    entry_id: int,
    *,
    entry_date: date,
    user_id: int | None = None,
    memo: str | None = None,
    idempotency_key: str | None = None,
) -> list[Posted]:
    """Reverse an entry into an open period (红字冲销); a linked entry is reversed with its whole link.

    Returns every reversal posted: one, or one per entry of the link.
    """
    original = conn.execute(select(entry_t.c.link_id).where(entry_t.c.id == entry_id)).first()
    if original is None:
        raise NotFound(f"entry {entry_id} does not exist", field="entry_id")
    if original.link_id is not None:
        return reverse_link(
            conn, original.link_id, entry_date=entry_date, user_id=user_id, idempotency_key=idempotency_key
        )
    draft = reversal_draft(conn, entry_id, entry_date=entry_date, memo=memo, idempotency_key=idempotency_key)
    posted = post_entry(conn, draft, user_id=user_id)
    if posted.created:  # the workflow's sub-ledger follows (e.g. lease charges); a retry finds it done
        from ledger.books.reversals import after_reversal

        after_reversal(conn, entry_id, posted.id)
    return [posted]


def reverse_link(
    conn: Connection,
    link_id: str,
    *,
    entry_date: date,
    user_id: int | None = None,
    idempotency_key: str | None = None,
) -> list[Posted]:
    """Reverse every entry of a linked posting together, as one new linked posting."""
    ids = (
        conn.execute(
            select(entry_t.c.id)
            .where(entry_t.c.link_id == link_id, entry_t.c.source != "reversal")
            .order_by(entry_t.c.id)
        )
        .scalars()
        .all()
    )
    if not ids:
        raise NotFound(f"no linked posting {link_id}", field="link_id")
    new_link = new_link_id()
    drafts = [
        reversal_draft(
            conn,
            entry_id,
            entry_date=entry_date,
            idempotency_key=f"{idempotency_key}:{n}" if idempotency_key else None,
            link_id=new_link,
        )
        for n, entry_id in enumerate(ids)
    ]
    posted = post_entries(conn, drafts, user_id=user_id)
    from ledger.books.reversals import after_reversal

    for entry_id, reversal in zip(ids, posted, strict=True):
        if reversal.created:  # the sub-ledgers follow, as for a single entry; a retry finds them done
            after_reversal(conn, entry_id, reversal.id)
    return posted
