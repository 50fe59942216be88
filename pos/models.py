"""The tables of the POS (村社联动超市 cashier system), as SQLModel classes.

Read this page to know the model. Every table carries ``org_id`` = the company that owns the store.

* ``pos_tax_rate``: the org's dated tax-rate table (category goods/services → rate in basis points from
  ``effective_from``); defaults are seeded when a company first uses the POS (DESIGN §5a).
* ``pos_product``: the catalogue, per company: SKU, barcode, unit, tax-inclusive price, tax category,
  product category and origin (the partner village that supplied it, so a village sees what its produce
  earned).
* ``pos_stock``: quantity (thousandths) and value (fen) per store and product; the moving-average cost is
  value / quantity. Selling past zero is allowed (the shelf is the truth); the quantity goes negative and the
  stock-exceptions list shows it. ``pos_stock_move`` records purchases, adjustments and counts; a sale line's
  ``cost_fen`` is the stock relieved by the sale.
* ``pos_customer``: institutional buyers of the six-into channels (六进), with their counterparty in the
  company's books, a default channel and a credit limit for 挂账.
* ``pos_shift`` (开班/交班) with its ``pos_cash_move`` (备用金 pay-ins and payouts). A shift's close posts
  ONE voucher in the company's books; sales themselves are POS records, not journal entries.
* ``pos_sale`` / ``pos_sale_line`` / ``pos_payment``: a sale, or a refund (``kind='refund'``, all amounts
  negative, lines pointing at the original lines). Each carries the client's idempotency key (unique per
  store), the fingerprint of the request body and the stored response, so a retry returns the original.
  Line net and tax are the per-sale, per-rate figures of DESIGN §2 spread over the lines by largest
  remainder, so the shift voucher's sums tie to the sales exactly.
* ``pos_receipt_counter``: the per-store daily receipt number, allocated with one upsert.

All money columns are integer fen (``*_fen``); quantities are integer thousandths (``*_milli``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Integer, UniqueConstraint, text
from sqlmodel import Field

from ledger.db.models import TableModel

TAX_CATEGORIES = ("goods", "services")
PAYMENT_METHODS = ("cash", "wechat", "alipay", "unionpay", "ecny", "credit")
SALE_KINDS = ("sale", "refund")
STOCK_MOVE_KINDS = ("purchase", "adjust", "count")
CASH_MOVE_KINDS = ("pay_in", "payout")

BigId = BigInteger().with_variant(Integer, "sqlite")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _index_where_set(name: str, column: str) -> Index:
    """An index of only the rows where ``column`` is set (partial, on both databases)."""
    where = text(f"{column} IS NOT NULL")
    return Index(name, column, sqlite_where=where, postgresql_where=where)


class PosTaxRate(TableModel, table=True):
    __tablename__ = "pos_tax_rate"
    __table_args__ = (
        UniqueConstraint("org_id", "category", "effective_from", name="uq_pos_tax_rate"),
        CheckConstraint(_in("category", TAX_CATEGORIES), name="ck_pos_tax_category"),
        CheckConstraint("rate_bp >= 0 AND rate_bp < 10000", name="ck_pos_tax_rate"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    category: str = Field(max_length=16)
    rate_bp: int
    effective_from: date


class PosProduct(TableModel, table=True):
    __tablename__ = "pos_product"
    __table_args__ = (
        UniqueConstraint("org_id", "sku", name="uq_pos_product_sku"),
        CheckConstraint(_in("tax_category", TAX_CATEGORIES), name="ck_pos_product_tax"),
        CheckConstraint("price_fen >= 0", name="ck_pos_product_price"),
        Index("ix_pos_product_barcode", "org_id", "barcode"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    sku: str = Field(max_length=64)
    barcode: str | None = Field(default=None, max_length=64)
    name: str
    unit: str = Field(max_length=16)
    price_fen: int = Field(sa_type=BigInteger)
    tax_category: str = Field(default="goods", max_length=16)
    category: str = Field(default="", max_length=64)
    origin_org_id: int | None = Field(default=None, foreign_key="org.id")
    allow_price_override: bool = False
    # The highest unit price a till may override to; None: OVERRIDE_FACTOR × price (pos.pricing).
    max_price_fen: int | None = Field(default=None, sa_type=BigInteger)
    active: bool = True
    created_at: datetime


class PosStock(TableModel, table=True):
    __tablename__ = "pos_stock"

    store_id: int = Field(foreign_key="store.id", primary_key=True)
    product_id: int = Field(foreign_key="pos_product.id", primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    qty_milli: int = Field(default=0, sa_type=BigInteger)
    value_fen: int = Field(default=0, sa_type=BigInteger)
    # Moving-average unit cost in thousandths of a fen per unit, kept for selling past zero.
    avg_cost_mfen: int = Field(default=0, sa_type=BigInteger)


class PosStockMove(TableModel, table=True):
    __tablename__ = "pos_stock_move"
    __table_args__ = (
        CheckConstraint(_in("kind", STOCK_MOVE_KINDS), name="ck_pos_stock_move_kind"),
        Index("ix_pos_stock_move_store", "org_id", "store_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    store_id: int = Field(foreign_key="store.id")
    product_id: int = Field(foreign_key="pos_product.id")
    kind: str = Field(max_length=16)
    qty_milli: int = Field(sa_type=BigInteger)
    value_fen: int = Field(sa_type=BigInteger)
    counterparty_id: int | None = Field(default=None, foreign_key="counterparty.id")
    reason: str = ""
    entry_id: int | None = Field(default=None, sa_type=BigInteger)
    user_id: int | None = Field(default=None, foreign_key="user_account.id")
    at: datetime


class PosCustomer(TableModel, table=True):
    __tablename__ = "pos_customer"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_pos_customer_name"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    counterparty_id: int = Field(foreign_key="counterparty.id")
    name: str
    kind: str = Field(default="", max_length=32)
    channel: str = Field(max_length=16)
    credit_limit_fen: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime


class PosShift(TableModel, table=True):
    __tablename__ = "pos_shift"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="ck_pos_shift_status"),
        Index("ix_pos_shift_store", "org_id", "store_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    store_id: int = Field(foreign_key="store.id")
    cashier_user_id: int = Field(foreign_key="user_account.id")
    status: str = Field(default="open", max_length=8)
    business_date: date
    opened_at: datetime
    float_fen: int = Field(sa_type=BigInteger)
    closed_at: datetime | None = None
    closed_by: int | None = Field(default=None, foreign_key="user_account.id")
    counted_cash_fen: int | None = Field(default=None, sa_type=BigInteger)
    expected_cash_fen: int | None = Field(default=None, sa_type=BigInteger)
    entry_id: int | None = Field(default=None, sa_type=BigInteger)
    voucher_no: str | None = Field(default=None, max_length=32)


class PosCashMove(TableModel, table=True):
    __tablename__ = "pos_cash_move"
    __table_args__ = (CheckConstraint(_in("kind", CASH_MOVE_KINDS), name="ck_pos_cash_move_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    shift_id: int = Field(foreign_key="pos_shift.id", index=True)
    kind: str = Field(max_length=8)
    amount_fen: int = Field(sa_type=BigInteger)
    reason: str = ""
    user_id: int | None = Field(default=None, foreign_key="user_account.id")
    at: datetime


class PosSale(TableModel, table=True):
    __tablename__ = "pos_sale"
    __table_args__ = (
        UniqueConstraint("store_id", "idempotency_key", name="uq_pos_sale_idem"),
        UniqueConstraint("store_id", "business_date", "receipt_seq", name="uq_pos_sale_receipt"),
        CheckConstraint(_in("kind", SALE_KINDS), name="ck_pos_sale_kind"),
        Index("ix_pos_sale_shift", "shift_id"),
        # Partial: most sales are not refunds, and every index page a sale touches is written at its commit.
        _index_where_set("ix_pos_sale_original", "original_sale_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    org_id: int = Field(foreign_key="org.id")
    store_id: int = Field(foreign_key="store.id")
    shift_id: int = Field(foreign_key="pos_shift.id")
    kind: str = Field(default="sale", max_length=8)
    original_sale_id: int | None = Field(default=None, sa_type=BigInteger)
    business_date: date
    receipt_seq: int
    receipt_no: str = Field(max_length=64)
    sold_at: datetime
    channel: str = Field(max_length=16)
    customer_id: int | None = Field(default=None, foreign_key="pos_customer.id")
    total_fen: int = Field(sa_type=BigInteger)
    tax_fen: int = Field(sa_type=BigInteger)
    cost_fen: int = Field(sa_type=BigInteger)
    tendered_fen: int = Field(sa_type=BigInteger)
    change_fen: int = Field(sa_type=BigInteger)
    cashier_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    idempotency_key: str = Field(max_length=128)
    request_hash: str = Field(max_length=64)
    response_json: str
    created_at: datetime


class PosSaleLine(TableModel, table=True):
    __tablename__ = "pos_sale_line"
    __table_args__ = (
        Index("ix_pos_sale_line_sale", "sale_id"),
        _index_where_set("ix_pos_sale_line_original", "original_line_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    org_id: int
    sale_id: int = Field(sa_type=BigInteger)
    line_no: int
    product_id: int
    original_line_id: int | None = Field(default=None, sa_type=BigInteger)
    qty_milli: int = Field(sa_type=BigInteger)
    unit_price_fen: int = Field(sa_type=BigInteger)
    amount_fen: int = Field(sa_type=BigInteger)
    net_fen: int = Field(sa_type=BigInteger)
    tax_fen: int = Field(sa_type=BigInteger)
    tax_rate_bp: int
    product_category: str = Field(default="", max_length=64)
    cost_fen: int = Field(sa_type=BigInteger)
    override_reason: str | None = None


class PosPayment(TableModel, table=True):
    __tablename__ = "pos_payment"
    __table_args__ = (
        CheckConstraint(_in("method", PAYMENT_METHODS), name="ck_pos_payment_method"),
        Index("ix_pos_payment_sale", "sale_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    org_id: int
    sale_id: int = Field(sa_type=BigInteger)
    method: str = Field(max_length=16)
    # What the buyer handed over (cash may exceed the total; the sale's change_fen comes back out of it).
    amount_fen: int = Field(sa_type=BigInteger)
    reference: str | None = Field(default=None, max_length=128)


class PosReceiptCounter(TableModel, table=True):
    __tablename__ = "pos_receipt_counter"

    store_id: int = Field(foreign_key="store.id", primary_key=True)
    business_date: date = Field(primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    last_no: int = 0
