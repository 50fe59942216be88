"""Reports built from real books: statements that foot on generated data for both standards, PDFs read back
and checked against the entries in ``tests.factories.report_books``, XLSX against JSON, and roll-ups that add
up the orgs below without mixing the two standards.

PDF tests run on SQLite only (the figures are the same on PostgreSQL, where the non-PDF tests run too).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import pdfplumber
import pytest

from ledger.books.errors import ValidationError
from ledger.books.money import amount_in_words, format_money
from ledger.books.orgs import add_sub_account, ensure_sub_account
from ledger.books.posting import Draft, post_entries, reverse_entry
from ledger.community import welfare
from ledger.db.engine import read_tx, write_tx
from ledger.distribution.vat import post_vat_exemption
from pos.shifts import VAT_ACCOUNT
from reports.builders_base import ReportPeriod, parse_report_period
from reports.registry import REPORTS, build_report
from reports.render import render_pdf, render_xlsx, to_json
from tests.factories.county import County
from tests.factories.documents import flat, pdf_pages
from tests.factories.report_books import (
    COMMUNITY_INCOME,
    COMMUNITY_NET,
    COMPANY_NET_Q1,
    COMPANY_REVENUE_Q1,
    COMPANY_SALES,
    RESERVE,
    TO_MEMBERS,
    cr,
    dr,
    post_community_workflows,
    post_community_year,
    post_company_quarter,
    post_random_books,
)

GENERATED = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
YEAR = ReportPeriod("2025-01", "2025-12")
Q1 = ReportPeriod("2025-01", "2025-03")
sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@pytest.fixture
def textbook_and_random(county: County) -> County:
    """丁字口社区's textbook year (closed, distributed), the company's first quarter, random books."""
    post_community_year(county.engine, county.ids["dingzikou"])
    post_company_quarter(county.engine, county.ids["company"], county.stores)
    post_random_books(county.engine, county.ids["huahuaqiao"], "collective", seed=11, n=60)
    post_random_books(county.engine, county.ids["village1"], "collective", seed=12, n=40)
    post_random_books(county.engine, county.ids["company2"], "small_enterprise", seed=13, n=60)
    return county


def build(county: County, name: str, org: str, period: ReportPeriod, **kwargs):  # type: ignore[no-untyped-def]
    with read_tx(county.engine) as conn:
        return build_report(conn, name, county.ids[org], period, generated_at=GENERATED, **kwargs)


def line_values(report, column: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    frame = report.tables[0].frame
    lines = frame[frame["line_no"].notna()]
    return {k: int(v) for k, v in zip(lines["key"], lines[column], strict=True)}


# --- periods ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "expected", "label"),
    [
        ("2025-03", ("2025-03", "2025-03"), "2025年3月"),
        ("2025-Q2", ("2025-04", "2025-06"), "2025年第2季度"),
        ("2025", ("2025-01", "2025-12"), "2025年度"),
    ],
)
def test_report_periods_read_as_a_reader_writes_them(
    period: str, expected: tuple[str, str], label: str
) -> None:
    parsed = parse_report_period(period)
    assert (parsed.from_period, parsed.to_period) == expected
    assert parsed.label() == label


@pytest.mark.parametrize("bad", ["2025-13", "2025-Q5", "25", "2025/03", "../etc"])
def test_a_malformed_period_is_a_422_naming_the_field(bad: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_report_period(bad)
    assert raised.value.field == "period"


# --- statements foot on generated books (both standards, both databases) ------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_statement_foots_on_generated_books_of_both_standards(county: County, seed: int) -> None:
    post_random_books(county.engine, county.ids["huahuaqiao"], "collective", seed=seed, n=80)
    post_random_books(county.engine, county.ids["company2"], "small_enterprise", seed=seed + 100, n=80)
    for org in ("huahuaqiao", "company2"):
        for period in (ReportPeriod("2025-03", "2025-03"), Q1, YEAR):
            for name in ("balance-sheet", "income-statement", "trial-balance"):
                report = build(county, name, org, period)  # raises StatementDoesNotFoot if it does not foot
                assert report.totals
    for standard in ("collective", "small_enterprise"):
        for name in ("balance-sheet", "income-statement", "trial-balance"):
            assert build(county, name, "county", YEAR, standard=standard).totals


def test_collective_income_statement_reads_the_year_before_the_closing_entries(
    textbook_and_random: County,
) -> None:
    report = build(textbook_and_random, "income-statement", "dingzikou", YEAR)
    values = line_values(report, "本年数")
    assert values["operating_revenue"] == COMMUNITY_INCOME["50102"] + COMMUNITY_INCOME["50103"]
    assert values["subsidy_income"] == COMMUNITY_INCOME["503"]
    assert values["net_income"] == COMMUNITY_NET == 12_550_000
    assert values["reserve"] == RESERVE
    assert values["to_members"] == TO_MEMBERS
    assert values["undistributed_end"] == COMMUNITY_NET - RESERVE - TO_MEMBERS
    assert report.title == "收益及收益分配表"


def test_collective_balance_sheet_foots_after_the_year_end_close(textbook_and_random: County) -> None:
    report = build(textbook_and_random, "balance-sheet", "dingzikou", YEAR)
    values = line_values(report, "期末数")
    assert values["total_assets"] == values["total_liabilities_and_equity"]
    assert values["undistributed_income"] == COMMUNITY_NET - RESERVE - TO_MEMBERS
    assert values["receivables"] == 6_300_000 - 4_000_000 + 800_000  # 112 and the debit side of 113
    assert values["monetary_funds"] == 105_000 + 40_500_000


def test_company_balance_sheet_splits_receivables_and_payables_by_counterparty(
    textbook_and_random: County,
) -> None:
    report = build(textbook_and_random, "balance-sheet", "company", Q1)
    values = line_values(report, "期末余额")
    # The agency canteen owes ¥6,000.00; the school paid ¥5,000 of ¥8,000 and then ¥10,000 ahead.
    assert values["accounts_receivable"] == 600_000
    assert values["advances_from_customers"] == 1_500_000 - 800_000
    assert values["prepayments"] == 500_000  # the farm's prepayment: a debit balance of 2202
    assert values["accounts_payable"] == 4_000_000  # the village's credit balance of 2202
    assert values["inventories"] == 6_000_000 - 5_000_000
    assert values["total_assets"] == values["total_liabilities_and_equity"]


def test_company_profit_statement_has_year_to_date_and_month_columns(textbook_and_random: County) -> None:
    report = build(textbook_and_random, "income-statement", "company", ReportPeriod("2025-03", "2025-03"))
    assert report.title == "利润表" and report.form_no == "会小企02表"
    ytd, month = line_values(report, "本年累计金额"), line_values(report, "本月金额")
    assert ytd["revenue"] == COMPANY_REVENUE_Q1
    assert ytd["net_profit"] == COMPANY_NET_Q1
    march = sum(fen for (period, _, _), fen in COMPANY_SALES.items() if period == "2025-03")
    assert month["revenue"] == march


def test_profit_statement_of_which_lines_read_the_summaries_of_leaf_accounts(
    textbook_and_random: County,
) -> None:
    """利润表 其中 lines where the company posts 5603 and 5301 themselves, as the workflows do: the 摘要
    decides. Bank interest (the reconciliation rule's 银行存款利息, a credit) is 其中：利息费用 printed
    negative, and its red-ink reversal takes it back out; the settlement fee is 财务费用 but no 其中 line;
    the quarter's exempted VAT is 其中：政府补助, the cash over (现金长款) is 营业外收入 but not a grant."""
    company = textbook_and_random.ids["company"]
    with write_tx(textbook_and_random.engine) as conn:
        ensure_sub_account(conn, company, "2221", *VAT_ACCOUNT)
        post_entries(
            conn,
            [
                Draft(
                    company,
                    date(2025, 3, 21),
                    "结息",
                    [dr("1002", 3_456), cr("5603", 3_456, memo="银行存款利息 结息")],
                ),
                Draft(
                    company,
                    date(2025, 3, 21),
                    "结息",
                    [dr("1002", 999), cr("5603", 999, memo="银行存款利息 补记")],
                ),
                Draft(company, date(2025, 3, 25), "计提增值税", [dr("1001", 78_000), cr("222101", 78_000)]),
                Draft(
                    company,
                    date(2025, 3, 26),
                    "门店1 日结",
                    [dr("1001", 150), cr("5301", 150, memo="现金长款")],
                    source="pos",
                ),
            ],
        )
        wrong = post_entries(
            conn, [Draft(company, date(2025, 2, 5), "银行存款利息", [dr("1002", 700), cr("5603", 700)])]
        )
        reverse_entry(conn, wrong[0].id, entry_date=date(2025, 3, 5))
        exempt = post_vat_exemption(conn, company, 2025, 1)
    assert exempt.vat_fen == 78_000 and exempt.entry_id is not None

    ytd = line_values(
        build(textbook_and_random, "income-statement", "company", ReportPeriod("2025-03", "2025-03")),
        "本年累计金额",
    )
    interest = 3_456 + 999  # the February 700 reversed in March
    assert ytd["interest_expense"] == -interest
    assert ytd["finance_costs"] == 12_000 - interest
    assert ytd["government_grants"] == 78_000
    assert ytd["non_operating_income"] == 78_000 + 150
    assert ytd["net_profit"] == COMPANY_NET_Q1 + interest + 78_000 + 150
    february = line_values(
        build(textbook_and_random, "income-statement", "company", ReportPeriod("2025-02", "2025-02")),
        "本月金额",
    )
    assert february["interest_expense"] == -700 and february["government_grants"] == 0
    lines = {k: v for k, v in ytd.items() if k in OF_WHICH_ZERO}
    assert lines == dict.fromkeys(OF_WHICH_ZERO, 0)


OF_WHICH_ZERO = ("consumption_tax", "urban_maintenance_tax", "repair_expenses", "entertainment_expenses")


def test_profit_statement_of_which_lines_read_the_sub_accounts_by_name(county: County) -> None:
    """Where the company keeps sub-accounts, their names decide, whatever codes the org gave them: the
    city construction tax and education surcharge under 税金及附加, 业务招待费 two levels down under
    管理费用, 利息支出 and 利息收入 net under 财务费用 while 手续费 is no 其中 line (whatever its 摘要 says),
    and a grant in 营业外收入—政府补助."""
    company = county.ids["company"]
    with write_tx(county.engine) as conn:
        for parent, name, code in [
            ("5403", "城市维护建设税", "540305"),
            ("5403", "教育费附加", "540302"),
            ("5403", "印花税", "540301"),
            ("5602", "办公费", "560201"),
            ("5602", "招待费用", "560202"),
            ("560202", "业务招待费—客户", "56020201"),
            ("5603", "利息支出", "560301"),
            ("5603", "利息收入", "560302"),
            ("5603", "手续费", "560303"),
            ("5301", "政府补助", "530101"),
            ("5301", "盘盈利得", "530102"),
        ]:
            add_sub_account(conn, company, parent, name, code)
        post_entries(
            conn,
            [
                Draft(
                    company,
                    date(2025, 5, 31),
                    "计提税金",
                    [dr("540305", 700), dr("540302", 300), dr("540301", 50), cr("2221", 1_050)],
                ),
                Draft(company, date(2025, 5, 12), "办公用品", [dr("560201", 8_000), cr("1001", 8_000)]),
                Draft(company, date(2025, 5, 13), "客户餐费", [dr("56020201", 45_000), cr("1001", 45_000)]),
                Draft(company, date(2025, 5, 20), "借款利息", [dr("560301", 20_000), cr("1002", 20_000)]),
                Draft(company, date(2025, 5, 21), "存款利息", [dr("1002", 1_200), cr("560302", 1_200)]),
                Draft(company, date(2025, 5, 22), "利息 手续费", [dr("560303", 500), cr("1002", 500)]),
                Draft(company, date(2025, 5, 25), "稳岗补贴", [dr("1002", 300_000), cr("530101", 300_000)]),
                Draft(
                    company, date(2025, 5, 26), "盘盈", [dr("1405", 2_000), cr("530102", 2_000)], source="pos"
                ),
            ],
        )
    month = line_values(
        build(county, "income-statement", "company", ReportPeriod("2025-05", "2025-05")), "本月金额"
    )
    assert month["taxes_and_surcharges"] == 1_050
    assert (month["urban_maintenance_tax"], month["education_surcharges"]) == (700, 300)
    assert month["property_related_taxes"] == 50 and month["consumption_tax"] == 0
    assert month["administrative_expenses"] == 53_000 and month["entertainment_expenses"] == 45_000
    assert month["finance_costs"] == 20_000 - 1_200 + 500
    assert month["interest_expense"] == 20_000 - 1_200
    assert month["non_operating_income"] == 302_000 and month["government_grants"] == 300_000


def test_roll_up_adds_up_the_orgs_below_of_one_standard(textbook_and_random: County) -> None:
    rollup = build(textbook_and_random, "income-statement", "heping", YEAR, standard="collective")
    own = [
        build(textbook_and_random, "income-statement", org, YEAR).totals[0].fen
        for org in ("dingzikou", "huahuaqiao", "village1")
    ]
    assert rollup.totals[0].fen == sum(own)
    breakdown = rollup.tables[1].frame
    assert list(breakdown["code"][:-1]) == [
        "dingzikou",
        "huahuaqiao",
        "village1",
    ]  # no company in a collective sum
    assert int(breakdown["amount"].iloc[-1]) == sum(own)
    companies = build(textbook_and_random, "balance-sheet", "county", Q1, standard="small_enterprise")
    assert "2 个单位汇总" in companies.org_name


def test_roll_up_refuses_to_mix_the_two_standards(textbook_and_random: County) -> None:
    with pytest.raises(ValidationError, match="never mixed") as raised:
        build(textbook_and_random, "balance-sheet", "heping", YEAR)
    assert raised.value.field == "standard"
    with pytest.raises(ValidationError):
        build(textbook_and_random, "balance-sheet", "dingzikou", YEAR, standard="small_enterprise")


def test_reports_apply_only_to_the_books_that_keep_them(textbook_and_random: County) -> None:
    with pytest.raises(ValidationError):
        build(textbook_and_random, "channel-sales", "dingzikou", Q1)
    with pytest.raises(ValidationError):
        build(textbook_and_random, "disclosure", "company", Q1)


def test_cash_journal_prints_a_balance_after_each_day(textbook_and_random: County) -> None:
    report = build(textbook_and_random, "cash-journal", "dingzikou", Q1)
    frame = report.tables[0].frame
    days = frame[frame["memo"] == "本日合计"]
    assert list(days["date"]) == ["2025-01-06", "2025-01-20", "2025-03-20"]
    assert [int(b) for b in days["balance"]] == [300_000, 255_000, 105_000]
    assert report.totals[0].fen == 105_000 and report.totals[0].label == "期末余额（借）"
    year_to_date = frame[frame["memo"] == "本年累计"].iloc[-1]
    assert (int(year_to_date["debit"]), int(year_to_date["credit"])) == (300_000, 195_000)


def test_ledger_detail_carries_the_year_to_date_from_before_the_period(textbook_and_random: County) -> None:
    report = build(
        textbook_and_random,
        "ledger-detail",
        "dingzikou",
        ReportPeriod("2025-04", "2025-04"),
        options={"account": "112"},
    )
    frame = report.tables[0].frame
    assert frame.iloc[0]["memo"] == "期初余额"
    assert int(frame.iloc[0]["balance"]) == 570_000 * 3 + 600_000
    ytd = frame[frame["memo"] == "本年累计"].iloc[-1]
    assert int(ytd["debit"]) == 570_000 * 4 + 600_000
    assert int(ytd["credit"]) == 4_000_000
    assert "112 应收款" in report.tables[0].caption


# --- PDFs read back -----------------------------------------------------------------------------------------


@sqlite_only
def test_income_distribution_pdf_reads_back_with_the_books_total_in_words(
    textbook_and_random: County,
) -> None:
    report = build(textbook_and_random, "income-statement", "dingzikou", YEAR)
    [page] = pdf_pages(render_pdf(report))
    text = flat(page)
    assert "收益及收益分配表" in text
    assert "编制单位：丁字口社区" in text and "2025年度" in text and "单位：元" in text
    assert f"本年收益（本年数）：{format_money(COMMUNITY_NET)}" in text
    assert f"人民币（大写）：{amount_in_words(COMMUNITY_NET)}" in text
    assert amount_in_words(COMMUNITY_NET) == "壹拾贰万伍仟伍佰元整"
    assert "编制人：" in text and "审核人：" in text and "负责人：" in text
    assert "第 1 页 / 共 1 页" in page
    assert re.search(r"校验：[0-9a-f]{16}·短码[0-9A-Z]{8}", text)


@sqlite_only
def test_company_statements_pdf_read_back(textbook_and_random: County) -> None:
    profit = build(textbook_and_random, "income-statement", "company", Q1)
    text = flat(pdf_pages(render_pdf(profit))[0])
    assert "利润表" in text and "会小企02表" in text
    assert f"净利润（本年累计金额）：{format_money(COMPANY_NET_Q1)}" in text
    assert f"人民币（大写）：{amount_in_words(COMPANY_NET_Q1)}" in text
    assert amount_in_words(COMPANY_NET_Q1) == "贰万柒仟捌佰捌拾元整"
    sheet = build(textbook_and_random, "balance-sheet", "company", Q1)
    total = sheet.totals[0].fen
    text = flat(pdf_pages(render_pdf(sheet))[0])
    assert "资产负债表" in text and "2025年3月31日" in text
    assert f"资产总计（期末余额）：{format_money(total)}" in text
    assert amount_in_words(total) in text


@sqlite_only
def test_trial_balance_pdf_is_landscape_and_totals_in_words(textbook_and_random: County) -> None:
    report = build(textbook_and_random, "trial-balance", "dingzikou", Q1)
    pdf = render_pdf(report)
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        page = document.pages[0]
        assert page.width > page.height
        text = "".join(flat(p.extract_text() or "") for p in document.pages)
    debit = report.totals[0].fen
    assert "科目余额表" in text and "期初余额" in text and "本期发生额" in text
    assert f"本期借方发生额合计：{format_money(debit)}" in text
    assert amount_in_words(debit) in text


@sqlite_only
def test_voucher_print_is_one_voucher_per_page_with_words_and_signature_lines(
    textbook_and_random: County,
) -> None:
    report = build(textbook_and_random, "vouchers", "dingzikou", ReportPeriod("2025-03", "2025-03"))
    pages = pdf_pages(render_pdf(report))
    assert len(pages) == len(report.tables) == 6
    for page, table in zip(pages, report.tables, strict=True):
        text = flat(page)
        total = int(table.frame["debit"].iloc[-1])
        assert "记账凭证" in text
        assert table.caption in text  # 记-2025-03-000n
        assert f"人民币（大写）：{amount_in_words(total)}" in text
        for role in ("制单：", "审核：", "记账：", "出纳："):
            assert role in text
    assert "壹拾万元整" in flat(pages[0])  # the ¥100,000.00 work-fund subsidy


@sqlite_only
def test_disclosure_pdf_shows_the_quarter_in_large_type_with_its_chart(textbook_and_random: County) -> None:
    report = build(textbook_and_random, "disclosure", "dingzikou", Q1)
    pdf = render_pdf(report)
    pages = pdf_pages(pdf)
    text = flat("".join(pages))
    income = 570_000 * 3 + 600_000 + 10_000_000
    assert "财务公开榜" in text and "2025年第1季度" in text
    assert f"本期收入合计：{format_money(income)}" in text
    assert amount_in_words(income) in text
    assert "村（居）务监督委员会" in text
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        sizes = [c["size"] for c in document.pages[0].chars if c["text"] == "租"]
        assert sizes and min(sizes) >= 12  # large type for the notice board
    assert "2025年各月收入与支出" in text  # the chart's caption; its figures are in table 四 too
    assert report.charts[0].svg.startswith("<svg")


@sqlite_only
def test_channel_sales_pdf_and_chart_agree_with_the_books(textbook_and_random: County) -> None:
    report = build(textbook_and_random, "channel-sales", "company", Q1)
    by_month = report.tables[0].frame
    assert int(by_month["total"].iloc[-1]) == COMPANY_REVENUE_Q1
    assert int(by_month["school"].iloc[-1]) == 800_000
    by_store = report.tables[1].frame
    assert int(by_store["total"].iloc[-1]) == COMPANY_REVENUE_Q1
    text = flat("".join(pdf_pages(render_pdf(report))))
    assert "六进渠道销售统计表" in text and "进校园" in text and "进安置点" in text
    assert f"销售收入合计：{format_money(COMPANY_REVENUE_Q1)}" in text
    assert amount_in_words(COMPANY_REVENUE_Q1) in text
    assert "门店零售" in report.charts[0].svg  # the legend names the channels


@sqlite_only
def test_english_report_by_lang(textbook_and_random: County) -> None:
    report = build(textbook_and_random, "income-statement", "dingzikou", YEAR, lang="en")
    text = pdf_pages(render_pdf(report))[0]
    assert "Statement of Income and Income Distribution" in text
    assert "Page 1 of 1" in text


# --- XLSX against JSON --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "org", "period"),
    [
        ("trial-balance", "dingzikou", YEAR),
        ("income-statement", "dingzikou", YEAR),
        ("balance-sheet", "company", Q1),
        ("cash-journal", "dingzikou", Q1),
        ("disclosure", "dingzikou", Q1),
        ("channel-sales", "company", Q1),
    ],
)
def test_xlsx_opens_with_pandas_and_its_totals_equal_the_json(
    textbook_and_random: County, name: str, org: str, period
) -> None:  # type: ignore[no-untyped-def]
    report = build(textbook_and_random, name, org, period)
    data = to_json(report)
    xlsx = io.BytesIO(render_xlsx(report))
    sheets = pd.read_excel(xlsx, sheet_name=None, header=3)
    assert len(sheets) == len(data["tables"])
    for (sheet_name, sheet), table in zip(sheets.items(), data["tables"], strict=True):
        amounts = [c for c in table["columns"] if c["kind"] == "amount"]
        rows = table["rows"]
        for column in amounts:
            in_json = [Decimal(r[column["key"]]) for r in rows if r[column["key"]] is not None]
            values = pd.to_numeric(sheet[column["header"]].iloc[: len(rows)], errors="coerce").dropna()
            in_xlsx = [Decimal(str(v)).quantize(Decimal("0.01")) for v in values]
            assert in_xlsx == in_json, (sheet_name, column["header"])
    for total in data["totals"]:
        assert total["in_words"] == amount_in_words(int(Decimal(total["amount"]) * 100))


