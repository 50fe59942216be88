"""Stock per store at moving-average cost: purchases (进货), adjustments and counts, and relief by sales.

``pos_stock`` holds quantity (thousandths) and value (fen) per store and product. A purchase adds both and
posts Dr 1405 库存商品 [store] / Cr 2202 应付账款 [supplier] at once; an adjustment or a count moves value
at the moving-average cost through 1901 待处理财产损溢 (to 5711 / 5301 after approval, by the finance
office). A sale relieves stock in its own transaction; its cost reaches the books with the shift voucher
(Dr 5401 / Cr 1405), so ``stock value + COGS of open shifts = 1405`` is the tie ``cunshe verify`` checks.
Selling beyond recorded stock is allowed (the shelf is the truth): the quantity goes negative at the last
average cost and shows in the stock-exceptions list. Rows are locked (PostgreSQL ``FOR UPDATE``, in product
order; SQLite's write lock) so concurrent sales never lose an update. Never relieve stock outside a caller's
write transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from sqlalchemy import Connection, func, insert, select

from ledger.access.auth import Principal
from ledger.books.errors import NotFound, ValidationError
from ledger.books.money import round_half_up
from ledger.books.orgs import counterparty, get_org, now
from ledger.books.posting import Draft, KeptAccount, Line, post_entry, register_kept_account
from ledger.books.verify import Tie, register_tie
from ledger.db.models import Account, JournalLine, Org
from pos.fastsql import Sql, is_pg
from pos.models import PosProduct, PosSale, PosShift, PosStock, PosStockMove
from pos.stores import StoreRef, store_t

stock_t = PosStock.__table__
move_t = PosStockMove.__table__
product_t = PosProduct.__table__
org_t = Org.__table__

MFEN_PER_MILLI = 1_000_000  # avg_cost_mfen * qty_milli / 1e6 = fen


@dataclass
class StockRow:
    qty_milli: int
    value_fen: int
    avg_cost_mfen: int

    def _reprice(self) -> None:
        if self.qty_milli > 0:
            self.avg_cost_mfen = round_half_up(self.value_fen * MFEN_PER_MILLI, self.qty_milli)

    def relieve(self, qty: int) -> int:
        """Take ``qty`` out at the moving-average cost; returns the cost in fen."""
        if self.qty_milli >= qty:
            cost = (
                self.value_fen
                if qty == self.qty_milli
                else round_half_up(self.value_fen * qty, self.qty_milli)
            )
        elif self.qty_milli > 0:  # part on hand, the rest beyond recorded stock at the last average cost
            cost = self.value_fen + round_half_up((qty - self.qty_milli) * self.avg_cost_mfen, MFEN_PER_MILLI)
        else:
            cost = round_half_up(qty * self.avg_cost_mfen, MFEN_PER_MILLI)
        self.qty_milli -= qty
        self.value_fen -= cost
        return cost

    def receive(self, qty: int, value: int) -> None:
        """Add ``qty`` worth ``value`` fen (a purchase, a refund back to stock, a count gain)."""
        self.qty_milli += qty
        self.value_fen += value
        if self.qty_milli > 0:
            self._reprice()
        elif qty > 0:
            self.avg_cost_mfen = round_half_up(value * MFEN_PER_MILLI, qty)


_SELECT_STOCK = (
    "SELECT product_id, qty_milli, value_fen, avg_cost_mfen FROM pos_stock "
    "WHERE store_id = :store AND product_id IN ({ids}) ORDER BY product_id"
)
_INSERT_STOCK = Sql(
    "INSERT INTO pos_stock (store_id, product_id, org_id, qty_milli, value_fen, avg_cost_mfen) "
    "VALUES (:store, :product, :org, 0, 0, 0) ON CONFLICT (store_id, product_id) DO NOTHING"
)
_UPDATE_STOCK = Sql(
    "UPDATE pos_stock SET qty_milli = :qty, value_fen = :value, avg_cost_mfen = :avg "
    "WHERE store_id = :store AND product_id = :product"
)


@lru_cache(maxsize=64)
def _select_stock_sql(n: int, lock: bool) -> Sql:
    ids = ", ".join(f":p{i}" for i in range(n))
    return Sql(_SELECT_STOCK.format(ids=ids) + (" FOR UPDATE" if lock else ""))


def _select_stock(conn: Connection, store_id: int, ids: Sequence[int]) -> dict[int, StockRow]:
    params: dict[str, int] = {f"p{i}": pid for i, pid in enumerate(ids)}
    params["store"] = store_id
    rows = _select_stock_sql(len(ids), is_pg(conn)).run(conn, params)
    return {r[0]: StockRow(r[1], r[2], r[3]) for r in rows.fetchall()}


def lock_stock(
    conn: Connection, org_id: int, store_id: int, product_ids: Sequence[int]
) -> dict[int, StockRow]:
    """The stock rows of these products in the store, created if missing and locked for this transaction."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = _select_stock(conn, store_id, ids)
    missing = [pid for pid in ids if pid not in rows]
    if missing:
        _INSERT_STOCK.run(conn, [{"store": store_id, "product": pid, "org": org_id} for pid in missing])
        rows.update(_select_stock(conn, store_id, missing))
    return rows


