"""Statements from balances: the formula language, the four statutory layouts, and books that do not foot.

The books are built from textbook entries (借 / 贷 / amount in fen) so that every expected figure can be
checked by hand against the entries above it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.books.errors import AccountingError, NotFound, ValidationError
from reports import statements
from reports.formula import FormulaError, parse_check, parse_formula
from reports.statements import (
    StatementDoesNotFoot,
    available_layouts,
    compute_statement,
    load_layout,
)
from tests.factories.books import balances_after


def values(frame, column: str) -> dict[str, int]:
    """{key: amount} of the numbered lines of a computed statement."""
    lines = frame[frame["line_no"].notna()]
    return {key: int(amount) for key, amount in zip(lines["key"], lines[column], strict=True)}


# A community (collective standard): capital, a building, leases, internal current accounts, a subsidy.
COMMUNITY = balances_after(
    ("102", "301", 50_000_000),  # members' capital 资本 ¥500,000
    ("151", "102", 20_000_000),  # a market building
    ("513", "152", 1_000_000),  # its depreciation, 管理费用
    ("112:lessee-a", "50102", 5_700_000),  # lease accrued 经营收入—租赁收入
    ("112:lessee-a", "214", 300_000),  # and the 5% tax on it
    ("102", "112:lessee-a", 4_000_000),  # rent received
    ("102", "112:lessee-b", 1_200_000),  # rent received in advance: lessee b's 112 is a credit
    ("113:street-office", "102", 800_000),  # lent to the street office 内部往来 (debit)
    ("102", "113:company", 500_000),  # borrowed from the joint company 内部往来 (credit)
    ("132", "102", 3_000_000),  # fruit trees
    ("511", "133", 200_000),  # their depreciation
    ("161", "102", 1_000_000),  # land-use right
    ("513", "162", 100_000),  # its amortisation
    ("102", "503", 10_000_000),  # work-fund subsidy 补助收入
    ("51401", "212", 1_800_000),  # public-welfare post stipends 公益支出—公益性岗位
    ("141", "102", 5_000_000),  # stake in the joint company 长期投资
)

# The joint company (small-enterprise standard): capital, goods, POS sales, a customer's prepayment.
COMPANY = balances_after(
    ("1002", "3001", 100_000_000),  # paid-in capital 实收资本 ¥1,000,000
    ("1405", "2202:village-1", 30_000_000),  # goods bought on credit from a village
    ("2202:village-1", "1002", 20_000_000),  # paid part of it
    ("2202:supplier-2", "1002", 1_000_000),  # paid a supplier in advance: a debit in 2202
    ("1001", "5001", 2_000_000),  # cash sales
    ("1012", "5001", 15_000_000),  # WeChat / Alipay sales
    ("1122:school", "5001", 8_000_000),  # school canteen buys on credit 挂账
    ("1012", "2221", 150_000),  # VAT collected
    ("1002", "1122:agency", 500_000),  # an agency canteen pays in advance: a credit in 1122
    ("5401", "1405", 18_000_000),  # cost of goods sold
    ("1405", "1407", 1_000_000),  # retail-price method: markup 商品进销差价 (contra to 1405)
    ("1601", "1002", 6_000_000),  # shelving and tills
    ("5602", "1602", 500_000),  # their depreciation
    ("5603", "1012", 30_000),  # payment fees 财务费用—手续费
)


# --- the formula language -----------------------------------------------------------------------------


class Books:
    """A formula context over fixed values, to test the language apart from any layout."""

    def __init__(self) -> None:
        self.accounts = {("acct", "101"): 100, ("acct", "102"): 900, ("acct_debit", "113"): 40}
        self.lines = {1: 10, 2: 20, 3: 30, 5: 50}
        self.inputs = {"reserve": 7}

    def account(self, function: str, code: str) -> int:
        return self.accounts[(function, code)]

    def line(self, line_no: int) -> int:
        return self.lines[line_no]

    def input(self, name: str) -> int:
        return self.inputs.get(name, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acct(101)+acct(102)", 1000),
        ("acct(102) - acct(101)", 800),
        ("acct_debit(113)", 40),
        ("sum_lines(1..3)+line(5)", 110),
        ("line(5) - (line(1) + line(2))", 20),
        ("-line(1) + 15", 5),
        ("input(reserve) + input(not_given)", 7),
        ("0", 0),
    ],
)
def test_formula_evaluates_sums_of_accounts_lines_and_inputs(text: str, expected: int) -> None:
    assert parse_formula(text).evaluate(Books()) == expected


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('id')",
        "eval(1)",
        "acct(101).__class__",
        "acct(101) * 2",
        "acct('101')",
        "acct(101); line(1)",
        "line(1) + ",
        "",
        "line(1) line(2)",
        "sum_lines(9..1)",
        "lambda: 1",
        "line(1) == line(2)",
        "acct(101)\nimport os",
        "line(" + "1" * 3000 + ")",
    ],
)
def test_formula_refuses_anything_outside_the_language(text: str) -> None:
    with pytest.raises(FormulaError):
        parse_formula(text)


def test_unknown_function_is_named_in_the_error() -> None:
    with pytest.raises(FormulaError, match="unknown function '__import__'"):
        parse_formula("__import__(os)")


@pytest.mark.parametrize(
    ("text", "holds"),
    [("line(1) + line(2) == line(3)", True), ("line(1) >= line(2)", False), ("line(1) <= line(2)", True)],
)
def test_check_compares_two_sums(text: str, holds: bool) -> None:
    check = parse_check(text)
    assert check.holds(check.left.evaluate(Books()), check.right.evaluate(Books())) is holds


def test_check_needs_a_comparison() -> None:
    with pytest.raises(FormulaError, match="expected ==, <= or >="):
        parse_check("line(1) + line(2)")


# --- the layouts --------------------------------------------------------------------------------------


def test_the_four_statutory_layouts_load_and_validate() -> None:
    assert available_layouts() == (
        "collective_balance_sheet",
        "collective_income_distribution",
        "small_enterprise_balance_sheet",
        "small_enterprise_income_statement",
    )
    assert [
        line.line_no for line in load_layout("small_enterprise_balance_sheet").lines if line.line_no
    ] == list(range(1, 54))
    assert [line.line_no for line in load_layout("small_enterprise_income_statement").lines] == list(
        range(1, 33)
    )


@pytest.mark.parametrize("name", ["no_such_statement", "../../etc/passwd", "Collective_Balance_Sheet"])
def test_unknown_layout_is_not_found(name: str) -> None:
    with pytest.raises(NotFound):
        load_layout(name)


@pytest.fixture
def layouts_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A writable copy of the layouts, for breaking one on purpose."""
    for path in statements.LAYOUTS_DIR.iterdir():
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.setattr(statements, "LAYOUTS_DIR", tmp_path)
    load_layout.cache_clear()
    yield tmp_path
    load_layout.cache_clear()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("acct(101)+acct(102)", "acct(101)+acct(109)", r"acct\(109\) is not in the chart"),
        ("acct(101)+acct(102)", "acct(101)+input(bonus)", "input 'bonus' is not declared"),
        ("acct(101)+acct(102)", "acct(101)+line(99)", r"no line \[99\]"),
        ("acct(101)+acct(102)", "line(17)", "in a circle"),
        ("acct(101)+acct(102)", "os.system(1)", "unexpected character"),
    ],
)
def test_a_broken_layout_is_refused_when_loaded(layouts_dir: Path, old: str, new: str, message: str) -> None:
    _edit(layouts_dir / "collective_balance_sheet.csv", old, new)
    with pytest.raises(FormulaError, match=message):
        load_layout("collective_balance_sheet")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[of_which.interest_expense]", "[of_which.interest]", "not an input declared"),
        ('account = "5603"', 'account = "560301"', "a first-level account"),
        ('words = ["利息", "结息"]', "words = []", "non-empty words"),
    ],
)
def test_an_of_which_source_must_name_an_input_a_first_level_account_and_words(
    layouts_dir: Path, old: str, new: str, message: str
) -> None:
    _edit(layouts_dir / "small_enterprise_income_statement.toml", old, new)
    with pytest.raises(FormulaError, match=message):
        load_layout("small_enterprise_income_statement")


