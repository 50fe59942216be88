"""Render any ``Report`` as HTML, PDF, XLSX or JSON.

HTML comes from the Jinja2 templates in the top-level ``templates/`` directory (autoescaped; the templates
format, they never compute); the PDF is that HTML through WeasyPrint; XLSX and JSON come straight from
the DataFrames, one row per line, amounts as numbers of yuan (XLSX) or ``"12.30"`` strings (JSON).

Every output carries the verification line: the first 16 hex digits of the org's chain-head hash at
generation (``cunshe verify`` checks it) and an 8-character short code, a fingerprint of the report's
content (Crockford base32 of SHA-256 over its canonical JSON, generation time excluded), so two prints
of the same figures from the same books carry the same code and a changed figure changes it.

The PDF path fails fast: without the Noto Sans CJK SC font every Chinese character would print as a box,
and without HarfBuzz subsetting WeasyPrint falls back to fontTools and a statement takes ~9 s instead of
~0.3 s; either raises ``RenderError`` before any work is done.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import hashlib
import io
import json
import shutil
import subprocess
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, SupportsInt

from babel.dates import format_date, format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from ledger.books import county_time
from ledger.books.errors import LedgerError
from ledger.books.money import amount_in_words, format_amount, format_money
from ledger.books.spreadsheets import safe_text
from reports.report import Column, Report, Table

if TYPE_CHECKING:
    import pandas as pd


# The top-level templates/ folder, installed as package data (setup.py): the same in a checkout and a wheel.
TEMPLATES_DIR = Path(str(files("ledger.templates")))
CJK_FONT = "Noto Sans CJK SC"
LOCALES = {"zh": "zh_CN", "en": "en"}

# The words around the figures, per report language.
LABELS: dict[str, dict[str, Any]] = {
    "zh": {
        "org": "编制单位",
        "unit": "单位：{unit}",
        "default_unit": "元",
        "generated": "生成时间",
        "verification": "校验",
        "short_code": "短码",
        "checkpoint": "封账码",
        "page_before": "第 ",
        "page_middle": " 页 / 共 ",
        "page_after": " 页",
        "signatures": ("编制人", "审核人", "负责人"),
        "in_words": "人民币（大写）",
        "colon": "：",
    },
    "en": {
        "org": "Entity",
        "unit": "Unit: {unit}",
        "default_unit": "yuan",
        "generated": "Generated",
        "verification": "Verification",
        "short_code": "short code",
        "checkpoint": "checkpoint",
        "page_before": "Page ",
        "page_middle": " of ",
        "page_after": "",
        "signatures": ("Prepared by", "Reviewed by", "Approved by"),
        "in_words": "In words (RMB)",
        "colon": ": ",
    },
}

_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ")


class RenderError(LedgerError):
    """A report cannot be rendered on this machine (a missing font or library): an operator's fix."""

    code = "render_unavailable"
    http_status = 503


# --- environment checks -------------------------------------------------------------------------------


@cache
def _cjk_font_installed() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    found = subprocess.run(
        [fc_list, f":family={CJK_FONT}", "family"], capture_output=True, text=True, check=False, timeout=30
    )
    return CJK_FONT in found.stdout


@cache
def _harfbuzz_subset_loadable() -> bool:
    """WeasyPrint subsets with HarfBuzz when libharfbuzz-subset loads and HarfBuzz is at least 4.1.0."""
    try:
        subset = ctypes.CDLL(ctypes.util.find_library("harfbuzz-subset") or "libharfbuzz-subset.so.0")
        harfbuzz = ctypes.CDLL(ctypes.util.find_library("harfbuzz") or "libharfbuzz.so.0")
    except OSError:
        return False
    if not hasattr(subset, "hb_subset_or_fail"):
        return False
    return bool(harfbuzz.hb_version_atleast(4, 1, 0))


def check_pdf_environment() -> None:
    """Raise ``RenderError`` unless the CJK font and HarfBuzz subsetting are installed (cached)."""
    if not _cjk_font_installed():
        raise RenderError(f"the {CJK_FONT} font is not installed: install fonts-noto-cjk (make setup)")
    if not _harfbuzz_subset_loadable():
        raise RenderError(
            "libharfbuzz-subset is not installed, so WeasyPrint would subset fonts with fontTools (~30x"
            " slower): install libharfbuzz-subset0 (make setup)"
        )


# --- formatting ---------------------------------------------------------------------------------------


def _locale(lang: str) -> str:
    return LOCALES[lang]


def _money(context: Context, fen: int | None, *, symbol: bool = False) -> str:
    """``1,234.50`` in table cells, ``¥1,234.50`` before totals; exactly 2 places; blank for no value."""
    if fen is None:
        return ""
    return format_money(int(fen), _locale(context["lang"]), symbol=symbol)


def _date(context: Context, value: date) -> str:
    return format_date(value, "long", locale=_locale(context["lang"]))