def save_stock(conn: Connection, store_id: int, rows: dict[int, StockRow]) -> None:
    if rows:
        _UPDATE_STOCK.run(
            conn,
            [
                {
                    "store": store_id,
                    "product": pid,
                    "qty": r.qty_milli,
                    "value": r.value_fen,
                    "avg": r.avg_cost_mfen,
                }
                for pid, r in rows.items()
            ],
        )


# -- purchases and adjustments --------------------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseLine:
    product_id: int
    qty_milli: int
    cost_fen: int  # the line's total cost, input VAT included (small-scale taxpayers put it into cost)


def _product_ids(conn: Connection, org_id: int, skus: Sequence[str], field: str) -> dict[str, int]:
    found = dict(
        conn.execute(
            select(product_t.c.sku, product_t.c.id).where(
                product_t.c.org_id == org_id, product_t.c.sku.in_(skus)
            )
        ).all()
    )
    for i, sku in enumerate(skus):
        if sku not in found:
            raise NotFound(f"no product with SKU {sku!r}", field=f"{field}[{i}].sku")
    return found


def supplier_counterparty(
    conn: Connection, org_id: int, *, supplier: str | None, village_org_id: int | None
) -> int:
    """The company's supplier counterparty: a partner village (by org) or a named supplier."""
    if village_org_id is not None:
        row = conn.execute(select(org_t.c.name, org_t.c.kind).where(org_t.c.id == village_org_id)).first()
        if row is None or row.kind not in ("village", "community"):
            raise ValidationError(
                "the supplier org is a partner village or community", field="village_org_id"
            )
        return counterparty(conn, org_id, "supplier", row.name, ref_org_id=village_org_id)
    if not supplier or not supplier.strip():
        raise ValidationError("name the supplier, or give the village org", field="supplier")
    return counterparty(conn, org_id, "supplier", supplier.strip())


@dataclass(frozen=True)
class Purchase:
    """进货 as the back office enters it: from a supplier by name or a village org, ``lines`` of (sku, qty
    milli, cost fen)."""

    day: date
    supplier: str | None
    village_org_id: int | None
    lines: Sequence[tuple[str, int, int]]
    memo: str = ""


def record_purchase(
    conn: Connection,
    user: Principal | None,
    store: StoreRef,
    purchase: Purchase,
    *,
    idempotency_key: str | None = None,
) -> tuple[int, str]:
    """进货: stock in at cost and Dr 1405 [store] / Cr 2202 [supplier]. Returns (entry id, voucher no)."""
    lines, memo = purchase.lines, purchase.memo
    if not lines:
        raise ValidationError("a purchase needs at least one line", field="lines")
    cp = supplier_counterparty(
        conn, store.org_id, supplier=purchase.supplier, village_org_id=purchase.village_org_id
    )
    ids = _product_ids(conn, store.org_id, [sku for sku, _, _ in lines], "lines")
    total = 0
    for i, (_, qty, cost) in enumerate(lines):
        if qty <= 0:
            raise ValidationError("quantities are positive", field=f"lines[{i}].quantity")
        if cost <= 0:
            raise ValidationError("a purchase line has a cost", field=f"lines[{i}].cost")
        total += cost
    posted = post_entry(
        conn,
        Draft(
            org_id=store.org_id,
            entry_date=purchase.day,
            memo=memo or f"{store.name} 进货",
            lines=[
                Line("1405", debit_fen=total, store_id=store.id, memo="库存商品"),
                Line("2202", credit_fen=total, counterparty_id=cp, memo="应付账款"),
            ],
            source="pos",
            source_ref=f"purchase:{store.id}",
            idempotency_key=idempotency_key,
        ),
        user_id=user.user_id if user else None,
    )
    if not posted.created:
        return posted.id, posted.voucher_no
    rows = lock_stock(conn, store.org_id, store.id, list(ids.values()))
    stamp = now()
    moves = []
    for sku, qty, cost in lines:
        rows[ids[sku]].receive(qty, cost)
        moves.append(
            {
                "org_id": store.org_id,
                "store_id": store.id,
                "product_id": ids[sku],
                "kind": "purchase",
                "qty_milli": qty,
                "value_fen": cost,
                "counterparty_id": cp,
                "reason": memo,
                "entry_id": posted.id,
                "user_id": user.user_id if user else None,
                "at": stamp,
            }
        )
    save_stock(conn, store.id, rows)
    conn.execute(insert(move_t), moves)
    return posted.id, posted.voucher_no


