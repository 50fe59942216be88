"""Money at the edges: decimal strings in, integer fen (分) out, and back for display.

Everything else in the books works in ``int`` fen and ``int`` thousandths of a unit of quantity. This module
parses and formats amounts and quantities, prints 人民币大写, and holds the only rounding (四舍五入,
half away from zero) and splitting (largest remainder) helpers. It must never touch a float, never round
silently while parsing, and never reach a database.

**The bound on amounts.** One maximum, ``MAX_AMOUNT_FEN`` = ¥999,999,999.99 (nine digits of yuan, just
under 十亿), holds for any journal line, any manual entry's total, any sale line, sale and payment, and every
amount a request can carry: ``parse_amount`` refuses more (422 naming the field), the posting code refuses
a line or a manual entry beyond it, and the database refuses such a line or sale whatever code path writes
it (CHECK constraints on PostgreSQL, guard triggers on SQLite: migrations ``0006_core``, ``0101_pos``).
It is chosen so that every sum the books keep fits in a signed 64-bit integer (BIGINT, and SQLite's
INTEGER, which turns an overflowing sum into an inexact float) with a wide margin: ``SUM_CAPACITY`` =
⌊(2⁶³ − 1) / MAX_AMOUNT_FEN⌋ ≈ 92 million amounts at the maximum before any sum (an account's monthly
turnover, its balance over all years, a shift's takings, a year's totals, a street's roll-up) could
overflow; a county keeps about 10⁶ sales a year (DESIGN §11), so ten years of them *all at the maximum*
are still nine times under the limit. Derived vouchers whose figures are sums (a shift's 日结) split a
figure beyond the maximum into several lines (``split_to_bound``). 大写 covers every 64-bit amount.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal

from babel.numbers import format_currency, format_decimal

from ledger.books.errors import InvalidAmount, InvalidQuantity

__all__ = [
    "MAX_AMOUNT_FEN",
    "MAX_INTEGER_DIGITS",
    "MAX_QUANTITY_INTEGER_DIGITS",
    "MAX_WORDS_FEN",
    "allocate_largest_remainder",
    "amount_in_words",
    "check_bound",
    "format_amount",
    "format_money",
    "format_quantity",
    "line_amount",
    "parse_amount",
    "parse_amount_lenient",
    "parse_amount_round_half_up",
    "parse_quantity",
    "round_half_up",
    "split_tax_inclusive",
    "split_to_bound",
]

MAX_INTEGER_DIGITS = 15
"""An amount has at most 15 digits before the point (fits BIGINT fen with room for sums)."""

MAX_QUANTITY_INTEGER_DIGITS = 9
"""A quantity has at most 9 digits before the point (a billion kilograms is not a village sale)."""

MAX_AMOUNT_FEN = 999_999_999_99
"""The largest amount of any line, entry, sale or payment: ¥999,999,999.99 (see the module docstring)."""

SUM_CAPACITY = (2**63 - 1) // MAX_AMOUNT_FEN
"""How many amounts at the maximum any 64-bit sum can hold: 92,233,720."""

MAX_WORDS_FEN = 2**63 - 1
"""大写 covers every amount a BIGINT can hold (万亿 and 亿亿 past 千亿)."""

# [0-9], not \d: \d also matches full-width and other Unicode digits. fullmatch, not $: $ allows a "\n".
_STRICT_AMOUNT = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,2})?")
_STRICT_QUANTITY = re.compile(r"[0-9]{1,9}(\.[0-9]{1,3})?")
# Statement cells: optional sign and ¥/￥ in either order, digits grouped by three commas or not at all.
_LENIENT_AMOUNT = re.compile(
    r"(?P<sign1>[+-]?)[¥￥]?(?P<sign2>[+-]?)"
    r"(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)"
    r"(?:\.(?P<frac>[0-9]+))?"
)
# Spaces, tabs, no-break and full-width (U+3000) spaces around a statement cell.
_STATEMENT_BLANKS = " \t\u00a0\u3000"

_NOT_NUMBERS = 'amounts are decimal strings like "12.30", not numbers'


def _require_int(name: str, value: object) -> int:
    """Internal amounts are ``int``; a float (or bool, or Decimal) here is a programming error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def _describe(value: str) -> str:
    return repr(value) if len(value) <= 40 else repr(value[:37] + "...")


