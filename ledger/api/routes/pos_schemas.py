"""Request bodies of the POS API (pydantic): amounts and quantities are decimal strings, never floats.

The services take these validated bodies directly, so the rules about shape (a JSON number for an amount,
a fourth decimal on a quantity, an unknown field) are a 422 naming the field before any work starts. A sale's
fingerprint (what a retry must repeat) is its canonical JSON without the idempotency key.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from ledger.access.messages import Amount, Id, Quantity, RequestModel
from pos.messages import Channel

Strict = RequestModel  # unknown fields refused; dates in the books' years (ledger.access.messages)


class ShiftOpenIn(Strict):
    store_id: Id
    float: Amount = Field(description="the cash float (备用金) in the drawer at the start")


class CashMoveIn(Strict):
    kind: Literal["pay_in", "payout"]
    amount: Amount
    reason: str = Field(min_length=1, max_length=200)


class ShiftCloseIn(Strict):
    counted_cash: Amount


class StoreIn(Strict):
    company_id: Id
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


class ProductBody(Strict):
    sku: str = Field(min_length=1, max_length=64)
    barcode: str | None = Field(default=None, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    unit: str = Field(min_length=1, max_length=16)
    price: Amount
    tax_category: Literal["goods", "services"] = "goods"
    category: str = Field(default="", max_length=64)
    origin_org_id: Id | None = None
    allow_price_override: bool = False
    max_price: Amount | None = Field(
        default=None, description="override ceiling (default 10 × price, ≥ 100.00)"
    )
    active: bool = True


class TaxRateIn(Strict):
    category: Literal["goods", "services"]
    rate_bp: int = Field(ge=0, lt=10_000, description="basis points: 1% = 100")
    effective_from: date


class CustomerIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["school_canteen", "agency_canteen", "enterprise", "resettlement_centre", "other"] = "other"
    channel: Channel
    credit_limit: Amount = 0


class CustomerPatch(Strict):
    credit_limit: Amount | None = None
    channel: Channel | None = None


class PurchaseLineIn(Strict):
    sku: str = Field(min_length=1, max_length=64)
    quantity: Quantity
    cost: Amount = Field(description="the line's total cost, input VAT included")


class PurchaseIn(Strict):
    date: date
    supplier: str | None = Field(default=None, max_length=200)
    village_org_id: Id | None = None
    memo: str = Field(default="", max_length=200)
    lines: list[PurchaseLineIn] = Field(min_length=1, max_length=500)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=128)


class StockAdjustIn(Strict):
    date: date
    sku: str = Field(min_length=1, max_length=64)
    kind: Literal["adjust", "count"]
    quantity: str = Field(description='adjust: signed change like "-1.5"; count: what is on the shelf')
    reason: str = Field(min_length=1, max_length=200)
