"""Statement importers: bank, WeChat Pay and Alipay merchant files in, ``StatementLine`` records out.

Pure parsing. This module never touches the database, never matches a line to a posting, and never guesses
silently: every cell it cannot read is recorded as a problem with its file line and column, and an import
is all or nothing, so the caller gets either every line or one ``StatementParseError`` listing every
problem. Which header names mean what is data (``ledger/data/statement_columns.toml``): a bank's variant is
an edit there, not here. The formats are described in the design reference ``statement-formats.md``.

The pipeline, top down:
    read (sniff encoding / workbook) → find the header row by column names → map columns to roles →
    split body, summary block and ``#`` trailer → parse each row to a draft → check the footer totals
    against the rows → key each line.

Amounts are integer fen throughout. Cells are read as text (``dtype=str``) and converted with ``Decimal``,
never through a float. A bank file's plain rows (``1,234.50``, ``2024-03-01 08:00:05``: nearly all of them)
are read a column at a time, the amount's digits without its point being the fen; every other row goes
through the per-cell path, which names the line and column of each bad cell. Times are naive Beijing local
time as printed; a date-only cell means midnight.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib.resources import files
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ledger.books.errors import ValidationError
from ledger.books.spreadsheets import check_xlsx
from ledger.db.rows import gc_paused

if TYPE_CHECKING:
    pass


__all__ = [
    "KINDS",
    "SOURCES",
    "ParsedStatement",
    "StatementLine",
    "StatementParseError",
    "account_matches",
    "detect_source",
    "legacy_keys",
    "parse_statement",
]

SOURCES = ("bank", "wechat_trade", "wechat_fund", "alipay_detail", "alipay_account")
KINDS = ("sale", "refund", "fee", "settlement", "transfer", "other")

# detect_source() tries the payment companies first: their headers are unmistakable, a bank's is not.
_DETECT_ORDER = ("wechat_trade", "wechat_fund", "alipay_detail", "alipay_account", "bank")
_HEADER_SCAN_ROWS = 100
_MAX_INTEGER_DIGITS = 15
_MESSAGE_PROBLEMS = 5
_KEPT_PROBLEMS = 10_000


# --------------------------------------------------------------------------------------------------------
# Records and the error


@dataclass(frozen=True)
class StatementLine:
    """One line of a bank or payment-company statement, from our account's point of view.

    ``amount_fen`` is signed (+ money in, − money out; refunds negative). ``fee_fen`` is the payment
    company's fee charged on this line (negative when a refund gives it back; 0 for banks and for the fee
    rows of fund bills, whose amount already is the fee). ``key`` is stable across re-imports of
    overlapping files and distinct for distinct lines.
    """

    source: str
    line_no: int
    occurred_at: datetime
    amount_fen: int
    fee_fen: int
    balance_fen: int | None
    reference: str
    merchant_ref: str
    counterparty: str
    counterparty_account: str
    memo: str
    kind: str
    key: str
    voucher_fen: int = 0
    # What told two lines apart in the keys of imports before serial identity (``legacy_keys``).
    identity: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedStatement:
    """Every line of one statement file, the encoding it was read with (``"xlsx"``/``"xls"`` for
    workbooks) and its footer totals, already checked against the lines.

    Summary keys: ``*_count`` (rows) and ``*_total_fen`` (magnitudes: a refund or expense total is
    positive; only WeChat's ``fee_total_fen`` is net and may be negative). Per source: wechat_trade
    row_count, settled_total, refund_total, fee_total; wechat_fund row_count, income_*, expense_*;
    alipay_detail sale_*, refund_*; alipay_account income_*, expense_*; bank none.
    """

    source: str
    lines: list[StatementLine]
    encoding: str
    summary: dict[str, int]
    #: The account the file says it is of (账号, 商户号, the Alipay account), as printed; empty if none.
    account_numbers: tuple[str, ...] = ()
    #: What the file calls that number (账号, 商户号 …), for messages.
    account_label: str = ""
    #: The balance column's header when the file has one: its lines' balances run without a break.
    balance_column: str | None = None
    #: The line the file's balances start from (its earliest), when it has a balance column.
    opening_line: StatementLine | None = None


class StatementParseError(ValidationError):
    """A statement file cannot be imported: unreadable, truncated, wrong encoding, a missing column, a cell
    that is not an amount or a date, or a footer total the rows do not add up to.

    The message names the file, line and column of the first problems; ``problems`` lists all of them as
    ``{"line": int | None, "column": str | None, "message": str}`` so the user can fix everything in one
    pass.
    """

    code = "statement_parse_error"

    def __init__(
        self, message: str, *, problems: list[dict[str, Any]] | None = None, count: int | None = None
    ) -> None:
        super().__init__(message, field="file")
        self.problems: list[dict[str, Any]] = (
            problems if problems is not None else [{"line": None, "column": None, "message": message}]
        )
        #: every problem found, also those beyond the ones kept in ``problems``
        self.problem_count = count if count is not None else len(self.problems)


def _describe_problem(problem: dict[str, Any]) -> str:
    where = []
    if problem["line"] is not None:
        where.append(f"line {problem['line']}")
    if problem["column"]:
        where.append(f"column {problem['column']}")
    return f"{', '.join(where)}: {problem['message']}" if where else problem["message"]


class _Problems:
    """Collects problems while parsing goes on, so one error can report them all."""

    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self.items: list[dict[str, Any]] = []
        self.count = 0  # every problem found; only the first _KEPT_PROBLEMS are kept

    def __len__(self) -> int:
        return self.count

    def add(self, line: int | None, column: str | None, message: str) -> None:
        self.count += 1
        if self.count <= _KEPT_PROBLEMS:
            self.items.append({"line": line, "column": column or None, "message": message})

    def error(self) -> StatementParseError:
        shown = "; ".join(_describe_problem(p) for p in self.items[:_MESSAGE_PROBLEMS])
        more = self.count - _MESSAGE_PROBLEMS
        suffix = f"; and {more} more problem{'s' if more > 1 else ''}" if more > 0 else ""
        # A junk file of 10⁵ bad rows must not cost a gigabyte of messages: the first ones tell.
        return StatementParseError(
            f"{self.file_name}: {shown}{suffix}", problems=list(self.items), count=self.count
        )

    def raise_if_any(self) -> None:
        if self.items:
            raise self.error()

    def fail(self, line: int | None, column: str | None, message: str) -> StatementParseError:
        self.add(line, column, message)
        return self.error()


# --------------------------------------------------------------------------------------------------------
# Layouts (the TOML synonym tables)


@dataclass(frozen=True)
class _KindRule:
    kind: str
    words: tuple[str, ...]
    direction: str | None  # "in", "out" or None (either)


@dataclass(frozen=True)
class _Layout:
    source: str
    label: str
    detect: tuple[str, ...]
    required: tuple[str, ...]
    required_any: tuple[tuple[str, ...], ...]
    columns: dict[str, tuple[str, ...]]
    summary: dict[str, tuple[str, ...]]
    trailer: dict[str, re.Pattern[str]]
    kinds: tuple[_KindRule, ...]
    kind_from: tuple[str, ...]
    default_kind: str | None
    direction_values: dict[str, frozenset[str]]
    footer_words: tuple[str, ...]
    serials: frozenset[str]  # reference column names that are the source's own unique serial
    account_label: str  # what the file calls the account's own number (账号, 商户号 …)

    def role_label(self, role: str) -> str:
        return self.columns[role][0]

    def looked_for(self, role: str) -> str:
        return ", ".join(self.columns[role])


@cache
def _layouts() -> dict[str, _Layout]:
    raw = tomllib.loads((files("ledger") / "data" / "statement_columns.toml").read_text(encoding="utf-8"))
    layouts = {}
    for source in SOURCES:
        spec = raw[source]
        kinds = tuple(
            _KindRule(rule["kind"], tuple(rule["words"]), rule.get("direction"))
            for rule in spec.get("kinds", [])
        )
        for rule in kinds:
            if rule.kind not in KINDS or rule.direction not in (None, "in", "out"):
                raise ValueError(f"statement_columns.toml: bad kind rule {rule} in [{source}]")
        roles = {*spec["required"], *spec.get("kind_from", [])}
        roles.update(role for group in spec.get("required_any", []) for role in group)
        if not roles <= spec["columns"].keys():
            missing = roles - spec["columns"].keys()
            raise ValueError(f"statement_columns.toml: [{source}] names roles without columns: {missing}")
        for name in spec.get("trailer", {}):
            if name not in _TRAILER_SELECTORS:
                raise ValueError(f"statement_columns.toml: unknown trailer total {name!r} in [{source}]")
        layouts[source] = _Layout(
            source=source,
            label=spec["label"],
            detect=tuple(spec["detect"]),
            required=tuple(spec["required"]),
            required_any=tuple(tuple(group) for group in spec.get("required_any", [])),
            columns={role: tuple(names) for role, names in spec["columns"].items()},
            summary={role: tuple(names) for role, names in spec.get("summary", {}).items()},
            trailer={name: re.compile(pattern) for name, pattern in spec.get("trailer", {}).items()},
            kinds=kinds,
            kind_from=tuple(spec.get("kind_from", [])),
            default_kind=spec.get("default_kind"),
            direction_values={
                side: frozenset(_norm_name(v) for v in values)
                for side, values in spec.get("direction_values", {}).items()
            },
            footer_words=tuple(spec.get("footer_words", [])),
            serials=frozenset(_norm_name(name) for name in spec.get("serial_columns", [])),
            account_label=spec.get("account_label", "账号"),
        )
    return layouts


def _norm_name(text: str) -> str:
    """Header names compare after NFKC (full-width （） → ()), without whitespace, case-folded."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def _name_forms(cell: str) -> tuple[str, ...]:
    name = _norm_name(cell)
    bare = name.removesuffix("(元)")
    return (name, bare) if bare != name else (name,)


# --------------------------------------------------------------------------------------------------------
# Reading: bytes → rows of cleaned text cells, with their 1-based line numbers


class _Row(NamedTuple):
    line_no: int
    cells: tuple[str, ...]

    @property
    def blank(self) -> bool:
        return not any(self.cells)

    def text(self) -> str:
        return ",".join(cell for cell in self.cells if cell)


@dataclass(frozen=True)
class _Table:
    encoding: str
    rows: list[_Row]
    is_text: bool
    has_control: bool = False  # some cell holds a NUL or another control character


# C0 controls but tab, newline and carriage return, and DEL: no statement prints them; a NUL is refused by
# PostgreSQL's text columns, so it must be a 422 here, not a 500 there.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_EXCEL_FORMULA_TEXT = re.compile(r'="(.*)"')


def _clean(cell: str) -> str:
    """Strip BOM, whitespace (tabs, full-width spaces), a leading backtick and ``="…"``; ``/`` is empty."""
    if "\ufeff" in cell:
        cell = cell.replace("\ufeff", "")
    text = cell.strip()
    if text[:1] == "`":
        text = text[1:].strip()
    if text[:2] == '="':
        match = _EXCEL_FORMULA_TEXT.fullmatch(text)
        if match:
            text = match.group(1).strip()
    return "" if text == "/" else text


# Marks only ``_clean`` removes beyond whitespace: a text without any of them needs only ``str.strip``.
_CLEAN_MARKS = ("\ufeff", "`", '="')


def _stripped(cells: list[str]) -> tuple[str, ...]:
    """``_clean`` for a row of a text that holds none of ``_CLEAN_MARKS``: one C call per cell."""
    stripped = tuple(map(str.strip, cells))
    return tuple("" if cell == "/" else cell for cell in stripped) if "/" in stripped else stripped


def _cleaned(cells: list[str]) -> tuple[str, ...]:
    return tuple(map(_clean, cells))


def _line_of_offset(data: bytes, offset: int, newline: bytes = b"\n") -> int:
    return data[:offset].count(newline) + 1


def _decode(data: bytes, encoding: str | None, problems: _Problems) -> tuple[str, str]:
    """Decode: the caller's ``encoding``, else by BOM, UTF-8, BOM-less UTF-16, then GB18030 (⊃ GBK)."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise problems.fail(None, None, f"unknown encoding {encoding!r}") from None
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            if _cut_short(data, exc):
                raise problems.fail(_line_of_offset(data, exc.start), None, _CUT_MESSAGE) from None
            raise problems.fail(
                _line_of_offset(data, exc.start),
                None,
                f"the file is not valid {encoding} (byte {data[exc.start]:#04x} at offset {exc.start}); "
                "is it in another encoding?",
            ) from None
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif _looks_like_bomless_utf16(data):
        head = data[:400]
        candidates = ["utf-16-le" if head[1::2].count(0) >= head[0::2].count(0) else "utf-16-be"]
    else:
        candidates = ["utf-8", "gb18030"]
    first_error: UnicodeDecodeError | None = None
    for candidate in candidates:
        try:
            return data.decode(candidate), candidate
        except UnicodeDecodeError as exc:
            if _cut_short(data, exc):
                # A UTF-8 file cut inside a character would otherwise decode as GB18030 mojibake; a
                # UTF-16 or GBK file cut so is no other encoding either: say it is cut, not "unknown".
                raise problems.fail(_line_of_offset(data, exc.start), None, _CUT_MESSAGE) from None
            first_error = first_error or exc
    assert first_error is not None
    raise problems.fail(
        _line_of_offset(data, first_error.start),
        None,
        f"cannot read the file as {' or '.join(candidates)} "
        f"(byte {data[first_error.start]:#04x} at offset {first_error.start}); unknown encoding",
    )


_CUT_MESSAGE = "the file ends in the middle of a character; it looks truncated"


def _cut_short(data: bytes, exc: UnicodeDecodeError) -> bool:
    """The decoder failed on an incomplete character at the very end of the file."""
    # exc.object: the bytes the codec saw (utf-8-sig hands on the data after its BOM).
    return exc.end >= len(exc.object) and exc.reason in (
        "unexpected end of data",
        "truncated data",
        "incomplete multibyte sequence",
    )


def _looks_like_bomless_utf16(data: bytes) -> bool:
    # GBK and UTF-8 text holds no NUL byte (a damaged cell may hold one); UTF-16 holds one in every ASCII
    # digit, comma and newline: a quarter of the bytes at least.
    head = data[:400]
    return head.count(0) * 4 >= len(head)


def _text_rows(text: str, delimiter: str, problems: _Problems) -> list[_Row]:
    rows = []
    clean = _cleaned if any(mark in text for mark in _CLEAN_MARKS) else _stripped
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        for cells in reader:
            rows.append(_Row(line, clean(cells)))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise problems.fail(line, None, f"cannot split the line into columns ({exc})") from None
    return rows


def _workbook_tables(path: Path, kind: str, problems: _Problems) -> list[_Table]:
    import pandas as pd

    if kind == "xlsx":
        try:
            check_xlsx(path)
        except ValidationError as exc:
            raise problems.fail(None, None, exc.message) from None
    try:
        sheets = pd.read_excel(
            path,
            sheet_name=None,
            header=None,
            dtype=str,
            keep_default_na=False,
            engine="openpyxl" if kind == "xlsx" else "xlrd",
        )
    except Exception as exc:  # the readers raise zipfile, XML, OLE and value errors alike
        raise problems.fail(
            None, None, f"cannot read the {kind} workbook ({type(exc).__name__}: {exc}); is it truncated?"
        ) from None
    tables = []
    for frame in sheets.values():
        rows = [
            _Row(number, tuple(_clean(str(cell)) for cell in values))
            for number, values in enumerate(frame.itertuples(index=False, name=None), start=1)
        ]
        control = any(_CONTROL_RE.search(cell) for row in rows for cell in row.cells)
        tables.append(_Table(kind, rows, is_text=False, has_control=control))
    return tables


def _tables(path: Path, encoding: str | None, problems: _Problems) -> Iterator[_Table]:
    """Candidate tables: one per worksheet, or the decoded text split by comma, then by tab."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise problems.fail(None, None, f"cannot read the file: {exc.strerror}") from None
    if not data.strip():
        raise problems.fail(None, None, "the file is empty")
    if data.startswith(b"PK\x03\x04"):
        yield from _workbook_tables(path, "xlsx", problems)
        return
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        yield from _workbook_tables(path, "xls", problems)
        return
    text, used = _decode(data, encoding, problems)
    control = _CONTROL_RE.search(text) is not None
    for delimiter in (",", "\t"):
        yield _Table(used, _text_rows(text, delimiter, problems), is_text=True, has_control=control)


# --------------------------------------------------------------------------------------------------------
# The header row


@dataclass(frozen=True)
class _Header:
    row: _Row
    roles: dict[str, list[int]]  # role → column indexes, best synonym first

    def name(self, index: int) -> str:
        return self.row.cells[index]


def _match_roles(row: _Row, layout: _Layout) -> dict[str, list[int]]:
    forms = [_name_forms(cell) if cell else () for cell in row.cells]
    roles: dict[str, list[int]] = {}
    for role, synonyms in layout.columns.items():
        found: list[int] = []
        for synonym in synonyms:
            wanted = _norm_name(synonym)
            found.extend(i for i, names in enumerate(forms) if wanted in names and i not in found)
        if found:
            roles[role] = found
    return roles


def _missing_columns(roles: dict[str, list[int]], layout: _Layout) -> list[str]:
    missing = [
        f"no column for {layout.role_label(role)}; looked for {layout.looked_for(role)}"
        for role in layout.required
        if role not in roles
    ]
    for group in layout.required_any:
        if not any(role in roles for role in group):
            looked = "; ".join(f"{layout.role_label(role)} ({layout.looked_for(role)})" for role in group)
            missing.append(f"no amount column; looked for one of {looked}")
    return missing


def _has_detect_names(row: _Row, layout: _Layout) -> bool:
    present = {form for cell in row.cells if cell for form in _name_forms(cell)}
    return all(_norm_name(name) in present for name in layout.detect)


def _find_header(table: _Table, layout: _Layout) -> tuple[_Header | None, _Header | None]:
    """(complete header, best incomplete candidate) among the first rows of the table."""
    best: _Header | None = None
    for row in table.rows[:_HEADER_SCAN_ROWS]:
        if row.blank:
            continue
        roles = _match_roles(row, layout)
        if not roles:
            continue
        candidate = _Header(row, roles)
        if not _missing_columns(roles, layout) and _has_detect_names(row, layout):
            return candidate, None
        if len(roles) >= 2 and (best is None or len(roles) > len(best.roles)):
            best = candidate
    return None, best


# --------------------------------------------------------------------------------------------------------
# Cells: amounts, dates, text


_AMOUNT_RE = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?")
_EMPTY_AMOUNTS = frozenset({"", "-", "--", "—", "——"})


def _parse_decimal(text: str) -> Decimal | None:
    """``"1,234.50"``, ``"+10000.00"``, ``"¥-0.05940"`` → Decimal; None if it is not an amount."""
    cleaned = unicodedata.normalize("NFKC", text).replace(" ", "").removeprefix("¥").removesuffix("元")
    if not cleaned or not any(ch.isdigit() for ch in cleaned) or not _AMOUNT_RE.fullmatch(cleaned):
        return None
    try:
        value = Decimal(cleaned.replace(",", ""))
    except InvalidOperation:
        return None
    if abs(value) >= Decimal(10) ** _MAX_INTEGER_DIGITS:
        return None
    return value


def _to_fen(value: Decimal) -> int:
    """Yuan → fen, rounding half-up (四舍五入, half away from zero) to the fen."""
    return int((value * 100).to_integral_value(rounding=ROUND_HALF_UP))


def _has_sub_fen(value: Decimal) -> bool:
    return value * 100 != (value * 100).to_integral_value()


def _fmt(value: Decimal) -> str:
    """Print a total the way statements do: two places unless more are needed."""
    return f"{value:.2f}" if not _has_sub_fen(value) else format(value.normalize(), "f")


_DATE_RE = re.compile(
    r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[T\s]*(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.\d{1,6})?秒?)?)?"
)
_COMPACT_DATE_RE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:\s*T?(\d{2}):?(\d{2})(?::?(\d{2}))?)?")
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d{1,6})?|(\d{2})(\d{2})(\d{2})")


