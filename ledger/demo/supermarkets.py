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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from ledger.access.auth import Principal, principal_for_user
from ledger.books.money import (
    format_amount,
    format_quantity,
    line_amount,
    parse_amount,
    round_half_up,
)
from ledger.books.orgs import ensure_sub_account
from ledger.books.periods import period_bounds
from ledger.books.posting import Draft, Line, post_entry
from ledger.books.trial_balance import trial_balance
from ledger.community.stakes import company_counterparty, record_stake
from ledger.db.engine import write_tx
from ledger.db.models import UserAccount
from ledger.demo.targets import SUPERMARKET_PROFIT_FEN, SUPERMARKET_TURNOVER_FEN, split
from ledger.demo.trading import (
    CATALOGUE,
    WHOLESALER,
    StoreTrade,
    day_weight,
    expected_daily_use,
    reorder,
    trade_day,
)
from ledger.demo.tree import DemoTree
from ledger.distribution.execute import approve_plan, create_plan, execute_plan
from ledger.distribution.plans import Step
from ledger.distribution.shareholders import add_shareholder, pay_in_capital
from ledger.distribution.vat import post_vat_exemption, vat_quarter
from ledger.distribution.yearend import close_year, year_profit
from pos.catalogue import (
    ProductIn,
    create_customer,
    ensure_default_rates,
    get_customer,
    open_balance,
    upsert_products,
)
from pos.messages import PaymentIn, RefundIn, RefundLineIn, SaleIn, SaleLineIn
from pos.sales import create_refund, create_sale
from pos.shifts import close_shift, open_shift, shift_report
from pos.stock import adjust_stock, record_purchase, supplier_counterparty
from pos.stores import get_store

BEIJING = ZoneInfo("Asia/Shanghai")
FLOAT_FEN = 50_000

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


def _user(conn: Connection, username: str) -> Principal:
    user_id = conn.execute(
        select(UserAccount.__table__.c.id).where(UserAccount.__table__.c.username == username)
    ).scalar_one()
    return principal_for_user(conn, user_id)


def _at(day: date, minute: int) -> datetime:
    """A moment of the business day, Beijing time, as the till would send it."""
    return datetime.combine(day, time(8, 0), tzinfo=BEIJING).astimezone(UTC) + timedelta(minutes=minute)


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
        lines.append(SaleLineIn(sku=sku, quantity=format_quantity(milli)))
    return lines


