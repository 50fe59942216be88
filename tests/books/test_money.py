"""Money at the edges: parsing, formatting, 大写, half-up rounding, tax splits and largest remainder."""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.books.errors import InvalidAmount, InvalidQuantity
from ledger.books.money import (
    MAX_AMOUNT_FEN,
    MAX_WORDS_FEN,
    SUM_CAPACITY,
    allocate_largest_remainder,
    amount_in_words,
    format_amount,
    format_money,
    format_quantity,
    line_amount,
    parse_amount,
    parse_amount_lenient,
    parse_amount_round_half_up,
    parse_quantity,
    round_half_up,
    split_tax_inclusive,
    split_to_bound,
)

DAXIE_CASES = Path(__file__).resolve().parents[1] / "data" / "daxie-cases.csv"
MAX_FEN = MAX_AMOUNT_FEN  # the largest amount the books take: 9 integer digits and 2 decimals

fen_amounts = st.integers(min_value=-MAX_FEN, max_value=MAX_FEN)


# --- parse_amount -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12.34", 1234),
        ("12.3", 1230),
        ("12", 1200),
        ("0.05", 5),
        ("0", 0),
        ("007.50", 750),
        ("999999999.99", MAX_FEN),
    ],
)
def test_parse_amount_reads_decimal_strings_as_fen(text: str, fen: int) -> None:
    assert parse_amount(text) == fen


def test_parse_amount_takes_a_minus_only_when_allowed() -> None:
    assert parse_amount("-5.00", allow_negative=True) == -500
    assert parse_amount("-0.01", allow_negative=True) == -1
    with pytest.raises(InvalidAmount, match="negative"):
        parse_amount("-5.00")


@pytest.mark.parametrize("number", [12, 12.3, 0.1, True, False, Decimal("12.30"), float("nan")])
def test_parse_amount_refuses_json_numbers(number: object) -> None:
    with pytest.raises(InvalidAmount, match="decimal strings") as caught:
        parse_amount(number, "lines[2].credit")
    assert caught.value.field == "lines[2].credit"
    assert caught.value.code == "invalid_amount"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("12.345", "3 decimal places"),
        ("0.001", "3 decimal places"),
        ("NaN", "not a number"),
        ("nan", "not a number"),
        ("Infinity", "not a number"),
        ("-inf", "not a number"),
        ("1e3", "exponent"),
        ("1.2E+2", "exponent"),
        ("1234567890123456", "more than 15 digits"),
        ("1234567890123456.00", "more than 15 digits"),
        ("", "empty"),
        ("+1", '"\\+" sign'),
        ("1,000", "thousands separator"),
        ("1，000", "thousands separator"),
        ("１２.３０", "full-width"),
        ("١٢", "non-ASCII"),
        (" 12.30", "whitespace"),
        ("12.30 ", "whitespace"),
        ("12.30\n", "whitespace"),
        ("12.", "not a decimal amount"),
        (".5", "not a decimal amount"),
        ("--1", "not a decimal amount"),
        ("¥12", "not a decimal amount"),
        ("1_000", "not a decimal amount"),
        ("0x10", "not a decimal amount"),
    ],
)
def test_parse_amount_says_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(InvalidAmount, match=reason) as caught:
        parse_amount(text, "amount_fen", allow_negative=True)
    assert caught.value.field == "amount_fen"


@pytest.mark.parametrize("value", [None, [], {"amount": "1.00"}, b"1.00"])
def test_parse_amount_refuses_what_is_not_a_string(value: object) -> None:
    with pytest.raises(InvalidAmount, match="decimal string"):
        parse_amount(value)


@given(fen_amounts)
def test_parse_amount_round_trips_format_amount(fen: int) -> None:
    assert parse_amount(format_amount(fen), allow_negative=True) == fen


