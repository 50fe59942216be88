"""Reading: bytes → rows of cleaned text cells, with their 1-based line numbers (text files, workbooks)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ledger.books.errors import ValidationError
from ledger.books.spreadsheets import check_xlsx
from ledger.reconcile.importers.records import HEADER_SCAN_ROWS, Problems


class Row(NamedTuple):
    """One row of a file as read: its line number in the file and its cleaned cells."""

    line_no: int
    cells: tuple[str, ...]

    @property
    def blank(self) -> bool:
        return not any(self.cells)

    def text(self) -> str:
        return ",".join(cell for cell in self.cells if cell)


@dataclass(frozen=True)
class Table:
    """A file's rows as read, with the encoding they were decoded from."""

    encoding: str
    rows: list[Row]
    is_text: bool
    has_control: bool = False  # some cell holds a NUL or another control character


# C0 controls but tab, newline and carriage return, and DEL: no statement prints them; a NUL is refused by
# PostgreSQL's text columns, so it must be a 422 here, not a 500 there.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""A C0 control (but tab, newline and carriage return) or DEL, which no statement prints."""


_EXCEL_FORMULA_TEXT = re.compile(r'="(.*)"')

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

HEAD_BYTES = 1 << 20
"""A text statement's header row is within its first 100 lines (``HEADER_SCAN_ROWS``) and its first MB:
the header is looked for there (``head_tables``) before the whole file is read and split, so a file
without one (50 MB of junk) is refused having read a MB, not all of it."""


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


def _decode(data: bytes, encoding: str | None, problems: Problems) -> tuple[str, str]:
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
    candidates = _candidates(data)
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


def _candidates(data: bytes) -> list[str]:
    """The encodings a text without a given one is tried in: by BOM, BOM-less UTF-16, else UTF-8, GB18030."""
    if data.startswith(codecs.BOM_UTF8):
        return ["utf-8-sig"]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ["utf-16"]
    if _looks_like_bomless_utf16(data):
        head = data[:400]
        return ["utf-16-le" if head[1::2].count(0) >= head[0::2].count(0) else "utf-16-be"]
    return ["utf-8", "gb18030"]


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


def _text_rows(text: str, delimiter: str, problems: Problems, *, head: bool = False) -> list[Row]:
    """The text's rows; of a ``head`` (a file's beginning, cut anywhere) the first ``HEADER_SCAN_ROWS``
    before one it cannot split: what a header is looked for in."""
    rows = []
    clean = _cleaned if any(mark in text for mark in _CLEAN_MARKS) else _stripped
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        for cells in reader:
            rows.append(Row(line, clean(cells)))
            line = reader.line_num + 1
            if head and len(rows) == HEADER_SCAN_ROWS:
                break
    except csv.Error as exc:
        if head:
            return rows
        raise problems.fail(line, None, f"cannot split the line into columns ({exc})") from None
    return rows


def _workbook_tables(path: Path, kind: str, problems: Problems) -> list[Table]:
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
            Row(number, tuple(_clean(str(cell)) for cell in values))
            for number, values in enumerate(frame.itertuples(index=False, name=None), start=1)
        ]
        control = any(CONTROL_RE.search(cell) for row in rows for cell in row.cells)
        tables.append(Table(kind, rows, is_text=False, has_control=control))
    return tables


def head_tables(path: Path, encoding: str | None, problems: Problems) -> list[Table] | None:
    """Candidate tables of a text file's first ``HEAD_BYTES`` (its complete lines), split by comma and by
    tab, in each encoding that reads them (the whole file may yet prove to be in the second); None when
    the file is no longer than that, or is a workbook: it is then read whole."""
    try:
        with path.open("rb") as stream:
            data = stream.read(HEAD_BYTES + 1)
    except OSError as exc:
        raise problems.fail(None, None, f"cannot read the file: {exc.strerror}") from None
    if len(data) <= HEAD_BYTES or data.startswith((XLSX_MAGIC, XLS_MAGIC)):
        return None
    data = data[:HEAD_BYTES]
    tables: list[Table] = []
    texts: list[str] = []
    for used in [encoding] if encoding is not None else _candidates(data):
        try:  # a character cut at the end is left undecoded, not an error
            text = codecs.getincrementaldecoder(used)().decode(data, final=False)
        except (LookupError, UnicodeDecodeError):
            continue
        cut = text.rfind("\n")
        text = text[: cut + 1] if cut >= 0 else text
        if text in texts:  # plain ASCII reads the same in UTF-8 and GB18030
            continue
        texts.append(text)
        tables += [Table(used, _text_rows(text, d, problems, head=True), is_text=True) for d in (",", "\t")]
    if not tables:
        _decode(data, encoding, problems)  # raises what decoding the whole file would: the error is here
    return tables


def read_tables(path: Path, encoding: str | None, problems: Problems) -> Iterator[Table]:
    """Candidate tables: one per worksheet, or the decoded text split by comma, then by tab."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise problems.fail(None, None, f"cannot read the file: {exc.strerror}") from None
    if not data.strip():
        raise problems.fail(None, None, "the file is empty")
    if data.startswith(XLSX_MAGIC):
        yield from _workbook_tables(path, "xlsx", problems)
        return
    if data.startswith(XLS_MAGIC):
        yield from _workbook_tables(path, "xls", problems)
        return
    text, used = _decode(data, encoding, problems)
    control = CONTROL_RE.search(text) is not None
    for delimiter in (",", "\t"):
        yield Table(used, _text_rows(text, delimiter, problems), is_text=True, has_control=control)