def _payments(rng: random.Random, total: int) -> list[PaymentIn]:
    roll = rng.random()
    if roll < 0.45:  # cash, rounded up to the next ten yuan; the till gives change
        tendered = -(-total // 1_000) * 1_000
        return [PaymentIn(method="cash", amount=format_amount(tendered))]
    if roll < 0.75:
        return [
            PaymentIn(method="wechat", amount=format_amount(total), reference=f"wx{rng.randrange(10**12)}")
        ]
    if roll < 0.9:
        return [
            PaymentIn(method="alipay", amount=format_amount(total), reference=f"ali{rng.randrange(10**12)}")
        ]
    cash = min(total, rng.randint(1, max(1, total // 100)) * 100)
    rest = total - cash
    pays = [PaymentIn(method="cash", amount=format_amount(cash))]
    if rest:
        pays.append(
            PaymentIn(method="wechat", amount=format_amount(rest), reference=f"wx{rng.randrange(10**12)}")
        )
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
    shift_id = open_shift(conn, plan.cashier, plan.store_id, FLOAT_FEN, opened_at=_at(day, 0))
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
            body = SaleIn(
                store_id=plan.store_id,
                shift_id=shift_id,
                sold_at=_at(day, minute),
                channel=channel,
                customer_id=customer,
                lines=lines,
                payments=[PaymentIn(method="credit", amount=format_amount(_price_of(lines)))],
            )
        else:
            body = SaleIn(
                store_id=plan.store_id,
                shift_id=shift_id,
                sold_at=_at(day, minute),
                channel="counter",
                lines=lines,
                payments=_payments(rng, _price_of(lines)),
            )
        sale = _sell(conn, plan, body, key)
        if not institutional and rng.random() < 0.02:  # a customer brings something back
            refund = create_refund(
                conn,
                plan.cashier,
                sale["id"],
                RefundIn(
                    shift_id=shift_id,
                    refunded_at=_at(day, minute + 10),
                    lines=[RefundLineIn(line_no=1, quantity=sale["lines"][0]["quantity"])],
                    reason="顾客退货",
                ),
                f"{key}-refund",
                max_lead_seconds=10**9,
            ).body
            refund = json.loads(refund)
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
    close_shift(conn, plan.cashier, shift_id, counted)
    plan.counted.append((day, counted - FLOAT_FEN))


# -- the year ---------------------------------------------------------------------------------------------


@dataclass
class Books:
    """What the companies owe at a month's end, to pay in the next: suppliers and wages."""

    owed: dict[tuple[int, int, int], int] = field(default_factory=dict)  # (company, cp, village|0) → fen
    due: dict[tuple[int, int, int], int] = field(default_factory=dict)  # last month's, paid on the 10th
    wages: dict[int, int] = field(default_factory=dict)  # company → the month's wages accrued


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
        moved = adjust_stock(
            conn,
            None,
            st.store,
            day=day,
            sku=sku,
            kind="count",
            qty_milli=have - short,
            reason="年终盘点：损耗",
        )
        st.on_hand[sku] = have - short
        loss -= moved["value_fen"]
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
        record_purchase(
            conn,
            None,
            st.store,
            day=day,
            supplier=None if village else WHOLESALER,
            village_org_id=village,
            lines=lines,
            memo=memo,
            idempotency_key=f"demo-purchase-{st.store.id}-{day}-{supplier}{'-festival' if festival else ''}",
        )
        for sku, qty, _cost in lines:
            st.on_hand[sku] = st.on_hand.get(sku, 0) + qty
        total = sum(cost for _s, _q, cost in lines)
        cp = supplier_counterparty(
            conn, company, supplier=None if village else WHOLESALER, village_org_id=village
        )
        books.owed[(company, cp, supplier)] = books.owed.get((company, cp, supplier), 0) + total
        if village:
            holder_cp = company_counterparty(conn, village, company)
            ensure_sub_account(conn, village, "501", "50101", "商品销售收入")
            paid_farmers = total * 85 // 100
            key = f"demo-sale-to-{st.store.id}-{day}{'-festival' if festival else ''}"
            _post(
                conn,
                village,
                day,
                f"向{st.store.name}销售农产品",
                [Line("112", debit_fen=total, counterparty_id=holder_cp), Line("50101", credit_fen=total)],
                key,
            )
            _post(
                conn,
                village,
                day,
                "收购农户农产品",
                [Line("511", debit_fen=paid_farmers), Line("102", credit_fen=paid_farmers)],
                key + "-cost",
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
) -> None:
    """Bank the month's cash (the stores' floats stay in the drawers) and the WeChat/Alipay money (less
    the 0.6 % fee), collect the institutions, pay last month's suppliers and wages, accrue this month's
    wages (store staff: 销售费用 through 2211), pay the rent, the utilities (December's bill comes with the
    year end) and the office."""
    day = period_bounds(period)[1]
    last = period.endswith("-12")
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
    if not last:
        bill = round(
            rng.randint(MONTHLY_UTILITIES_FEN * 8 // 10, MONTHLY_UTILITIES_FEN * 12 // 10) * size * frac
        )
        drafts.append((f"{period} 门店水电费", [Line("5601", debit_fen=bill), Line("1002", credit_fen=bill)]))
    for n, (when, memo, lines) in enumerate(payments):
        _post(conn, company, when, memo, lines, f"demo-pay-{period}-{n}")
    for n, (memo, lines) in enumerate(drafts):
        _post(conn, company, day, memo, lines, f"demo-me-{period}-{n}")


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


def run_supermarkets(engine: Engine, tree: DemoTree, year: int, seed: int, scale: float, say) -> CompanyYear:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    out = CompanyYear()
    step = max(1, round(1 / scale)) if scale < 1 else 1
    days = [date(year, 1, 1) + timedelta(days=d) for d in range(0, 366, step)]
    days = [d for d in days if d.year == year]
    full = len([d for d in range(366) if (date(year, 1, 1) + timedelta(days=d)).year == year])
    frac = len(days) / full
    turnover = SUPERMARKET_TURNOVER_FEN if step == 1 else SUPERMARKET_TURNOVER_FEN * len(days) // full
    profit = SUPERMARKET_PROFIT_FEN if step == 1 else SUPERMARKET_PROFIT_FEN * len(days) // full
    books = Books()
    with write_tx(engine) as conn:
        for village in (v for ids in tree.villages.values() for v in ids):
            _post(  # the opening balance (期初余额), dated the day before the demo year
                conn,
                village,
                date(year - 1, 12, 31),
                "期初余额：银行存款",
                [Line("102", debit_fen=50_000_000), Line("301", credit_fen=50_000_000)],
                "demo-opening",
            )
        customers = setup_companies(conn, tree, year)
        store_ids = [s for street in tree.stores for s in tree.stores[street]]
        targets = split(turnover, STORE_WEIGHTS[: len(store_ids)])
        trades: list[tuple[str, StoreTrade]] = []
        for n, (store_id, target) in enumerate(zip(store_ids, targets, strict=True)):
            street = next(st for st, ids in tree.stores.items() if store_id in ids)
            company = tree.companies[street]
            villages = tree.villages[street]
            st = StoreTrade(
                store=get_store(conn, store_id),
                cashier=_user(conn, f"cashier-{tree.store_codes[store_id]}"),
                customers=customers[street],
                suppliers={
                    s.sku: (villages[i % len(villages)] if s.village else 0) for i, s in enumerate(CATALOGUE)
                },
                target_net_fen=target,
            )
            st.daily = expected_daily_use(seed + n, target / full / (AVG_TICKET_FEN / 100) / 100)
            trades.append((street, st))
    weights = {d: day_weight(d) for d in days}
    # A store's costs (staff, rent, utilities, its part of the office) go with its size: its share of the
    # turnover against the average store's.
    average = sum(STORE_WEIGHTS[: len(trades)]) / len(trades)
    sizes = {
        street: sum(w for (s, _st), w in zip(trades, STORE_WEIGHTS, strict=False) if s == street) / average
        for street in tree.companies
    }
    total_weight = sum(weights.values())
    for month in range(1, 13):
        say(f"supermarkets {year}-{month:02d}")
        with write_tx(engine) as conn:
            for day in (d for d in days if d.month == month):
                for street, st in trades:
                    buy(conn, books, st, tree.companies[street], day)
                    budget = round(st.target_net_fen * weights[day] / total_weight)
                    trade_day(conn, st, day, rng, budget, day == days[-1], AVG_TICKET_FEN)
                    if day == days[-1]:
                        year_end_count(conn, st, day, rng)
                        buy(conn, books, st, tree.companies[street], day, festival=True)
            for street, company in tree.companies.items():
                month_end(
                    conn,
                    books,
                    company,
                    sizes[street],
                    len(tree.stores[street]),
                    customers[street],
                    f"{year}-{month:02d}",
                    rng,
                    frac,
                )
    with write_tx(engine) as conn:
        say("VAT, income tax, year-end and distribution of the companies")
        for company in tree.companies.values():
            for quarter in range(1, 5):
                if vat_quarter(conn, company, year, quarter).exempt:
                    post_vat_exemption(conn, company, year, quarter)
        streets = list(tree.companies)
        company_turnover = [sum(st.target_net_fen for s, st in trades if s == street) for street in streets]
        profit_targets = split(profit, company_turnover)
        for street, target in zip(streets, profit_targets, strict=True):
            company = tree.companies[street]
            before_tax = before_tax_for(target)
            bill = year_profit(conn, company, year) - before_tax
            stores = len(tree.stores[street])
            if bill <= 0 and step > 1:  # a sample of the year: its share is not always within reach
                bill = round(MONTHLY_UTILITIES_FEN * sizes[street] * frac)
                before_tax = year_profit(conn, company, year) - bill
                target = before_tax - income_tax(before_tax)
            elif bill <= 0:
                raise RuntimeError(
                    f"{street}: the year's profit is {format_amount(bill + before_tax)}, short of "
                    f"{format_amount(before_tax)} before December's utilities"
                )
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
            ensure_sub_account(conn, company, "2221", "222106", "应交所得税")
            _post(
                conn,
                company,
                day,
                f"{year}年度企业所得税(小型微利企业)",
                [Line("5801", debit_fen=tax), Line("222106", credit_fen=tax)],
                f"demo-income-tax-{year}",
            )
            assert year_profit(conn, company, year) == target
            close_year(conn, company, year)
            plan_id = create_plan(
                conn,
                company,
                year,
                [Step("statutory_reserve", rate_bp=1_000), Step("shareholders", rate_bp=6_000)],
            )
            approve_plan(
                conn,
                plan_id,
                approving_body="股东会",
                resolution_date=date(year, 12, 31),
                document_no=f"{street}股字〔{year}〕1号",
            )
            execute_plan(conn, plan_id)
            out.notes.append(
                f"{street}: 利润总额 {format_amount(before_tax)}, 所得税 {format_amount(tax)}, "
                f"净利润 {format_amount(target)}; December's utilities {format_amount(bill)} for {stores} "
                f"store(s); distributed by plan {plan_id}"
            )
    sales = sum(st.sales for _s, st in trades)
    refunds = sum(st.refunds for _s, st in trades)
    per_day = [n for _s, st in trades for n in st.tickets_by_day.values()]
    largest = max(st.largest_counter_fen for _s, st in trades)
    out.notes.append(
        f"supermarkets: {sales} sales and {refunds} refunds in {len(days)} trading days per store "
        f"({min(per_day)}–{max(per_day)} a store-day; largest counter ticket {format_amount(largest)})"
    )
    return out