# --- statement imports -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1,234.50", 123450),
        ("1,234,567.8", 123456780),
        ("+12.30", 1230),
        ("-12.30", -1230),
        ("¥1,234.50", 123450),
        ("￥88", 8800),
        ("-¥5.00", -500),
        ("¥-5.00", -500),
        ("  12.30\t", 1230),
        ("\u300012.30\u3000", 1230),
        ("12.3400", 1234),
        ("12.000", 1200),
        ("1234", 123400),
    ],
)
def test_parse_amount_lenient_reads_statement_cells(text: str, fen: int) -> None:
    assert parse_amount_lenient(text) == fen


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0.05940", "more than 2 decimal places"),
        ("12.345", "more than 2 decimal places"),
        ("12,34", "not an amount"),  # a decimal comma, or a typo: never guess
        ("1,23,456.00", "not an amount"),
        ("1,2345.00", "not an amount"),
        ("+-5", "not an amount"),
        ("-¥-5", "not an amount"),
        ("1e3", "not an amount"),
        ("NaN", "not an amount"),
        ("(12.30)", "not an amount"),
        ("12 30", "not an amount"),
        ("", "empty"),
        ("\u3000 ", "empty"),
        ("1234567890123456", "more than 15 digits"),
    ],
)
def test_parse_amount_lenient_refuses_what_it_would_have_to_guess(text: str, reason: str) -> None:
    with pytest.raises(InvalidAmount, match=reason) as caught:
        parse_amount_lenient(text, "debit")
    assert caught.value.field == "debit"


@pytest.mark.parametrize("number", [12.3, 1234, Decimal("1.00")])
def test_parse_amount_lenient_refuses_numbers_a_spreadsheet_reader_made(number: object) -> None:
    with pytest.raises(InvalidAmount, match="not numbers"):
        parse_amount_lenient(number)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("0.05940", 6),
        ("0.00499", 0),
        ("0.005", 1),
        ("0.015", 2),
        ("0.025", 3),  # half-up, not banker's rounding
        ("-0.005", -1),
        ("-0.00499", 0),
        ("¥1,234.5650", 123457),
        ("12", 1200),
        ("12.30", 1230),
    ],
)
def test_fee_columns_round_half_up_to_the_fen(text: str, fen: int) -> None:
    assert parse_amount_round_half_up(text) == fen


@given(st.integers(min_value=-(10**20), max_value=10**20), st.integers(min_value=0, max_value=8))
def test_fee_rounding_agrees_with_decimal_round_half_up(units: int, places: int) -> None:
    exact = Decimal(units).scaleb(-places)
    text = f"{exact:f}"
    if len(text.lstrip("-").split(".")[0]) > 15:
        return
    expected = int(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100)
    assert parse_amount_round_half_up(text) == expected


# --- formatting --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fen", "text"),
    [(123450, "1234.50"), (-1230, "-12.30"), (0, "0.00"), (5, "0.05"), (-5, "-0.05"), (100, "1.00")],
)
def test_format_amount_writes_json_amounts(fen: int, text: str) -> None:
    assert format_amount(fen) == text


@pytest.mark.parametrize(
    ("fen", "locale", "symbol", "text"),
    [
        (123450, "zh_CN", True, "¥1,234.50"),
        (-123450, "zh_CN", True, "-¥1,234.50"),
        (0, "zh_CN", True, "¥0.00"),
        (123450, "zh_CN", False, "1,234.50"),
        (-123400, "zh_CN", False, "-1,234.00"),
        (123456789, "zh_CN", False, "1,234,567.89"),
        (123450, "en", True, "CN¥1,234.50"),
        (-123450, "en", True, "-CN¥1,234.50"),
        (123450, "en", False, "1,234.50"),
    ],
)
def test_format_money_uses_babel(fen: int, locale: str, symbol: bool, text: str) -> None:
    assert format_money(fen, locale, symbol=symbol) == text


def test_format_money_is_exact_for_the_largest_amounts() -> None:
    assert format_money(10**17 - 1, symbol=False) == "999,999,999,999,999.99"


@pytest.mark.parametrize("function", [format_amount, format_money, amount_in_words, format_quantity])
@pytest.mark.parametrize("value", [12.3, 12.0, True, Decimal("12.30"), "12.30"])
def test_internal_amounts_are_ints_never_floats(function: object, value: object) -> None:
    with pytest.raises(TypeError):
        function(value)  # type: ignore[operator]


# --- 人民币大写 ---------------------------------------------------------------------------------------