def _parse_datetime(text: str) -> tuple[datetime, bool] | None:
    """A date or date-time as banks and payment companies print it → (naive datetime, had a time part)."""
    cleaned = unicodedata.normalize("NFKC", text).strip()
    match = _DATE_RE.fullmatch(cleaned) or _COMPACT_DATE_RE.fullmatch(cleaned)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else None for g in match.groups())
    assert year is not None and month is not None and day is not None
    if not 1990 <= year <= 2200:
        return None
    try:
        return datetime(year, month, day, hour or 0, minute or 0, second or 0), hour is not None
    except ValueError:
        return None


def _parse_time(text: str) -> time | None:
    match = _TIME_RE.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if not match:
        return None
    parts = [int(g) for g in match.groups() if g is not None]
    try:
        return time(parts[0], parts[1], parts[2] if len(parts) > 2 else 0)
    except ValueError:
        return None


class _Cells:
    """One data row seen through the header's roles; bad cells become problems at (line, column)."""

    def __init__(self, row: _Row, header: _Header, problems: _Problems) -> None:
        self.row = row
        self.header = header
        self.problems = problems
        self.line = row.line_no

    def _cell(self, index: int) -> str:
        return self.row.cells[index] if index < len(self.row.cells) else ""

    def has(self, role: str) -> bool:
        return role in self.header.roles

    def column(self, role: str) -> str:
        return self.header.name(self.header.roles[role][0])

    def text(self, role: str) -> str:
        """The best column's cell for the role ('' if the file has no such column)."""
        return self._cell(self.header.roles[role][0]) if self.has(role) else ""

    def texts(self, role: str) -> list[str]:
        """Every column's cell for the role, empty and repeated values dropped."""
        values: list[str] = []
        for index in self.header.roles.get(role, []):
            value = self._cell(index)
            if value and value not in values:
                values.append(value)
        return values

    def add_problem(self, role: str | None, message: str) -> None:
        self.problems.add(self.line, self.column(role) if role and self.has(role) else role, message)

    def decimal(self, role: str, *, required: bool = True, sub_fen: bool = False) -> Decimal | None:
        """The role's amount in yuan; None when empty (a problem if required) or bad (always a problem).

        Only fee columns (``sub_fen=True``) may carry more than two decimals; they are rounded later.
        """
        if not self.has(role):
            return None
        raw = self.text(role)
        if raw in _EMPTY_AMOUNTS:
            if required:
                self.add_problem(role, "the amount is empty")
            return None
        value = _parse_decimal(raw)
        if value is None:
            self.add_problem(role, f"{raw!r} is not an amount")
            return None
        if not sub_fen and _has_sub_fen(value):
            self.add_problem(role, f"{raw!r} has more than two decimals")
            return None
        return value

    def occurred_at(self, *, report: bool = True) -> datetime | None:
        """The first date cell among the date columns, with a separate time-of-day column folded in.

        A cell that is neither a date nor a bare time of day is a problem (when ``report``), even if a
        later date column would do: a damaged 交易时间 must not slide to 记账日期 unseen.
        """
        for index in self.header.roles.get("occurred_at", []):
            raw = self._cell(index)
            if not raw:
                continue
            parsed = _parse_datetime(raw)
            if parsed is None:
                if _parse_time(raw) is None:
                    if report:
                        self.problems.add(self.line, self.header.name(index), f"{raw!r} is not a date")
                    return None
                continue
            when, has_time = parsed
            if not has_time or when.time() == time(0):
                for time_index in self.header.roles.get("time_of_day", []):
                    of_day = _parse_time(self._cell(time_index)) if time_index != index else None
                    if of_day is not None:
                        return datetime.combine(when.date(), of_day)
            return when
        if report:
            self.add_problem("occurred_at", "the date is empty")
        return None