def test_every_of_which_line_of_the_profit_statement_has_a_source_in_the_books() -> None:
    layout = load_layout("small_enterprise_income_statement")
    assert set(layout.of_which) == set(layout.inputs)
    assert layout.of_which["interest_expense"].account == "5603"
    assert layout.of_which["government_grants"].account == "5301"


# --- collective 资产负债表 -------------------------------------------------------------------------------


def test_collective_balance_sheet_foots_and_shows_each_line_as_printed() -> None:
    opening = balances_after(("102", "301", 50_000_000))
    frame = compute_statement("collective_balance_sheet", columns={"年初数": opening, "期末数": COMMUNITY})
    closing = values(frame, "期末数")
    assert closing["monetary_funds"] == 35_900_000
    # Lessee b's prepaid rent (112 credit) is a liability, not netted against lessee a's arrears (issue 16);
    # 113 both ways.
    assert closing["receivables"] == 2_000_000 + 800_000
    assert closing["payables"] == 500_000 + 1_200_000  # the credit sides of 113 and 112
    assert closing["productive_biological_assets"] == 3_000_000 - 200_000
    assert closing["fixed_assets_cost"] == 20_000_000
    assert closing["accumulated_depreciation"] == 1_000_000  # contra account shown positive
    assert closing["fixed_assets_net"] == 19_000_000
    assert closing["intangible_assets"] == 900_000
    assert closing["total_assets"] == 65_200_000 + 1_200_000
    assert closing["total_liabilities"] == 500_000 + 1_200_000 + 1_800_000 + 300_000
    # Income not yet closed into 321/322 still belongs to the members: 15,700,000 − 3,100,000.
    assert closing["undistributed_income"] == 12_600_000
    assert closing["total_liabilities_and_equity"] == 65_200_000 + 1_200_000
    assert values(frame, "年初数")["total_assets"] == 50_000_000