def _datetime_in(value: datetime, lang: str) -> str:
    """A moment as Beijing time, ``2025-03-31 14:05``."""
    return format_datetime(value.astimezone(county_time.CHINA), "yyyy-MM-dd HH:mm", locale=_locale(lang))


def _datetime(context: Context, value: datetime) -> str:
    return _datetime_in(value, context["lang"])


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["money"] = pass_context(_money)
    env.filters["daxie"] = amount_in_words
    env.filters["date"] = pass_context(_date)
    env.filters["datetime"] = pass_context(_datetime)
    return env


# --- shared by every format ---------------------------------------------------------------------------


def _cell(value: object) -> object:
    """A DataFrame cell as a plain Python value: ``None`` for NA, ``int`` for integers."""
    import pandas as pd

    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [
        {str(key): _cell(value) for key, value in zip(frame.columns, values, strict=True)}
        for values in frame.itertuples(index=False, name=None)
    ]


def signatures(report: Report) -> tuple[str, ...]:
    return report.signatures if report.signatures is not None else LABELS[report.lang]["signatures"]


def unit(report: Report) -> str:
    labels = LABELS[report.lang]
    return str(labels["unit"]).format(unit=report.unit or labels["default_unit"])


def _json_value(value: object, amount: bool) -> object:
    return format_amount(value) if amount and isinstance(value, int) else value