def _daxie_cases() -> list[tuple[str, list[str]]]:
    with DAXIE_CASES.open(encoding="utf-8", newline="") as handle:
        return [(row["amount"], row["accepted"].split("|")) for row in csv.DictReader(handle)]


@pytest.mark.parametrize(("amount", "accepted"), _daxie_cases())
def test_amount_in_words_gives_an_accepted_form(amount: str, accepted: list[str]) -> None:
    assert amount_in_words(parse_amount(amount, allow_negative=True)) in accepted


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        # The convention, where the reference file accepts two forms.
        ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
        ("107000.53", "壹拾万柒仟元零伍角叁分"),
        ("0.50", "伍角整"),
        ("0.05", "伍分"),
        ("0.32", "叁角贰分"),
        ("10.00", "壹拾元整"),
        ("10.50", "壹拾元零伍角整"),
        ("11.00", "壹拾壹元整"),
        ("110.00", "壹佰壹拾元整"),
        # Zeros across the 万 and 亿 groups.
        ("100000000.00", "壹亿元整"),
        ("100000001.00", "壹亿零壹元整"),
        ("100100.00", "壹拾万零壹佰元整"),
        ("100000000.10", "壹亿元零壹角整"),
        ("200001000.00", "贰亿零壹仟元整"),
        ("100010000.00", "壹亿零壹万元整"),
        ("100100000.00", "壹亿零壹拾万元整"),
        ("110000000.00", "壹亿壹仟万元整"),
        ("1000000000.00", "壹拾亿元整"),
        ("1001001001.00", "壹拾亿零壹佰万壹仟零壹元整"),
        ("101010101.01", "壹亿零壹佰零壹万零壹佰零壹元零壹分"),
        ("20000.00", "贰万元整"),
        ("20002.00", "贰万零贰元整"),
        ("1000.01", "壹仟元零壹分"),
        ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        ("-0.05", "负伍分"),
        ("-100000000.00", "负壹亿元整"),
    ],
)
def test_amount_in_words_tricky_cases(amount: str, words: str) -> None:
    # Through Decimal, not parse_amount: 大写 also prints sums beyond the largest single amount.
    assert amount_in_words(int(Decimal(amount) * 100)) == words


@pytest.mark.parametrize(
    ("yuan", "words"),
    [
        (10**12, "壹万亿元整"),
        (10**12 + 1, "壹万亿零壹元整"),
        (10**12 + 10**7, "壹万亿壹仟万元整"),
        (123_456_789_012_345, "壹佰贰拾叁万肆仟伍佰陆拾柒亿捌仟玖佰零壹万贰仟叁佰肆拾伍元整"),
        (10**16, "壹亿亿元整"),
    ],
)
def test_amount_in_words_goes_past_qian_yi(yuan: int, words: str) -> None:
    assert amount_in_words(yuan * 100) == words


def test_amount_in_words_covers_every_64_bit_amount_and_nothing_beyond() -> None:
    assert amount_in_words(2**63 - 1).endswith("元零柒分")
    assert amount_in_words(-(2**63 - 1)).startswith("负玖亿")
    with pytest.raises(ValueError, match="64 bits"):
        amount_in_words(MAX_WORDS_FEN + 1)


def test_the_largest_amount_leaves_every_sum_room_for_ninety_million_of_them() -> None:
    assert MAX_AMOUNT_FEN == 999_999_999_99
    assert SUM_CAPACITY * MAX_AMOUNT_FEN <= 2**63 - 1 < (SUM_CAPACITY + 1) * MAX_AMOUNT_FEN
    assert SUM_CAPACITY > 9 * 10**7  # a county's decade of sales (10**7), all at the maximum, nine times over


@pytest.mark.parametrize(
    ("text", "fen"), [("999999999.99", MAX_AMOUNT_FEN), ("-999999999.99", -MAX_AMOUNT_FEN)]
)
def test_the_largest_amount_parses_and_one_fen_more_is_refused(text: str, fen: int) -> None:
    assert parse_amount(text, allow_negative=True) == fen
    for beyond in ("1000000000.00", "999999999999999.99", "-1000000000"):
        with pytest.raises(InvalidAmount, match="largest amount") as refused:
            parse_amount(beyond, "lines[0].debit", allow_negative=True)
        assert refused.value.field == "lines[0].debit"


