"""The joint companies' year in the demo: shareholders and capital, the catalogue (village produce and
packaged goods), the stores' trading days at a village shop's volume (``ledger.demo.trading``) with the
stock bought before it runs out — from the partner villages, whose own books record the sale, the
receivable and the payment, and from the county wholesaler — month-end banking, wages through 2211,
rent, utilities and the office, the quarterly VAT exemption, the small low-profit enterprise's income tax,
the year-end close and the distribution.

No figure is written in: each store's last basket of the year is weighed out so that its 营业收入 is its
share of the published turnover, and each company's December utility bill (the one bill that arrives with
the year end) is what it is so that its 净利润 after the 5 % income tax is its share of the published
profit (shared out by turnover). Every figure reaches the books through the same services the API uses.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, Engine

from ledger.access.auth import Principal
from ledger.access.service import perform
from ledger.books.county_time import CHINA
from ledger.books.money import (
    format_amount,
    line_amount,
    parse_amount,
    round_half_up,
)
from ledger.books.orgs import ensure_sub_account
from ledger.books.periods import period_bounds
from ledger.books.posting import Draft, Line, post_entries, post_entry
from ledger.books.trial_balance import trial_balance
from ledger.community.stakes import company_counterparty, record_stake
from ledger.db.engine import write_tx
from ledger.demo.plans import distribute
from ledger.demo.targets import SUPERMARKET_PROFIT_FEN, SUPERMARKET_TURNOVER_FEN, split
from ledger.demo.trading import (
    CATALOGUE,
    WHOLESALER,
    StoreTrade,
    day_weight,
    expected_daily_use,
    paid,
    reorder,
    sale_in,
    sold,
    trade_day,
)
from ledger.demo.tree import DemoTree, demo_user, officer_of
from ledger.distribution.execute import dividend_owed
from ledger.distribution.plans import Step
from ledger.distribution.services import pay_dividend
from ledger.distribution.shareholders import add_shareholder, list_shareholdings, pay_in_capital
from ledger.distribution.vat import post_vat_exemption, vat_quarter
from ledger.distribution.yearend import close_year, year_profit
from pos import services, stock
from pos.catalogue import (
    ProductIn,
    create_customer,
    ensure_default_rates,
    get_customer,
    open_balance,
    upsert_products,
)
from pos.messages import PaymentIn, RefundIn, RefundLineIn, SaleIn, SaleLineIn
from pos.sales import create_sale
from pos.shifts import shift_report
from pos.stock import supplier_counterparty
from pos.stores import get_store

FLOAT_FEN = 50_000
DIVIDEND_MONTH, DIVIDEND_DAY = 3, 28  # a year's dividends are paid when the next year's March ends

# The officer's month (``officer_month``) still rings up its baskets from the village produce alone:
# sku, name, unit, price (fen), weighed?, category (the same SKUs and prices as ``trading.CATALOGUE``).
PRODUCE = [
    ("NC-001", "土鸡蛋", "个", 150, False, "禽蛋"),
    ("NC-002", "高山大米", "kg", 680, True, "粮油"),
    ("NC-003", "菜籽油(5L)", "桶", 8_900, False, "粮油"),
    ("NC-004", "空心李", "斤", 800, True, "水果"),
    ("NC-005", "土豆", "kg", 320, True, "蔬菜"),
    ("NC-006", "腊肉", "斤", 4_800, True, "肉类"),
    ("NC-007", "沿河白茶", "盒", 12_800, False, "茶叶"),
    ("NC-008", "红薯粉", "袋", 1_500, False, "干货"),
    ("NC-009", "土蜂蜜", "瓶", 6_800, False, "特产"),
    ("NC-010", "辣椒面", "袋", 1_250, False, "调味"),
    ("NC-011", "时令蔬菜", "斤", 250, True, "蔬菜"),
    ("NC-012", "黄豆", "kg", 960, True, "粮油"),
]
INSTITUTIONS = [
    ("agency", "县直机关食堂"),
    ("school", "第一中学食堂"),
    ("enterprise", "工业园区企业食堂"),
    ("village", "示范村便民服务点"),
    ("community", "社区老年食堂"),
    ("resettlement", "易地扶贫安置点服务中心"),
]
STORE_WEIGHTS = [22, 20, 18, 19, 21]  # the five stores' shares of the county's turnover
AVG_TICKET_FEN = 2_450  # a counter ticket's net on average (the pace's guess of tickets a day)
MONTHLY_RENT_FEN = 135_000  # per store of the average size: the shop's rent (销售费用)
MONTHLY_WAGES_FEN = (
    300_000  # per store of the average size: a full-time and a part-time shop assistant (销售费用, via 2211)
)
MONTHLY_UTILITIES_FEN = 60_000  # per store of the average size, ± 20 % (销售费用)
MONTHLY_OFFICE_FEN = 30_000  # per store of the average size: the company's office and bookkeeping (管理费用)


@dataclass
class StorePlan:
    store_id: int
    street: str
    cashier: Principal
    target_net_fen: int
    net_fen: int = 0
    sales: int = 0
    refunds: int = 0
    last_shift: int | None = None
    receipts: list[dict] = field(default_factory=list)  # every sale and refund, as the till got it back
    counted: list[tuple[date, int]] = field(default_factory=list)  # (business day, cash counted − float)


@dataclass
class CompanyYear:
    notes: list[str] = field(default_factory=list)


def _at(day: date, minute: int) -> datetime:
    """A moment of the business day, Beijing time, as the till would send it."""
    return datetime.combine(day, time(8, 0), tzinfo=CHINA).astimezone(UTC) + timedelta(minutes=minute)


def setup_companies(conn: Connection, tree: DemoTree, year: int) -> dict[str, dict[str, int]]:
    """Shareholders with paid-in capital (both sides), the catalogue and the six-into customers."""
    customers: dict[str, dict[str, int]] = {}
    jan = date(year, 1, 6)
    for street, company in tree.companies.items():
        holders = [*tree.villages[street], *tree.communities[street][:4]]
        capitals = [20_000_000 if n < 2 else 30_000_000 for n in range(len(holders))]
        shares = split(10_000, capitals)
        for holder, capital, share_bp in zip(holders, capitals, shares, strict=True):
            holding = add_shareholder(conn, company, shareholder_org_id=holder, subscribed_fen=capital)
            pay_in_capital(
                conn, holding, amount_fen=capital, paid_on=jan, idempotency_key=f"demo-capital-{holding}"
            )
            record_stake(
                conn,
                holder,
                company_org_id=company,
                paid_in_fen=capital,
                share_bp=share_bp,
                acquired_on=jan,
            )
        floats = FLOAT_FEN * len(tree.stores[street])
        post_entry(  # each store's ¥500 change float (备用金) is the company's cash in the drawer
            conn,
            Draft(
                company,
                jan,
                "提取门店找零备用金",
                [Line("1001", debit_fen=floats), Line("1002", credit_fen=floats)],
                idempotency_key="demo-floats",
            ),
        )
        ensure_default_rates(conn, company)
        villages = tree.villages[street]
        products = [
            ProductIn(
                sku=s.sku,
                name=s.name,
                unit=s.unit,
                price_fen=s.price_fen,
                barcode=f"69{company:03d}{i:07d}",
                category=s.category,
                origin_org_id=villages[i % len(villages)] if s.village else None,
            )
            for i, s in enumerate(CATALOGUE)
        ]
        upsert_products(conn, company, products)
        customers[street] = {
            channel: create_customer(conn, company, name=name, channel=channel, credit_limit_fen=500_000_000)
            for channel, name in INSTITUTIONS
        }
    return customers


def _basket(rng: random.Random, big: bool) -> list[SaleLineIn]:
    lines = []
    for sku, _name, _unit, price, weighed, _cat in rng.sample(
        PRODUCE, rng.randint(2, 5) if big else rng.randint(1, 3)
    ):
        if weighed:
            milli = rng.randint(300, 4_000) * (8 if big else 1)
        else:
            milli = rng.randint(1, 3 if price > 5_000 else 12) * (6 if big else 1) * 1000
        lines.append(sold(sku, milli))
    return lines


def _payments(rng: random.Random, total: int) -> list[PaymentIn]:
    roll = rng.random()
    if roll < 0.45:  # cash, rounded up to the next ten yuan; the till gives change
        tendered = -(-total // 1_000) * 1_000
        return [paid("cash", tendered)]
    if roll < 0.75:
        return [paid("wechat", total, f"wx{rng.randrange(10**12)}")]
    if roll < 0.9:
        return [paid("alipay", total, f"ali{rng.randrange(10**12)}")]
    cash = min(total, rng.randint(1, max(1, total // 100)) * 100)
    rest = total - cash
    pays = [paid("cash", cash)]
    if rest:
        pays.append(paid("wechat", rest, f"wx{rng.randrange(10**12)}"))
    return pays


def _price_of(lines: list[SaleLineIn]) -> int:
    """What the till will charge at catalogue prices (DESIGN §2: each line rounded half up, once)."""
    prices = {sku: price for sku, _n, _u, price, _w, _c in PRODUCE}
    return sum(line_amount(ln.quantity, prices[ln.sku or ""]) for ln in lines)


def _sell(conn: Connection, plan: StorePlan, body: SaleIn, key: str) -> dict:
    sale = json.loads(create_sale(conn, plan.cashier, body, key, max_lead_seconds=10**9).body)
    plan.receipts.append(sale)
    plan.net_fen += parse_amount(sale["net"], allow_negative=True)
    plan.sales += 1
    return sale


def store_day(
    conn: Connection,
    plan: StorePlan,
    customers: dict[str, int],
    day: date,
    rng: random.Random,
    budget_fen: int,
) -> None:
    """One 开班 → sales → 交班 of a store."""
    opened = perform(
        conn,
        plan.cashier,
        services.open_shift(plan.cashier, plan.store_id, FLOAT_FEN, opened_at=_at(day, 0)),
        key=f"demo-open-{plan.store_id}-{day.isoformat()}",
        remote_addr=None,
    ).body
    shift_id: int = opened["id"]
    plan.last_shift = shift_id
    minute = 0
    for n in range(rng.randint(6, 14)):
        if plan.net_fen >= budget_fen:  # the store keeps pace with its year, it does not race ahead
            break
        minute += rng.randint(20, 90)
        institutional = n == 0 and rng.random() < 0.85
        lines = _basket(rng, institutional)
        key = f"demo-{plan.store_id}-{day.isoformat()}-{n}"
        if institutional:
            channel, customer = rng.choice(list(customers.items()))
            body = sale_in(
                store_id=plan.store_id,
                shift_id=shift_id,
                sold_at=_at(day, minute),
                channel=channel,
                customer_id=customer,
                lines=lines,
                payments=[paid("credit", _price_of(lines))],
            )
        else:
            body = sale_in(
                store_id=plan.store_id,
                shift_id=shift_id,
                sold_at=_at(day, minute),
                channel="counter",
                lines=lines,
                payments=_payments(rng, _price_of(lines)),
            )
        sale = _sell(conn, plan, body, key)
        if not institutional and rng.random() < 0.02:  # a customer brings something back
            body_back = RefundIn(
                shift_id=shift_id,
                refunded_at=_at(day, minute + 10),
                lines=[RefundLineIn(line_no=1, quantity=sale["lines"][0]["quantity"])],
                reason="顾客退货",
            )
            refund = perform(
                conn,
                plan.cashier,
                services.refund(plan.cashier, sale["id"], body_back, f"{key}-refund", max_lead_seconds=10**9),
                key=f"{key}-refund",
                remote_addr=None,
            ).body
            plan.receipts.append(refund)
            plan.net_fen += parse_amount(refund["net"], allow_negative=True)
            plan.refunds += 1
    _close(conn, plan, shift_id, day, rng)


def _close(conn: Connection, plan: StorePlan, shift_id: int, day: date, rng: random.Random) -> None:
    """交班, now and then a little over or short, as real drawers are."""
    expected = parse_amount(shift_report(conn, plan.cashier, shift_id)["cash"]["expected"])
    roll = rng.random()
    variance = rng.randint(1, 500) if roll < 0.02 else (-rng.randint(1, 300) if roll < 0.04 else 0)
    counted = max(0, expected + variance)
    perform(
        conn,
        plan.cashier,
        services.close_shift(plan.cashier, shift_id, counted),
        key=f"demo-close-{shift_id}",
        remote_addr=None,
    )
    plan.counted.append((day, counted - FLOAT_FEN))


# -- the year ---------------------------------------------------------------------------------------------


@dataclass
class Books:
    """What the companies owe at a month's end, to pay in the next: suppliers and wages."""

    owed: dict[tuple[int, int, int], int] = field(default_factory=dict)  # (company, cp, village|0) → fen
    due: dict[tuple[int, int, int], int] = field(default_factory=dict)  # last month's, paid on the 10th
    wages: dict[int, int] = field(default_factory=dict)  # company → the month's wages accrued
    tax_accrued: dict[int, int] = field(default_factory=dict)  # company → the year's 所得税 booked so far
    tax_due: dict[int, int] = field(default_factory=dict)  # company → the last quarter's, paid on the 15th
    utilities: dict[int, int] = field(default_factory=dict)  # company → the year's utility bills so far
    # Counterparties once looked up (they never change): (company, village|0) → the company's supplier,
    # (village, company) → the village's holding in the company.
    suppliers: dict[tuple[int, int], int] = field(default_factory=dict)
    holdings: dict[tuple[int, int], int] = field(default_factory=dict)