def _kind(layout: _Layout, text: str, amount_fen: int | None) -> str | None:
    for rule in layout.kinds:
        if amount_fen is not None and (
            (rule.direction == "in" and amount_fen <= 0) or (rule.direction == "out" and amount_fen >= 0)
        ):
            continue
        if any(word in text for word in rule.words):
            return rule.kind
    return layout.default_kind


def _direction_sign(layout: _Layout, value: str) -> int | None:
    name = _norm_name(value)
    if name in layout.direction_values.get("credit", frozenset()):
        return 1
    if name in layout.direction_values.get("debit", frozenset()):
        return -1
    return None


def _memo(*parts: str) -> str:
    seen: list[str] = []
    for part in parts:
        if part and part not in seen:
            seen.append(part)
    return " · ".join(seen)


# --------------------------------------------------------------------------------------------------------
# Splitting the body: data rows, the summary block, the `#` trailer


@dataclass
class _Body:
    data: list[_Row]
    preamble_comments: list[_Row]
    trailer: list[_Row]
    summary_header: _Row | None = None
    summary_values: _Row | None = None


def _is_comment(row: _Row) -> bool:
    return bool(row.cells) and row.cells[0].startswith("#")


def _split_body(table: _Table, header: _Header, layout: _Layout, problems: _Problems) -> _Body:
    preamble = [row for row in table.rows if row.line_no < header.row.line_no and _is_comment(row)]
    body = _Body(data=[], preamble_comments=preamble, trailer=[])
    summary_names = {_norm_name(name) for names in layout.summary.values() for name in names}
    header_cells = header.row.cells
    ended = False
    for row in table.rows:
        if row.line_no <= header.row.line_no or row.blank:
            continue
        if _is_comment(row):
            body.trailer.append(row)
            ended = True
        elif body.summary_header is None and summary_names and _is_summary_header(row, summary_names):
            body.summary_header = row
            ended = True
        elif body.summary_header is not None and body.summary_values is None:
            body.summary_values = row
        elif ended:
            problems.add(row.line_no, None, "unexpected row after the end of the table")
        elif row.cells[: len(header_cells)] == header_cells:
            continue  # the header repeated on each printed page
        else:
            body.data.append(row)
    return body


