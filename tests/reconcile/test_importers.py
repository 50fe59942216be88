"""Statement importers: every format and encoding as the exporters write it, and every way a file goes bad."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.books.errors import ValidationError
from ledger.reconcile.importers import (
    KINDS,
    SOURCES,
    ParsedStatement,
    StatementLine,
    StatementParseError,
    detect_source,
    parse_statement,
)
from ledger.reconcile.importers import bank as im_bank
from ledger.reconcile.importers import body as im_body
from ledger.reconcile.importers import cells as im_cells
from ledger.reconcile.importers import drafts as im_drafts
from ledger.reconcile.importers import header as im_header
from ledger.reconcile.importers import layouts as im_layouts
from ledger.reconcile.importers import reading as im_reading
from ledger.reconcile.importers import records as im_records
from tests.factories.statement_files import (
    BANK_LAYOUTS,
    sample_alipay_account_rows,
    sample_bank_txns,
    sample_orders,
    sample_wechat_fund_rows,
    write_alipay_account,
    write_alipay_detail,
    write_bank_csv,
    write_bank_xlsx,
    write_wechat_fund_bill,
    write_wechat_trade_bill,
)


def replace_in_file(path: Path, old: str, new: str, encoding: str, count: int = 1) -> None:
    data = path.read_bytes()
    old_bytes, new_bytes = old.encode(encoding), new.encode(encoding)
    assert old_bytes in data, old
    path.write_bytes(data.replace(old_bytes, new_bytes, count))


def drop_lines(path: Path, encoding: str, predicate) -> None:
    text = path.read_bytes().decode(encoding)
    lines = text.split("\r\n")
    path.write_bytes("\r\n".join(line for line in lines if not predicate(line)).encode(encoding))


def parse_error(path: Path, **kwargs) -> StatementParseError:
    with pytest.raises(StatementParseError) as caught:
        parse_statement(path, **kwargs)
    return caught.value


def assert_well_formed(parsed: ParsedStatement) -> None:
    keys = [line.key for line in parsed.lines]
    assert len(set(keys)) == len(keys), "two lines share a key"
    for line in parsed.lines:
        assert isinstance(line, StatementLine)
        assert line.source == parsed.source
        assert line.kind in KINDS
        assert len(line.key) == 64 and int(line.key, 16) >= 0
        assert line.occurred_at.tzinfo is None


# --------------------------------------------------------------------------------------------------------
# WeChat Pay


def test_wechat_trade_bill_sales_are_money_in_and_refunds_money_out(tmp_path: Path) -> None:
    path = write_wechat_trade_bill(tmp_path / "微信交易账单.csv", sample_orders(range(1, 5)))

    parsed = parse_statement(path)

    assert parsed.source == "wechat_trade"
    assert parsed.encoding == "utf-8-sig"
    assert_well_formed(parsed)
    assert len(parsed.lines) == 9  # two sales a day for four days, one refund on day 4
    first = parsed.lines[0]
    assert first.line_no == 2
    assert first.occurred_at == datetime(2024, 3, 1, 9, 1, 15)
    assert (first.amount_fen, first.fee_fen, first.kind) == (1037, 6, "sale")  # 10.37 × 0.6% = 0.06222
    assert first.reference == "42000021202403010001"  # backtick stripped
    assert first.merchant_ref == "POS0301-001"
    assert first.memo == "蔬菜礼盒"
    assert first.balance_fen is None
    egg = parsed.lines[1]
    assert (egg.amount_fen, egg.fee_fen) == (990, 6)  # fee 0.05940 rounds half-up to 6 fen
    refund = parsed.lines[-1]
    assert refund.kind == "refund"
    assert refund.amount_fen == -1148  # 11.48 refunded
    assert refund.fee_fen == -7  # fee given back: -0.06888
    assert refund.reference == parsed.lines[6].reference  # a refund repeats the order numbers
    assert "50300202403040001" in refund.memo
    assert parsed.summary == {
        "row_count": 9,
        "settled_total_fen": sum(line.amount_fen for line in parsed.lines if line.kind == "sale"),
        "refund_total_fen": 1148,
        "fee_total_fen": 43,  # 0.43092 printed
    }


def test_wechat_trade_bill_old_24_column_layout_maps_by_name(tmp_path: Path) -> None:
    path = write_wechat_trade_bill(tmp_path / "old.csv", sample_orders(range(1, 5)), old_layout=True)

    parsed = parse_statement(path)

    assert parsed.source == "wechat_trade"
    assert [line.amount_fen for line in parsed.lines][:2] == [1037, 990]
    assert parsed.lines[-1].amount_fen == -1148
    assert parsed.summary["row_count"] == 9


def test_wechat_fund_bill_signs_from_income_expense_and_fee_rows(tmp_path: Path) -> None:
    path = write_wechat_fund_bill(tmp_path / "资金账单.csv", sample_wechat_fund_rows(range(1, 5)))

    parsed = parse_statement(path)

    assert parsed.source == "wechat_fund"
    assert_well_formed(parsed)
    sale, fee = parsed.lines[0], parsed.lines[1]
    assert (sale.kind, sale.amount_fen, sale.fee_fen, sale.balance_fen) == ("sale", 1037, 0, 51037)
    assert (fee.kind, fee.amount_fen, fee.fee_fen, fee.balance_fen) == ("fee", -6, 0, 51031)
    assert fee.reference != sale.reference  # 资金流水单号, one per movement
    assert [line.kind for line in parsed.lines if line.kind in ("refund", "settlement")] == [
        "refund",
        "settlement",  # 提现 on Monday the 4th
    ]
    assert next(line for line in parsed.lines if line.kind == "refund").amount_fen == -1148
    income = [line.amount_fen for line in parsed.lines if line.amount_fen > 0]
    assert parsed.summary["income_count"] == len(income) == 8
    assert parsed.summary["income_total_fen"] == sum(income)
    assert parsed.summary["row_count"] == len(parsed.lines)


def test_wechat_fund_bill_withdrawal_is_a_settlement(tmp_path: Path) -> None:
    parsed = parse_statement(write_wechat_fund_bill(tmp_path / "f.csv", sample_wechat_fund_rows([4])))

    withdrawal = parsed.lines[-1]  # 2024-03-04 is a Monday
    assert (withdrawal.kind, withdrawal.amount_fen) == ("settlement", -30000)


# --------------------------------------------------------------------------------------------------------
# Alipay


def test_alipay_detail_gbk_with_hash_lines_trailing_tabs_and_full_width_parentheses(tmp_path: Path) -> None:
    path = write_alipay_detail(tmp_path / "业务明细.csv", sample_orders(range(1, 5)))

    parsed = parse_statement(path)

    assert parsed.source == "alipay_detail"
    assert parsed.encoding == "gb18030"
    assert_well_formed(parsed)
    first = parsed.lines[0]
    assert first.line_no == 6  # four `#` lines, then the header
    assert first.reference == "2024202403010001"  # trailing tab stripped
    assert first.merchant_ref == "POS0301-001"
    assert first.occurred_at == datetime(2024, 3, 1, 9, 1, 15)  # 完成时间, not 创建时间
    assert (first.kind, first.amount_fen, first.fee_fen) == ("sale", 1037, 6)
    assert first.memo == "蔬菜礼盒 · 村社联营超市（城关店）"
    refund = parsed.lines[-1]
    assert (refund.kind, refund.amount_fen, refund.fee_fen) == ("refund", -1148, -7)
    assert parsed.summary == {
        "sale_count": 8,
        "sale_total_fen": sum(line.amount_fen for line in parsed.lines if line.kind == "sale"),
        "refund_count": 1,
        "refund_total_fen": 1148,  # printed -11.48; totals are magnitudes
    }


def test_alipay_detail_fee_is_what_the_merchant_paid_whatever_its_printed_sign(tmp_path: Path) -> None:
    path = write_alipay_detail(tmp_path / "a.csv", sample_orders([1]))
    replace_in_file(path, ",0.06,0.00,", ",-0.06,0.00,", "gbk")

    assert parse_statement(path).lines[0].fee_fen == 6


def test_alipay_account_gbk_income_expense_balance_and_fee_rows(tmp_path: Path) -> None:
    path = write_alipay_account(tmp_path / "账务明细.csv", sample_alipay_account_rows(range(1, 5)))

    parsed = parse_statement(path)

    assert parsed.source == "alipay_account"
    assert_well_formed(parsed)
    sale, fee = parsed.lines[:2]
    assert (sale.kind, sale.amount_fen, sale.balance_fen) == ("sale", 1037, 101037)
    assert (fee.kind, fee.amount_fen, fee.fee_fen, fee.balance_fen) == ("fee", -6, 0, 101031)
    assert sale.merchant_ref == fee.merchant_ref == "POS0301-001"
    kinds = [line.kind for line in parsed.lines]
    assert kinds.count("refund") == 1
    refund_at = kinds.index("refund")
    assert parsed.lines[refund_at].amount_fen == -1148
    assert (parsed.lines[refund_at + 1].kind, parsed.lines[refund_at + 1].amount_fen) == ("fee", 7)
    assert parsed.summary["expense_count"] == sum(1 for line in parsed.lines if line.amount_fen < 0)
    assert parsed.summary["income_total_fen"] == sum(
        line.amount_fen for line in parsed.lines if line.amount_fen > 0
    )


# --------------------------------------------------------------------------------------------------------
# Banks


@pytest.mark.parametrize(
    ("encoding", "expected"), [("gbk", "gb18030"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16")]
)
def test_bank_csv_in_each_encoding(tmp_path: Path, encoding: str, expected: str) -> None:
    path = write_bank_csv(tmp_path / "流水.csv", encoding=encoding)

    parsed = parse_statement(path)

    assert (parsed.source, parsed.encoding) == ("bank", expected)
    assert_well_formed(parsed)
    txns = sample_bank_txns(range(1, 11))
    assert [line.amount_fen for line in parsed.lines] == [int(t.amount * 100) for t in txns]
    assert [line.balance_fen for line in parsed.lines] == [int(t.balance * 100) for t in txns]
    settlement = parsed.lines[0]
    assert settlement.occurred_at == datetime(2024, 3, 1, 10, 5, 33)
    assert (settlement.kind, settlement.fee_fen) == ("settlement", 0)
    assert settlement.counterparty == "财付通支付科技有限公司"
    assert settlement.counterparty_account == "243300133"
    assert settlement.reference == "4305016361080000012-010000771005"
    assert settlement.memo == "微信结算款"


@pytest.mark.parametrize("layout", BANK_LAYOUTS)
def test_bank_layouts_give_the_same_signed_amounts(tmp_path: Path, layout: str) -> None:
    txns = sample_bank_txns(range(1, 11))
    path = write_bank_csv(tmp_path / f"{layout}.csv", txns, layout=layout)

    parsed = parse_statement(path)

    assert parsed.source == "bank"
    assert_well_formed(parsed)
    assert [line.amount_fen for line in parsed.lines] == [int(t.amount * 100) for t in txns]
    assert [line.occurred_at for line in parsed.lines] == [t.when for t in txns]
    assert [line.balance_fen for line in parsed.lines] == [int(t.balance * 100) for t in txns]
    supplier = next(line for line in parsed.lines if line.amount_fen < -100_000)
    assert supplier.amount_fen == -1234867  # "-12,348.67": thousands separator
    assert supplier.kind == "transfer"
    assert {line.kind for line in parsed.lines if line.memo == "汇划手续费"} == {"fee"}


def test_bank_amounts_without_thousands_separators(tmp_path: Path) -> None:
    path = write_bank_csv(tmp_path / "b.csv", layout="signed", encoding="utf-8-sig", thousands=False)

    assert parse_statement(path).lines[0].amount_fen == 201101


def test_bomless_utf16_is_recognised(tmp_path: Path) -> None:
    path = write_bank_csv(tmp_path / "b.csv", layout="signed", encoding="utf-16-le")

    parsed = parse_statement(path)

    assert parsed.encoding == "utf-16-le"
    assert parsed.lines[0].amount_fen == 201101


def test_header_repeated_on_each_printed_page_is_skipped(tmp_path: Path) -> None:
    text = (
        "交易日期,交易金额,余额,摘要\n2024-03-01,+5.00,5.00,存入\n"
        "交易日期,交易金额,余额,摘要\n2024-03-02,-1.00,4.00,取现\n本页合计,4.00\n"
    )
    path = tmp_path / "pages.csv"
    path.write_text(text, encoding="gbk")

    assert [line.amount_fen for line in parse_statement(path).lines] == [500, -100]


def test_wechat_bill_of_a_day_without_sales(tmp_path: Path) -> None:
    parsed = parse_statement(write_wechat_trade_bill(tmp_path / "w.csv", []))

    assert parsed.lines == []
    assert parsed.summary["row_count"] == 0


def test_ccb_personal_utf16_tab_separated_joins_date_and_time_columns(tmp_path: Path) -> None:
    path = write_bank_csv(tmp_path / "ccb.xls", layout="ccb_personal", encoding="utf-16", delimiter="\t")

    parsed = parse_statement(path)

    assert parsed.encoding == "utf-16"
    assert parsed.lines[0].occurred_at == datetime(2024, 3, 1, 10, 5, 33)
    assert parsed.lines[0].line_no == 5  # three 开户机构/币种/账号 rows, then the header
    assert len(parsed.lines) == len(sample_bank_txns(range(1, 11)))  # footer 以上数据仅供参考 skipped


def test_ccb_xlsx_with_title_rows_number_cells_and_summary_rows(tmp_path: Path) -> None:
    txns = sample_bank_txns(range(1, 11))
    path = write_bank_xlsx(tmp_path / "ccb.xlsx", txns)

    parsed = parse_statement(path)

    assert (parsed.source, parsed.encoding) == ("bank", "xlsx")
    assert_well_formed(parsed)
    assert parsed.lines[0].line_no == 4  # two title rows, then the header
    assert [line.amount_fen for line in parsed.lines] == [int(t.amount * 100) for t in txns]
    assert [line.balance_fen for line in parsed.lines] == [int(t.balance * 100) for t in txns]
    assert parsed.lines[0].occurred_at == datetime(2024, 3, 1, 10, 5, 33)


def test_abc_layout_two_identical_payments_in_one_minute_are_two_lines(tmp_path: Path) -> None:
    path = write_bank_csv(tmp_path / "abc.csv", layout="abc_corporate")

    parsed = parse_statement(path)

    twins = [line for line in parsed.lines if line.memo == "劳务费"]
    assert len(twins) == 2
    assert twins[0].reference == twins[1].reference == ""  # ABC prints no serial
    assert twins[0].key != twins[1].key


def test_identical_rows_without_serial_or_balance_get_distinct_but_stable_keys(tmp_path: Path) -> None:
    text = "交易日期,交易金额,摘要\r\n2024-03-06 16:45,-200.00,劳务费\r\n2024-03-06 16:45,-200.00,劳务费\r\n"
    path = tmp_path / "twins.csv"
    path.write_bytes(text.encode("gbk"))

    first, second = parse_statement(path), parse_statement(path)

    assert first.lines[0].key != first.lines[1].key
    assert [line.key for line in first.lines] == [line.key for line in second.lines]


def test_bank_amount_and_debit_credit_flag_values(tmp_path: Path) -> None:
    text = (
        "记账日期,借贷标志,发生额,摘要\n"
        '20240301,D,"1,000.00",取现\n'
        "20240302,C,500.00,存入\n"
        "2024年03月03日,贷,0.50,利息\n"
    )
    path = tmp_path / "flag.csv"
    path.write_text(text, encoding="utf-8")

    parsed = parse_statement(path)

    assert [(line.occurred_at, line.amount_fen) for line in parsed.lines] == [
        (datetime(2024, 3, 1), -100000),
        (datetime(2024, 3, 2), 50000),
        (datetime(2024, 3, 3), 50),
    ]
    assert parsed.encoding == "utf-8"


def test_excel_formula_text_and_slash_mean_plain_text_and_empty(tmp_path: Path) -> None:
    text = '交易时间,收入,支出,余额,对方账号,摘要\n="20240301 093000",/,12.00,88.00,="6222000011112222",/\n'
    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8-sig")

    (line,) = parse_statement(path).lines

    assert (line.occurred_at, line.amount_fen, line.balance_fen) == (datetime(2024, 3, 1, 9, 30), -1200, 8800)
    assert (line.counterparty_account, line.memo) == ("6222000011112222", "")


# --------------------------------------------------------------------------------------------------------
# Detection and keys


@pytest.mark.parametrize(
    ("write", "source"),
    [
        (lambda p: write_wechat_trade_bill(p), "wechat_trade"),
        (lambda p: write_wechat_trade_bill(p, old_layout=True), "wechat_trade"),
        (lambda p: write_wechat_fund_bill(p), "wechat_fund"),
        (lambda p: write_alipay_detail(p), "alipay_detail"),
        (lambda p: write_alipay_account(p), "alipay_account"),
        (lambda p: write_bank_csv(p), "bank"),
        (lambda p: write_bank_csv(p, layout="ccb_personal", encoding="utf-16", delimiter="\t"), "bank"),
        (lambda p: write_bank_xlsx(p.with_suffix(".xlsx")), "bank"),
    ],
)
def test_detect_source_by_header(tmp_path: Path, write, source: str) -> None:
    path = write(tmp_path / "statement.csv")

    assert detect_source(path) == source
    assert parse_statement(path).source == source


def test_detect_source_refuses_a_file_that_is_no_statement(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("姓名,电话\n张三,13800000000\n", encoding="utf-8")

    with pytest.raises(StatementParseError, match="cannot tell which statement"):
        detect_source(path)


def test_keys_are_stable_across_re_parsing(tmp_path: Path) -> None:
    path = write_wechat_trade_bill(tmp_path / "w.csv")

    assert [line.key for line in parse_statement(path).lines] == [
        line.key for line in parse_statement(path).lines
    ]


def _overlap(first: ParsedStatement, second: ParsedStatement) -> tuple[set[str], set[str]]:
    def in_overlap(parsed: ParsedStatement) -> set[str]:
        return {line.key for line in parsed.lines if 5 <= line.occurred_at.day <= 10}

    return in_overlap(first), in_overlap(second)


@pytest.mark.parametrize(
    "write",
    [
        lambda path, days: write_wechat_trade_bill(path, sample_orders(days)),
        lambda path, days: write_wechat_fund_bill(path, sample_wechat_fund_rows(days)),
        lambda path, days: write_alipay_detail(path, sample_orders(days)),
        lambda path, days: write_alipay_account(path, sample_alipay_account_rows(days)),
        lambda path, days: write_bank_csv(path, sample_bank_txns(days), layout="abc_corporate"),
        lambda path, days: write_bank_xlsx(path.with_suffix(".xlsx"), sample_bank_txns(days)),
    ],
)
def test_overlapping_files_give_the_overlapping_lines_equal_keys(tmp_path: Path, write) -> None:
    a = parse_statement(write(tmp_path / "a.csv", range(1, 11)))
    b = parse_statement(write(tmp_path / "b.csv", range(5, 16)))

    overlap_a, overlap_b = _overlap(a, b)
    assert overlap_a and overlap_a == overlap_b
    only_a = {line.key for line in a.lines if line.occurred_at.day < 5}
    only_b = {line.key for line in b.lines if line.occurred_at.day > 10}
    assert not (only_a & {line.key for line in b.lines})
    assert not (only_b & {line.key for line in a.lines})


def test_the_same_line_from_a_differently_encoded_export_has_the_same_key(tmp_path: Path) -> None:
    gbk = parse_statement(write_bank_csv(tmp_path / "a.csv", encoding="gbk"))
    xlsx = parse_statement(write_bank_xlsx(tmp_path / "a.xlsx"))

    assert [line.key for line in gbk.lines] == [line.key for line in xlsx.lines]


# --------------------------------------------------------------------------------------------------------
# Corrupted files: one StatementParseError naming line and column


def test_statement_parse_error_is_a_validation_error_with_a_stable_code(tmp_path: Path) -> None:
    path = write_wechat_trade_bill(tmp_path / "w.csv", sample_orders([1]))
    replace_in_file(path, "`10.37", "`10.3x", "utf-8")

    error = parse_error(path)

    assert isinstance(error, ValidationError)
    assert error.code == "statement_parse_error"
    assert error.http_status == 422


def test_bad_amount_names_line_and_column(tmp_path: Path) -> None:
    path = write_bank_csv(tmp_path / "b.csv", layout="abc_corporate", encoding="gbk")
    replace_in_file(path, "+2,011.01", "+2,011.0x", "gbk")

    error = parse_error(path)

    assert "line 4, column 收入金额: '+2,011.0x' is not an amount" in str(error)
    assert error.problems == [{"line": 4, "column": "收入金额", "message": "'+2,011.0x' is not an amount"}]


def test_every_problem_is_collected_not_just_the_first(tmp_path: Path) -> None:
    path = write_wechat_trade_bill(tmp_path / "w.csv", sample_orders([1, 2]))
    replace_in_file(path, "`2024-03-01 09:01:15", "`2024-03-41 09:01:15", "utf-8")
    replace_in_file(path, "`0.06222", "`0.06x22", "utf-8")
    replace_in_file(path, "`SUCCESS", "`PAID", "utf-8", count=-1)

    error = parse_error(path)

    problems = {(p["line"], p["column"]) for p in error.problems}
    assert (2, "交易时间") in problems
    assert (2, "手续费") in problems
    assert (3, "交易状态") in problems and (5, "交易状态") in problems
    assert "line 2, column 交易时间: '2024-03-41 09:01:15' is not a date" in str(error)
    assert len(error.problems) == 6
    assert str(error).endswith("; and 1 more problem")  # the message shows five, .problems has all


def test_amount_with_a_third_decimal_is_refused_but_a_fee_with_five_is_rounded(tmp_path: Path) -> None:
    path = write_wechat_trade_bill(tmp_path / "w.csv", sample_orders([1]))
    replace_in_file(path, "`10.37,", "`10.375,", "utf-8")

    error = parse_error(path)

    assert "line 2, column 应结订单金额: '10.375' has more than two decimals" in str(error)


def test_missing_required_column(tmp_path: Path) -> None:
    path = write_wechat_trade_bill(tmp_path / "w.csv")
    replace_in_file(path, "交易时间,", "时间,", "utf-8")

    error = parse_error(path, source="wechat_trade")
    assert "line 1: no column for 交易时间; looked for 交易时间" in str(error)


def test_missing_bank_amount_columns(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("交易日期,摘要,余额\n2024-03-01,利息,1.00\n", encoding="utf-8")

    error = parse_error(path, source="bank")

    assert "line 1: no amount column; looked for one of 贷方发生额" in str(error)


def test_wechat_summary_that_does_not_add_up(tmp_path: Path) -> None:
    orders = sample_orders([1, 2])
    path = write_wechat_trade_bill(tmp_path / "w.csv", orders)
    replace_in_file(path, "`4,`40.91,", "`4,`41.91,", "utf-8")

    error = parse_error(path)

    assert (
        "line 7, column 应结订单总金额: summary says 应结订单总金额 41.91 but the rows add to 40.91"
        in str(error)
    )


def test_wechat_fee_summary_is_checked_to_five_decimals(tmp_path: Path) -> None:
    path = write_wechat_trade_bill(tmp_path / "w.csv", sample_orders([1]))
    replace_in_file(path, "`0.12162,", "`0.12163,", "utf-8")

    error = parse_error(path)

    assert "summary says 手续费总金额 0.12163 but the rows add to 0.12162" in str(error)


def test_truncated_wechat_bill_without_summary_block(tmp_path: Path) -> None:
    path = write_wechat_trade_bill(tmp_path / "w.csv", sample_orders([1, 2]))
    text = path.read_bytes()
    path.write_bytes(text[: text.index("总交易单数".encode())])

    error = parse_error(path)

    assert "the file ends without the summary block (总交易单数 …); it looks truncated" in str(error)


def test_file_cut_in_the_middle_of_a_row(tmp_path: Path) -> None:
    path = write_bank_csv(tmp_path / "b.csv", layout="signed", encoding="utf-8-sig")
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b",", 0, data.index(b"\r\n", 200))])  # the last field is lost

    error = parse_error(path)

    assert "the file looks truncated or damaged" in str(error)


def test_file_cut_inside_a_character(tmp_path: Path) -> None:
    path = write_wechat_trade_bill(tmp_path / "w.csv", sample_orders([1]))
    data = path.read_bytes()
    egg = "土鸡蛋".encode()
    path.write_bytes(data[: data.index(egg) + 2])

    error = parse_error(path)

    assert "line 3: the file ends in the middle of a character; it looks truncated" in str(error)


def test_truncated_alipay_file_without_its_trailer(tmp_path: Path) -> None:
    path = write_alipay_detail(tmp_path / "a.csv", sample_orders([1, 2]))
    drop_lines(
        path, "gbk", lambda line: line.startswith("#") and "起始日期" not in line and "账号" not in line
    )
    # keep the preamble (two of its lines), lose everything from the end marker on
    error = parse_error(path, source="alipay_detail")

    assert "without its closing # lines" in str(error)


def test_alipay_trailer_totals_are_checked(tmp_path: Path) -> None:
    path = write_alipay_detail(tmp_path / "a.csv", sample_orders([1, 2, 3, 4]))
    replace_in_file(path, "#交易合计：8笔", "#交易合计：9笔", "gbk")

    error = parse_error(path)

    assert "交易合计 says 9 rows but the file has 8" in str(error)
    assert error.problems[0]["line"] == 16


def test_alipay_account_trailer_amount_is_checked(tmp_path: Path) -> None:
    rows = sample_alipay_account_rows([1])
    path = write_alipay_account(tmp_path / "a.csv", rows)
    replace_in_file(path, "#收入合计：2笔，共20.27元", "#收入合计：2笔，共20.72元", "gbk")

    error = parse_error(path)

    assert "收入合计 says 20.72 but the rows add to 20.27" in str(error)


def test_gbk_file_forced_as_utf8_is_refused_not_read_as_mojibake(tmp_path: Path) -> None:
    path = write_alipay_detail(tmp_path / "a.csv", sample_orders([1]))

    error = parse_error(path, source="alipay_detail", encoding="utf-8")

    assert "line 1: the file is not valid utf-8" in str(error)
    assert parse_statement(path, source="alipay_detail", encoding="gbk").encoding == "gbk"


def test_truncated_xlsx_is_refused(tmp_path: Path) -> None:
    path = write_bank_xlsx(tmp_path / "ccb.xlsx")
    path.write_bytes(path.read_bytes()[:2000])

    error = parse_error(path)

    assert "cannot read the xlsx workbook" in str(error)


def test_bank_row_with_a_bad_date_is_a_problem_but_footers_are_not(tmp_path: Path) -> None:
    path = write_bank_csv(tmp_path / "b.csv", layout="ccb_corporate")
    replace_in_file(path, "2024-03-02 10:05:33", "2024-03-02 1O:05:33", "gbk")

    error = parse_error(path)

    assert error.problems == [
        {"line": 6, "column": "交易时间", "message": "'2024-03-02 1O:05:33' is not a date"}
    ]


def test_bank_row_with_both_debit_and_credit_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("交易日期,支出,收入\n2024-03-01,1.00,2.00\n", encoding="utf-8")

    error = parse_error(path)

    assert "line 2: both 支出 and 收入 carry an amount" in str(error)


def test_unknown_debit_credit_flag_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("交易日期,借贷标志,交易金额\n2024-03-01,X,2.00\n", encoding="utf-8")

    error = parse_error(path)

    assert "line 2, column 借贷标志: 'X' is neither 借 nor 贷" in str(error)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    assert "the file is empty" in str(parse_error(path))


# --------------------------------------------------------------------------------------------------------
# Money and layouts


@given(st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1), st.booleans(), st.booleans())
def test_printed_amounts_read_back_to_the_same_fen(fen: int, thousands: bool, plus: bool) -> None:
    printed = f"{Decimal(fen) / 100:{'+' if plus else ''}{',' if thousands else ''}.2f}"

    value = im_cells.parse_decimal(printed)

    assert value is not None and im_cells.to_fen(value) == fen


@pytest.mark.parametrize(
    ("printed", "fen"), [("0.05940", 6), ("0.00500", 1), ("0.00499", 0), ("-0.06888", -7), ("-0.005", -1)]
)
def test_fees_round_half_up_to_the_fen(printed: str, fen: int) -> None:
    assert im_cells.to_fen(Decimal(printed)) == fen


@pytest.mark.parametrize("printed", ["12.3x", "1,23.00", "1.2.3", "", "+", "1e3", "NaN", "1" * 16])
def test_what_is_not_an_amount(printed: str) -> None:
    assert im_cells.parse_decimal(printed) is None


def test_every_source_has_a_column_table() -> None:
    layouts = im_layouts.load_layouts()

    assert set(layouts) == set(SOURCES)
    for layout in layouts.values():
        assert layout.required and all(role in layout.columns for role in layout.required)


# --------------------------------------------------------------------------------------------------------
# The plain-cell lane of bank files: column by column, the same lines as the per-cell path


_MIXED_BANK = (
    "交易日期,交易时间,收入,支出,余额,对方户名,摘要,备注,流水号\n"
    "2024-03-01 09:00:00,,100.00,,1000.00,甲,往来款,,A001\n"  # plain
    '2024-03-01 09:05:00,,"¥2,000.50",,3000.50,乙,货款,货款,A002\n'  # ¥
    "2024-03-02 00:00:00,10:15:30,,+10.00,2990.50,丙,汇划手续费,,A003\n"  # midnight + a time column, "+"
    "2024-03-02 11:00:00,,１２.００,,3002.50,丁,存入,,A004\n"  # full-width digits
    "2024-03-03,,5,,-,,利息,,A005\n"  # date only, no decimals, "-" balance
    "2024-03-04 08:00:00,,,-7.25,2995.25,戊,财付通,退款,A006\n"  # a signed debit
    "2024/03/05 08:00:00,,0.00,3.00,2992.25,,转账,,A007\n"  # slashes, a zero credit beside the debit
    "2024-03-06 08:00:00,,1.00,,2993.25,己,微信结算款,,A008\n"  # plain
    "合计,,,,,,,,\n"
)


def _without_plain_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(im_bank, "_plain_bank_drafts", lambda ctx: {})


@pytest.mark.parametrize("layout", BANK_LAYOUTS)
def test_bank_plain_lane_reads_each_layout_as_the_per_cell_path(
    tmp_path: Path, layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_bank_csv(tmp_path / f"{layout}.csv", sample_bank_txns(range(1, 11)), layout=layout)
    fast = parse_statement(path)

    _without_plain_lane(monkeypatch)

    assert parse_statement(path) == fast


def test_bank_plain_lane_leaves_every_unusual_row_to_the_per_cell_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(_MIXED_BANK, encoding="utf-8")
    fast = parse_statement(path)
    layout = im_layouts.load_layouts()["bank"]
    table = next(im_reading.read_tables(path, None, im_records.Problems(path.name)))
    header, _ = im_header.find_header(table, layout)
    assert header is not None
    body = im_body.split_body(table, header, layout, im_records.Problems(path.name))
    plain = im_bank._plain_bank_drafts(
        im_drafts.ParseContext(layout, table, header, body, im_records.Problems(path.name))
    )

    _without_plain_lane(monkeypatch)

    assert sorted(plain) == [0, 5, 7]  # the plain rows, a signed debit among them
    assert parse_statement(path) == fast
    assert [(line.amount_fen, line.balance_fen) for line in fast.lines] == [
        (10000, 100000),
        (200050, 300050),
        (-1000, 299050),
        (1200, 300250),
        (500, None),
        (-725, 299525),
        (-300, 299225),
        (100, 299325),
    ]
    assert fast.lines[2].occurred_at == datetime(2024, 3, 2, 10, 15, 30)


def test_bank_problems_are_the_same_whichever_lane_a_row_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bad.csv"
    bad = _MIXED_BANK.replace("2024-03-06 08:00:00", "2024-02-30 08:00:00").replace(",100.00,", ",100.005,")
    path.write_text(bad.replace(",0.00,3.00,", ",2.00,3.00,"), encoding="utf-8")
    fast = parse_error(path)

    _without_plain_lane(monkeypatch)

    slow = parse_error(path)
    assert str(fast) == str(slow) and fast.problems == slow.problems
    assert [(p["line"], p["column"]) for p in fast.problems] == [(2, "收入"), (8, None), (9, "交易日期")]


@given(st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1), st.booleans(), st.booleans())
def test_plain_amounts_are_read_to_the_fen_the_per_cell_path_reads(
    fen: int, thousands: bool, plus: bool
) -> None:
    printed = f"{Decimal(fen) / 100:{'+' if plus else ''}{',' if thousands else ''}.2f}"

    [plain] = im_bank._plain_fen([printed])

    assert plain is im_bank._IRREGULAR if plus and fen >= 0 else plain == fen


@given(st.text(alphabet="0123456789,.-+ ¥元１", max_size=22))
def test_a_cell_the_plain_lane_takes_is_one_the_per_cell_path_reads_alike(printed: str) -> None:
    [plain] = im_bank._plain_fen([printed])

    if plain is im_bank._IRREGULAR:
        return
    if plain is None:
        assert printed in im_cells.EMPTY_AMOUNTS
        return
    value = im_cells.parse_decimal(printed)
    assert value is not None and not im_cells._has_sub_fen(value) and im_cells.to_fen(value) == plain


@given(st.datetimes(min_value=datetime(1980, 1, 1), max_value=datetime(2300, 12, 31)).map(str))
def test_plain_times_are_read_as_the_per_cell_path_reads_them(printed: str) -> None:
    [plain] = im_bank._plain_times([printed[:19]])

    parsed = im_cells._parse_datetime(printed[:19])
    if plain is not im_bank._IRREGULAR:
        assert parsed is not None and parsed[0] == plain and parsed[0].time() != datetime.min.time()
    elif parsed is not None:
        assert not 1990 <= parsed[0].year <= 2200 or parsed[0].time() == datetime.min.time()


# --------------------------------------------------------------------------------------------------------
# A long file's head


LONG_FILES = {
    "wechat_trade": lambda p: write_wechat_trade_bill(p),
    "wechat_fund": lambda p: write_wechat_fund_bill(p),
    "alipay_detail (GBK)": lambda p: write_alipay_detail(p),
    "alipay_account (GBK)": lambda p: write_alipay_account(p),
    "bank (GBK)": lambda p: write_bank_csv(p, encoding="gbk"),
    "bank (UTF-16, tabs)": lambda p: write_bank_csv(
        p, layout="ccb_personal", encoding="utf-16", delimiter="\t"
    ),
    "bank (BOM-less UTF-16)": lambda p: write_bank_csv(p, layout="signed", encoding="utf-16-le"),
}


@pytest.mark.parametrize("write", LONG_FILES.values(), ids=LONG_FILES)
def test_a_file_longer_than_its_head_is_judged_by_the_head_as_by_the_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write
) -> None:
    """A head that ends inside a character, a line or a quoted cell finds the header the whole file has."""
    path = write(tmp_path / "statement.csv")
    whole = parse_statement(path)

    for head in (1201, 1502, 1803):
        monkeypatch.setattr(im_reading, "HEAD_BYTES", head)
        assert path.stat().st_size > head and im_reading.head_tables(path, None, im_records.Problems("s"))
        assert parse_statement(path) == whole


def test_junk_longer_than_the_head_is_refused_having_read_only_the_head(tmp_path: Path) -> None:
    """24 MB of text without a statement's header is refused as before, without reading the whole file
    into memory (it took 0.9 GB for 50 MB); binary junk is refused by the decoding error at its start."""
    import tracemalloc

    text = tmp_path / "junk.csv"
    line = b"lorem,ipsum,dolor,sit,amet,consectetur,adipiscing,elit,sed,do,eiusmod\n"
    text.write_bytes(line * (24 * 2**20 // len(line)))
    binary = tmp_path / "junk.bin"
    binary.write_bytes(b"\x92\xff\xfe\x01" * (6 * 2**20))

    tracemalloc.start()
    try:
        with pytest.raises(StatementParseError, match="cannot tell which statement this is"):
            parse_statement(text)
        with pytest.raises(StatementParseError, match=r"cannot read the file as .* at offset 0"):
            parse_statement(binary)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12 * 2**20, f"{peak / 2**20:.0f} MB for a 24 MB file"