@dataclass(frozen=True)
class Steer:
    """Where a company's published year stands at a month's end: its stores' 营业收入 so far and for the
    year, and the 利润总额 the year must reach (its share of the published 净利润, grossed up for the tax)."""

    turnover_so_far: int
    turnover_year: int
    before_tax: int


def _post(conn: Connection, org: int, day: date, memo: str, lines: list[Line], key: str) -> None:
    post_entry(conn, Draft(org, day, memo, lines, idempotency_key=key))


FESTIVAL_STOCK_MILLI = 120_000  # each village product on the shelf for the Spring Festival (年货) …
FESTIVAL_GIFTS_MILLI = 80_000  # … and of the dear gifts (oil, tea, honey)


def festival_orders(st: StoreTrade) -> dict[int, list[tuple[str, int, int]]]:
    """After the year's last day, the Spring Festival's produce (年货) from the villages: each product topped
    up to 120 units (kg, 斤; 80 of the dear gifts) on the shelf for January."""
    orders: dict[int, list[tuple[str, int, int]]] = {}
    for s in CATALOGUE:
        qty = (FESTIVAL_GIFTS_MILLI if s.price_fen > 5_000 else FESTIVAL_STOCK_MILLI) - st.on_hand.get(
            s.sku, 0
        )
        if s.village and qty >= 1000:
            qty = qty // 1000 * 1000
            cost = qty * s.price_fen * s.cost_pct // 100 // 1000
            orders.setdefault(st.suppliers[s.sku], []).append((s.sku, qty, cost))
    return orders