def _amount_problem(text: str) -> str:
    """Say what is wrong with a string the strict pattern refused, as precisely as we can."""
    shown = _describe(text)
    body = text[1:] if text.startswith("-") else text
    integer, _, fraction = body.partition(".")
    if text == "":
        return "amount is empty"
    if text != text.strip():
        return f"{shown} has surrounding whitespace"
    if text.lower().lstrip("+-") in {"nan", "snan", "inf", "infinity"}:
        return f"{shown} is not a number"
    if "e" in text.lower():
        return f'{shown} uses an exponent; write the digits out, like "1200.00"'
    if text.startswith("+"):
        return f'{shown} has a "+" sign; write positive amounts without a sign'
    if "," in text or "，" in text:
        return f'{shown} has a thousands separator; write "1234.50", not "1,234.50"'
    if any(ch.isdigit() and not "0" <= ch <= "9" for ch in text):
        return f"{shown} has non-ASCII (e.g. full-width) digits"
    if integer.isdecimal() and fraction.isdecimal() and len(fraction) > 2:
        return f"{shown} has {len(fraction)} decimal places; amounts have at most 2"
    if integer.isdecimal() and len(integer) > MAX_INTEGER_DIGITS:
        return f"{shown} has more than {MAX_INTEGER_DIGITS} digits before the decimal point"
    return f'{shown} is not a decimal amount like "12.30"'


def parse_amount(value: object, field: str = "amount", *, allow_negative: bool = False) -> int:
    """Parse an API amount, a decimal string with at most 2 places (``"12.30"``), into fen.

    Strict on purpose: a JSON number may have been rounded by a float client already, so it is refused,
    as are a third decimal, exponents, NaN, signs other than an allowed ``-``, separators and whitespace.
    """
    if isinstance(value, bool | int | float | Decimal):
        raise InvalidAmount(_NOT_NUMBERS, field=field)
    if not isinstance(value, str):
        shown = "null" if value is None else type(value).__name__
        raise InvalidAmount(f'amount must be a decimal string like "12.30", got {shown}', field=field)
    if not _STRICT_AMOUNT.fullmatch(value):
        raise InvalidAmount(_amount_problem(value), field=field)
    if value.startswith("-") and not allow_negative:
        raise InvalidAmount(
            f"{_describe(value)} is negative; negative amounts are not allowed here", field=field
        )
    negative = value.startswith("-")
    integer, _, fraction = value.lstrip("-").partition(".")
    fen = int(integer) * 100 + int(fraction.ljust(2, "0"))
    if fen > MAX_AMOUNT_FEN:
        largest = format_amount(MAX_AMOUNT_FEN)
        raise InvalidAmount(
            f"{_describe(value)} is more than the largest amount the books take, {largest}", field=field
        )
    return -fen if negative else fen


def check_bound(fen: int, field: str, what: str = "amount") -> int:
    """``fen`` if it is within ±``MAX_AMOUNT_FEN``; ``InvalidAmount`` naming ``field`` otherwise."""
    if not -MAX_AMOUNT_FEN <= fen <= MAX_AMOUNT_FEN:
        raise InvalidAmount(
            f"the {what} {format_amount(fen)} is more than the largest amount the books take, "
            f"{format_amount(MAX_AMOUNT_FEN)}",
            field=field,
        )
    return fen