def test_a_balance_sheet_computed_from_one_mapping_fills_the_current_column() -> None:
    frame = compute_statement("collective_balance_sheet", COMMUNITY)
    assert list(frame.columns) == ["line_no", "key", "label", "indent", "style", "section", "期末数"]
    assert str(frame["期末数"].dtype) == "Int64"
    heading = frame[frame["key"] == "liabilities_heading"].iloc[0]
    assert heading["style"] == "heading"
    assert heading["line_no"] is heading["期末数"]  # both <NA>


def test_internal_accounts_113_split_by_sign_per_counterparty_but_net_when_aggregated() -> None:
    per_counterparty = values(compute_statement("collective_balance_sheet", COMMUNITY), "期末数")
    # 112 splits too: lessee a's arrears 2,000,000 and 113's debit 800,000 are receivables; lessee b's
    # prepaid 1,200,000 and 113's credit 500,000 are payables.
    assert (per_counterparty["receivables"], per_counterparty["payables"]) == (2_800_000, 1_700_000)

    aggregated = {key: amount for key, amount in COMMUNITY.items() if not key.startswith(("113:", "112:"))}
    aggregated["113"] = 800_000 - 500_000
    aggregated["112"] = 2_000_000 - 1_200_000
    netted = values(compute_statement("collective_balance_sheet", aggregated), "期末数")
    assert (netted["receivables"], netted["payables"]) == (1_100_000, 0)
    assert netted["total_assets"] == netted["total_liabilities_and_equity"] == 64_700_000


def test_a_balance_sheet_that_does_not_foot_names_the_check_and_both_amounts() -> None:
    lopsided = {**COMMUNITY, "101": 12_345}  # a cash count never posted against anything
    with pytest.raises(StatementDoesNotFoot) as raised:
        compute_statement("collective_balance_sheet", columns={"年初数": {}, "期末数": lopsided})
    error = raised.value
    assert isinstance(error, AccountingError)
    assert error.code == "statement_does_not_foot"
    [failure] = error.failures
    assert failure.rule == "line(17) == line(31)"
    assert failure.column == "期末数"
    assert (failure.left_fen, failure.right_fen) == (66_412_345, 66_400_000)
    assert "资产总计 = 负债和所有者权益总计" in error.message
    assert "664123.45 vs 664000.00" in error.message


# --- collective 收益及收益分配表 -----------------------------------------------------------------------


def test_collective_income_and_distribution_follow_art_28_order() -> None:
    distribution = {
        "opening_undistributed": 1_000_000,
        "reserve": 1_260_000,  # 10% of 本年收益 to 公积公益金
        "welfare_posts_earmark": 500_000,
        "facilities_earmark": 300_000,
        "to_members": 6_000_000,
    }
    frame = compute_statement(
        "collective_income_distribution",
        columns={"本年数": COMMUNITY, "上年数": {}},
        column_inputs={"本年数": distribution},
    )
    this_year = values(frame, "本年数")
    assert this_year["operating_revenue"] == 5_700_000  # 50102 counts under 501
    assert this_year["administrative_expenses"] == 1_100_000
    assert this_year["operating_income"] == 5_700_000 - 200_000 - 1_100_000
    assert this_year["total_income"] == 4_400_000 + 10_000_000 - 1_800_000
    assert this_year["net_income"] == 12_600_000  # printed once: the distribution part starts from it
    assert "distribution_net_income" not in this_year
    assert this_year["distributable_income"] == 13_600_000
    # 提取公积公益金 is the whole appropriation; 公积金, 公益性岗位 and 公益设施 are its 其中 parts.
    assert this_year["reserve_and_welfare_fund"] == 1_260_000 + 500_000 + 300_000
    assert (this_year["reserve"], this_year["welfare_posts_earmark"], this_year["facilities_earmark"]) == (
        1_260_000,
        500_000,
        300_000,
    )
    labels = dict(zip(frame["key"], frame["label"], strict=True))
    assert labels["reserve"].startswith("其中：")
    assert this_year["undistributed_end"] == 13_600_000 - 1_260_000 - 500_000 - 300_000 - 6_000_000
    assert set(values(frame, "上年数").values()) == {0}


