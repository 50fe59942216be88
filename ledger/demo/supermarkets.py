"""The joint companies' year in the demo: shareholders and capital, the catalogue of village produce,
purchases, a year of shifts and sales through the POS services, month-end banking and expenses, the
quarterly VAT exemption, and the year-end payroll sized so that each company's 净利润 is its share of the
published profit. Every figure reaches the books through the same services the API uses.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from ledger.access.auth import Principal, principal_for_user
from ledger.books.money import format_amount, format_quantity, line_amount, parse_amount, split_tax_inclusive
from ledger.books.periods import period_bounds
from ledger.books.posting import Draft, Line, post_entry
from ledger.books.trial_balance import trial_balance
from ledger.community.stakes import record_stake
from ledger.db.engine import write_tx
from ledger.db.models import UserAccount
from ledger.demo.targets import SUPERMARKET_PROFIT_FEN, SUPERMARKET_TURNOVER_FEN, split
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
from pos.stock import record_purchase, supplier_counterparty
from pos.stores import get_store

BEIJING = ZoneInfo("Asia/Shanghai")
FLOAT_FEN = 50_000
FILL_SKU = "TG-001"

# sku, name, unit, price (fen), weighed?, category; cost is ~72 % of price.
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
MONTHLY_RENT_FEN = 200_000  # per store: 门店租金水电 (5601)
MONTHLY_WAGES_FEN = 150_000  # per store: 工资 (5602)


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
        ensure_default_rates(conn, company)
        villages = tree.villages[street]
        products = [
            ProductIn(
                sku=sku,
                name=name,
                unit=unit,
                price_fen=price,
                barcode=f"69{company:03d}{i:07d}",
                category=category,
                origin_org_id=villages[i % len(villages)],
            )
            for i, (sku, name, unit, price, _weighed, category) in enumerate(PRODUCE)
        ]
        products.append(
            ProductIn(
                sku=FILL_SKU,
                name="农产品团购套餐",
                unit="份",
                price_fen=10_000,
                category="团购",
                origin_org_id=villages[0],
                allow_price_override=True,
                max_price_fen=10_000_000_00,  # a year-end order at a negotiated price (团购议价)
            )
        )
        upsert_products(conn, company, products)
        customers[street] = {
            channel: create_customer(conn, company, name=name, channel=channel, credit_limit_fen=500_000_000)
            for channel, name in INSTITUTIONS
        }
    return customers


def _purchase_quarter(
    conn: Connection, tree: DemoTree, street: str, store_id: int, day: date, scale: float
) -> list[tuple[int, int]]:
    """进货 from the street's villages at the start of a quarter; returns (supplier, fen) owed to each."""
    store = get_store(conn, store_id)
    owed = []
    by_village: dict[int, list[tuple[str, int, int]]] = {}
    villages = tree.villages[street]
    for i, (sku, _name, _unit, price, _weighed, _cat) in enumerate(PRODUCE):
        qty = max(5, int(900 * scale * 100 / max(price, 100))) * 1000
        cost = qty * price * 72 // 100 // 1000
        by_village.setdefault(villages[i % len(villages)], []).append((sku, qty, max(cost, 1)))
    by_village[villages[0]].append((FILL_SKU, 20_000, 140_000))
    for village, lines in by_village.items():
        record_purchase(
            conn,
            None,
            store,
            day=day,
            supplier=None,
            village_org_id=village,
            lines=lines,
            memo=f"{store.name} {day:%Y-%m} 向村集体进货",
            idempotency_key=f"demo-purchase-{store_id}-{day}-{village}",
        )
        cp = supplier_counterparty(conn, store.org_id, supplier=None, village_org_id=village)
        owed.append((cp, sum(cost for _sku, _qty, cost in lines)))
    return owed


def pay_suppliers(conn: Connection, company: int, owed: list[tuple[int, int]], day: date) -> None:
    """Pay the villages for the quarter's produce by bank transfer: Dr 2202 [supplier] / Cr 1002."""
    for n, (cp, amount) in enumerate(owed):
        post_entry(
            conn,
            Draft(
                company,
                day,
                "支付村集体货款",
                [Line("2202", debit_fen=amount, counterparty_id=cp), Line("1002", credit_fen=amount)],
                idempotency_key=f"demo-pay-supplier-{day}-{n}",
            ),
        )


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


def fill_order(conn: Connection, plan: StorePlan, customers: dict[str, int], day: date) -> None:
    """The store's last institutional order of the year at a negotiated price (团购议价): sized so that the
    store's 营业收入 for the year is exactly its share of the published turnover."""
    remaining = plan.target_net_fen - plan.net_fen
    if remaining <= 0:
        raise RuntimeError(f"store {plan.store_id} overshot its turnover by {-remaining} fen")
    gross = remaining + remaining // 100
    while split_tax_inclusive(gross, 100)[0] < remaining:
        gross += 1
    while split_tax_inclusive(gross, 100)[0] > remaining:
        gross -= 1
    shift_id = open_shift(conn, plan.cashier, plan.store_id, FLOAT_FEN, opened_at=_at(day, 0))
    body = SaleIn(
        store_id=plan.store_id,
        shift_id=shift_id,
        sold_at=_at(day, 600),
        channel="agency",
        customer_id=customers["agency"],
        lines=[
            SaleLineIn(
                sku=FILL_SKU, quantity="1", unit_price=format_amount(gross), override_reason="年终团购议价"
            )
        ],
        payments=[PaymentIn(method="credit", amount=format_amount(gross))],
    )
    _sell(conn, plan, body, f"demo-{plan.store_id}-{day.isoformat()}-fill")
    close_shift(conn, plan.cashier, shift_id, FLOAT_FEN)


