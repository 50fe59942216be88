"""What a sale and a refund are, as the till sends them: the POS workflow's own input messages.

Amounts and quantities are decimal strings, never floats; unknown fields are refused; the rules about shape
(a JSON number for an amount, a fourth decimal on a quantity) are a 422 naming the field before any work
starts. A sale's fingerprint (what a retry must repeat) is its canonical JSON without the idempotency key.
Every door — the API, the till's batch upload, the demo — builds these, and ``pos.sales`` takes them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Literal

from pydantic import Field

from ledger.access.messages import Amount, Id, Quantity, RequestModel

Method = Literal["cash", "wechat", "alipay", "unionpay", "ecny", "credit"]
Channel = Literal["counter", "agency", "school", "enterprise", "village", "community", "resettlement"]


Strict = RequestModel  # unknown fields refused; dates in the books' years (ledger.access.messages)


class SaleLineIn(Strict):
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    barcode: str | None = Field(default=None, min_length=1, max_length=64)
    quantity: Quantity
    unit_price: Amount | None = Field(default=None, description="only with a permitted override")
    override_reason: str | None = Field(default=None, max_length=200)


class PaymentIn(Strict):
    method: Method
    amount: Amount
    reference: str | None = Field(default=None, max_length=128)


class SaleIn(Strict):
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=128)
    store_id: Id
    shift_id: Id
    sold_at: datetime
    channel: Channel | None = Field(default=None, description="default: the customer's channel, or counter")
    customer_id: Id | None = None
    lines: list[SaleLineIn] = Field(min_length=1, max_length=500)
    payments: list[PaymentIn] = Field(min_length=1, max_length=10)

    def fingerprint(self) -> str:
        doc = self.model_dump(mode="json", exclude={"idempotency_key"})
        return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class RefundLineIn(Strict):
    line_no: int = Field(ge=1)
    quantity: Quantity


class RefundIn(Strict):
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=128)
    shift_id: Id
    refunded_at: datetime | None = None
    lines: list[RefundLineIn] = Field(min_length=1, max_length=500)
    method: Method | None = Field(
        default=None,
        description="pay the refund back in one method; default: the sale's own methods pro rata",
    )
    reason: str = Field(default="", max_length=200)

    def fingerprint(self, sale_id: int) -> str:
        doc = self.model_dump(mode="json", exclude={"idempotency_key", "refunded_at"})
        doc["sale_id"] = sale_id
        return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
