"""Rendering: statements read back from the PDF, XLSX against JSON, golden HTML, and failing fast.

Golden files live in tests/golden/; regenerate them with ``UPDATE_GOLDEN=1 pytest
tests/reports/test_render.py`` and read the diff before committing it.
"""

from __future__ import annotations

import io
import os
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pdfplumber
import pytest

from ledger.books.errors import LedgerError
from reports import render
from reports.render import RenderError, render_html, render_pdf, render_xlsx, short_code, to_json
from reports.report import Column, Report, Table, Total
from reports.statements import compute_statement, statement_report
from tests.factories.books import balances_after
from tests.factories.goldens import GOLDEN, normalised

CHAIN_HEAD = "3f2a9c07d1e84b5a" + "0" * 47 + "1"
COMPANY_NAME = "和平街道村社合股联营集体经济公司"
GENERATED = datetime(2025, 4, 1, 1, 30, tzinfo=UTC)


# The joint company's first quarter, as in test_statements (total assets ¥1,171,200.00).
COMPANY = balances_after(
    ("1002", "3001", 100_000_000),
    ("1405", "2202:village-1", 30_000_000),
    ("2202:village-1", "1002", 20_000_000),
    ("2202:supplier-2", "1002", 1_000_000),
    ("1001", "5001", 2_000_000),
    ("1012", "5001", 15_000_000),
    ("1122:school", "5001", 8_000_000),
    ("1012", "2221", 150_000),
    ("1002", "1122:agency", 500_000),
    ("5401", "1405", 18_000_000),
    ("1405", "1407", 1_000_000),
    ("1601", "1002", 6_000_000),
    ("5602", "1602", 500_000),
    ("5603", "1012", 30_000),
)

# A community's year: lease income, a subsidy, depreciation and public-welfare stipends (本年收益 ¥126,000).
COMMUNITY = balances_after(
    ("102", "301", 50_000_000),
    ("151", "102", 20_000_000),
    ("513", "152", 1_000_000),
    ("112:lessee-a", "50102", 5_700_000),
    ("511", "133", 200_000),
    ("132", "102", 3_000_000),
    ("513", "162", 100_000),
    ("161", "102", 1_000_000),
    ("102", "503", 10_000_000),
    ("51401", "212", 1_800_000),
)


