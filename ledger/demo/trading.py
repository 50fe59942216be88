"""A store's trading day in the demo, at a village shop's real volume, and the stock that makes it possible.

Each store opens one shift a day with its ¥500 float, sells 30–90 counter tickets of a few items each (weighed
produce and packaged goods; cash, WeChat, Alipay), now and then a credit order of a 六进 institution
(a canteen's weekly staples, a few hundred yuan), takes back about one ticket in a hundred, and closes the
shift on a counted drawer, a few fen over or short now and then. Everything goes through the POS services
the API uses: the day's tickets through the till's batch upload (``record_batch``, each sale with its own
key), sent whenever the day needs to know what they came to (a refund, the pace, the close), refunds and
shifts through ``perform`` (``refund``, ``open_shift``/``close_shift``).

Stock is bought before it runs out: each morning the store reorders, from the partner villages (their
produce) or the county wholesaler (packaged goods), every SKU whose stock would not last a few more days, up
to about a fortnight of its sales, so no SKU is ever sold below zero. The generator keeps its own mirror of
what is on the shelf and never rings up more than it holds.

The store's year is paced: each day it sells about its share of the year's turnover (weekends and the
Spring Festival weeks busier), and on its last trading day its last customer's basket of rice and
vegetables is weighed out so that the year's 营业收入 lands exactly on the store's share.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection

from ledger.access.auth import Principal
from ledger.access.service import Write, perform
from ledger.books.county_time import CHINA
from ledger.books.money import format_amount, format_quantity, line_amount, parse_amount, split_tax_inclusive
from pos import services
from pos.messages import PaymentIn, RefundIn, RefundLineIn, SaleIn, SaleLineIn
from pos.sales import record_batch
from pos.shifts import shift_report
from pos.stores import StoreRef

FLOAT_FEN = 50_000
VAT_BP = 100
WHOLESALER = "县糖酒副食品批发公司"


@dataclass(frozen=True)
class Sku:
    sku: str
    name: str
    unit: str
    price_fen: int
    weighed: bool
    category: str
    cost_pct: int  # purchase cost as a share of the shelf price
    popularity: int  # relative chance of being in a counter basket
    usual: tuple[int, int]  # a counter basket's quantity, milli-units (weighed) or units
    village: bool  # bought from a partner village (else the wholesaler)


# The village produce (the same SKUs and prices the till and the officer's month use) and the packaged goods.
CATALOGUE = [
    Sku("NC-001", "土鸡蛋", "个", 150, False, "禽蛋", 66, 28, (4, 12), True),
    Sku("NC-002", "高山大米", "kg", 680, True, "粮油", 66, 14, (1_000, 3_000), True),
    Sku("NC-003", "菜籽油(5L)", "桶", 8_900, False, "粮油", 70, 1, (1, 1), True),
    Sku("NC-004", "空心李", "斤", 800, True, "水果", 62, 8, (500, 2_000), True),
    Sku("NC-005", "土豆", "kg", 320, True, "蔬菜", 62, 20, (500, 2_500), True),
    Sku("NC-006", "腊肉", "斤", 4_800, True, "肉类", 68, 3, (300, 1_000), True),
    Sku("NC-007", "沿河白茶", "盒", 12_800, False, "茶叶", 64, 1, (1, 1), True),
    Sku("NC-008", "红薯粉", "袋", 1_500, False, "干货", 66, 6, (1, 2), True),
    Sku("NC-009", "土蜂蜜", "瓶", 6_800, False, "特产", 66, 1, (1, 1), True),
    Sku("NC-010", "辣椒面", "袋", 1_250, False, "调味", 66, 8, (1, 2), True),
    Sku("NC-011", "时令蔬菜", "斤", 250, True, "蔬菜", 60, 34, (500, 2_500), True),
    Sku("NC-012", "黄豆", "kg", 960, True, "粮油", 66, 5, (500, 1_500), True),
    Sku("PF-001", "酱油(500ml)", "瓶", 890, False, "调味", 74, 12, (1, 2), False),
    Sku("PF-002", "食盐(400g)", "袋", 300, False, "调味", 74, 12, (1, 2), False),
    Sku("PF-003", "挂面(1kg)", "把", 650, False, "粮油", 74, 16, (1, 2), False),
    Sku("PF-004", "方便面(5连包)", "包", 1_350, False, "速食", 74, 12, (1, 2), False),
    Sku("PF-005", "矿泉水(550ml)", "瓶", 200, False, "饮料", 60, 26, (1, 4), False),
    Sku("PF-006", "纯牛奶(250ml×12)", "箱", 4_500, False, "乳品", 76, 3, (1, 1), False),
    Sku("PF-007", "洗衣粉(1kg)", "袋", 1_290, False, "日化", 72, 5, (1, 1), False),
    Sku("PF-008", "卫生纸(10卷)", "提", 1_990, False, "日化", 72, 5, (1, 1), False),
    Sku("PF-009", "啤酒(500ml)", "瓶", 450, False, "酒水", 70, 16, (1, 4), False),
    Sku("PF-010", "饼干(400g)", "袋", 990, False, "零食", 70, 10, (1, 2), False),
    Sku("PF-011", "白砂糖(500g)", "袋", 580, False, "调味", 74, 6, (1, 2), False),
    Sku("PF-012", "洗洁精(1.1kg)", "瓶", 1_050, False, "日化", 72, 5, (1, 1), False),
]
BY_SKU = {s.sku: s for s in CATALOGUE}
# What a canteen of a 六进 institution orders for the week: SKU → (least, most) in milli-units.
INSTITUTION_ORDER = {
    "NC-002": (20_000, 60_000),
    "NC-003": (1_000, 3_000),
    "NC-005": (20_000, 50_000),
    "NC-011": (30_000, 90_000),
    "NC-001": (60_000, 180_000),
    "NC-012": (5_000, 15_000),
    "PF-002": (2_000, 6_000),
    "PF-003": (5_000, 15_000),
}
INSTITUTION_MAX_FEN = 180_000  # a credit order above ¥1,800 is trimmed: a canteen's week, not a wholesale lot


def paid(method: str, fen: int, reference: str | None = None) -> PaymentIn:
    """A payment as the till sends it (the amount a decimal string), read as the door reads it."""
    return PaymentIn.model_validate({"method": method, "amount": format_amount(fen), "reference": reference})


def sold(sku: str, milli: int) -> SaleLineIn:
    """A sale line as the till sends it (the quantity a decimal string)."""
    return SaleLineIn.model_validate({"sku": sku, "quantity": format_quantity(milli)})


def sale_in(**fields: object) -> SaleIn:
    """A sale as the till sends it (the channel a word of the API's), read as the door reads it."""
    return SaleIn.model_validate(fields)


def at(day: date, minute: int) -> datetime:
    """A moment of the business day (from 07:30 Beijing time), as the till would send it."""
    return datetime.combine(day, time(7, 30), tzinfo=CHINA).astimezone(UTC) + timedelta(minutes=minute)


def day_weight(day: date) -> float:
    """How busy a day is: weekends and the Spring Festival weeks more, the days after the festival less."""
    weight = 1.2 if day.weekday() >= 5 else 1.0
    if (day.month, day.day) >= (1, 15) and (day.month, day.day) <= (1, 28):
        weight *= 1.35  # 年货 (the festival fell on 29 January 2025)
    elif day.month == 2 and day.day <= 10:
        weight *= 0.8
    return weight


@dataclass
class StoreTrade:
    store: StoreRef
    cashier: Principal
    officer: Principal  # the street's officer: the back office's purchases and counts
    customers: dict[str, int]  # channel → customer id
    suppliers: dict[str, int]  # sku → village org id (None-like 0: the wholesaler)
    target_net_fen: int  # the store's share of the published turnover
    year_target_fen: int = 0  # what this year's pace aims at (the published year: the share)
    net_fen: int = 0  # this year's 营业收入 so far
    budget_fen: int = 0  # the turnover the pace asks for up to today
    on_hand: dict[str, int] = field(default_factory=dict)  # sku → milli-units on the shelf
    daily: dict[str, float] = field(default_factory=dict)  # sku → milli-units sold a day (moving)
    sales: int = 0
    refunds: int = 0
    tickets_by_day: dict[date, int] = field(default_factory=dict)
    largest_counter_fen: int = 0


def gross_of(lines: list[tuple[str, int]]) -> int:
    return sum(line_amount(q, BY_SKU[s].price_fen) for s, q in lines)


def net_of(gross: int) -> int:
    return split_tax_inclusive(gross, VAT_BP)[0]


def counter_basket(rng: random.Random, on_hand: dict[str, int] | None) -> list[tuple[str, int]]:
    """A customer's basket: one to four items, the staples most often; never more than the shelf holds."""
    n = rng.choice((1, 1, 2, 2, 2, 3, 3, 4))
    picked: list[tuple[str, int]] = []
    seen: set[str] = set()
    weights = [s.popularity for s in CATALOGUE]
    for _ in range(n):
        s = rng.choices(CATALOGUE, weights)[0]
        if s.sku in seen:
            continue
        seen.add(s.sku)
        lo, hi = s.usual
        qty = rng.randint(lo, hi) // 10 * 10 if s.weighed else rng.randint(lo, hi) * 1000
        if on_hand is not None and on_hand.get(s.sku, 0) < qty:
            continue  # sold out on this shelf today
        picked.append((s.sku, qty))
    return picked


def expected_daily_use(seed: int, tickets_a_day: float) -> dict[str, float]:
    """Milli-units a day of each SKU at this many tickets, from a sample of baskets (the reorder's start)."""
    rng = random.Random(seed)
    totals = dict.fromkeys(BY_SKU, 0)
    n = 4_000
    for _ in range(n):
        for s, q in counter_basket(rng, None):
            totals[s] += q
    use = {s: q / n * tickets_a_day for s, q in totals.items()}
    for s, (lo, hi) in INSTITUTION_ORDER.items():
        use[s] += (lo + hi) / 2 * 0.3  # about two credit orders a week
    return use


def reorder(st: StoreTrade, lead_days: float, cover_days: float) -> dict[int, list[tuple[str, int, int]]]:
    """What to buy this morning, by supplier (village org id, 0 for the wholesaler): every SKU whose stock
    would not last ``lead_days``, up to ``cover_days`` of its sales (whole units)."""
    orders: dict[int, list[tuple[str, int, int]]] = {}
    for s in CATALOGUE:
        use = max(st.daily.get(s.sku, 0.0), 1.0)
        have = st.on_hand.get(s.sku, 0)
        if have >= use * lead_days + _largest_line(s):
            continue
        want = int(use * cover_days + _largest_line(s)) - have
        qty = max(1, -(-want // 1000)) * 1000
        cost = max(1, qty * s.price_fen * s.cost_pct // 100 // 1000)
        orders.setdefault(st.suppliers[s.sku], []).append((s.sku, qty, cost))
    return orders


def _largest_line(s: Sku) -> int:
    lo_hi = INSTITUTION_ORDER.get(s.sku)
    basket = s.usual[1] if s.weighed else s.usual[1] * 1000
    return max(basket, lo_hi[1] if lo_hi else 0)


def _payments(rng: random.Random, total: int) -> list[PaymentIn]:
    roll = rng.random()
    if roll < 0.45:  # cash: a note or two, the till gives the change
        note = 1_000 if total <= 1_000 else (5_000 if total <= 5_000 else 10_000)
        tendered = -(-total // note) * note
        return [paid("cash", tendered)]
    if roll < 0.82:
        return [paid("wechat", total, f"wx{rng.randrange(10**12)}")]
    if roll < 0.97 or total < 200:
        return [paid("alipay", total, f"ali{rng.randrange(10**12)}")]
    cash = rng.randint(1, (total - 1) // 100) * 100
    return [
        paid("cash", cash),
        paid("wechat", total - cash, f"wx{rng.randrange(10**12)}"),
    ]


class Till:
    """One store's shift of one day, through the POS services."""

    def __init__(
        self, conn: Connection, st: StoreTrade, day: date, rng: random.Random, *, eager: bool = False
    ) -> None:
        self.conn, self.st, self.day, self.rng = conn, st, day, rng
        self.minute = 0
        self.count = 0
        self.eager = (
            eager  # send each ticket at once (the year's last day watches its turnover ticket by ticket)
        )
        opened = self.till(
            services.open_shift(st.cashier, st.store.id, FLOAT_FEN, opened_at=at(day, 0)),
            f"demo-open-{st.store.id}-{day.isoformat()}",
        )
        self.shift_id: int = opened["id"]
        self.sold: dict[str, int] = {}
        self.queue: list[SaleIn] = []
        self.last_sale: dict = {}

    def till(self, write: Write[Any], key: str) -> Any:
        """What the till asks of the API's door (``/shifts``, ``/refunds``): the same service, carried out
        with its key and audited in the company, as a write route's ``WriteDoor.respond`` does."""
        return perform(self.conn, self.st.cashier, write, key=key, remote_addr=None).body

    def send(self) -> None:
        """The tickets rung up since the last upload, through the till's batch service (``/sales:batch``)."""
        if not self.queue:
            return
        st = self.st
        outcomes = record_batch(
            self.conn,
            st.cashier,
            [None] * len(self.queue),
            list(enumerate(self.queue)),
            {st.store.id: st.store},
            max_lead_seconds=10**9,
        )
        self.queue = []
        for outcome in outcomes:
            if outcome.status != "created" or outcome.sale is None:
                raise RuntimeError(f"store {st.store.id}: a demo sale was {outcome.status}: {outcome.error}")
            st.net_fen += parse_amount(outcome.sale["net"], allow_negative=True)
            self.last_sale = outcome.sale

    def sell(
        self, lines: list[tuple[str, int]], *, customer: tuple[str, int] | None = None, tag: str = ""
    ) -> None:
        st = self.st
        self.minute += self.rng.randint(3, 17)
        total = gross_of(lines)
        if customer is None:
            channel, customer_id, payments = "counter", None, _payments(self.rng, total)
            st.largest_counter_fen = max(st.largest_counter_fen, total)
        else:
            channel, customer_id = customer
            payments = [paid("credit", total)]
        self.queue.append(
            sale_in(
                idempotency_key=f"demo-{st.store.id}-{self.day.isoformat()}-{self.count}{tag}",
                store_id=st.store.id,
                shift_id=self.shift_id,
                sold_at=at(self.day, self.minute),
                channel=channel,
                customer_id=customer_id,
                lines=[sold(s, q) for s, q in lines],
                payments=payments,
            )
        )
        self.count += 1
        st.sales += 1
        for s, q in lines:
            st.on_hand[s] -= q
            self.sold[s] = self.sold.get(s, 0) + q
        if self.eager:
            self.send()

    def refund_first_line(self, lines: list[tuple[str, int]]) -> None:
        """The customer of the ticket just rung up brings its first line back."""
        self.send()
        st, sale = self.st, self.last_sale
        self.minute += self.rng.randint(2, 10)
        body = RefundIn(
            shift_id=self.shift_id,
            refunded_at=at(self.day, self.minute),
            lines=[RefundLineIn(line_no=1, quantity=sale["lines"][0]["quantity"])],
            reason=self.rng.choice(("顾客退货", "商品破损", "买错了")),
        )
        key = f"demo-refund-{sale['id']}-refund"
        refund = self.till(services.refund(st.cashier, sale["id"], body, key, max_lead_seconds=10**9), key)
        st.refunds += 1
        st.net_fen += parse_amount(refund["net"], allow_negative=True)
        s, q = lines[0]
        st.on_hand[s] += q
        self.sold[s] -= q

    def close(self) -> None:
        """交班 on a counted drawer: now and then a few fen to a few yuan over or short."""
        self.send()
        expected = parse_amount(shift_report(self.conn, self.st.cashier, self.shift_id)["cash"]["expected"])
        roll = self.rng.random()
        variance = (
            self.rng.randint(1, 500) if roll < 0.02 else (-self.rng.randint(1, 300) if roll < 0.04 else 0)
        )
        self.till(
            services.close_shift(self.st.cashier, self.shift_id, max(0, expected + variance)),
            f"demo-close-{self.shift_id}",
        )
        self.st.tickets_by_day[self.day] = self.count
        for s in BY_SKU:  # the moving estimate of what a day sells, for the next reorder
            self.st.daily[s] = self.st.daily.get(s, 0.0) * 0.9 + self.sold.get(s, 0) * 0.1


def institution_order(rng: random.Random, on_hand: dict[str, int]) -> list[tuple[str, int]]:
    skus = rng.sample(sorted(INSTITUTION_ORDER), rng.randint(3, 5))
    lines = []
    for s in skus:
        lo, hi = INSTITUTION_ORDER[s]
        qty = rng.randint(lo // 1000, hi // 1000) * 1000
        if on_hand.get(s, 0) >= qty:
            lines.append((s, qty))
    while lines and gross_of(lines) > INSTITUTION_MAX_FEN:
        lines.pop()
    return lines


def final_basket(rng: random.Random, gross: int, on_hand: dict[str, int]) -> list[tuple[str, int]]:
    """The year's last basket, weighed out to exactly ``gross`` fen: packaged goods while more than ¥40
    is left, then rice, and vegetables at ¥2.50 a 斤 for the last fen (a quarter of a fen per gram)."""
    lines: list[tuple[str, int]] = []
    left = gross
    for s in rng.sample([s for s in CATALOGUE if not s.weighed and s.price_fen < 2_000], 6):
        if left - s.price_fen < 4_000 or on_hand.get(s.sku, 0) < 1000:
            continue
        lines.append((s.sku, 1000))
        left -= s.price_fen
    veg = rng.randint(300, 1_200)
    if left - veg > 0:
        rice = BY_SKU["NC-002"]
        qty = (left - veg) * 1000 // rice.price_fen
        if qty > 0:
            lines.append((rice.sku, qty))
            left -= line_amount(qty, rice.price_fen)
    lines.append(("NC-011", left * 4))
    assert gross_of(lines) == gross, (lines, gross)
    return lines


def gross_for_net(net: int) -> int:
    gross = net + net * VAT_BP // 10_000
    while net_of(gross) < net:
        gross += 1
    while net_of(gross) > net:
        gross -= 1
    return gross


def trade_day(
    conn: Connection,
    st: StoreTrade,
    day: date,
    rng: random.Random,
    day_budget: int,
    last: bool,
    avg_ticket: int,
    *,
    fewest: int = 32,
) -> None:
    """One store's day: its credit order if one comes, its counter tickets, its refunds, its 交班."""
    st.budget_fen += day_budget
    till = Till(conn, st, day, rng, eager=last)
    need = st.budget_fen - st.net_fen
    if not last and rng.random() < 0.3:
        lines = institution_order(rng, st.on_hand)
        if lines:
            channel, customer = rng.choice(sorted(st.customers.items()))
            till.sell(lines, customer=(channel, customer))
            till.send()  # the pace asks what the order came to
            need = st.budget_fen - st.net_fen
    tickets = max(fewest, min(90, round(need / avg_ticket)))
    n = 0
    while True:
        if last:
            if st.year_target_fen - st.net_fen < 6_000:
                break
        elif n >= tickets:
            break
        lines = counter_basket(rng, st.on_hand)
        if not lines:
            continue
        if last and net_of(gross_of(lines)) > st.year_target_fen - st.net_fen - 2_500:
            continue
        till.sell(lines)
        n += 1
        if rng.random() < 0.01 and not last:
            till.refund_first_line(lines)
    if last:
        remaining = st.year_target_fen - st.net_fen
        gross = gross_for_net(remaining)
        till.sell(final_basket(rng, gross, st.on_hand), tag="-last")
        if st.net_fen != st.year_target_fen:
            raise RuntimeError(
                f"store {st.store.id}: turnover {st.net_fen} is not its share {st.year_target_fen}"
            )
    till.close()
