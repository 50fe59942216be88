"""Spreadsheets from outside and to outside: the two rules every CSV/XLSX path follows.

* Reading: an XLSX is a zip; before any reader opens one, its uncompressed size and compression ratio are
  capped, so a zip bomb is refused instead of filling memory. Formulas are never evaluated (openpyxl and
  pandas read stored values only).
* Writing: a text cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR at the
  start) gets a leading apostrophe, so an exported name like ``=HYPERLINK(…)`` stays text (CSV injection).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ledger.books.errors import ValidationError

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def check_xlsx(source: bytes | Path, *, field: str = "file") -> None:
    """Refuse an XLSX whose contents would unpack beyond the cap, or unpack suspiciously far."""
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        return  # not a zip at all: the reader says what is wrong with it; this check is about size only
    unpacked = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos) or 1
    if unpacked > MAX_UNCOMPRESSED_BYTES or unpacked > MAX_RATIO * max(packed, 1024 * 1024):
        raise ValidationError(
            f"the workbook unpacks to {unpacked // (1024 * 1024)} MB; the limit is "
            f"{MAX_UNCOMPRESSED_BYTES // (1024 * 1024)} MB",
            field=field,
        )


def safe_text(value: str) -> str:
    """A text cell as a spreadsheet must show it: never run as a formula."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
