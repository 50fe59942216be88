"""Books for the report tests: a community's year and the joint company's year, posted through the real
posting code, every figure stated here so that a test can check a printed total by hand.

``post_community_year`` and ``post_company_year`` write textbook entries; ``post_random_books`` writes a
seeded random mix for property-style checks that every statement foots on generated data. The bench
(``bench/report_bench.py``) uses the same builders for its 27 communities.
"""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import Connection, Engine

from ledger.books.orgs import add_sub_account, counterparty
from ledger.books.posting import Draft, Line, post_entries
from ledger.community.accounts import ensure
from ledger.db.engine import write_tx


def dr(account: str, fen: int, **dims: object) -> Line:
    return Line(account, debit_fen=fen, **dims)  # type: ignore[arg-type]


def cr(account: str, fen: int, **dims: object) -> Line:
    return Line(account, credit_fen=fen, **dims)  # type: ignore[arg-type]


def community_drafts(conn: Connection, org_id: int, year: int = 2025, *, close: bool = True) -> list[Draft]:
    """A community's year: capital, a lease, a brokerage fee, a subsidy, stipends, petty cash, the close.

    Year income ¥163,000.00 (租赁 ¥57,000 + 居间 ¥6,000 + 补助 ¥100,000), spending ¥37,500.00 (管理费用
    ¥10,000 + 经营支出 ¥1,500 + 公益性岗位 ¥18,000 + 公益设施 ¥8,000), 本年收益 ¥125,500.00; then the
    closing entries and the distribution of §6. Cash 101 ends the year at ¥1,050.00.
    """
    ensure(conn, org_id, "50102", "50103", "21101", "51401", "51402")
    add_sub_account(conn, org_id, "211", "应付成员分配", "21102")
    lessee = counterparty(conn, org_id, "lessee", "张三商铺")
    client = counterparty(conn, org_id, "client", "示范村一合作社")
    company = counterparty(conn, org_id, "other", "和平街道联营公司")
    d = lambda m, day: date(year, m, day)  # noqa: E731
    out = [
        Draft(org_id, d(1, 2), "收到成员股金", [dr("102", 50_000_000), cr("301", 50_000_000)]),
        Draft(org_id, d(1, 5), "购入集贸市场用房", [dr("151", 20_000_000), cr("102", 20_000_000)]),
        Draft(org_id, d(1, 6), "提取备用金", [dr("101", 300_000), cr("102", 300_000)]),
        Draft(
            org_id,
            d(1, 6),
            "收到租赁押金",
            [dr("102", 200_000), cr("21101", 200_000, counterparty_id=lessee)],
        ),
        Draft(org_id, d(1, 20), "购买办公用品", [dr("513", 45_000), cr("101", 45_000)]),
        Draft(
            org_id,
            d(2, 10),
            "借给联营公司周转",
            [dr("113", 800_000, counterparty_id=company), cr("102", 800_000)],
        ),
        Draft(org_id, d(3, 15), "收到工作经费补助", [dr("102", 10_000_000), cr("503", 10_000_000)]),
        Draft(
            org_id,
            d(3, 20),
            "居间服务费",
            [dr("112", 600_000, counterparty_id=client), cr("50103", 600_000)],
        ),
        Draft(org_id, d(3, 20), "零星维修", [dr("511", 150_000), cr("101", 150_000)]),
    ]
    # Lease: ¥5,700 a month accrued Jan–Oct (¥57,000.00), rent received ¥40,000.00.
    for month in range(1, 11):
        out.append(
            Draft(
                org_id,
                d(month, 28),
                f"{month}月租金",
                [dr("112", 570_000, counterparty_id=lessee), cr("50102", 570_000)],
                source="lease",
            )
        )
    out.append(
        Draft(
            org_id, d(4, 2), "收到租金", [dr("102", 4_000_000), cr("112", 4_000_000, counterparty_id=lessee)]
        )
    )
    # Public-welfare posts ¥1,500 a month Jan–Dec; facilities ¥8,000; depreciation ¥10,000.
    for month in range(1, 13):
        out.append(
            Draft(
                org_id, d(month, 25), f"{month}月公益性岗位补贴", [dr("51401", 150_000), cr("212", 150_000)]
            )
        )
        out.append(
            Draft(
                org_id, d(month, 26), f"发放{month}月公益性岗位补贴", [dr("212", 150_000), cr("102", 150_000)]
            )
        )
    out.append(Draft(org_id, d(6, 18), "修缮公共厕所", [dr("51402", 800_000), cr("102", 800_000)]))
    out.append(Draft(org_id, d(12, 31), "计提折旧", [dr("513", 955_000), cr("152", 955_000)]))
    if close:
        out += closing_drafts(org_id, year)
    return out