@given(st.integers(min_value=-(2**63 - 1), max_value=2**63 - 1))
def test_split_to_bound_keeps_the_sum_and_the_sign_within_the_bound(fen: int) -> None:
    parts = split_to_bound(fen)
    assert sum(parts) == fen
    assert all(0 < abs(part) <= MAX_AMOUNT_FEN and (part < 0) == (fen < 0) for part in parts)


@given(st.integers(min_value=-MAX_WORDS_FEN, max_value=MAX_WORDS_FEN))
def test_amount_in_words_never_ends_in_fen_zheng_and_never_doubles_zero(fen: int) -> None:
    words = amount_in_words(fen)
    assert not words.endswith("分整")
    assert words.endswith(("整", "分"))
    assert "零零" not in words
    assert words.startswith("负") == (fen < 0)
    assert not words.lstrip("负").startswith("拾")


# --- rounding ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "result"),
    [
        (5, 10, 1),
        (4, 10, 0),
        (15, 10, 2),
        (25, 10, 3),  # away from zero, not to even
        (-5, 10, -1),
        (-4, 10, 0),
        (-25, 10, -3),
        (5, -10, -1),
        (-5, -10, 1),
        (0, 7, 0),
        (7, 7, 1),
    ],
)
def test_round_half_up_is_si_she_wu_ru(numerator: int, denominator: int, result: int) -> None:
    assert round_half_up(numerator, denominator) == result


def test_round_half_up_refuses_zero_and_floats() -> None:
    with pytest.raises(ZeroDivisionError):
        round_half_up(1, 0)
    with pytest.raises(TypeError):
        round_half_up(1.5, 1)  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**30), max_value=10**30), st.integers(min_value=1, max_value=10**12))
def test_round_half_up_agrees_with_decimal(numerator: int, denominator: int) -> None:
    with localcontext(prec=100):  # exact for these sizes, so Decimal is the independent oracle
        exact = Decimal(numerator) / Decimal(denominator)
        expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert round_half_up(numerator, denominator) == expected
    assert round_half_up(numerator, -denominator) == -expected


# --- quantities --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "milli"), [("1.235", 1235), ("2", 2000), ("0.5", 500), ("0.001", 1), ("12.30", 12300)]
)
def test_parse_quantity_reads_thousandths(text: str, milli: int) -> None:
    assert parse_quantity(text) == milli


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (1.235, "not numbers"),
        (2, "not numbers"),
        ("1.2345", "4 decimal places"),
        ("0", "zero"),
        ("0.000", "zero"),
        ("-1", "negative"),
        ("1e3", "not a decimal quantity"),
        ("", "not a decimal quantity"),
        ("+1", "not a decimal quantity"),
        ("1,000", "not a decimal quantity"),
        ("１", "not a decimal quantity"),
        (" 1", "not a decimal quantity"),
        ("1234567890", "more than 9 digits"),
        (None, "got null"),
    ],
)
def test_parse_quantity_refuses(value: object, reason: str) -> None:
    with pytest.raises(InvalidQuantity, match=reason) as caught:
        parse_quantity(value, "lines[0].quantity")
    assert caught.value.field == "lines[0].quantity"
    assert caught.value.code == "invalid_quantity"


@pytest.mark.parametrize(("milli", "text"), [(1235, "1.235"), (2000, "2"), (500, "0.5"), (1, "0.001")])
def test_format_quantity_strips_trailing_zeros(milli: int, text: str) -> None:
    assert format_quantity(milli) == text


@given(st.integers(min_value=1, max_value=10**12 - 1))
def test_quantity_round_trips(milli: int) -> None:
    assert parse_quantity(format_quantity(milli)) == milli


# --- line amounts and tax ----------------------------------------------------------------------------