def _content(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data, without generation time or short code (what the code fingerprints)."""
    tables = []
    for table in report.tables:
        amounts = {c.key for c in table.columns if c.kind == "amount"}
        frame_rows = _rows(table.frame)
        rows = [{key: _json_value(value, key in amounts) for key, value in row.items()} for row in frame_rows]
        tables.append(
            {
                "caption": table.caption,
                "columns": [{"key": c.key, "header": c.header, "kind": c.kind} for c in table.columns],
                "rows": rows,
            }
        )
    return {
        "title": report.title,
        "form_no": report.form_no,
        "org_name": report.org_name,
        "period": report.period,
        "unit": unit(report),
        "lang": report.lang,
        "chain_head": report.chain_head,
        "tables": tables,
        "totals": [
            {"label": t.label, "amount": format_amount(t.fen), "in_words": amount_in_words(t.fen)}
            for t in report.totals
        ],
        "signatures": list(signatures(report)),
    }


def short_code(report: Report) -> str:
    """8 characters of Crockford base32 over the SHA-256 of the report's canonical content."""
    canonical = json.dumps(_content(report), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii").translate(_CROCKFORD)[:8]


def verification_line(report: Report, code: str | None = None) -> str:
    labels = LABELS[report.lang]
    line = (
        f"{labels['verification']}{labels['colon']}{report.chain_head[:16]} · "
        f"{labels['short_code']} {code or short_code(report)}"
    )
    if report.checkpoint:
        line += f" · {labels['checkpoint']} {report.checkpoint}"
    if report.checkpoints:
        line += f" · {labels['checkpoint']} " + ", ".join(f"{org} {code}" for org, code in report.checkpoints)
    return line


def to_json(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data: amounts as ``"12.30"`` strings, NA as ``null``."""
    content = _content(report)
    return {
        **content,
        "generated_at": report.generated_at.isoformat(),
        "short_code": short_code(report),
        "checkpoint": report.checkpoint,
        "checkpoints": [{"org": org, "code": code} for org, code in report.checkpoints],
        "verification": verification_line(report),
    }


# --- HTML and PDF -------------------------------------------------------------------------------------


def _two_sided(table: Table, rows: list[dict[str, object]]) -> list[tuple[dict[str, object] | None, ...]]:
    """Pair left and right rows; the shorter side is padded before its last row so the totals align."""
    left = [row for row in rows if row["section"] in table.left_sections]
    right = [row for row in rows if row["section"] not in table.left_sections]
    height = max(len(left), len(right))
    padded: list[list[dict[str, object] | None]] = []
    for side in (left, right):
        blanks: list[dict[str, object] | None] = [None] * (height - len(side))
        padded.append([*side[:-1], *blanks, *side[-1:]] if side else blanks)
    return list(zip(*padded, strict=True))


def _html_tables(report: Report) -> list[dict[str, Any]]:
    tables = []
    for table in report.tables:
        rows = _rows(table.frame)
        tables.append(
            {
                "caption": table.caption,
                "columns": table.columns,
                "rows": rows,
                "pairs": _two_sided(table, rows) if table.left_sections else None,
                "side_headings": table.side_headings,
                "amount_columns": sum(column.kind == "amount" for column in table.columns),
            }
        )
    return tables


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (styles inline), as printed."""
    code = short_code(report)
    template = environment().get_template(report.template)
    return template.render(
        report=report,
        lang=report.lang,
        html_lang="zh-CN" if report.lang == "zh" else "en",
        t=LABELS[report.lang],
        unit=unit(report),
        tables=_html_tables(report),
        totals=report.totals,
        signatures=signatures(report),
        verification=verification_line(report, code),
        generated_at=report.generated_at,
    )


def render_pdf(report: Report) -> bytes:
    """The report as an A4 PDF (WeasyPrint). Raises ``RenderError`` first if fonts or HarfBuzz are missing."""
    check_pdf_environment()
    from weasyprint import HTML  # imported here: it takes a while and only PDFs need it

    return HTML(string=render_html(report), base_url=str(TEMPLATES_DIR)).write_pdf()


# --- XLSX ---------------------------------------------------------------------------------------------


def _xlsx_value(column: Column, value: object) -> object:
    if value is None:
        return None
    if column.kind == "amount":
        if not isinstance(value, SupportsInt | str):
            raise TypeError(f"an amount cell holds {type(value).__name__}, not fen")
        return Decimal(int(value)).scaleb(-2)  # exact yuan, never a float
    if isinstance(value, str):
        return safe_text(value)
    return value


_WIDTHS = {"label": 40, "amount": 18, "line_no": 6}


def _put_row(sheet: Any, row: int, values: list[object]) -> None:
    for index, value in enumerate(values, start=1):
        sheet.cell(row, index, safe_text(value) if isinstance(value, str) else value)


def _write_table(sheet: Any, report: Report, table: Table, labels: dict[str, Any]) -> int:
    """Title rows, the frozen header and one row per DataFrame row; returns the last row written."""
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    width = len(table.columns)
    bold = Font(bold=True)
    thin = Side(style="thin", color="000000")
    _put_row(sheet, 1, [report.title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(1, 1).font = Font(bold=True, size=14)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")
    meta: list[object] = [f"{labels['org']}{labels['colon']}{report.org_name}", report.period, unit(report)]
    _put_row(sheet, 2, [*meta, report.form_no] if report.form_no else meta)
    _put_row(sheet, 3, [table.caption] if table.caption else [])
    header = 4
    _put_row(sheet, header, [column.header for column in table.columns])
    for index in range(1, width + 1):
        cell = sheet.cell(header, index)
        cell.font = bold
        cell.alignment = Alignment(horizontal="center")
        cell.border = Border(bottom=thin, top=thin)
    sheet.freeze_panes = sheet.cell(header + 1, 1)

    row_number = header
    for row in _rows(table.frame):
        row_number += 1
        strong = row.get("style") in ("subtotal", "total")
        for index, column in enumerate(table.columns, start=1):
            cell = sheet.cell(row_number, index, _xlsx_value(column, row[column.key]))
            if column.kind == "amount":
                cell.number_format = "#,##0.00"
            elif column.kind == "label" and isinstance(indent := row.get("indent"), int):
                cell.alignment = Alignment(indent=min(indent, 15))
            elif column.kind == "line_no":
                cell.alignment = Alignment(horizontal="center")
            if strong or row.get("style") == "heading":
                cell.font = bold
    for index, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(column.kind, 14)
    return row_number


def _write_footer(sheet: Any, report: Report, table: Table, labels: dict[str, Any], row: int) -> None:
    """Below the table: headline totals with 大写, the signature roles, generated time and verification.

    A total's figure sits under the table's first amount column, so a reader's eye (and a SUM) finds it.
    """
    from openpyxl.styles import Font

    kinds = [column.kind for column in table.columns]
    amount_at = kinds.index("amount") + 1 if "amount" in kinds else 2
    row += 1
    for total in report.totals:
        row += 1
        sheet.cell(row, 1, safe_text(total.label)).font = Font(bold=True)
        figure = sheet.cell(row, amount_at, Decimal(total.fen).scaleb(-2))
        figure.number_format = '"¥"#,##0.00'
        words = f"{labels['in_words']}{labels['colon']}{amount_in_words(total.fen)}"
        sheet.cell(row, amount_at + 1, safe_text(words))
    row += 2
    _put_row(sheet, row, [f"{role}{labels['colon']}" for role in signatures(report)])
    generated = f"{labels['generated']}{labels['colon']}{_datetime_in(report.generated_at, report.lang)}"
    _put_row(sheet, row + 1, [generated, verification_line(report)])


def render_xlsx(report: Report) -> bytes:
    """The report as a workbook: one sheet per table, title rows, frozen header, amounts in yuan."""
    from openpyxl import Workbook  # imported here: only workbooks need it

    labels = LABELS[report.lang]
    workbook = Workbook()
    workbook.remove(workbook.active)
    for number, table in enumerate(report.tables, start=1):
        name = (table.caption or report.title)[:28]
        for forbidden in "[]:*?/\\":
            name = name.replace(forbidden, " ")
        sheet = workbook.create_sheet(f"{number} {name}" if len(report.tables) > 1 else name)
        _write_footer(sheet, report, table, labels, _write_table(sheet, report, table, labels))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