def company_balance_sheet(lang: str = "zh", **kwargs: object) -> Report:
    opening = balances_after(("1002", "3001", 100_000_000))
    columns = ("Closing balance", "Opening balance") if lang == "en" else ("期末余额", "年初余额")
    frame = compute_statement(
        "small_enterprise_balance_sheet",
        columns=dict(zip(columns, (COMPANY, opening), strict=True)),
        lang=lang,
    )
    return statement_report(
        "small_enterprise_balance_sheet",
        frame,
        org_name=COMPANY_NAME,
        period="2025年3月31日" if lang == "zh" else "31 March 2025",
        chain_head=CHAIN_HEAD,
        generated_at=GENERATED,
        lang=lang,  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def community_income(lang: str = "zh") -> Report:
    frame = compute_statement(
        "collective_income_distribution",
        columns={"本年数": COMMUNITY, "上年数": {}},
        column_inputs={
            "本年数": {"opening_undistributed": 1_000_000, "reserve": 1_260_000, "to_members": 6_000_000}
        },
        lang=lang,  # type: ignore[arg-type]
    )
    return statement_report(
        "collective_income_distribution",
        frame,
        org_name="红旗社区股份经济合作社",
        period="2025年度",
        chain_head=CHAIN_HEAD,
        generated_at=GENERATED,
        lang=lang,  # type: ignore[arg-type]
    )


def pdf_text(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [page.extract_text() or "" for page in document.pages]


# --- filters ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "fen", "symbol", "expected"),
    [
        ("zh", 123_456, False, "1,234.56"),
        ("zh", -123_456, False, "-1,234.56"),
        ("zh", 0, False, "0.00"),
        ("zh", 5, False, "0.05"),
        ("zh", 100_000_000_000, False, "1,000,000,000.00"),
        ("zh", 123_450, True, "¥1,234.50"),
        ("en", -123_456, False, "-1,234.56"),
        ("en", 123_450, True, "CN¥1,234.50"),
        ("zh", None, False, ""),
    ],
)
def test_money_filter(lang: str, fen: int | None, symbol: bool, expected: str) -> None:
    template = render.environment().from_string("{{ fen|money(symbol=symbol) }}")
    assert template.render(fen=fen, symbol=symbol, lang=lang) == expected


def test_daxie_and_date_filters() -> None:
    env = render.environment()
    assert env.from_string("{{ 140950|daxie }}").render() == "壹仟肆佰零玖元伍角整"
    assert env.from_string("{{ d|date }}").render(d=GENERATED.date(), lang="zh") == "2025年4月1日"
    # Generated times print as Beijing time.
    assert env.from_string("{{ d|datetime }}").render(d=GENERATED, lang="zh") == "2025-04-01 09:30"


# --- PDF ----------------------------------------------------------------------------------------------


def test_statement_pdf_reads_back_as_a_statement_an_accountant_signs() -> None:
    [page] = pdf_text(render_pdf(company_balance_sheet()))
    flat = re.sub(r"\s+", "", page)
    assert "资产负债表" in flat
    assert "会小企01表" in flat
    assert f"编制单位：{COMPANY_NAME}" in flat
    assert "单位：元" in flat
    assert "资产总计（期末余额）：¥1,171,200.00" in flat
    assert "人民币（大写）：壹佰壹拾柒万壹仟贰佰元整" in flat
    assert "1,171,200.00" in page  # in the table too
    assert "编制人：" in flat and "审核人：" in flat and "负责人：" in flat
    assert "第 1 页 / 共 1 页" in page
    assert f"校验：{CHAIN_HEAD[:16]}" in flat
    assert f"短码{short_code(company_balance_sheet())}" in flat
    assert "生成时间：2025-04-01 09:30" in page


def test_pdf_embeds_only_the_cjk_sans_font() -> None:
    """DESIGN §12: the font is set on html, so the page-margin boxes do not fall back to a serif CJK font."""
    with pdfplumber.open(io.BytesIO(render_pdf(company_balance_sheet()))) as document:
        fonts = {re.sub(r"^[A-Z]{6}\+", "", char["fontname"]) for char in document.pages[0].chars}
    assert fonts == {"Noto-Sans-CJK-SC", "Noto-Sans-CJK-SC-Bold"}


def test_long_report_repeats_the_header_row_and_numbers_its_pages() -> None:
    frame = pd.DataFrame(
        {
            "code": [f"{1000 + n}" for n in range(150)],
            "name": [f"明细{n}" for n in range(150)],
            "debit": [n * 1_001 for n in range(150)],
        }
    )
    report = Report(
        title="科目余额表",
        org_name="红旗社区股份经济合作社",
        period="2025年3月",
        chain_head=CHAIN_HEAD,
        tables=(
            Table(
                frame,
                (Column("code", "科目编码"), Column("name", "科目名称"), Column("debit", "借方", "amount")),
            ),
        ),
        generated_at=GENERATED,
    )
    pages = pdf_text(render_pdf(report))
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert "科目编码 科目名称 借方" in page
        assert f"第 {number} 页 / 共 {len(pages)} 页" in page
    assert "红旗社区股份经济合作社 · 科目余额表 · 2025年3月" in pages[1]  # running header after page 1


def test_english_statement_pdf() -> None:
    [page] = pdf_text(render_pdf(company_balance_sheet("en")))
    assert "Balance Sheet" in page
    assert "Total assets (Closing balance): CN¥1,171,200.00" in page
    assert "Page 1 of 1" in page
    assert "Prepared by:" in page


def test_missing_cjk_font_fails_before_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "_cjk_font_installed", lambda: False)
    with pytest.raises(RenderError, match=r"install fonts-noto-cjk \(make setup\)") as raised:
        render_pdf(company_balance_sheet())
    assert isinstance(raised.value, LedgerError)