def _is_summary_header(row: _Row, summary_names: set[str]) -> bool:
    # The summary header starts with a summary name (总交易单数 …); checking that first keeps this cheap.
    if not row.cells or _norm_name(row.cells[0]) not in summary_names:
        return False
    return sum(1 for cell in row.cells if cell and _norm_name(cell) in summary_names) >= 2


def _short_row(row: _Row, header: _Header, table: _Table, problems: _Problems) -> bool:
    """A text row with fewer fields than the mapped columns need: cut off, usually by a truncated file."""
    needed = max(index for indexes in header.roles.values() for index in indexes) + 1
    if table.is_text and len(row.cells) < needed:
        problems.add(
            row.line_no,
            None,
            f"the row has {len(row.cells)} fields but the header has {len(header.row.cells)}; "
            "the file looks truncated or damaged",
        )
        return True
    return False


# --------------------------------------------------------------------------------------------------------
# Per-source row parsers: rows → drafts (a StatementLine without its key) and footer totals


class _Draft(NamedTuple):
    line_no: int
    occurred_at: datetime
    amount_fen: int
    fee_fen: int
    balance_fen: int | None
    reference: str
    merchant_ref: str
    counterparty: str
    counterparty_account: str
    memo: str
    kind: str
    identity: tuple[str, ...] = ()  # extra fields that tell two lines apart (refund numbers, accounts)
    voucher_fen: int = 0  # WeChat's 代金券 on the line: the part of 总金额 not received (+ on a sale)


@dataclass
class _Context:
    layout: _Layout
    table: _Table
    header: _Header
    body: _Body
    problems: _Problems


def _balance_fen(cells: _Cells) -> int | None:
    balance = cells.decimal("balance", required=False)
    return _to_fen(balance) if balance is not None else None


def _parse_bank(ctx: _Context) -> tuple[list[_Draft], dict[str, int]]:
    layout, problems = ctx.layout, ctx.problems
    roles = ctx.header.roles
    split = "credit" in roles or "debit" in roles
    plain = _plain_bank_drafts(ctx)
    drafts = []
    for index, row in enumerate(ctx.body.data):
        draft = plain.get(index)
        if draft is not None:
            drafts.append(draft)
            continue
        cells = _Cells(row, ctx.header, problems)
        occurred_at = cells.occurred_at(report=False)
        if occurred_at is None:
            amount_cells = [cells.text(role) for role in ("credit", "debit", "amount")]
            if any(word in row.text() for word in layout.footer_words) or not any(amount_cells):
                continue  # a 合计 / 以上数据仅供参考 footer, or a decoration row
        if _short_row(row, ctx.header, ctx.table, problems):
            continue
        before = len(problems)
        if occurred_at is None:
            cells.occurred_at(report=True)
            continue
        amount_fen = _bank_amount(cells, layout, split)
        balance_fen = _balance_fen(cells)
        if len(problems) > before or amount_fen is None:
            continue
        memo = _memo(*cells.texts("memo"))
        counterparty = cells.text("counterparty")
        kind = _kind(layout, f"{memo} {counterparty}", amount_fen) or "transfer"
        account = cells.text("counterparty_account")
        drafts.append(
            _Draft(
                row.line_no,
                occurred_at,
                amount_fen,
                0,
                balance_fen,
                cells.text("reference"),
                "",
                counterparty,
                account,
                memo,
                kind,
                identity=(account,),
            )
        )
    return drafts, {}


# The shapes nearly every bank row is printed in. A cell in one of them reads the same through the
# per-cell path (``_Cells``); any other cell (¥, 元, a third decimal, full-width digits, 00:00:00 that a
# time column may refine …) sends its row down that path, which reads it or names the problem.
_PLAIN_AMOUNT = re.compile(r"-?(?:\d{1,3}(?:,\d{3}){0,4}|\d{1,15})\.\d\d", re.ASCII)
_PLAIN_TIME = re.compile(r"(?:199\d|2[01]\d\d|2200)-\d\d-\d\d \d\d:\d\d:\d\d", re.ASCII)
_IRREGULAR: Any = object()  # a cell not in its plain shape


def _plain_fen(values: list[str]) -> list[Any]:
    """A column of plain amounts → fen (exact: the digits without the point), None when empty."""
    plain = _PLAIN_AMOUNT.fullmatch
    return [
        None
        if value in _EMPTY_AMOUNTS
        else int(value.replace(",", "").replace(".", ""))
        if plain(value)
        else _IRREGULAR
        for value in values
    ]


def _plain_times(values: list[str]) -> list[Any]:
    plain = _PLAIN_TIME.fullmatch
    out: list[Any] = []
    for value in values:
        if not plain(value) or value.endswith(" 00:00:00"):
            out.append(_IRREGULAR)
            continue
        try:
            out.append(datetime.fromisoformat(value))
        except ValueError:  # 2024-02-30
            out.append(_IRREGULAR)
    return out