def test_line_amount_rounds_the_line_once_not_the_unit() -> None:
    # 1.235 kg of pork at ¥25.90/kg = ¥31.9865 → ¥31.99
    assert line_amount(parse_quantity("1.235"), parse_amount("25.90")) == 3199
    # 0.5 kg at ¥0.01 = ¥0.005 → half-up to ¥0.01
    assert line_amount(500, 1) == 1
    # 3 units at ¥3.33 is exactly ¥9.99
    assert line_amount(3000, 333) == 999
    # A discount line mirrors a sale.
    assert line_amount(500, -1) == -1


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=-(10**9), max_value=10**9))
def test_line_amount_agrees_with_decimal(quantity_milli: int, unit_price_fen: int) -> None:
    exact = Decimal(quantity_milli) * Decimal(unit_price_fen) / 1000
    assert line_amount(quantity_milli, unit_price_fen) == int(
        exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    )


@pytest.mark.parametrize(
    ("gross", "rate_bp", "net", "tax"),
    [
        (10300, 300, 10000, 300),  # ¥103.00 at 3% → ¥100.00 + ¥3.00
        (10100, 100, 10000, 100),
        (10500, 500, 10000, 500),
        (100, 300, 97, 3),  # ¥1.00 / 1.03 = 0.97087…
        (1, 300, 1, 0),
        (0, 300, 0, 0),
        (9999, 0, 9999, 0),
        (-10300, 300, -10000, -300),
        (-100, 300, -97, -3),
    ],
)
def test_split_tax_inclusive_examples(gross: int, rate_bp: int, net: int, tax: int) -> None:
    assert split_tax_inclusive(gross, rate_bp) == (net, tax)


def test_split_tax_inclusive_refuses_a_negative_rate() -> None:
    with pytest.raises(ValueError, match="negative"):
        split_tax_inclusive(100, -1)


@given(fen_amounts, st.integers(min_value=0, max_value=10_000))
def test_tax_split_sums_to_gross_and_mirrors_refunds(gross: int, rate_bp: int) -> None:
    net, tax = split_tax_inclusive(gross, rate_bp)
    assert net + tax == gross
    assert split_tax_inclusive(-gross, rate_bp) == (-net, -tax)
    assert abs(net - Fraction(gross * 10_000, 10_000 + rate_bp)) <= Fraction(1, 2)
    with localcontext(prec=100):
        expected = Decimal(gross * 10_000) / Decimal(10_000 + rate_bp)
        assert net == int(expected.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- largest remainder -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),  # the extra fen goes to the earliest tie
        (-100, [1, 1, 1], [-34, -33, -33]),
        (200, [1, 1, 1], [67, 67, 66]),
        (10, [1, 0, 1], [5, 0, 5]),
        (1, [0, 1, 1], [0, 1, 0]),
        (1, [1, 1, 2], [0, 0, 1]),  # the largest remainder, not the earliest, when not tied
        (101, [3, 3, 4], [30, 30, 41]),
        (0, [1, 2], [0, 0]),
        (0, [0, 0], [0, 0]),
        (7, [5], [7]),
        (10000, [6, 3, 1], [6000, 3000, 1000]),
    ],
)
def test_allocate_largest_remainder_examples(total: int, weights: list[int], parts: list[int]) -> None:
    assert allocate_largest_remainder(total, weights) == parts


@pytest.mark.parametrize(
    ("total", "weights", "reason"),
    [(1, [], "no weights"), (0, [], "no weights"), (1, [0, 0], "all zero"), (1, [1, -1], "negative")],
)
def test_allocate_largest_remainder_refuses(total: int, weights: list[int], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        allocate_largest_remainder(total, weights)


def test_allocate_largest_remainder_refuses_float_weights() -> None:
    with pytest.raises(TypeError):
        allocate_largest_remainder(100, [0.5, 0.5])  # type: ignore[list-item]


@given(
    st.integers(min_value=-(10**15), max_value=10**15),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(any),
)
def test_parts_sum_to_the_whole_and_stay_within_a_fen_of_the_exact_share(
    total: int, weights: list[int]
) -> None:
    parts = allocate_largest_remainder(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(total * weight, sum(weights))
        assert abs(part - exact) < 1
        if weight == 0:
            assert part == 0
    assert allocate_largest_remainder(-total, weights) == [-part for part in parts]