def test_every_registered_report_builds_for_the_orgs_it_applies_to(textbook_and_random: County) -> None:
    for name, spec in REPORTS.items():
        for org, standard, bank in (
            ("dingzikou", "collective", "102"),
            ("company", "small_enterprise", "1002"),
        ):
            if standard not in spec.standards:
                continue
            options = {"account": bank} if name == "ledger-detail" else {}
            report = build(textbook_and_random, name, org, Q1, options=options)
            assert to_json(report)["title"]


# --- workflow reports, from the workflows' own registers ------------------------------------------------


@pytest.fixture
def workflows(county: County) -> County:
    post_community_workflows(county.engine, county.ids["huahuaqiao"])
    return county


def test_arrears_aging_agrees_with_the_rent_roll_and_the_books(workflows: County) -> None:
    from ledger.books.trial_balance import trial_balance
    from ledger.community.leases import rentroll

    report = build(workflows, "arrears", "huahuaqiao", ReportPeriod("2025-03", "2025-03"))
    frame = report.tables[0].frame
    with read_tx(workflows.engine) as conn:
        rows = rentroll.rent_roll(conn, [workflows.ids["huahuaqiao"]], datetime(2025, 3, 31).date())
        receivable = next(
            r.closing_fen
            for r in trial_balance(conn, workflows.ids["huahuaqiao"], "2025-03")
            if r.code == "112"
        )
    assert int(frame["open"].iloc[-1]) == sum(r.outstanding_fen for r in rows) == 3_000_000 - 800_000
    assert report.totals[0].fen == 2_200_000
    assert receivable == 2_200_000 + 300_000  # 112 also holds the brokerage fee on credit
    assert list(frame["code"][:-1]) == ["ZL-2024-01", "ZL-2024-02"]
    assert "逾期30天以内" in report.charts[0].svg