def split_to_bound(fen: int) -> list[int]:
    """``fen`` as parts of at most ``MAX_AMOUNT_FEN`` each (same sign), summing to it: [] for 0."""
    fen = _require_int("fen", fen)
    sign = -1 if fen < 0 else 1
    whole, rest = divmod(abs(fen), MAX_AMOUNT_FEN)
    parts = [MAX_AMOUNT_FEN] * whole + ([rest] if rest else [])
    return [sign * part for part in parts]


def _match_statement_amount(text: object, field: str) -> tuple[bool, str, str]:
    """Split a statement cell into (negative, integer digits, fraction digits) or raise InvalidAmount."""
    if isinstance(text, bool | int | float | Decimal):
        raise InvalidAmount(_NOT_NUMBERS, field=field)
    if not isinstance(text, str):
        raise InvalidAmount(f"amount must be text, got {type(text).__name__}", field=field)
    cell = text.strip(_STATEMENT_BLANKS)
    match = _LENIENT_AMOUNT.fullmatch(cell)
    if match is None or (match["sign1"] and match["sign2"]):
        problem = "is empty" if cell == "" else 'is not an amount like "1,234.50"'
        raise InvalidAmount(f"{_describe(text)} {problem}", field=field)
    integer = match["int"].replace(",", "")
    if len(integer) > MAX_INTEGER_DIGITS:
        raise InvalidAmount(
            f"{_describe(text)} has more than {MAX_INTEGER_DIGITS} digits before the decimal point",
            field=field,
        )
    negative = (match["sign1"] or match["sign2"]) == "-"
    return negative, integer, match["frac"] or ""


def parse_amount_lenient(text: str, field: str = "amount") -> int:
    """Parse a bank or payment statement amount (``" ¥1,234.50 "``, ``"+12.3400"``) into fen.

    Accepts correctly grouped thousands separators, a leading ``+`` or ``-``, ``¥``/``￥`` and surrounding
    spaces, tabs and full-width spaces. Decimals past the second must be zeros: this never rounds (fee
    columns with more places go through :func:`parse_amount_round_half_up`).
    """
    negative, integer, fraction = _match_statement_amount(text, field)
    if fraction[2:].strip("0"):
        raise InvalidAmount(
            f"{_describe(text)} has more than 2 decimal places and would need rounding", field=field
        )
    fen = int(integer) * 100 + int(fraction[:2].ljust(2, "0"))
    return -fen if negative else fen


def parse_amount_round_half_up(text: str, field: str = "amount") -> int:
    """Parse a statement fee column (``"0.05940"``) into fen, rounding half-up (四舍五入) to the fen.

    Same syntax as :func:`parse_amount_lenient`; the only difference is that extra decimals are rounded
    (half away from zero, so ``"-0.005"`` is ``-1``) instead of refused.
    """
    negative, integer, fraction = _match_statement_amount(text, field)
    exact = Decimal(f"{'-' if negative else ''}{integer}.{fraction or '0'}")
    # Enough precision for 15 + 2 digits, so quantize can never raise or round twice.
    fen = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP, context=Context(prec=40))
    return int(fen.scaleb(2, context=Context(prec=40)))


def format_amount(fen: int) -> str:
    """Format fen as a JSON amount: ``"1234.50"``, ``"-12.30"``, ``"0.00"`` (no separators, 2 places)."""
    fen = _require_int("fen", fen)
    yuan, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{yuan}.{cents:02d}"


def format_money(fen: int, locale: str = "zh_CN", *, symbol: bool = True) -> str:
    """Format fen for people with Babel: ``"¥1,234.50"`` (zh_CN), ``"CN¥1,234.50"`` (en).

    With ``symbol=False`` the number alone, grouped and with exactly 2 places: ``"1,234.50"``.
    """
    amount = Decimal(format_amount(fen))  # exact: built from the digits, never through a float
    if symbol:
        return format_currency(amount, "CNY", locale=locale)
    return format_decimal(amount, format="#,##0.00", locale=locale)


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("仟", "佰", "拾", "")
_GROUPS = ("亿", "万", "")