def test_inputs_are_declared_by_the_layout() -> None:
    with pytest.raises(ValidationError, match="takes no input 'bonus'"):
        compute_statement("collective_income_distribution", COMMUNITY, inputs={"bonus": 1})


# --- 会小企01表 ---------------------------------------------------------------------------------------


def test_small_enterprise_balance_sheet_foots_with_the_statutory_reclassifications() -> None:
    frame = compute_statement(
        "small_enterprise_balance_sheet",
        columns={"期末余额": COMPANY, "年初余额": balances_after(("1002", "3001", 1))},
    )
    closing = values(frame, "期末余额")
    assert closing["monetary_funds"] == 2_000_000 + 73_500_000 + 15_120_000
    assert closing["accounts_receivable"] == 8_000_000  # the school's debit only
    assert closing["advances_from_customers"] == 500_000  # the agency's credit in 1122
    assert closing["prepayments"] == 1_000_000  # the supplier's debit in 2202
    assert closing["accounts_payable"] == 10_000_000  # the village's credit in 2202
    assert (
        closing["inventories"] == closing["finished_goods"] == 30_000_000 - 18_000_000 + 1_000_000 - 1_000_000
    )
    assert closing["total_current_assets"] == 111_620_000
    assert closing["fixed_assets_carrying_amount"] == 5_500_000
    assert closing["total_assets"] == closing["total_liabilities_and_equity"] == 117_120_000
    assert closing["undistributed_profit"] == 25_000_000 - 18_000_000 - 500_000 - 30_000
    assert values(frame, "年初余额")["total_assets"] == 1


def test_sub_accounts_count_under_their_parent() -> None:
    with_subaccounts = dict(COMPANY)
    with_subaccounts["100201"] = with_subaccounts.pop("1002") - 100
    with_subaccounts["100202"] = 100
    frame = compute_statement("small_enterprise_balance_sheet", with_subaccounts)
    assert values(frame, "期末余额")["monetary_funds"] == 90_620_000


@pytest.mark.parametrize(
    ("balances", "message"),
    [
        ({"9999": 1, "1001": -1}, "'9999' is not an account of the small_enterprise chart"),
        ({"100": 1}, "'100' is not an account"),
        ({"1002": 100, "100201": -100}, "'1002' and '100201' both given"),
        ({"1122": 100, "1122:school": -100}, "'1122' and '1122:school' both given"),
    ],
)
def test_balances_must_be_accounts_of_the_chart_counted_once(balances: dict[str, int], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        compute_statement("small_enterprise_balance_sheet", balances)


def test_amounts_are_integer_fen() -> None:
    with pytest.raises(TypeError, match="int fen"):
        compute_statement("small_enterprise_balance_sheet", {"1001": 12.3, "3001": -12.3})  # type: ignore[dict-item]


# --- 会小企02表 ---------------------------------------------------------------------------------------


def test_small_enterprise_income_statement_year_to_date_and_month() -> None:
    march = balances_after(("1012", "5001", 4_000_000), ("5401", "1405", 2_900_000), ("5603", "1012", 8_000))
    frame = compute_statement(
        "small_enterprise_income_statement",
        columns={"本年累计金额": COMPANY, "本月金额": march},
        column_inputs={"本年累计金额": {"interest_expense": 0, "entertainment_expenses": 120_000}},
    )
    year = values(frame, "本年累计金额")
    assert year["revenue"] == 25_000_000
    assert year["cost_of_sales"] == 18_000_000
    assert year["administrative_expenses"] == 500_000
    assert year["entertainment_expenses"] == 120_000
    assert year["finance_costs"] == 30_000
    assert year["operating_profit"] == year["total_profit"] == year["net_profit"] == 6_470_000
    month = values(frame, "本月金额")
    assert month["net_profit"] == 4_000_000 - 2_900_000 - 8_000
    assert month["entertainment_expenses"] == 0


def test_income_statement_check_catches_an_expense_account_left_off_the_layout(layouts_dir: Path) -> None:
    _edit(layouts_dir / "small_enterprise_income_statement.csv", "acct(5401)+acct(5402)", "acct(5401)")
    with pytest.raises(StatementDoesNotFoot) as raised:
        compute_statement("small_enterprise_income_statement", {"5001": -1_000, "5402": 300})
    [failure] = raised.value.failures
    assert failure.rule == "line(32) == -bal(5)"
    assert (failure.left_fen, failure.right_fen) == (1_000, 700)


def test_english_labels_come_from_the_layout() -> None:
    frame = compute_statement("small_enterprise_income_statement", {}, lang="en")
    assert "Year to date" in frame.columns
    assert frame.loc[frame["key"] == "net_profit", "label"].item() == "IV. Net profit (loss negative)"