PERISHABLE = ("NC-001", "NC-004", "NC-005", "NC-011")  # eggs, plums, potatoes, vegetables


def year_end_count(conn: Connection, st: StoreTrade, day: date, rng: random.Random) -> int:
    """年终盘点 after the last day's trading: the shelf is counted; the perishables come up 2–5 % short
    (broken eggs, spoilt fruit and vegetables: Dr 1901 / Cr 1405 at the moving-average cost), which the
    finance office writes off as a normal loss (合理损耗, Dr 5601 / Cr 1901). Returns the loss in fen."""
    loss = 0
    for sku in PERISHABLE:
        have = st.on_hand.get(sku, 0)
        short = (
            have * rng.randint(2, 5) // 100 // 1000 * 1000
            if sku == "NC-001"
            else have * rng.randint(2, 5) // 100
        )
        if short <= 0:
            continue
        moved = perform(
            conn,
            st.officer,
            services.adjust_stock(
                st.officer,
                st.store.id,
                day=day,
                sku=sku,
                kind="count",
                qty_milli=have - short,
                reason="年终盘点：损耗",
            ),
            key=f"demo-count-{st.store.id}-{day}-{sku}",
            remote_addr=None,
        ).body
        st.on_hand[sku] = have - short
        loss -= parse_amount(moved["value_change"], allow_negative=True)
    if loss:
        _post(
            conn,
            st.store.org_id,
            day,
            f"{st.store.name} 年终盘点损耗（合理损耗）转销售费用",
            [
                Line("5601", debit_fen=loss, store_id=st.store.id),
                Line("1901", credit_fen=loss, store_id=st.store.id),
            ],
            f"demo-count-loss-{st.store.id}-{day.year}",
        )
    return loss