def _group_in_words(group: int) -> str:
    """A group of up to four digits (1–9999): one 零 per run of inner zeros, trailing zeros silent."""
    words: list[str] = []
    pending_zero = False
    for digit, place in zip(f"{group:04d}", _PLACES, strict=True):
        if digit == "0":
            pending_zero = bool(words)
            continue
        if pending_zero:
            words.append("零")
            pending_zero = False
        words.append(_DIGITS[int(digit)] + place)
    return "".join(words)


def _yuan_in_words(yuan: int) -> str:
    """Whole yuan (≥ 1) in words, without 元: 壹拾万零壹拾, 壹亿零壹元, 壹万亿 (past 千亿, 亿 nests)."""
    if yuan >= 10**8:
        high, low = divmod(yuan, 10**8)
        words = _yuan_in_words(high) + "亿"
        if low:
            # One 零 when the digit just below 亿 (千万) is zero, as inside a group.
            words += ("零" if low < 10**7 else "") + _yuan_in_words(low)
        return words
    groups = (yuan // 10**4, yuan % 10**4)
    words_: list[str] = []
    zero_before = False  # a whole zero group was skipped since the last written digit
    for group, unit in zip(groups, _GROUPS[1:], strict=True):
        if group == 0:
            zero_before = bool(words_)
            continue
        if words_ and (zero_before or group < 1000):
            words_.append("零")
        words_.append(_group_in_words(group) + unit)
        zero_before = False
    return "".join(words_)


def amount_in_words(fen: int) -> str:
    """人民币大写 for a voucher or statement total, e.g. 1680.32 → 壹仟陆佰捌拾元零叁角贰分.

    Convention (one of the forms 《支付结算办法》 allows, chosen once): 壹拾 not 拾; one 零 for each run of
    zeros inside the yuan, including a skipped 万 or 亿 group (壹亿零壹元); no 零 where only a group's
    trailing zeros meet the next group's leading digit (壹拾万柒仟); 零 after 元 when the yuan end in 0 and
    角 or 分 follows (壹仟陆佰捌拾元零叁角贰分, 壹佰万元零壹分), and before 分 when 角 is 0 (壹拾元零伍分);
    no 元 or 零 when there are no yuan (伍角整, 伍分); 整 after 元 or 角, never after 分; 负 for negatives.
    """
    fen = _require_int("fen", fen)
    if abs(fen) > MAX_WORDS_FEN:
        raise ValueError(f"{format_amount(fen)} is beyond 64 bits; no amount of the books can be that large")
    if fen == 0:
        return "零元整"
    yuan, cents = divmod(abs(fen), 100)
    jiao, fen_digit = divmod(cents, 10)
    words = ["负"] if fen < 0 else []
    if yuan:
        words.append(_yuan_in_words(yuan) + "元")
    if jiao:
        if yuan and yuan % 10 == 0:
            words.append("零")
        words.append(_DIGITS[jiao] + "角")
    if fen_digit:
        if yuan and jiao == 0:
            words.append("零")
        words.append(_DIGITS[fen_digit] + "分")
    else:
        words.append("整")
    return "".join(words)


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half away from zero (四舍五入), exactly, in integers."""
    numerator = _require_int("numerator", numerator)
    denominator = _require_int("denominator", denominator)
    if denominator == 0:
        raise ZeroDivisionError("round_half_up: denominator is 0")
    negative = (numerator < 0) != (denominator < 0)
    quotient, remainder = divmod(abs(numerator), abs(denominator))
    if 2 * remainder >= abs(denominator):
        quotient += 1
    return -quotient if negative else quotient


def parse_quantity(value: object, field: str = "quantity") -> int:
    """Parse a quantity, a positive decimal string with at most 3 places, into thousandths: "1.235" → 1235."""
    if isinstance(value, bool | int | float | Decimal):
        raise InvalidQuantity('quantities are decimal strings like "1.235", not numbers', field=field)
    if not isinstance(value, str):
        shown = "null" if value is None else type(value).__name__
        raise InvalidQuantity(f'quantity must be a decimal string like "1.235", got {shown}', field=field)
    if not _STRICT_QUANTITY.fullmatch(value):
        integer, _, fraction = value.partition(".")
        if value.startswith("-"):
            problem = "is negative; quantities are positive"
        elif integer.isdecimal() and fraction.isdecimal() and len(fraction) > 3:
            problem = f"has {len(fraction)} decimal places; quantities have at most 3"
        elif integer.isdecimal() and len(integer) > MAX_QUANTITY_INTEGER_DIGITS:
            problem = f"has more than {MAX_QUANTITY_INTEGER_DIGITS} digits before the decimal point"
        else:
            problem = 'is not a decimal quantity like "1.235"'
        raise InvalidQuantity(f"{_describe(value)} {problem}", field=field)
    integer, _, fraction = value.partition(".")
    milli = int(integer) * 1000 + int(fraction.ljust(3, "0"))
    if milli == 0:
        raise InvalidQuantity(f"{_describe(value)} is zero; quantities are positive", field=field)
    return milli


def format_quantity(milli: int) -> str:
    """Format thousandths as the shortest decimal: 1235 → "1.235", 2000 → "2", 500 → "0.5"."""
    milli = _require_int("milli", milli)
    whole, part = divmod(abs(milli), 1000)
    decimals = f"{part:03d}".rstrip("0")
    return f"{'-' if milli < 0 else ''}{whole}{'.' if decimals else ''}{decimals}"


def line_amount(quantity_milli: int, unit_price_fen: int) -> int:
    """A sale line's amount: quantity × unit price, rounded half-up to the fen once (never per unit)."""
    quantity_milli = _require_int("quantity_milli", quantity_milli)
    unit_price_fen = _require_int("unit_price_fen", unit_price_fen)
    return round_half_up(quantity_milli * unit_price_fen, 1000)


def split_tax_inclusive(gross_fen: int, rate_bp: int) -> tuple[int, int]:
    """Split a tax-inclusive amount into (net, tax) at a rate in basis points (3% = 300).

    net = round_half_up(gross / (1 + rate)), tax = gross − net, so the two always sum to the gross; a
    refund (negative gross) splits as the mirror image of the sale.
    """
    gross_fen = _require_int("gross_fen", gross_fen)
    rate_bp = _require_int("rate_bp", rate_bp)
    if rate_bp < 0:
        raise ValueError(f"tax rate must not be negative, got {rate_bp} bp")
    net = round_half_up(gross_fen * 10_000, 10_000 + rate_bp)
    return net, gross_fen - net


def allocate_largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to non-negative integer ``weights`` so the parts sum exactly to it.

    Each part gets the floor of its exact share; the fen left over go one each to the largest remainders,
    ties to the earlier part. A zero weight gets 0. A negative total is split as its absolute value and
    negated, so a reversal mirrors the original split.
    """
    total = _require_int("total", total)
    weights = [_require_int("weight", weight) for weight in weights]
    if not weights:
        raise ValueError("cannot allocate over no weights")
    if any(weight < 0 for weight in weights):
        raise ValueError(f"weights must not be negative, got {weights}")
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total != 0:
            raise ValueError(f"cannot allocate {total} over weights that are all zero")
        return [0] * len(weights)
    magnitude = abs(total)
    shares = [divmod(magnitude * weight, weight_sum) for weight in weights]
    parts = [floor for floor, _ in shares]
    leftover = magnitude - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-shares[i][1], i))
    for i in by_remainder[:leftover]:
        parts[i] += 1
    if total < 0:
        parts = [-part for part in parts]
    assert sum(parts) == total, (total, weights, parts)
    return parts