def test_welfare_funds_show_each_posts_stipends_paid_and_funding(workflows: County) -> None:
    report = build(workflows, "welfare-funds", "huahuaqiao", Q1)
    posts = report.tables[1].frame
    assert list(posts["post"][:-1]) == ["保洁员（赵六）", "护路员（钱七）"]
    assert [int(v) for v in posts["stipends"][:-1]] == [450_000, 360_000]
    assert [int(v) for v in posts["paid"][:-1]] == [450_000, 0]
    assert int(posts["funded"].iloc[-1]) == 0  # no distribution plan has earmarked anything yet
    assert report.period == "2025年第1季度" and report.totals[0].fen == 0  # January to the period asked


def test_brokerage_income_by_month_and_fees_to_collect(workflows: County) -> None:
    report = build(workflows, "brokerage", "huahuaqiao", Q1)
    by_month, deals = report.tables[0].frame, report.tables[1].frame
    assert report.totals[0].fen == int(by_month["income"].iloc[-1]) > 0
    assert list(deals["client"][:-1]) == ["示范村一合作社"]
    assert int(deals["outstanding"].iloc[-1]) == 300_000


@sqlite_only
def test_arrears_pdf_reads_back_with_total_in_words(workflows: County) -> None:
    report = build(workflows, "arrears", "huahuaqiao", ReportPeriod("2025-03", "2025-03"))
    text = flat("".join(pdf_pages(render_pdf(report))))
    assert "欠租账龄分析表" in text and "2025年3月31日" in text
    assert f"未收租金合计：{format_money(2_200_000)}" in text
    assert amount_in_words(2_200_000) == "贰万贰仟元整"
    assert "人民币（大写）：贰万贰仟元整" in text