def _plain_bank_drafts(ctx: _Context) -> dict[int, _Draft]:
    """Drafts of the body rows (by index) whose every cell is plain, read one column at a time.

    The other rows are left to the per-cell loop of ``_parse_bank``: footers, short rows, bad cells and
    anything unusual, each with its problem named at its line and column.
    """
    layout, header = ctx.layout, ctx.header
    roles = header.roles
    needed = max(index for indexes in roles.values() for index in indexes) + 1
    rows = [(index, row) for index, row in enumerate(ctx.body.data) if len(row.cells) >= needed]
    count = len(rows)

    def column(role: str) -> list[str]:
        if role not in roles:
            return [""] * count
        at = roles[role][0]
        return [row.cells[at] for _, row in rows]

    times = _plain_times(column("occurred_at"))
    if "credit" in roles or "debit" in roles:
        credits = _plain_fen(column("credit"))
        debits = _plain_fen(column("debit"))
        amounts = [
            _IRREGULAR
            if credit is _IRREGULAR or debit is _IRREGULAR or (credit is None) == (debit is None)
            else credit
            if debit is None
            else -abs(debit)
            for credit, debit in zip(credits, debits, strict=True)
        ]
    else:
        amounts = [_IRREGULAR if fen is None else fen for fen in _plain_fen(column("amount"))]
        if "direction" in roles:
            # 0: a flag that is neither side. "-5.00" flagged 贷 is no plain row either: the per-cell path
            # refuses both by name.
            signs = {flag: _direction_sign(layout, flag) or 0 for flag in set(column("direction"))}
            amounts = [
                _IRREGULAR
                if fen is _IRREGULAR or not signs[flag] or (fen < 0 and signs[flag] > 0)
                else signs[flag] * abs(fen)
                for fen, flag in zip(amounts, column("direction"), strict=True)
            ]
    balances = _plain_fen(column("balance")) if "balance" in roles else [None] * count
    memo_at = roles.get("memo", [])
    kinds: dict[tuple[str, str, bool, bool], str] = {}
    drafts: dict[int, _Draft] = {}
    for (index, row), occurred_at, amount_fen, balance_fen, counterparty, account, reference in zip(
        rows,
        times,
        amounts,
        balances,
        column("counterparty"),
        column("counterparty_account"),
        column("reference"),
        strict=True,
    ):
        if occurred_at is _IRREGULAR or amount_fen is _IRREGULAR or balance_fen is _IRREGULAR:
            continue
        memo = _memo(*(row.cells[at] for at in memo_at))
        kind_key = (memo, counterparty, amount_fen > 0, amount_fen < 0)
        kind = kinds.get(kind_key)
        if kind is None:
            kind = kinds[kind_key] = _kind(layout, f"{memo} {counterparty}", amount_fen) or "transfer"
        drafts[index] = _Draft(
            row.line_no,
            occurred_at,
            amount_fen,
            0,
            balance_fen,
            reference,
            "",
            counterparty,
            account,
            memo,
            kind,
            (account,),
        )
    return drafts


def _bank_amount(cells: _Cells, layout: _Layout, split: bool) -> int | None:
    """Signed fen from 借方/贷方 columns, one signed amount, or an amount plus 借贷标志."""
    before = len(cells.problems)
    if split:
        credit = cells.decimal("credit", required=False)
        debit = cells.decimal("debit", required=False)
        if len(cells.problems) > before:
            return None
        sides = " or ".join(cells.column(role) for role in ("debit", "credit") if cells.has(role))
        if credit is None and debit is None:
            cells.add_problem(None, f"no amount in {sides}")
            return None
        credit_fen = _to_fen(credit) if credit is not None else 0
        # Banks that print money out as "-500.00" under 支出 mean the same 500.00 out.
        debit_fen = abs(_to_fen(debit)) if debit is not None else 0
        if credit_fen and debit_fen:
            cells.add_problem(None, f"both {sides.replace(' or ', ' and ')} carry an amount")
            return None
        return credit_fen - debit_fen
    amount = cells.decimal("amount")
    if amount is None:
        return None
    if not cells.has("direction"):
        return _to_fen(amount)
    flag = cells.text("direction")
    sign = _direction_sign(layout, flag)
    if sign is None:
        cells.add_problem("direction", f"{flag!r} is neither 借 nor 贷")
        return None
    printed = unicodedata.normalize("NFKC", cells.text("amount")).lstrip("¥ ")
    # A printed sign that contradicts the flag: which one is right cannot be told, so neither is taken.
    if (sign > 0 and amount < 0) or (sign < 0 and printed.startswith("+")):
        side = "贷 (money in)" if sign > 0 else "借 (money out)"
        cells.add_problem(
            "direction",
            f"{flag!r} says {side} but {cells.column('amount')} is {cells.text('amount')}",
        )
        return None
    return sign * abs(_to_fen(amount))


def _parse_wechat_trade(ctx: _Context) -> tuple[list[_Draft], dict[str, int]]:
    layout, problems = ctx.layout, ctx.problems
    drafts = []
    settled_all = settled_sales = refunds = fees = Decimal(0)
    # The older 24-column layout prints 总金额 with the 代金券或立减优惠金额 inside it: the merchant received
    # the difference. The current layout's 应结订单金额 is already net of it.
    roles = ctx.header.roles
    gross = _norm_name(ctx.header.name(roles["settled_amount"][0])) == _norm_name("总金额")
    vouchers = gross and "voucher" in roles
    for row in ctx.body.data:
        if _short_row(row, ctx.header, ctx.table, problems):
            continue
        cells = _Cells(row, ctx.header, problems)
        before = len(problems)
        occurred_at = cells.occurred_at()
        status = cells.text("status")
        kind = _kind(layout, status, None)
        if kind is None:
            cells.add_problem("status", f"{status!r} is neither SUCCESS nor REFUND")
        settled = cells.decimal("settled_amount", required=kind == "sale")
        refund = cells.decimal("refund_amount", required=kind == "refund")
        fee = cells.decimal("fee", required=False, sub_fen=True) or Decimal(0)
        voucher = Decimal(0)
        if vouchers:
            role = "voucher" if kind == "sale" else "voucher_refund"
            voucher = abs(cells.decimal(role, required=False) or Decimal(0))
        if len(problems) > before or occurred_at is None or kind is None:
            continue
        settled = settled or Decimal(0)
        refund = refund or Decimal(0)
        settled_all += settled
        refunds += refund
        fees += fee
        refund_ref = cells.text("refund_ref") if kind == "refund" else ""
        voucher_fen = _to_fen(voucher)
        if kind == "sale":
            settled_sales += settled
            amount_fen, fee_fen = _to_fen(settled) - voucher_fen, _to_fen(fee)
        else:
            amount_fen, fee_fen = -(abs(_to_fen(refund)) - voucher_fen), -abs(_to_fen(fee))
            voucher_fen = -voucher_fen
        if (amount_fen < 0) if kind == "sale" else (amount_fen > 0):
            cells.add_problem("voucher", f"the 代金券 {_fmt(voucher)} is more than the amount")
            continue
        voucher_memo = f"代金券 {_fmt(voucher)}" if voucher else ""
        drafts.append(
            _Draft(
                row.line_no,
                occurred_at,
                amount_fen,
                fee_fen,
                None,
                cells.text("reference"),
                cells.text("merchant_ref"),
                "",
                cells.text("counterparty_account"),
                _memo(*cells.texts("memo"), f"微信退款单号 {refund_ref}" if refund_ref else "", voucher_memo),
                kind,
                identity=(refund_ref,),
                voucher_fen=voucher_fen,
            )
        )
    summary = _Summary(ctx)
    if summary.values is not None and not len(problems):
        summary.count("row_count", len(drafts))
        summary.money("settled_total", settled_all, alternative=settled_sales)
        summary.money("refund_total", refunds)
        summary.money("fee_total", fees)
    return drafts, summary.result


def _parse_wechat_fund(ctx: _Context) -> tuple[list[_Draft], dict[str, int]]:
    layout, problems = ctx.layout, ctx.problems
    drafts = []
    for row in ctx.body.data:
        if _short_row(row, ctx.header, ctx.table, problems):
            continue
        cells = _Cells(row, ctx.header, problems)
        before = len(problems)
        occurred_at = cells.occurred_at()
        direction = cells.text("direction")
        sign = _direction_sign(layout, direction)
        if sign is None:
            cells.add_problem("direction", f"{direction!r} is neither 收入 nor 支出")
        amount = cells.decimal("amount")
        balance_fen = _balance_fen(cells)
        if len(problems) > before or occurred_at is None or amount is None or sign is None:
            continue
        amount_fen = sign * abs(_to_fen(amount))
        kind_text = " ".join(cells.text(role) for role in layout.kind_from)
        drafts.append(
            _Draft(
                row.line_no,
                occurred_at,
                amount_fen,
                0,
                balance_fen,
                cells.text("reference"),
                "",
                "",
                "",
                _memo(*cells.texts("memo")),
                _kind(layout, kind_text, amount_fen) or "other",
                identity=(cells.text("business_ref"),),
            )
        )
    summary = _Summary(ctx)
    if summary.values is not None and not len(problems):
        income = [d.amount_fen for d in drafts if d.amount_fen > 0]
        expense = [-d.amount_fen for d in drafts if d.amount_fen < 0]
        summary.count("row_count", len(drafts))
        summary.count("income_count", len(income))
        summary.money("income_total", Decimal(sum(income)) / 100)
        summary.count("expense_count", len(expense))
        summary.money("expense_total", Decimal(sum(expense)) / 100)
    return drafts, summary.result