# Year totals of the community drafts above (fen): income and expense accounts before closing.
COMMUNITY_INCOME = {"50102": 5_700_000, "50103": 600_000, "503": 10_000_000}
COMMUNITY_EXPENSE = {"513": 1_000_000, "511": 150_000, "51401": 1_800_000, "51402": 800_000}
COMMUNITY_NET = sum(COMMUNITY_INCOME.values()) - sum(COMMUNITY_EXPENSE.values())  # ¥125,500.00
RESERVE = 1_255_000  # 10% to 公积金
TO_MEMBERS = 5_000_000


def closing_drafts(org_id: int, year: int) -> list[Draft]:
    """Year-end (DESIGN §6): income and expense into 321, 321 into 322, then the distribution."""
    end = date(year, 12, 31)
    lines = [dr(code, fen) for code, fen in COMMUNITY_INCOME.items()]
    lines += [cr(code, fen) for code, fen in COMMUNITY_EXPENSE.items()]
    lines.append(cr("321", COMMUNITY_NET))
    return [
        Draft(org_id, end, "结转本年收益", lines, source="close"),
        Draft(
            org_id,
            end,
            "本年收益转入未分配收益",
            [dr("321", COMMUNITY_NET), cr("322", COMMUNITY_NET)],
            source="close",
        ),
        Draft(
            org_id,
            end,
            "提取公积公益金、向成员分配",
            [dr("322", RESERVE + TO_MEMBERS), cr("311", RESERVE), cr("21102", TO_MEMBERS)],
            source="distribution",
        ),
    ]


# The company's first quarter (fen), with stores and 六进 channels on the revenue lines.
COMPANY_SALES = {
    ("2025-01", "store1", "counter"): 2_000_000,
    ("2025-01", "store1", "school"): 800_000,
    ("2025-02", "store2", "counter"): 1_500_000,
    ("2025-02", "store1", "agency"): 600_000,
    ("2025-03", "store1", "counter"): 2_200_000,
    ("2025-03", "store2", "enterprise"): 400_000,
    ("2025-03", "store1", "resettlement"): 300_000,
}


def company_drafts(conn: Connection, org_id: int, stores: dict[str, int]) -> list[Draft]:
    """Capital, purchases (one supplier prepaid: 2202 debit), POS sales by channel, credit customers."""
    village = counterparty(conn, org_id, "supplier", "示范村一")
    farm = counterparty(conn, org_id, "supplier", "绿源农场")
    school = counterparty(conn, org_id, "customer", "沿河二中食堂")
    agency = counterparty(conn, org_id, "customer", "街道机关食堂")
    out = [
        Draft(org_id, date(2025, 1, 2), "收到股东投资", [dr("1002", 100_000_000), cr("3001", 100_000_000)]),
        Draft(
            org_id,
            date(2025, 1, 3),
            "购入农产品",
            [
                dr("1405", 6_000_000, store_id=stores["store1"]),
                cr("2202", 6_000_000, counterparty_id=village),
            ],
            source="pos",  # 1405 of a company with a store is the stock workflow's (pos.stock)
        ),
        Draft(
            org_id,
            date(2025, 1, 10),
            "支付货款",
            [dr("2202", 2_000_000, counterparty_id=village), cr("1002", 2_000_000)],
        ),
        Draft(
            org_id,
            date(2025, 1, 12),
            "预付货款",
            [dr("2202", 500_000, counterparty_id=farm), cr("1002", 500_000)],
        ),
    ]
    for (period, store, channel), fen in COMPANY_SALES.items():
        year, month = int(period[:4]), int(period[5:])
        credit_sale = channel in ("school", "agency")
        customer = school if channel == "school" else agency
        debit = (
            dr("1122", fen, counterparty_id=customer)
            if credit_sale
            else dr("1001" if channel == "counter" else "1012", fen)
        )
        out.append(
            Draft(
                org_id,
                date(year, month, 25),
                f"{store} 日结",
                [debit, cr("5001", fen, store_id=stores[store], channel=channel)],
                source="pos",
            )
        )
    out += [
        Draft(
            org_id,
            date(2025, 3, 28),
            "结转销售成本",
            [dr("5401", 5_000_000), cr("1405", 5_000_000, store_id=stores["store1"])],
            source="pos",
        ),
        Draft(
            org_id,
            date(2025, 3, 29),
            "收到学校货款",
            [dr("1002", 500_000), cr("1122", 500_000, counterparty_id=school)],
        ),
        Draft(org_id, date(2025, 3, 30), "支付手续费", [dr("5603", 12_000), cr("1012", 12_000)]),
        Draft(
            org_id,
            date(2025, 3, 31),
            "收到学校预付款",
            [dr("1002", 1_000_000), cr("1122", 1_000_000, counterparty_id=school)],
        ),
    ]
    return out


COMPANY_REVENUE_Q1 = sum(COMPANY_SALES.values())  # ¥78,000.00
COMPANY_NET_Q1 = COMPANY_REVENUE_Q1 - 5_000_000 - 12_000  # ¥27,880.00


def post_all(engine: Engine, drafts: list[Draft]) -> None:
    with write_tx(engine) as conn:
        post_entries(conn, drafts)


