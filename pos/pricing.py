"""What a sale costs: the price of each line, the tax inside the total, and the tender (DESIGN §2).

Pure arithmetic over what the till sent and what the catalogue says: no database, no clock, no caller's
scope. ``pos.sales`` looks the products and rates up, asks this module for the figures, and writes them.

- A line sells at its catalogue price unless the till overrides it (改价): only for a product that allows
  it (a cashier; an officer may always), with a reason, and never above the product's own ceiling
  (``max_price_fen``, a negotiated 团购套餐) or else ``OVERRIDE_FACTOR`` × its price, at least
  ``OVERRIDE_FLOOR_FEN``, so that a typo of a few extra digits is refused, not sold.
- Per sale and tax rate, net = round(gross / (1 + rate)) and tax = gross − net; the net is spread over
  that rate's lines by largest remainder, so the lines' nets and taxes sum to the sale's to the fen.
- Payments are each more than zero, cover the total, and only cash gives change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ledger.books.errors import ValidationError
from ledger.books.money import allocate_largest_remainder, format_amount
from ledger.books.money import split_tax_inclusive as split_tax

OVERRIDE_FACTOR = 10
OVERRIDE_FLOOR_FEN = 100_00


class InsufficientPayment(ValidationError):
    """The payments do not cover the total, or non-cash payments exceed it (no change from a card)."""

    code = "insufficient_payment"


class PricedLine(Protocol):
    """What a sale's line asks of its price (``pos.messages.SaleLineIn``)."""

    @property
    def unit_price(self) -> int | None: ...
    @property
    def override_reason(self) -> str | None: ...


class Tender(Protocol):
    """One payment of a sale (``pos.messages.PaymentIn``)."""

    @property
    def method(self) -> str: ...
    @property
    def amount(self) -> int: ...
    @property
    def reference(self) -> str | None: ...


def override_ceiling(catalogue_price_fen: int) -> int:
    """The highest unit price a till may charge for a product of this catalogue price."""
    return max(OVERRIDE_FACTOR * catalogue_price_fen, OVERRIDE_FLOOR_FEN)


def unit_price(product: Mapping[str, Any], line: PricedLine, role: str, where: str) -> tuple[int, str | None]:
    """The line's unit price in fen and the override's reason (None at the catalogue price).

    ``product`` is the catalogue row (``price_fen``, ``allow_price_override``, ``max_price_fen``, ``name``);
    ``where`` names the line in a refusal (``lines[2]``)."""
    price: int = product["price_fen"]
    if line.unit_price is None or line.unit_price == price:
        return price, None
    if not product["allow_price_override"] and role == "cashier":
        raise ValidationError(
            f"{product['name']} sells at the catalogue price {format_amount(price)}; "
            "its price may not be overridden",
            field=f"{where}.unit_price",
        )
    reason = (line.override_reason or "").strip()
    if not reason:
        raise ValidationError("a price override needs a reason", field=f"{where}.override_reason")
    ceiling = product["max_price_fen"] or override_ceiling(price)
    if line.unit_price > ceiling:
        raise ValidationError(
            f"an override of {product['name']} may not exceed {format_amount(ceiling)} (its "
            "catalogue's override ceiling); change the catalogue instead",
            field=f"{where}.unit_price",
        )
    return line.unit_price, reason


def split_sale_tax(lines: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """The sale's total and tax; sets each line's ``net_fen`` and ``tax_fen`` from its ``amount_fen`` and
    ``tax_rate_bp``: per rate, net = round(gross / (1 + rate)), spread by largest remainder."""
    by_rate: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for ln in lines:
        by_rate[ln["tax_rate_bp"]].append(ln)
    total = tax = 0
    for rate, group in by_rate.items():
        gross = sum(ln["amount_fen"] for ln in group)
        net, rate_tax = split_tax(gross, rate)
        weights = [abs(ln["amount_fen"]) for ln in group]
        nets = allocate_largest_remainder(net, weights) if any(weights) else [0] * len(group)
        for ln, line_net in zip(group, nets, strict=True):
            ln["net_fen"] = line_net
            ln["tax_fen"] = ln["amount_fen"] - line_net
        total += gross
        tax += rate_tax
    return total, tax


def tender(payments: Sequence[Tender], total: int) -> tuple[list[dict[str, Any]], int, int]:
    """The payments as rows, what was tendered and the change; refused when they do not pay ``total``."""
    rows: list[dict[str, Any]] = []
    for i, p in enumerate(payments):
        if p.amount <= 0:
            raise ValidationError("a payment amount is more than zero", field=f"payments[{i}].amount")
        rows.append({"method": p.method, "amount_fen": p.amount, "reference": p.reference})
    tendered = sum(p["amount_fen"] for p in rows)
    cash = sum(p["amount_fen"] for p in rows if p["method"] == "cash")
    if tendered < total:
        raise InsufficientPayment(
            f"payments of {format_amount(tendered)} do not cover the total {format_amount(total)}",
            field="payments",
        )
    if tendered - cash > total:
        raise InsufficientPayment(
            f"non-cash payments of {format_amount(tendered - cash)} exceed the total {format_amount(total)}; "
            "only cash gives change",
            field="payments",
        )
    return rows, tendered, tendered - total