def buy(
    conn: Connection, books: Books, st: StoreTrade, company: int, day: date, *, festival: bool = False
) -> None:
    """The morning's reorder (DESIGN: Dr 1405 / Cr 2202 on the company); a village's own books record
    the sale: Dr 112 [company] / Cr 50101 商品销售收入 (its own produce: no VAT), and what it paid its
    farmers for the produce: Dr 511 / Cr 102."""
    cover = 24.0 if day.month == 12 and day.day >= 20 else 12.0  # before the festival, a longer cover
    orders = festival_orders(st) if festival else reorder(st, 4.0, cover)
    for supplier, lines in sorted(orders.items()):
        village = supplier or None
        memo = f"{st.store.name} 向{'村集体' if village else '批发商'}进货"
        key = f"demo-purchase-{st.store.id}-{day}-{supplier}{'-festival' if festival else ''}"
        perform(  # 进货, as the officer's back office records it through the API's door
            conn,
            st.officer,
            services.purchase(
                st.officer,
                st.store.id,
                stock.Purchase(day, None if village else WHOLESALER, village, lines, memo),
                idempotency_key=key,
            ),
            key=key,
            remote_addr=None,
        )
        for sku, qty, _cost in lines:
            st.on_hand[sku] = st.on_hand.get(sku, 0) + qty
        total = sum(cost for _s, _q, cost in lines)
        cp = books.suppliers.get((company, supplier))
        if cp is None:
            cp = books.suppliers[(company, supplier)] = supplier_counterparty(
                conn, company, supplier=None if village else WHOLESALER, village_org_id=village
            )
        books.owed[(company, cp, supplier)] = books.owed.get((company, cp, supplier), 0) + total
        if village:
            holder_cp = books.holdings.get((village, company))
            if holder_cp is None:
                holder_cp = books.holdings[(village, company)] = company_counterparty(conn, village, company)
                ensure_sub_account(conn, village, "501", "50101", "商品销售收入")
            paid_farmers = total * 85 // 100
            key = f"demo-sale-to-{st.store.id}-{day}{'-festival' if festival else ''}"
            post_entries(  # the village's sale and what it paid its farmers, one posting of two vouchers
                conn,
                [
                    Draft(
                        village,
                        day,
                        f"向{st.store.name}销售农产品",
                        [
                            Line("112", debit_fen=total, counterparty_id=holder_cp),
                            Line("50101", credit_fen=total),
                        ],
                        idempotency_key=key,
                    ),
                    Draft(
                        village,
                        day,
                        "收购农户农产品",
                        [Line("511", debit_fen=paid_farmers), Line("102", credit_fen=paid_farmers)],
                        idempotency_key=key + "-cost",
                    ),
                ],
            )