def post_community_year(engine: Engine, org_id: int, year: int = 2025, *, close: bool = True) -> None:
    with write_tx(engine) as conn:
        post_entries(conn, community_drafts(conn, org_id, year, close=close))


def post_company_quarter(engine: Engine, org_id: int, stores: dict[str, int]) -> None:
    with write_tx(engine) as conn:
        post_entries(conn, company_drafts(conn, org_id, stores))


# --- generated books ---------------------------------------------------------------------------------------

_COLLECTIVE = [
    "101",
    "102",
    "112",
    "113",
    "121",
    "151",
    "211",
    "212",
    "214",
    "50102",
    "503",
    "511",
    "513",
    "51401",
]
_SMALL = [
    "1001",
    "1002",
    "1012",
    "1122",
    "1405",
    "2202",
    "2221",
    "5001",
    "5401",
    "5602",
    "5603",
    "1601",
    "3001",
]
_SPLIT = {"113", "112", "1122", "2202", "211"}


def random_drafts(conn: Connection, org_id: int, standard: str, seed: int, n: int = 120) -> list[Draft]:
    """``n`` random two- or three-line entries over 2025; split accounts get random counterparties."""
    rng = random.Random(seed)
    if standard == "collective":
        ensure(conn, org_id, "50102", "51401")
        accounts = _COLLECTIVE
    else:
        add_sub_account(conn, org_id, "5602", "办公费", "560201")
        accounts = [a if a != "5602" else "560201" for a in _SMALL]
    parties = [counterparty(conn, org_id, "other", f"往来单位{i}") for i in range(4)]
    out = []
    for i in range(n):
        day = date(2025, 1 + i * 12 // n, rng.randint(1, 28))
        a, b = rng.sample(accounts, 2)
        fen = rng.randint(1, 5_000_000)

        def dims(code: str) -> dict[str, object]:
            return {"counterparty_id": rng.choice(parties)} if code in _SPLIT else {}

        lines = [dr(a, fen, **dims(a)), cr(b, fen, **dims(b))]
        if rng.random() < 0.3:
            c = rng.choice([x for x in accounts if x not in (a, b)])
            extra = rng.randint(1, 100_000)
            lines += [dr(c, extra, **dims(c)), cr(b, extra, **dims(b))]
        # A company with a store moves 1405 only through its stock workflow (pos.stock): post those as it.
        source = "pos" if any(ln.account == "1405" for ln in lines) else "manual"
        out.append(Draft(org_id, day, f"随机分录 {i}", lines, source=source))
    return out


def post_random_books(engine: Engine, org_id: int, standard: str, seed: int, n: int = 120) -> None:
    with write_tx(engine) as conn:
        post_entries(conn, random_drafts(conn, org_id, standard, seed, n))


# --- the workflows' own registers (leases, public-welfare posts, brokerage), through their services -------


def post_community_workflows(engine: Engine, org_id: int) -> None:
    """Two leases from 2024-10 accrued through 2025-03 with one partial receipt, two welfare posts with
    stipends run through 2025-03 and one paid, and a brokerage fee on credit: the workflow reports' data.

    Lease A ¥3,000 a month (tax-inclusive), lease B ¥2,000; 6 months each accrued (¥30,000.00 billed),
    ¥8,000.00 received: A's oldest charges paid first. Posts: 保洁员 ¥1,500 and 护路员 ¥1,200 a month.
    """
    from ledger.community import brokerage, welfare
    from ledger.community.leases import contracts as leases
    from ledger.community.leases.receipts import receive_rent
    from ledger.community.leases.schedule import LeaseTerms

    with write_tx(engine) as conn:
        for code, lessee, rent in (
            ("ZL-2024-01", "李四便利店", 300_000),
            ("ZL-2024-02", "王五餐馆", 200_000),
        ):
            terms = LeaseTerms(start=date(2024, 10, 1), end=date(2026, 9, 30), rent_per_cycle_fen=rent)
            leases.create_contract(
                conn, org_id, leases.NewContract(code=code, mode="lease", lessee=lessee, terms=terms)
            )
        leases.accrue_leases(conn, [org_id], "2025-03")
        receive_rent(conn, org_id, amount_fen=800_000, received_on=date(2025, 1, 15), lessee="李四便利店")
        cleaner = welfare.create_post(
            conn,
            org_id,
            welfare.NewPost(
                post="保洁员", holder="赵六", monthly_stipend_fen=150_000, start=date(2025, 1, 1)
            ),
        )
        welfare.create_post(
            conn,
            org_id,
            welfare.NewPost(
                post="护路员", holder="钱七", monthly_stipend_fen=120_000, start=date(2025, 1, 1)
            ),
        )
        welfare.run_stipends(conn, [org_id], "2025-03")
        welfare.pay_stipend(conn, org_id, cleaner, paid_on=date(2025, 3, 31))
        brokerage.record_deal(
            conn,
            org_id,
            brokerage.Deal(
                client="示范村一合作社", kind="produce", earned_on=date(2025, 2, 10), commission_fen=300_000
            ),
        )