def _balance(conn: Connection, org: int, code: str, period: str) -> int:
    year = period[:4]
    return next(
        (r.closing_fen for r in trial_balance(conn, org, f"{year}-01", period) if r.code == code),
        0,
    )


def month_end(
    conn: Connection, tree: DemoTree, street: str, customers: dict[str, int], period: str, last: bool
) -> None:
    """Bank the cash and the WeChat/Alipay money (less the fee), collect institutions, pay rent and wages."""
    company = tree.companies[street]
    day = period_bounds(period)[1]
    lines_cash = _balance(conn, company, "1001", period)
    drafts = []
    if lines_cash > 0:
        drafts.append(
            Draft(
                company,
                day,
                "现金存行",
                [Line("1002", debit_fen=lines_cash), Line("1001", credit_fen=lines_cash)],
            )
        )
    for code, name in (("101201", "微信"), ("101202", "支付宝")):
        held = _balance(conn, company, code, period)
        if held > 0:
            fee = (held * 6 + 500) // 1000  # 0.6 %
            drafts.append(
                Draft(
                    company,
                    day,
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
            owed = open_balance(conn, company, get_customer(conn, company, customer))
            if owed > 0:
                cp = get_customer(conn, company, customer)["counterparty_id"]
                drafts.append(
                    Draft(
                        company,
                        day,
                        "单位客户转账结算货款",
                        [Line("1002", debit_fen=owed), Line("1122", credit_fen=owed, counterparty_id=cp)],
                    )
                )
    stores = len(tree.stores[street])
    drafts.append(
        Draft(
            company,
            day,
            f"{period} 门店租金水电",
            [
                Line("5601", debit_fen=MONTHLY_RENT_FEN * stores),
                Line("1002", credit_fen=MONTHLY_RENT_FEN * stores),
            ],
        )
    )
    drafts.append(
        Draft(
            company,
            day,
            f"{period} 工资",
            [
                Line("5602", debit_fen=MONTHLY_WAGES_FEN * stores),
                Line("1002", credit_fen=MONTHLY_WAGES_FEN * stores),
            ],
        )
    )
    for n, d in enumerate(drafts):
        post_entry(
            conn, Draft(d.org_id, d.entry_date, d.memo, d.lines, idempotency_key=f"demo-me-{period}-{n}")
        )


def run_supermarkets(engine: Engine, tree: DemoTree, year: int, seed: int, scale: float, say) -> CompanyYear:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    out = CompanyYear()
    with write_tx(engine) as conn:
        customers = setup_companies(conn, tree, year)
        store_ids = [s for street in tree.stores for s in tree.stores[street]]
        targets = split(SUPERMARKET_TURNOVER_FEN, STORE_WEIGHTS[: len(store_ids)])
        plans = []
        for store_id, target in zip(store_ids, targets, strict=True):
            street = next(st for st, ids in tree.stores.items() if store_id in ids)
            cashier = _user(conn, f"cashier-{tree.store_codes[store_id]}")
            plans.append(StorePlan(store_id, street, cashier, target))
    step = max(1, round(1 / scale)) if scale < 1 else 1
    days = [date(year, 1, 1) + timedelta(days=d) for d in range(0, 365, step)]
    days = [d for d in days if d.year == year]
    # Each store keeps pace with 95 % of its turnover spread over its trading days, so it sells all year
    # and its year-end negotiated order covers the last few per cent.
    pace = {day: (i + 1, len(days)) for i, day in enumerate(days)}
    for month in range(1, 13):
        say(f"supermarkets {year}-{month:02d}")
        with write_tx(engine) as conn:
            if month in (1, 4, 7, 10):
                for p in plans:
                    _purchase_quarter(
                        conn, tree, p.street, p.store_id, date(year, month, 1), max(scale, 0.05)
                    )
            for day in (d for d in days if d.month == month):
                for p in plans:
                    done, total = pace[day]
                    store_day(
                        conn, p, customers[p.street], day, rng, p.target_net_fen * 95 // 100 * done // total
                    )
            if month == 12:
                for p in plans:
                    fill_order(conn, p, customers[p.street], date(year, 12, 30))
            for street in tree.companies:
                month_end(conn, tree, street, customers[street], f"{year}-{month:02d}", last=month == 12)
    with write_tx(engine) as conn:
        say("VAT, year-end and distribution of the companies")
        for company in tree.companies.values():
            for quarter in range(1, 5):
                if vat_quarter(conn, company, year, quarter).exempt:
                    post_vat_exemption(conn, company, year, quarter)
        profit_targets = split(
            SUPERMARKET_PROFIT_FEN, [len(tree.stores[s]) * 10 + i for i, s in enumerate(tree.companies)]
        )
        for (street, company), target in zip(tree.companies.items(), profit_targets, strict=True):
            bonus = year_profit(conn, company, year) - target
            if bonus <= 0:
                raise RuntimeError(f"{street}: profit before the year-end payroll is below its target")
            post_entry(
                conn,
                Draft(
                    company,
                    date(year, 12, 31),
                    "年终绩效工资",
                    [Line("5602", debit_fen=bonus), Line("1002", credit_fen=bonus)],
                    idempotency_key=f"demo-bonus-{year}",
                ),
            )
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
            out.notes.append(f"{street}: 净利润 {format_amount(target)}, distributed by plan {plan_id}")
    sales = sum(p.sales for p in plans)
    refunds = sum(p.refunds for p in plans)
    out.notes.append(
        f"supermarkets: {sales} sales and {refunds} refunds in {len(days)} trading days per store"
    )
    return out