def _balance(conn: Connection, org: int, code: str, period: str) -> int:
    year = period[:4]
    return next(
        (r.closing_fen for r in trial_balance(conn, org, f"{year}-01", period) if r.code == code),
        0,
    )


def month_end(
    conn: Connection,
    books: Books,
    company: int,
    size: float,
    stores: int,
    customers: dict[str, int],
    period: str,
    rng: random.Random,
    frac: float,
    steer: Steer | None = None,
) -> None:
    """Bank the month's cash (the stores' floats stay in the drawers) and the WeChat/Alipay money (less
    the 0.6 % fee), collect the institutions, pay last month's suppliers, wages and income tax, accrue this
    month's wages (store staff: 销售费用 through 2211), pay the rent, the utilities (December's bill comes
    with the year end) and the office; at a quarter's end declare its VAT (exempt within the small-scale
    threshold) and, but in December, its provisional income tax (预缴: the year's 利润总额 so far at 5 %,
    less what the earlier quarters booked). In the published year, from April, each month's utility bill
    is steered within ±25 % of the usual towards the year's share of the profit (``utility_bill``), so that
    December's bill, which settles the year exactly, stays an ordinary one."""
    day = period_bounds(period)[1]
    last = period.endswith("-12")
    year, month = int(period[:4]), int(period[5:])
    if month == 1:
        books.tax_accrued[company] = books.utilities[company] = 0
    drafts: list[tuple[str, list[Line]]] = []
    cash = _balance(conn, company, "1001", period) - FLOAT_FEN * stores  # the floats stay in the drawers
    if cash > 0:
        drafts.append(("现金存行", [Line("1002", debit_fen=cash), Line("1001", credit_fen=cash)]))
    for code, name in (("101201", "微信"), ("101202", "支付宝")):
        held = _balance(conn, company, code, period)
        if held > 0:
            fee = (held * 6 + 500) // 1000
            drafts.append(
                (
                    f"{name}结算到账",
                    [
                        Line("1002", debit_fen=held - fee),
                        Line("5603", debit_fen=fee),
                        Line(code, credit_fen=held),
                    ],
                )
            )
    if not last:
        for customer in customers.values():
            row = get_customer(conn, company, customer)
            owed = open_balance(conn, company, row)
            if owed > 0:
                cp = row["counterparty_id"]
                drafts.append(
                    (
                        "单位客户转账结算货款",
                        [Line("1002", debit_fen=owed), Line("1122", credit_fen=owed, counterparty_id=cp)],
                    )
                )
    pay_day = date(day.year, day.month, 10)
    payments: list[tuple[date, str, list[Line]]] = []
    for (co, cp, village), amount in sorted(books.due.items()):
        if co != company or amount <= 0:
            continue
        payments.append(
            (
                pay_day,
                "支付上月货款",
                [Line("2202", debit_fen=amount, counterparty_id=cp), Line("1002", credit_fen=amount)],
            )
        )
        if village:
            holder_cp = company_counterparty(conn, village, company)
            _post(
                conn,
                village,
                pay_day,
                "收到联营公司农产品货款",
                [Line("102", debit_fen=amount), Line("112", credit_fen=amount, counterparty_id=holder_cp)],
                f"demo-paid-by-{company}-{period}",
            )
        books.due[(co, cp, village)] = 0
    for (co, cp, village), amount in list(books.owed.items()):
        if co == company:
            books.due[(co, cp, village)] = amount
            del books.owed[(co, cp, village)]
    if books.wages.get(company):
        w = books.wages[company]
        payments.append((pay_day, "发放上月工资", [Line("2211", debit_fen=w), Line("1002", credit_fen=w)]))
    if books.tax_due.get(company):
        t = books.tax_due.pop(company)
        payments.append(
            (
                date(day.year, day.month, 15),
                "缴纳上季度企业所得税",
                [Line("222106", debit_fen=t), Line("1002", credit_fen=t)],
            )
        )
    wages = round(MONTHLY_WAGES_FEN * size * frac)
    books.wages[company] = wages
    rent = round(MONTHLY_RENT_FEN * size * frac)
    office = round(MONTHLY_OFFICE_FEN * size * frac)
    drafts.append(
        (f"{period} 计提门店员工工资", [Line("5601", debit_fen=wages), Line("2211", credit_fen=wages)])
    )
    drafts.append((f"{period} 门店房租", [Line("5601", debit_fen=rent), Line("1002", credit_fen=rent)]))
    drafts.append(
        (f"{period} 办公及记账费用", [Line("5602", debit_fen=office), Line("1002", credit_fen=office)])
    )
    for n, (when, memo, lines) in enumerate(payments):
        _post(conn, company, when, memo, lines, f"demo-pay-{period}-{n}")
    for n, (memo, lines) in enumerate(drafts):
        _post(conn, company, day, memo, lines, f"demo-me-{period}-{n}")
    if month % 3 == 0:
        post_vat_exemption(conn, company, year, month // 3)
    if last:
        return
    usual = round(MONTHLY_UTILITIES_FEN * size * frac)
    drawn = round(
        rng.randint(MONTHLY_UTILITIES_FEN * 8 // 10, MONTHLY_UTILITIES_FEN * 12 // 10) * size * frac
    )
    bill = drawn
    if steer is not None and month >= 4:
        fixed = wages + rent + office
        bill = utility_bill(conn, books, company, year, month, steer, fixed, usual)
    books.utilities[company] += bill
    _post(
        conn,
        company,
        day,
        f"{period} 门店水电费",
        [Line("5601", debit_fen=bill), Line("1002", credit_fen=bill)],
        f"demo-me-{period}-utilities",
    )
    if month % 3 == 0:
        ensure_sub_account(conn, company, "2221", "222106", "应交所得税")
        so_far = year_profit(conn, company, year) + books.tax_accrued[company]
        tax = max(0, income_tax(so_far) - books.tax_accrued[company])
        if tax:
            _post(
                conn,
                company,
                day,
                f"{year}年第{month // 3}季度企业所得税预缴(小型微利企业)",
                [Line("5801", debit_fen=tax), Line("222106", credit_fen=tax)],
                f"demo-income-tax-{year}Q{month // 3}",
            )
            books.tax_accrued[company] += tax
            books.tax_due[company] = tax


def utility_bill(
    conn: Connection,
    books: Books,
    company: int,
    year: int,
    month: int,
    steer: Steer,
    fixed: int,
    usual: int,
) -> int:
    """This month's utility bill, steered: the year's 利润总额 projected (so far, with the open quarter's VAT
    that its exemption will make income, plus the rest of the turnover at the margin earned so far, less
    the months' fixed costs and usual bills) against what it must reach, the difference spread over the
    months left, within ±25 % of the usual bill."""
    so_far = year_profit(conn, company, year) + books.tax_accrued[company]  # before this month's bill
    quarter = vat_quarter(conn, company, year, (month - 1) // 3 + 1)
    if quarter.entry_id is None and quarter.exempt:  # the quarter's VAT, income once it is declared exempt
        so_far += quarter.vat_fen
    earned = so_far + fixed * month + books.utilities[company]  # the margin, before fixed costs and bills
    rest = steer.turnover_year - steer.turnover_so_far
    margin = earned * rest // max(1, steer.turnover_so_far)
    left = 12 - month
    projected = so_far + margin - (fixed + usual) * left - usual
    spread = (projected - steer.before_tax) // (left + 1)
    return max(usual * 3 // 4, min(usual * 5 // 4, usual + spread))


def income_tax(profit_before_tax: int) -> int:
    """企业所得税 of a 小型微利企业 (财政部 税务总局公告2023年第12号, 2023–2027): taxable income up to
    ¥3 million counts at 25 % and is taxed at 20 %, 5 % in all (the books' 利润总额 taken as taxable)."""
    return round_half_up(max(profit_before_tax, 0) * 5, 100)


def before_tax_for(net_profit: int) -> int:
    """The 利润总额 whose 净利润 after the 5 % is exactly ``net_profit``."""
    p = net_profit * 100 // 95
    while p - income_tax(p) < net_profit:
        p += 1
    while p - income_tax(p) > net_profit:
        p -= 1
    assert p - income_tax(p) == net_profit
    return p


LIGHT_YEAR = 45  # the stores' first year (the year before the published one): its turnover, % of the next's


@dataclass
class Companies:
    """The joint companies across the demo's years: their stores' shelves and pace carry over."""

    engine: Engine
    tree: DemoTree
    seed: int
    scale: float
    say: Callable[[str], None]
    rng: random.Random = field(init=False)
    books: Books = field(default_factory=Books)
    customers: dict[str, dict[str, int]] = field(default_factory=dict)
    trades: list[tuple[str, StoreTrade]] = field(default_factory=list)
    sizes: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    plans: dict[tuple[int, int], int] = field(default_factory=dict)  # (company, year) → its executed plan

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def days(self, year: int) -> tuple[list[date], int]:
        """The year's trading days (every ``1/scale``-th for a sample) and the days in the year."""
        step = max(1, round(1 / self.scale)) if self.scale < 1 else 1
        full = (date(year + 1, 1, 1) - date(year, 1, 1)).days
        return [date(year, 1, 1) + timedelta(days=d) for d in range(0, full, step)], full

    def setup(self, year: int, published: int) -> None:
        """The companies founded at the start of ``year``: shareholders, catalogue, customers, floats; each
        store's turnover target for the ``published`` year and its pace."""
        tree, seed = self.tree, self.seed
        with write_tx(self.engine) as conn:
            for village in (v for ids in tree.villages.values() for v in ids):
                _post(  # the opening balance (期初余额), dated the day before the books' first year
                    conn,
                    village,
                    date(year - 1, 12, 31),
                    "期初余额：银行存款",
                    [Line("102", debit_fen=50_000_000), Line("301", credit_fen=50_000_000)],
                    "demo-opening",
                )
            self.customers = setup_companies(conn, tree, year)
            days, full = self.days(published)
            turnover = SUPERMARKET_TURNOVER_FEN * len(days) // full
            store_ids = [s for street in tree.stores for s in tree.stores[street]]
            targets = split(turnover, STORE_WEIGHTS[: len(store_ids)])
            for n, (store_id, target) in enumerate(zip(store_ids, targets, strict=True)):
                street = next(st for st, ids in tree.stores.items() if store_id in ids)
                villages = tree.villages[street]
                st = StoreTrade(
                    store=get_store(conn, store_id),
                    cashier=demo_user(conn, f"cashier-{tree.store_codes[store_id]}"),
                    officer=officer_of(conn, street),
                    customers=self.customers[street],
                    suppliers={
                        s.sku: (villages[i % len(villages)] if s.village else 0)
                        for i, s in enumerate(CATALOGUE)
                    },
                    target_net_fen=target,
                )
                tickets = target * LIGHT_YEAR // 100 / full / (AVG_TICKET_FEN / 100) / 100
                st.daily = expected_daily_use(seed + n, tickets)
                self.trades.append((street, st))
        # A store's costs (staff, rent, utilities, its part of the office) go with its size: its share of
        # the turnover against the average store's.
        average = sum(STORE_WEIGHTS[: len(self.trades)]) / len(self.trades)
        self.sizes = {
            street: sum(w for (s, _st), w in zip(self.trades, STORE_WEIGHTS, strict=False) if s == street)
            / average
            for street in tree.companies
        }

    def trade_year(self, year: int, *, published: bool) -> None:
        """The stores' year: the published year at its pace to its targets; the light year before it at
        ``LIGHT_YEAR`` % of that pace, with fewer tickets a day, reaching no figure in particular."""
        tree, rng = self.tree, self.rng
        days, full = self.days(year)
        frac = len(days) / full
        share = 100 if published else LIGHT_YEAR
        for _street, st in self.trades:
            st.year_target_fen = st.target_net_fen * share // 100
            st.net_fen = st.budget_fen = st.sales = st.refunds = st.largest_counter_fen = 0
        weights = {d: day_weight(d) for d in days}
        total_weight = sum(weights.values())
        for month in range(1, 13):
            self.say(f"supermarkets {year}-{month:02d}")
            with write_tx(self.engine) as conn:
                for day in (d for d in days if d.month == month):
                    last = day == days[-1]
                    for street, st in self.trades:
                        buy(conn, self.books, st, tree.companies[street], day)
                        budget = round(st.year_target_fen * weights[day] / total_weight)
                        trade_day(
                            conn,
                            st,
                            day,
                            rng,
                            budget,
                            last and published,
                            AVG_TICKET_FEN,
                            fewest=32 if published else 16,
                        )
                        if last:
                            year_end_count(conn, st, day, rng)
                            buy(conn, self.books, st, tree.companies[street], day, festival=True)
                for street, company in tree.companies.items():
                    mine = [st for s, st in self.trades if s == street]
                    steer = Steer(
                        sum(st.net_fen for st in mine),
                        sum(st.year_target_fen for st in mine),
                        before_tax_for(self.profit_targets(year)[street]),
                    )
                    month_end(
                        conn,
                        self.books,
                        company,
                        self.sizes[street],
                        len(tree.stores[street]),
                        self.customers[street],
                        f"{year}-{month:02d}",
                        rng,
                        frac,
                        steer if published else None,
                    )
                if month == DIVIDEND_MONTH:
                    self.pay_dividends(conn, year - 1, date(year, month, DIVIDEND_DAY))
        sales = sum(st.sales for _s, st in self.trades)
        refunds = sum(st.refunds for _s, st in self.trades)
        per_day = [n for _s, st in self.trades for d, n in st.tickets_by_day.items() if d.year == year]
        largest = max(st.largest_counter_fen for _s, st in self.trades)
        self.notes.append(
            f"supermarkets {year}: {sales} sales and {refunds} refunds in {len(days)} trading days per "
            f"store ({min(per_day)}–{max(per_day)} a store-day; "
            f"largest counter ticket {format_amount(largest)})"
        )

    def pay_dividends(self, conn: Connection, year: int, day: date) -> None:
        """支付股利: what each company's distribution of ``year`` declared to its shareholders (2232
        应付股利), paid in full by bank transfer on ``day`` of the next year, by the street's officer
        through the distribution service the API's door carries out (both books, linked)."""
        for street, company in self.tree.companies.items():
            plan_id = self.plans.get((company, year))
            if plan_id is None:
                continue
            officer = officer_of(conn, street)
            total = 0
            for holding in list_shareholdings(conn, company):
                owed = dividend_owed(conn, company, holding.counterparty_id)
                if owed <= 0:
                    continue
                perform(
                    conn,
                    officer,
                    pay_dividend(
                        officer,
                        company,
                        shareholder_org_id=holding.shareholder_org_id,
                        amount_fen=owed,
                        paid_on=day,
                        plan_id=plan_id,
                        key=f"demo-dividend-{year}-{holding.id}",
                    ),
                    key=f"demo-dividend-{year}-{holding.id}",
                    remote_addr=None,
                )
                total += owed
            self.notes.append(f"{street}: {year}'s dividends of {format_amount(total)} paid on {day}")

    def profit_targets(self, year: int) -> dict[str, int]:
        """Each company's share of the published profit (of the sampled days), shared out by turnover."""
        days, full = self.days(year)
        streets = list(self.tree.companies)
        turnover = [sum(st.target_net_fen for s, st in self.trades if s == street) for street in streets]
        return dict(zip(streets, split(SUPERMARKET_PROFIT_FEN * len(days) // full, turnover), strict=True))

    def close_year(self, year: int, *, published: bool) -> None:
        """December's utility bill (in the published year, what leaves each company its share of the
        published profit), the year's income tax settled (the fourth quarter and the year: 5 % of 利润总额
        less the quarters' provisional payments; paid on 15 January), the year-end close and the
        distribution."""
        tree, books = self.tree, self.books
        days, full = self.days(year)
        frac = len(days) / full
        targets = self.profit_targets(year)
        with write_tx(self.engine) as conn:
            self.say(f"income tax, year-end and distribution of the companies, {year}")
            for street, company in tree.companies.items():
                stores = len(tree.stores[street])
                usual = round(MONTHLY_UTILITIES_FEN * self.sizes[street] * frac)
                accrued = books.tax_accrued.get(company, 0)
                before_bill = year_profit(conn, company, year) + accrued
                if published:
                    before_tax = before_tax_for(targets[street])
                    bill = before_bill - before_tax
                    if bill <= 0 and frac < 1:  # a sample of the year: its share is not always within reach
                        bill = usual
                        before_tax = before_bill - bill
                    elif bill <= 0:
                        raise RuntimeError(
                            f"{street}: the year's profit is {format_amount(before_bill)}, short of "
                            f"{format_amount(before_tax)} before December's utilities"
                        )
                else:
                    bill = usual * 11 // 10
                    before_tax = before_bill - bill
                day = date(year, 12, 31)
                _post(
                    conn,
                    company,
                    day,
                    f"{year}-12 门店水电费",
                    [Line("5601", debit_fen=bill), Line("1002", credit_fen=bill)],
                    f"demo-utilities-{year}-12",
                )
                tax = income_tax(before_tax)
                settle = tax - accrued
                ensure_sub_account(conn, company, "2221", "222106", "应交所得税")
                if settle:
                    _post(
                        conn,
                        company,
                        day,
                        f"{year}年第4季度及年度企业所得税汇算(小型微利企业)",
                        [Line("5801", debit_fen=settle), Line("222106", credit_fen=settle)]
                        if settle > 0
                        else [Line("222106", debit_fen=-settle), Line("5801", credit_fen=-settle)],
                        f"demo-income-tax-{year}",
                    )
                books.tax_due[company] = max(settle, 0)
                net = year_profit(conn, company, year)
                assert net == before_tax - tax and (net == targets[street] or frac < 1 or not published)
                close_year(conn, company, year)
                plan_id = None
                if net > 0:
                    steps = [Step("statutory_reserve", rate_bp=1_000), Step("shareholders", rate_bp=6_000)]
                    document_no = f"{street}股字〔{year}〕1号"
                    plan_id = distribute(
                        conn, company, year, steps, approving_body="股东会", document_no=document_no
                    )
                    self.plans[(company, year)] = plan_id
                self.notes.append(
                    f"{street} {year}: 利润总额 {format_amount(before_tax)}, 所得税 {format_amount(tax)} "
                    f"({format_amount(accrued)} provisional in Q1–Q3), 净利润 {format_amount(net)}; "
                    f"December's utilities {format_amount(bill)} (usual {format_amount(usual)}) for {stores} "
                    f"store(s); distributed by plan {plan_id}"
                )