def _parse_alipay_detail(ctx: _Context) -> tuple[list[_Draft], dict[str, int]]:
    layout, problems = ctx.layout, ctx.problems
    drafts = []
    for row in ctx.body.data:
        if _short_row(row, ctx.header, ctx.table, problems):
            continue
        cells = _Cells(row, ctx.header, problems)
        before = len(problems)
        occurred_at = cells.occurred_at()
        business_type = cells.text("business_type")
        kind = _kind(layout, business_type, None)
        if kind is None:
            cells.add_problem("business_type", f"{business_type!r} is neither 交易 nor 退款")
        amount = cells.decimal("amount")
        fee = cells.decimal("fee", required=False, sub_fen=True) or Decimal(0)
        if len(problems) > before or occurred_at is None or amount is None or kind is None:
            continue
        # 服务费 is printed with either sign; what the merchant paid is positive on a sale and given
        # back (negative) on a refund.
        sign = 1 if kind == "sale" else -1
        refund_ref = cells.text("refund_ref") if kind == "refund" else ""
        drafts.append(
            _Draft(
                row.line_no,
                occurred_at,
                sign * abs(_to_fen(amount)),
                sign * abs(_to_fen(fee)),
                None,
                cells.text("reference"),
                cells.text("merchant_ref"),
                "",
                cells.text("counterparty_account"),
                _memo(*cells.texts("memo"), f"退款请求号 {refund_ref}" if refund_ref else ""),
                kind,
                identity=(refund_ref,),
            )
        )
    result = _check_trailer(ctx, drafts)
    return drafts, result


def _parse_alipay_account(ctx: _Context) -> tuple[list[_Draft], dict[str, int]]:
    layout, problems = ctx.layout, ctx.problems
    drafts = []
    for row in ctx.body.data:
        if _short_row(row, ctx.header, ctx.table, problems):
            continue
        cells = _Cells(row, ctx.header, problems)
        before = len(problems)
        occurred_at = cells.occurred_at()
        credit = cells.decimal("credit", required=False)
        debit = cells.decimal("debit", required=False)
        balance_fen = _balance_fen(cells)
        if len(problems) > before or occurred_at is None:
            continue
        credit_fen = abs(_to_fen(credit)) if credit is not None else 0
        debit_fen = abs(_to_fen(debit)) if debit is not None else 0
        if credit_fen and debit_fen:
            sides = f"{cells.column('credit')} and {cells.column('debit')}"
            cells.add_problem(None, f"both {sides} carry an amount")
            continue
        if credit is None and debit is None:
            cells.add_problem(None, f"no amount in {cells.column('credit')} or {cells.column('debit')}")
            continue
        amount_fen = credit_fen - debit_fen
        kind_text = " ".join(cells.text(role) for role in layout.kind_from)
        drafts.append(
            _Draft(
                row.line_no,
                occurred_at,
                amount_fen,
                0,
                balance_fen,
                cells.text("reference"),
                cells.text("merchant_ref"),
                "",
                cells.text("counterparty_account"),
                _memo(*cells.texts("memo")),
                _kind(layout, kind_text, amount_fen) or "other",
                identity=(cells.text("business_ref"),),
            )
        )
    result = _check_trailer(ctx, drafts)
    return drafts, result


# --------------------------------------------------------------------------------------------------------
# Footer totals


class _Summary:
    """The WeChat summary block: a header row of names and one row of values, checked against the rows.
    WeChat always writes it, so a file without it has been cut short."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.result: dict[str, int] = {}
        self.values: dict[str, tuple[str, str]] | None = None  # role → (printed name, value)
        body, problems = ctx.body, ctx.problems
        if body.summary_header is None or body.summary_values is None:
            last = ctx.table.rows[-1].line_no if ctx.table.rows else None
            first_name = next(iter(ctx.layout.summary.values()))[0]
            what = "summary row" if body.summary_header is not None else f"summary block ({first_name} …)"
            problems.add(last, None, f"the file ends without the {what}; it looks truncated")
            return
        self.line = body.summary_values.line_no
        names = body.summary_header.cells
        values = body.summary_values.cells
        self.values = {}
        for role, synonyms in ctx.layout.summary.items():
            wanted = {_norm_name(s) for s in synonyms}
            for index, name in enumerate(names):
                if name and _norm_name(name) in wanted and index < len(values):
                    self.values[role] = (name, values[index])
                    break

    def _read(self, role: str) -> tuple[str, Decimal] | None:
        assert self.values is not None
        if role not in self.values:
            return None
        name, raw = self.values[role]
        value = _parse_decimal(raw)
        if value is None:
            self.ctx.problems.add(self.line, name, f"{raw!r} is not a number")
            return None
        return name, value

    def count(self, role: str, rows: int) -> None:
        read = self._read(role)
        if read is None:
            return
        name, value = read
        if value != value.to_integral_value():
            self.ctx.problems.add(self.line, name, f"{_fmt(value)} is not a count")
            return
        self.result[role] = int(value)
        if int(value) != rows:
            self.ctx.problems.add(
                self.line, name, f"summary says {name} {int(value)} but the file has {rows} rows"
            )

    def money(self, role: str, total: Decimal, *, alternative: Decimal | None = None) -> None:
        """Compare exactly (fees have five decimals); ``alternative`` is a second reading that also holds."""
        read = self._read(role)
        if read is None:
            return
        name, value = read
        self.result[f"{role}_fen"] = _to_fen(value)
        if value != total and (alternative is None or value != alternative):
            self.ctx.problems.add(
                self.line, name, f"summary says {name} {_fmt(value)} but the rows add to {_fmt(total)}"
            )


# Which lines a `#` trailer total in statement_columns.toml adds up.
_TRAILER_SELECTORS: dict[str, Callable[[_Draft], bool]] = {
    "sale": lambda d: d.kind == "sale",
    "refund": lambda d: d.kind == "refund",
    "income": lambda d: d.amount_fen > 0,
    "expense": lambda d: d.amount_fen < 0,
}


def _check_trailer(ctx: _Context, drafts: list[_Draft]) -> dict[str, int]:
    """Alipay's `#` trailer: it must be there when the preamble is, and its 合计 lines must add up."""
    body, problems = ctx.body, ctx.problems
    if body.preamble_comments and not body.trailer:
        last = ctx.table.rows[-1].line_no if ctx.table.rows else None
        problems.add(last, None, "the file ends without its closing # lines (…合计); it looks truncated")
        return {}
    rows_failed = len(problems) > 0  # then the totals would only repeat the news
    result: dict[str, int] = {}
    for row in body.trailer:
        text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", ",".join(row.cells)))
        for name, pattern in ctx.layout.trailer.items():
            match = pattern.search(text)
            if not match:
                continue
            count, printed = int(match.group(1)), _parse_decimal(match.group(2))
            if printed is None:
                problems.add(row.line_no, None, f"{match.group(2)!r} is not an amount")
                continue
            result[f"{name}_count"] = count
            result[f"{name}_total_fen"] = abs(_to_fen(printed))  # Alipay prints 退款/支出 totals negative
            if rows_failed:
                continue
            chosen = [d for d in drafts if _TRAILER_SELECTORS[name](d)]
            total = sum(abs(d.amount_fen) for d in chosen)
            label = match.group(0).split(":")[0]
            if count != len(chosen):
                problems.add(row.line_no, None, f"{label} says {count} rows but the file has {len(chosen)}")
            if abs(_to_fen(printed)) != total:
                problems.add(
                    row.line_no,
                    None,
                    f"{label} says {_fmt(abs(printed))} but the rows add to {_fmt(Decimal(total) / 100)}",
                )
    return result