def test_street_arrears_lists_every_collectives_contracts(workflows: County) -> None:
    post_community_workflows(workflows.engine, workflows.ids["dingzikou"])
    street = build(workflows, "arrears", "heping", ReportPeriod("2025-03", "2025-03"))
    frame = street.tables[0].frame
    assert list(frame["org"][:-1]) == ["丁字口社区", "丁字口社区", "花花桥社区", "花花桥社区"]
    assert street.totals[0].fen == 2 * 2_200_000
    assert "3 个单位汇总" in street.org_name  # village1 keeps collective books too
    with pytest.raises(ValidationError):
        build(workflows, "arrears", "heping", Q1, standard="small_enterprise")


# --- the distribution module's own close and plan, read back by the statements ------------------------------


def test_income_distribution_statement_reads_the_executed_plan(county: County) -> None:
    """丁字口社区's ¥80,000 year closed and distributed by ``ledger.distribution`` (as in
    test_distribution_collective): the statement shows the plan's amounts line by line, foots, and
    年末未分配收益 equals 32202's balance."""
    from ledger.distribution import execute as ex
    from ledger.distribution import welfare_funds
    from tests.factories.distribution import approved_plan, community_year

    community_year(county)
    plan_id = approved_plan(county)
    with write_tx(county.engine) as conn:
        ex.execute_plan(conn, plan_id)
        post = welfare.create_post(
            conn,
            county.ids["dingzikou"],
            welfare.NewPost(
                post="保洁员", holder="赵六", monthly_stipend_fen=150_000, start=date(2026, 1, 1)
            ),
        )
        welfare_funds.apply_earmark(
            conn,
            county.ids["dingzikou"],
            welfare_funds.EarmarkUse(
                kind="post", earmark_year=2025, amount_fen=300_000, on=date(2026, 1, 31), post_id=post
            ),
        )
    values = line_values(build(county, "income-statement", "dingzikou", YEAR), "本年数")
    assert values["net_income"] == 8_000_000
    assert values["reserve"] == 800_000
    assert values["welfare_posts_earmark"] == 1_600_000
    assert values["facilities_earmark"] == 500_000
    assert values["to_members"] == 2_805_000
    assert values["undistributed_end"] == 2_295_000  # = 32202 after the execution
    next_year = line_values(
        build(county, "income-statement", "dingzikou", ReportPeriod("2026-01", "2026-01")), "本年数"
    )
    assert next_year["opening_undistributed"] == 2_295_000
    assert (
        next_year["other_transfers_in"] == 300_000
    )  # the earmark applied to the post comes back as 其他转入
    funds = build(county, "welfare-funds", "dingzikou", ReportPeriod("2026-01", "2026-01"))
    earmarks = funds.tables[0].frame
    post_row = earmarks[earmarks["kind"] == "公益性岗位"].iloc[0]
    assert (int(post_row["earmarked"]), int(post_row["applied"]), int(post_row["remaining"])) == (
        1_600_000,
        300_000,
        1_300_000,
    )
    assert funds.totals[0].fen == 1_600_000 - 300_000 + 500_000