def adjust_stock(
    conn: Connection,
    user: Principal | None,
    store: StoreRef,
    *,
    day: date,
    sku: str,
    kind: str,
    qty_milli: int,
    reason: str,
) -> dict:
    """A stock adjustment (``qty_milli`` signed change) or a count (``qty_milli`` = what is on the shelf).

    The value moves at the moving-average cost through 1901 待处理财产损溢: a loss is Dr 1901 / Cr 1405, a
    gain Dr 1405 / Cr 1901; the finance office clears 1901 to 5711 / 5301 after approval.
    """
    if kind not in ("adjust", "count"):
        raise ValidationError("kind is adjust or count", field="kind")
    if not reason.strip():
        raise ValidationError("say why the stock is adjusted", field="reason")
    pid = _product_ids(conn, store.org_id, [sku], "lines")[sku]
    row = lock_stock(conn, store.org_id, store.id, [pid])[pid]
    delta = qty_milli - row.qty_milli if kind == "count" else qty_milli
    if kind == "count" and qty_milli < 0:
        raise ValidationError("a count is not negative", field="quantity")
    if delta == 0:
        return {"product_id": pid, "qty_milli": 0, "value_fen": 0, "voucher_no": None}
    if delta < 0:
        value = -row.relieve(-delta)
    else:
        value = round_half_up(delta * row.avg_cost_mfen, MFEN_PER_MILLI)
        row.receive(delta, value)
    entry_id = voucher = None
    if value != 0:
        amount = abs(value)
        lines = (
            [
                Line("1901", debit_fen=amount, store_id=store.id),
                Line("1405", credit_fen=amount, store_id=store.id),
            ]
            if value < 0
            else [
                Line("1405", debit_fen=amount, store_id=store.id),
                Line("1901", credit_fen=amount, store_id=store.id),
            ]
        )
        posted = post_entry(
            conn,
            Draft(
                org_id=store.org_id,
                entry_date=day,
                memo=f"{store.name} 库存{'盘点' if kind == 'count' else '调整'} {sku}: {reason.strip()}"[
                    :500
                ],
                lines=lines,
                source="pos",
                source_ref=f"stock:{store.id}",
            ),
            user_id=user.user_id if user else None,
        )
        entry_id, voucher = posted.id, posted.voucher_no
    save_stock(conn, store.id, {pid: row})
    conn.execute(
        insert(move_t).values(
            org_id=store.org_id,
            store_id=store.id,
            product_id=pid,
            kind=kind,
            qty_milli=delta,
            value_fen=value,
            reason=reason.strip(),
            entry_id=entry_id,
            user_id=user.user_id if user else None,
            at=now(),
        )
    )
    return {"product_id": pid, "qty_milli": delta, "value_fen": value, "voucher_no": voucher}


# -- reading --------------------------------------------------------------------------------------------