def test_missing_harfbuzz_subset_fails_before_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "_harfbuzz_subset_loadable", lambda: False)
    with pytest.raises(RenderError, match="libharfbuzz-subset0"):
        render_pdf(company_balance_sheet())


def test_this_machine_subsets_fonts_with_harfbuzz() -> None:
    """The fast path (~0.3 s a statement, against ~9 s with fontTools) is there; bench/ measures the time."""
    render._harfbuzz_subset_loadable.cache_clear()
    assert render._harfbuzz_subset_loadable()
    render.check_pdf_environment()


# --- HTML ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("small_enterprise_balance_sheet.zh.html", lambda: company_balance_sheet()),
        ("small_enterprise_balance_sheet.en.html", lambda: company_balance_sheet("en")),
        ("collective_income_distribution.zh.html", lambda: community_income()),
    ],
)
def test_statement_html_matches_golden(name: str, build) -> None:  # type: ignore[no-untyped-def]
    html = normalised(render_html(build()))
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(html, encoding="utf-8")
    assert html == golden.read_text(encoding="utf-8")


def test_generated_time_does_not_change_the_golden_or_the_short_code() -> None:
    later = company_balance_sheet()
    object.__setattr__(later, "generated_at", datetime(2026, 1, 1, tzinfo=UTC))
    assert normalised(render_html(later)) == normalised(render_html(company_balance_sheet()))
    assert short_code(later) == short_code(company_balance_sheet())


def test_short_code_changes_with_any_figure() -> None:
    changed = balances_after(("1002", "3001", 100_000_000), ("1001", "5001", 1))
    frame = compute_statement("small_enterprise_balance_sheet", columns={"期末余额": changed, "年初余额": {}})
    other = statement_report(
        "small_enterprise_balance_sheet",
        frame,
        org_name=COMPANY_NAME,
        period="2025年3月31日",
        chain_head=CHAIN_HEAD,
    )
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{8}", short_code(other))
    assert short_code(other) != short_code(company_balance_sheet())


def test_html_escapes_what_it_prints() -> None:
    report = company_balance_sheet()
    object.__setattr__(report, "org_name", '<script>alert("x")</script>')
    html = render_html(report)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_two_sided_balance_sheet_prints_the_grand_totals_on_one_row() -> None:
    table = company_balance_sheet().tables[0]
    pairs = render._two_sided(table, render._rows(table.frame))
    left, right = pairs[-1]
    assert (left["key"], right["key"]) == ("total_assets", "total_liabilities_and_equity")  # type: ignore[index]
    assert sum(1 for left, _ in pairs if left is not None) == 32  # 30 lines and 2 headings
    assert any(right is None for _, right in pairs)  # the shorter side is padded


# --- XLSX and JSON ------------------------------------------------------------------------------------


def test_xlsx_equals_json_line_by_line() -> None:
    report = company_balance_sheet()
    data = to_json(report)
    sheet = pd.read_excel(io.BytesIO(render_xlsx(report)), header=3)
    # Below the table come the totals, signatures and verification rows: keep the numbered lines.
    numbered = pd.to_numeric(sheet["行次"], errors="coerce")
    lines = sheet[numbered.notna()].set_index(numbered[numbered.notna()].astype(int))
    rows = [row for row in data["tables"][0]["rows"] if row["line_no"] is not None]
    assert len(lines) == len(rows) == 53
    for row in rows:
        for column in ("期末余额", "年初余额"):
            in_xlsx = Decimal(str(lines.at[row["line_no"], column])).quantize(Decimal("0.01"))
            assert in_xlsx == Decimal(row[column]), (row["key"], column)
    [total] = data["totals"]
    assert total == {
        "label": "资产总计（期末余额）",
        "amount": "1171200.00",
        "in_words": "壹佰壹拾柒万壹仟贰佰元整",
    }
    assert Decimal(str(lines.at[30, "期末余额"])) == Decimal(total["amount"])


