"""What a sale costs (``pos.pricing``), as worked examples of DESIGN §2.

Pure arithmetic: no database. The same rules reach the till through ``tests/pos/test_pos_sales.py``, which
also holds the property that the lines' nets always sum to the sale's split.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ledger.books.errors import ValidationError
from pos.pricing import InsufficientPayment, override_ceiling, split_sale_tax, tender, unit_price

EGGS = {"name": "鸡蛋", "price_fen": 1_250, "allow_price_override": True, "max_price_fen": None}
OIL = {"name": "菜籽油", "price_fen": 8_900, "allow_price_override": False, "max_price_fen": None}
BUNDLE = {
    "name": "农产品团购套餐",
    "price_fen": 10_000,
    "allow_price_override": True,
    "max_price_fen": 50_000,
}


@dataclass
class Line:
    unit_price: int | None = None
    override_reason: str | None = None


@dataclass
class Pay:
    method: str
    amount: int
    reference: str | None = None


def test_a_line_sells_at_the_catalogue_price_unless_overridden_with_a_reason() -> None:
    assert unit_price(EGGS, Line(), "cashier", "lines[0]") == (1_250, None)
    assert unit_price(EGGS, Line(unit_price=1_250), "cashier", "lines[0]") == (1_250, None)
    assert unit_price(EGGS, Line(1_000, " 临期 "), "cashier", "lines[0]") == (1_000, "临期")


def test_an_override_needs_permission_a_reason_and_stays_under_the_ceiling() -> None:
    with pytest.raises(ValidationError) as no_permission:
        unit_price(OIL, Line(8_000, "老顾客"), "cashier", "lines[1]")
    assert no_permission.value.field == "lines[1].unit_price"
    assert unit_price(OIL, Line(8_000, "老顾客"), "officer", "lines[1]") == (8_000, "老顾客")
    with pytest.raises(ValidationError) as no_reason:
        unit_price(EGGS, Line(1_000, "  "), "cashier", "lines[2]")
    assert no_reason.value.field == "lines[2].override_reason"
    with pytest.raises(ValidationError) as typo:
        unit_price(EGGS, Line(125_000, "打错了"), "cashier", "lines[0]")  # two digits too many
    assert typo.value.field == "lines[0].unit_price"
    assert unit_price(EGGS, Line(12_500, "礼盒"), "cashier", "lines[0]") == (12_500, "礼盒")  # 10 × 12.50
    assert unit_price(BUNDLE, Line(50_000, "团购"), "cashier", "lines[0]") == (50_000, "团购")
    with pytest.raises(ValidationError):
        unit_price(BUNDLE, Line(50_001, "团购"), "cashier", "lines[0]")  # the product's own ceiling


def test_the_override_ceiling_is_ten_times_the_price_at_least_a_hundred_yuan() -> None:
    assert override_ceiling(500) == 10_000  # a cheap product: the ¥100 floor
    assert override_ceiling(1_250) == 12_500
    assert override_ceiling(8_900) == 89_000


def test_tax_inside_the_total_per_rate_with_the_net_spread_by_largest_remainder() -> None:
    """Three lines at 9 % and one at 13 %: 10.00 + 10.00 + 10.01 = 30.01 gross at 9 % is 27.53 net
    (30.01 / 1.09 = 27.532…), spread by the lines' weights: 917.36 / 917.36 / 918.28 fen, the one fen
    left over to the largest remainder (the first of the two .36s), so 9.18 / 9.17 / 9.18; 5.00 at 13 %
    is 4.42 net (5.00 / 1.13 = 4.424…)."""
    lines = [
        {"amount_fen": 1_000, "tax_rate_bp": 900},
        {"amount_fen": 1_000, "tax_rate_bp": 900},
        {"amount_fen": 1_001, "tax_rate_bp": 900},
        {"amount_fen": 500, "tax_rate_bp": 1_300},
    ]
    total, tax = split_sale_tax(lines)
    assert (total, tax) == (3_501, 248 + 58)
    assert [ln["net_fen"] for ln in lines] == [918, 917, 918, 442]
    assert [ln["tax_fen"] for ln in lines] == [82, 83, 83, 58]


def test_the_tender_covers_the_total_and_only_cash_gives_change() -> None:
    rows, tendered, change = tender([Pay("wechat", 2_000), Pay("cash", 5_000)], 6_550)
    assert (tendered, change) == (7_000, 450)
    assert rows == [
        {"method": "wechat", "amount_fen": 2_000, "reference": None},
        {"method": "cash", "amount_fen": 5_000, "reference": None},
    ]
    with pytest.raises(InsufficientPayment):
        tender([Pay("cash", 6_549)], 6_550)
    with pytest.raises(InsufficientPayment):
        tender([Pay("alipay", 7_000)], 6_550)  # a card or a QR code gives no change
    with pytest.raises(ValidationError) as zero:
        tender([Pay("cash", 7_000), Pay("wechat", 0)], 6_550)
    assert zero.value.field == "payments[1].amount"