def stock_levels(conn: Connection, store_id: int, *, exceptions_only: bool = False) -> list[dict]:
    stmt = (
        select(
            product_t.c.sku,
            product_t.c.name,
            product_t.c.unit,
            stock_t.c.qty_milli,
            stock_t.c.value_fen,
            stock_t.c.avg_cost_mfen,
        )
        .join(product_t, product_t.c.id == stock_t.c.product_id)
        .where(stock_t.c.store_id == store_id)
        .order_by(product_t.c.sku)
    )
    if exceptions_only:
        stmt = stmt.where(stock_t.c.qty_milli < 0)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def _has_store(conn: Connection, org_id: int) -> bool:
    """The org runs a store (or keeps stock): its 1405 is the stores' stock."""
    for table in (store_t, stock_t):
        if conn.execute(select(table.c.org_id).where(table.c.org_id == org_id).limit(1)).first() is not None:
            return True
    return False


# In a company with a store, 1405 moves only with the stock (purchases, adjustments, counts, shift closes),
# from the store's opening on: a plain entry before the first purchase would already break the stock tie.
register_kept_account(
    KeptAccount(
        "1405",
        "the stores' stock (a purchase or a stock adjustment: /stores/{store}/purchases, /stock-adjustments)",
        applies=_has_store,
        source="pos",
    )
)


def _balances_by(conn: Connection, org_id: int, code: str, dimension: str) -> dict[int | None, int]:
    """The balance (debit − credit) of the account ``code`` and its sub-accounts, by the journal lines'
    ``dimension`` (``store_id``, ``counterparty_id``; None for lines without one)."""
    line_t, acct_t = JournalLine.__table__, Account.__table__
    by = line_t.c[dimension]
    rows = conn.execute(
        select(by, func.sum(line_t.c.debit_fen - line_t.c.credit_fen))
        .join(acct_t, acct_t.c.id == line_t.c.account_id)
        .where(line_t.c.org_id == org_id, acct_t.c.code.like(f"{code}%"))
        .group_by(by)
    )
    return {key: int(balance) for key, balance in rows}


@register_tie("pos_stock")
def stock_tie(conn: Connection, org_id: int) -> Tie | None:
    """库存商品 = 1405 [store] (DESIGN §7): each store's stock value plus the cost of its sales in still-open
    shifts (1405 is credited when the shift closes) equals its 1405 balance."""
    has_stock = conn.execute(select(stock_t.c.store_id).where(stock_t.c.org_id == org_id).limit(1)).first()
    if has_stock is None:
        return None
    sale_t, shift_t = PosSale.__table__, PosShift.__table__
    value = dict(
        conn.execute(
            select(stock_t.c.store_id, func.sum(stock_t.c.value_fen))
            .where(stock_t.c.org_id == org_id)
            .group_by(stock_t.c.store_id)
        ).all()
    )
    pending = dict(
        conn.execute(
            select(sale_t.c.store_id, func.sum(sale_t.c.cost_fen))
            .join(shift_t, shift_t.c.id == sale_t.c.shift_id)
            .where(sale_t.c.org_id == org_id, shift_t.c.status == "open")
            .group_by(sale_t.c.store_id)
        ).all()
    )
    booked = _balances_by(conn, org_id, "1405", "store_id")
    stores = sorted(set(value) | set(pending) | set(booked), key=lambda s: (s is None, s or 0))
    sub = {s: int(value.get(s) or 0) + int(pending.get(s) or 0) for s in stores}
    books = {s: int(booked.get(s) or 0) for s in stores}
    return Tie(
        "stock",
        "库存商品 = 1405",
        sum(sub.values()),
        sum(books.values()),
        ("store_id", "subledger_fen", "ledger_fen", "difference_fen"),
        tuple((s, sub[s], books[s], sub[s] - books[s]) for s in stores if sub[s] != books[s]),
    )


@register_tie(None)
def customer_tie(conn: Connection, org_id: int) -> Tie | None:
    """客户余额 = 1122: the receivables of named customers against the control account; 挂账 without a
    customer shows as a difference (shown in the ties report; not yet a verify failure)."""
    if get_org(conn, org_id).standard != "small_enterprise":
        return None
    by_customer = _balances_by(conn, org_id, "1122", "counterparty_id")
    control = sum(int(v) for v in by_customer.values())
    named = sum(int(v) for k, v in by_customer.items() if k is not None)
    unnamed = int(by_customer.get(None) or 0)
    return Tie(
        "customers",
        "客户余额 = 1122",
        named,
        control,
        ("counterparty_id", "counterparty", "ledger_fen"),
        ((None, "（未挂往来单位）", unnamed),) if unnamed else (),
    )