_PARSERS = {
    "bank": _parse_bank,
    "wechat_trade": _parse_wechat_trade,
    "wechat_fund": _parse_wechat_fund,
    "alipay_detail": _parse_alipay_detail,
    "alipay_account": _parse_alipay_account,
}


# --------------------------------------------------------------------------------------------------------
# Keys


_json_text = json.encoder.encode_basestring  # a JSON string literal, non-ASCII kept (ensure_ascii=False)


def _identity(head: str, d: _Draft) -> str:
    """``json.dumps([source, reference, occurred_at, amount, merchant_ref, fee, balance, *identity],
    ensure_ascii=False)``, byte for byte (keys of earlier imports depend on it), without the encoder's
    per-call set-up."""
    balance = "null" if d.balance_fen is None else str(d.balance_fen)
    extra = "".join(f", {_json_text(part)}" for part in d.identity)
    return (
        f"{head}{_json_text(d.reference)}, {_json_text(d.occurred_at.isoformat(sep=' '))}, {d.amount_fen}, "
        f"{_json_text(d.merchant_ref)}, {d.fee_fen}, {balance}{extra}]"
    )


def _serial_column(ctx: _Context) -> str | None:
    """The header of the reference column when it is the source's own unique serial (流水号, 微信订单号,
    资金流水单号, 支付宝交易号, 账务流水号), else None (凭证号, 日志号 … repeat; ABC prints none)."""
    roles = ctx.header.roles
    if "reference" not in roles:
        return None
    name = ctx.header.name(roles["reference"][0])
    return name if _norm_name(name) in ctx.layout.serials else None


def _keyed(ctx: _Context, drafts: Sequence[_Draft]) -> tuple[list[StatementLine], set[int]]:
    """Key each line by what identifies it in any export of the same account, never by its line number.

    Where the file has the source's serial, a line is its serial (``_serial_key``), and two lines of one
    serial are refused: a statement that prints a line twice has been damaged or edited, and which copy
    the bank meant cannot be told (with a balance column the copy also breaks the running balance).
    Without a serial, two lines identical in every identifying field (two same-amount same-minute bank
    rows with no serial and no balance) are told apart by their order of occurrence within the file.
    Returns the lines and the line numbers refused as repeats.
    """
    source, problems = ctx.layout.source, ctx.problems
    serial_column = _serial_column(ctx)
    seen: dict[str, int] = {}
    by_serial: dict[str, _Draft] = {}
    repeated: set[int] = set()
    lines = []
    head = f"[{_json_text(source)}, "
    serial_head = f'[{_json_text(source)}, "serial", '
    for d in drafts:
        if serial_column is not None and d.reference:
            identity = serial_head + _json_text(d.reference) + _serial_extra(source, d)
            first = by_serial.get(identity)
            if first is not None:
                repeated.add(d.line_no)
                problems.add(d.line_no, serial_column, _repeat_message(serial_column, first, d, ctx))
                continue
            by_serial[identity] = d
            key = hashlib.sha256(identity.encode()).hexdigest()
        else:
            identity = _identity(head, d)
            occurrence = seen.get(identity, 0)
            seen[identity] = occurrence + 1
            key = hashlib.sha256(f"{identity}#{occurrence}".encode()).hexdigest()
        lines.append(
            StatementLine(
                source=source,
                line_no=d.line_no,
                occurred_at=d.occurred_at,
                amount_fen=d.amount_fen,
                fee_fen=d.fee_fen,
                balance_fen=d.balance_fen,
                reference=d.reference,
                merchant_ref=d.merchant_ref,
                counterparty=d.counterparty,
                counterparty_account=d.counterparty_account,
                memo=d.memo,
                kind=d.kind,
                key=key,
                voucher_fen=d.voucher_fen,
                identity=d.identity,
            )
        )
    return lines, repeated


def _serial_extra(source: str, d: _Draft) -> str:
    if source == "bank":
        return f", {_json_text(d.occurred_at.date().isoformat())}, {d.amount_fen}]"
    if source in ("wechat_trade", "alipay_detail"):
        return f", {_json_text(d.kind)}, {_json_text(d.identity[0] if d.identity else '')}]"
    return "]"


def _repeat_message(column: str, first: _Draft, d: _Draft, ctx: _Context) -> str:
    same = first._replace(line_no=d.line_no) == d
    if same:
        balance = ""
        if d.balance_fen is not None and "balance" in ctx.header.roles:
            balance_name = ctx.header.name(ctx.header.roles["balance"][0])
            balance = f" and the same {balance_name} {_yuan(d.balance_fen)}"
        return (
            f"repeats line {first.line_no} ({column} {d.reference}{balance}): a statement never prints a "
            "line twice, so the file has been damaged or edited; export it again"
        )
    return (
        f"has the {column} {d.reference} of line {first.line_no} but differs from it "
        f"({_yuan(first.amount_fen)} / {_yuan(d.amount_fen)}); one serial is one line"
    )


def legacy_keys(lines: Sequence[StatementLine]) -> list[str]:
    """The keys the lines had before serial identity (imports of ``key_scheme`` 1), in file order: so a
    file imported before then is still known when imported again."""
    seen: dict[str, int] = {}
    keys = []
    for line in lines:
        head = f"[{_json_text(line.source)}, "
        d = _Draft(
            line.line_no,
            line.occurred_at,
            line.amount_fen + line.voucher_fen,  # they stored WeChat's 总金额
            line.fee_fen,
            line.balance_fen,
            line.reference,
            line.merchant_ref,
            line.counterparty,
            line.counterparty_account,
            line.memo,
            line.kind,
            line.identity,
        )
        identity = _identity(head, d)
        occurrence = seen.get(identity, 0)
        seen[identity] = occurrence + 1
        keys.append(hashlib.sha256(f"{identity}#{occurrence}".encode()).hexdigest())
    return keys


# --------------------------------------------------------------------------------------------------------
# The running balance


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


def _signed_yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:+,.2f}"


def _check_balances(ctx: _Context, lines: list[StatementLine]) -> tuple[str | None, StatementLine | None]:
    """Each line's signed amount must carry the previous line's balance to its own.

    Files run oldest first or newest first (Alipay's 账务明细 often does): the order in which the balances
    run without a break is taken, the file's time order deciding a tie. Returns the balance column and
    the line the balances start from (the earliest), for the store to join to the account's last line.
    """
    roles = ctx.header.roles
    if "balance" not in roles:
        return None, None
    column = ctx.header.name(roles["balance"][0])
    # A line without a balance (some banks leave it empty on a pending line) ends a run: the next line is
    # checked against nothing, as the missing balance cannot be told from a wrong one.
    chain = lines
    if all(line.balance_fen is None for line in chain):
        return column, None
    breaks = _breaks(chain)
    order = chain
    if breaks:
        backwards = chain[::-1]
        other = _breaks(backwards)
        if len(other) < len(breaks) or (
            len(other) == len(breaks) and chain[0].occurred_at > chain[-1].occurred_at
        ):
            breaks, order = other, backwards
    elif len(chain) > 1 and chain[0].occurred_at > chain[-1].occurred_at and not _breaks(chain[::-1]):
        order = chain[::-1]
    direction = ctx.header.name(roles["direction"][0]) if "direction" in roles else None
    for before, line in breaks:
        assert before.balance_fen is not None and line.balance_fen is not None  # as _breaks chose them
        expected = before.balance_fen + line.amount_fen
        if direction is not None and before.balance_fen - line.amount_fen == line.balance_fen:
            side = "贷 (money in)" if line.amount_fen > 0 else "借 (money out)"
            ctx.problems.add(
                line.line_no,
                direction,
                f"the flag says {side} {_yuan(abs(line.amount_fen))} but {column} moves by "
                f"{_signed_yuan(-line.amount_fen)} from line {before.line_no}",
            )
            continue
        ctx.problems.add(
            line.line_no,
            column,
            f"{_yuan(line.balance_fen)} does not follow from line {before.line_no} ({column} "
            f"{_yuan(before.balance_fen)}) and this line's {_signed_yuan(line.amount_fen)}: expected "
            f"{_yuan(expected)}; a line is missing, changed or out of order",
        )
    return column, next(line for line in order if line.balance_fen is not None)