def test_xlsx_layout_freezes_the_header_and_formats_amounts() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(company_balance_sheet())))
    sheet = workbook.active
    assert sheet["A1"].value == "资产负债表"
    assert sheet["A2"].value == f"编制单位：{COMPANY_NAME}"
    assert [cell.value for cell in sheet[4]] == ["项目", "行次", "期末余额", "年初余额"]
    assert sheet.freeze_panes == "A5"
    money_cell = sheet["C6"]  # 货币资金, 期末余额 (row 5 is the 流动资产： heading)
    assert (sheet["A6"].value, money_cell.value, money_cell.number_format) == (
        "货币资金",
        906_200,
        "#,##0.00",
    )
    assert isinstance(money_cell.value, int | float)


def test_xlsx_neutralises_formula_injection() -> None:
    frame = pd.DataFrame(
        {"memo": ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "正常摘要"], "fen": [1, 2, 3, 4, 5]}
    )
    report = Report(
        title="=cmd|' /C calc'!A0",
        org_name="@org",
        period="2025年3月",
        chain_head=CHAIN_HEAD,
        tables=(Table(frame, (Column("memo", "摘要"), Column("fen", "金额", "amount"))),),
        totals=(Total("-合计", 15),),
    )
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(report))).active
    texts = [cell.value for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert not [text for text in texts if text[0] in "=+-@"]
    assert '\'=HYPERLINK("http://x")' in texts
    assert "'-合计" in texts
    assert "正常摘要" in texts
    amounts = [Decimal(str(row[1].value)) for row in sheet.iter_rows(min_row=5, max_row=9)]
    assert amounts == [Decimal("0.01"), Decimal("0.02"), Decimal("0.03"), Decimal("0.04"), Decimal("0.05")]


def test_json_amounts_are_decimal_strings() -> None:
    data = to_json(community_income())
    rows = {row["key"]: row for row in data["tables"][0]["rows"]}
    assert rows["net_income"]["本年数"] == "126000.00"
    assert rows["to_members"]["本年数"] == "60000.00"
    assert rows["to_members"]["上年数"] == "0.00"
    assert data["totals"][0]["amount"] == "126000.00"
    assert data["chain_head"] == CHAIN_HEAD
    assert data["generated_at"] == "2025-04-01T01:30:00+00:00"
    assert data["verification"] == f"校验：{CHAIN_HEAD[:16]} · 短码 {data['short_code']}"


STALE_FONT_LIST = """
import matplotlib
from pathlib import Path
from matplotlib import font_manager as fm
manager = fm.FontManager()
manager.ttflist = [f for f in manager.ttflist if "CJK" not in f.name]
fm.json_dump(manager, Path(matplotlib.get_cachedir()) / f"fontlist-v{fm.FontManager.__version__}.json")
"""

DRAW_A_CHART = """
import warnings
warnings.simplefilter("error", UserWarning)  # matplotlib warns of each glyph its font lacks
from reports.charts import CJK_FONT, _pyplot, bar_chart
chart = bar_chart(["一月", "二月"], {"收入": [100, 200]}, caption="月度收入")
assert _pyplot().rcParams["font.sans-serif"][0] == CJK_FONT
print("drawn")
"""


def test_charts_find_the_cjk_font_when_matplotlib_listed_the_fonts_before_it_was_installed(
    tmp_path: Path,
) -> None:
    """A first run before ``make setup`` leaves matplotlib a cached font list without Noto Sans CJK; the
    charts then drew their Chinese as empty boxes in DejaVu Sans (CI printed 3,790 such warnings)."""
    import subprocess
    import sys

    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", STALE_FONT_LIST], env=env, check=True)
    root = Path(__file__).parents[2]
    done = subprocess.run(
        [sys.executable, "-c", DRAW_A_CHART], env=env, capture_output=True, text=True, cwd=root
    )
    assert done.returncode == 0 and "drawn" in done.stdout, done.stderr[-2000:]