def _breaks(chain: list[StatementLine]) -> list[tuple[StatementLine, StatementLine]]:
    return [
        (before, line)
        for before, line in pairwise(chain)
        if before.balance_fen is not None
        and line.balance_fen is not None
        and before.balance_fen + line.amount_fen != line.balance_fen
    ]


# --------------------------------------------------------------------------------------------------------
# The file's own account


# 账号：18-123401040012345, #账号：[20881234567890120156], 商户号: 1600012345 (not 对方账号).
_ACCOUNT_IN_TEXT = re.compile(
    r"(?<!对方)(?:账号|帐号|卡号|商户号)[:：]\s*\[?\s*([0-9A-Za-z][0-9A-Za-z*@._\-]*)"
)
_ACCOUNT_NAMES = frozenset({"账号", "帐号", "卡号", "商户号", "账户号"})
_NO_ACCOUNT = frozenset({"", "0", "-"})


def _file_accounts(ctx: _Context, drafts: Sequence[_Draft]) -> tuple[str, ...]:
    """The account numbers the file prints for itself: a preamble's 账号 (CCB personal, ABC, Alipay's `#`
    lines) and a column of the rows (CCB corporate's 账号, WeChat's 商户号 / 特约商户号). A column holding two
    accounts is a problem: a statement is of one account."""
    found: list[str] = []
    for row in ctx.table.rows:
        if row.line_no >= ctx.header.row.line_no:
            break
        for index, cell in enumerate(row.cells):
            text = unicodedata.normalize("NFKC", cell).replace(" ", "")
            match = _ACCOUNT_IN_TEXT.search(text)
            if match:
                found.append(match.group(1))
            elif text in _ACCOUNT_NAMES and index + 1 < len(row.cells) and row.cells[index + 1]:
                found.append(row.cells[index + 1])
    own = ctx.header.roles.get("own_account", [])
    line_rows = {d.line_no for d in drafts} if own else set()
    rows = [row for row in ctx.body.data if row.line_no in line_rows]  # not the footers
    for index in own:
        values = {row.cells[index] for row in rows if index < len(row.cells)} - _NO_ACCOUNT
        if len(values) > 1:
            shown = ", ".join(sorted(values)[:3])
            ctx.problems.add(
                None, ctx.header.name(index), f"the file holds lines of {len(values)} accounts ({shown})"
            )
        found.extend(sorted(values))
    return tuple(dict.fromkeys(found))


def _account_form(number: str) -> str:
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", number)).casefold()


def account_matches(file_numbers: Sequence[str], account_no: str) -> bool:
    """Whether the statement account's number is one the file prints (ignoring spaces, dashes and case;
    a masked ``6217****8901`` matches by its visible digits)."""
    want = _account_form(account_no)
    for number in file_numbers:
        have = _account_form(number)
        if have == want:
            return True
        if "*" in have:
            prefix, suffix = have.split("*", 1)[0], have.rsplit("*", 1)[1]
            if (prefix or suffix) and want.startswith(prefix) and want.endswith(suffix):
                return True
    return False


def _control_problems(table: _Table, header: _Header, problems: _Problems) -> None:
    for row in table.rows:
        for index, cell in enumerate(row.cells):
            match = _CONTROL_RE.search(cell)
            if match is None:
                continue
            named = index < len(header.row.cells) and header.row.cells[index] and row is not header.row
            column = header.row.cells[index] if named else f"field {index + 1}"
            problems.add(
                row.line_no,
                column,
                f"holds a control character (U+{ord(match.group()):04X}); the file is damaged",
            )


# --------------------------------------------------------------------------------------------------------
# Public API


def _locate(
    path: Path, source: str | None, encoding: str | None, problems: _Problems
) -> tuple[_Layout, _Table, _Header]:
    """The layout, table and header row: the given source's, or the first source whose header is found."""
    layouts = _layouts()
    if source is not None and source not in layouts:
        raise problems.fail(None, None, f"unknown statement source {source!r}; expected one of {SOURCES}")
    wanted = [source] if source is not None else list(_DETECT_ORDER)
    best: tuple[_Layout, _Header] | None = None
    for table in _tables(path, encoding, problems):
        for name in wanted:
            layout = layouts[name]
            header, candidate = _find_header(table, layout)
            if header is not None:
                return layout, table, header
            if candidate is not None and (best is None or len(candidate.roles) > len(best[1].roles)):
                best = (layout, candidate)
    if best is not None:
        layout, candidate = best
        prefix = "" if source is not None else f"cannot tell which statement this is; as a {layout.label}: "
        for message in _missing_columns(candidate.roles, layout):
            problems.add(candidate.row.line_no, None, prefix + message)
        if not len(problems):
            missing = ", ".join(layout.detect)
            message = f"{prefix}not a {layout.label}: the header lacks {missing}"
            problems.add(candidate.row.line_no, None, message)
        raise problems.error()
    if source is not None:
        layout = layouts[source]
        needed = ", ".join(layout.role_label(role) for role in layout.required)
        raise problems.fail(
            None, None, f"no header row with {needed} in the first {_HEADER_SCAN_ROWS} lines ({layout.label})"
        )
    raise problems.fail(
        None,
        None,
        "cannot tell which statement this is: no header row of a bank, WeChat Pay or Alipay statement "
        f"in the first {_HEADER_SCAN_ROWS} lines",
    )


def detect_source(path: str | Path, *, encoding: str | None = None) -> str:
    """Which statement this file is: ``"bank"``, ``"wechat_trade"``, ``"wechat_fund"``,
    ``"alipay_detail"`` or ``"alipay_account"``, judged by its header row. Raises StatementParseError."""
    path = Path(path)
    layout, _, _ = _locate(path, None, encoding, _Problems(path.name))
    return layout.source


def parse_statement(
    path: str | Path,
    source: str | None = None,
    *,
    encoding: str | None = None,
    file_name: str | None = None,
) -> ParsedStatement:
    """Parse a whole statement file into lines, all or nothing.

    ``source`` skips detection; ``encoding`` overrides sniffing for text files (a GBK file forced as UTF-8
    fails, it is never decoded as mojibake); ``file_name`` is the name messages give the file (an
    upload's own name, not its temporary copy's). Beyond each cell, the file must hold together: its
    balances run without a break, no serial is printed twice, and it has lines. Raises one
    StatementParseError listing every problem.
    """
    path = Path(path)
    problems = _Problems(file_name or path.name)
    with gc_paused():
        layout, table, header = _locate(path, source, encoding, problems)
        if table.has_control:
            _control_problems(table, header, problems)
            raise problems.error()
        body = _split_body(table, header, layout, problems)
        ctx = _Context(layout, table, header, body, problems)
        drafts, summary = _PARSERS[layout.source](ctx)
        accounts = _file_accounts(ctx, drafts)
        problems.raise_if_any()
        if not drafts and not summary:
            # A WeChat or Alipay bill whose totals say 0 is a day without sales; a bank file of a header
            # alone says nothing, and an empty import would look like a done one.
            raise problems.fail(header.row.line_no, None, "the file has a header but no lines")
        lines, _ = _keyed(ctx, drafts)
        problems.raise_if_any()  # a repeated line would also break the balances: say it once
        balance_column, opening = _check_balances(ctx, lines)
        problems.raise_if_any()
        return ParsedStatement(
            layout.source,
            lines,
            table.encoding,
            summary,
            account_numbers=accounts,
            account_label=layout.account_label,
            balance_column=balance_column,
            opening_line=opening,
        )
