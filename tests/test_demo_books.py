"""The demo county at full scale (one build per session, SQLite: ``demo_county`` in conftest).

The four published figures come out of the reports' own JSON; the stores trade at a village shop's volume
through the POS services; no SKU is ever sold below zero and no drawer's cash book goes below zero; every
balance sheet foots with no negative 存货 or 货币资金; what the companies owe the villages for produce is what
the villages' own books say the companies owe them. (``tests/test_demo.py`` builds a small sample of the
year on both databases.)
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from ledger.app import create_app
from ledger.books.money import amount_in_words
from ledger.books.verify import verify_all
from ledger.db.engine import read_tx
from ledger.demo.tree import demo_token
from ledger.settings import Settings
from tests.conftest import DemoCounty

SEED = 2025


@pytest.fixture(scope="module")
def full_demo(demo_county: DemoCounty) -> Engine:
    return demo_county.engine


@pytest.fixture(scope="module")
def api(full_demo: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=str(full_demo.url)), engine=full_demo)) as client:
        yield client


def fen(value: str) -> int:
    return int(Decimal(value) * 100)


def report(api: TestClient, org: int, name: str, **query: str) -> dict:
    params = {"from": "2025-01", "to": "2025-12", **query}
    r = api.get(
        f"/api/v1/orgs/{org}/reports/{name}.json",
        params=params,
        headers={"Authorization": f"Bearer {demo_token(SEED, 'admin')}"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def keyed(doc: dict) -> dict[str, dict]:
    return {row["key"]: row for table in doc["tables"] for row in table["rows"] if "key" in row}


def orgs(conn: Connection, kind: str) -> list[int]:
    return list(conn.execute(text("SELECT id FROM org WHERE kind = :k ORDER BY id"), {"k": kind}).scalars())


def test_the_four_published_figures_come_out_of_the_reports(full_demo: Engine, api: TestClient) -> None:
    with read_tx(full_demo) as conn:
        [county] = orgs(conn, "county")
        communities = orgs(conn, "community")
    rows = keyed(report(api, county, "income-statement", standard="small_enterprise"))
    assert fen(rows["revenue"]["本年累计金额"]) == 243_000_000
    assert fen(rows["net_profit"]["本年累计金额"]) == 43_200_000
    # the published profit is 净利润 (line 32), after the small low-profit enterprise's 5 % income tax
    assert fen(rows["income_tax_expense"]["本年累计金额"]) > 0
    income = brokerage = 0
    for org in communities:
        lines = keyed(report(api, org, "income-statement"))
        income += fen(lines["operating_revenue"]["本年数"]) + fen(lines["investment_income"]["本年数"])
        months = report(api, org, "brokerage")["tables"][0]["rows"]
        brokerage += fen(next(r for r in months if r.get("style") == "total")["income"])
    assert len(communities) == 27
    assert income == 237_750_000 and amount_in_words(income) == "贰佰叁拾柒万柒仟伍佰元整"
    assert brokerage == 102_980_000


def test_the_build_prints_the_published_figures_from_the_reports(demo_county: DemoCounty) -> None:
    notes = "\n".join(demo_county.notes)
    for figure in ("2,377,500.00", "2,430,000.00", "432,000.00", "1,029,800.00"):
        line = next(ln for ln in notes.splitlines() if figure in ln)
        assert line.count(figure) == 2 and line.rstrip().endswith("✓"), line


def test_the_stores_trade_at_a_village_shops_volume(full_demo: Engine) -> None:
    with read_tx(full_demo) as conn:
        per_day = conn.execute(
            text(
                "SELECT store_id, business_date, count(*) FROM pos_sale WHERE kind = 'sale' "
                "AND business_date BETWEEN '2025-01-01' AND '2025-12-31' GROUP BY store_id, business_date"
            )
        ).all()
        sales, refunds = conn.execute(
            text(
                "SELECT sum(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END), "
                "sum(CASE WHEN kind = 'refund' THEN 1 ELSE 0 END) FROM pos_sale "
                "WHERE business_date <= '2025-12-31'"
            )
        ).one()
        shifts = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT store_id || ':' || business_date) FROM pos_shift "
                "WHERE business_date <= '2025-12-31'"
            )
        ).one()
        largest_counter = conn.execute(
            text(
                "SELECT max(s.total_fen) FROM pos_sale s WHERE s.kind = 'sale' AND NOT EXISTS "
                "(SELECT 1 FROM pos_payment p WHERE p.sale_id = s.id AND p.method = 'credit')"
            )
        ).scalar_one()
        over_short = conn.execute(
            text(
                "SELECT count(*) FROM pos_shift WHERE business_date <= '2025-12-31' "
                "AND counted_cash_fen <> expected_cash_fen"
            )
        ).scalar_one()
    assert len(per_day) == 5 * 365
    assert all(30 <= n <= 100 for _s, _d, n in per_day), min(n for *_, n in per_day)
    assert sales >= 80_000
    assert 0.005 <= refunds / sales <= 0.02
    assert shifts[0] == shifts[1] == 5 * 365  # one shift per store and day
    assert largest_counter <= 200_000
    assert 0 < over_short < shifts[0] // 10  # a drawer is now and then a little over or short


def test_no_sku_is_ever_below_zero_at_a_shift_close(full_demo: Engine) -> None:
    """What was bought (by the purchase's date) less what was sold and refunded (by business day), per store
    and SKU, at the end of every day a shift closed; and the stock table now."""
    with read_tx(full_demo) as conn:
        negative = conn.execute(
            text(
                """
                WITH moves AS (
                    SELECT m.store_id, m.product_id, e.entry_date AS day, sum(m.qty_milli) AS qty
                    FROM pos_stock_move m JOIN journal_entry e ON e.id = m.entry_id
                    GROUP BY m.store_id, m.product_id, e.entry_date
                    UNION ALL
                    SELECT s.store_id, l.product_id, s.business_date, -sum(l.qty_milli)
                    FROM pos_sale_line l JOIN pos_sale s ON s.id = l.sale_id
                    GROUP BY s.store_id, l.product_id, s.business_date
                ),
                daily AS (
                    SELECT store_id, product_id, day, sum(qty) AS qty FROM moves
                    GROUP BY store_id, product_id, day
                ),
                running AS (
                    SELECT store_id, product_id, day,
                           sum(qty) OVER (PARTITION BY store_id, product_id ORDER BY day) AS on_hand
                    FROM daily
                )
                SELECT store_id, product_id, day, on_hand FROM running WHERE on_hand < 0 LIMIT 5
                """
            )
        ).all()
        now_negative = conn.execute(text("SELECT count(*) FROM pos_stock WHERE qty_milli < 0")).scalar_one()
        purchases = conn.execute(
            text("SELECT count(*) FROM pos_stock_move WHERE kind = 'purchase'")
        ).scalar_one()
        counted = conn.execute(  # the year-end count (adjust_stock, kind count)
            text("SELECT count(DISTINCT store_id) FROM pos_stock_move WHERE kind = 'count' AND qty_milli < 0")
        ).scalar_one()
    assert negative == []
    assert now_negative == 0
    assert purchases > 500
    assert counted == 5


def test_no_cash_book_goes_below_zero_at_a_day_end(full_demo: Engine) -> None:
    with read_tx(full_demo) as conn:
        negative = conn.execute(
            text(
                """
                WITH daily AS (
                    SELECT l.org_id, e.entry_date AS day, sum(l.debit_fen - l.credit_fen) AS moved
                    FROM journal_line l JOIN journal_entry e ON e.id = l.entry_id
                    JOIN account a ON a.id = l.account_id
                    WHERE a.code IN ('1001', '101')
                    GROUP BY l.org_id, e.entry_date
                )
                SELECT org_id, day, balance FROM (
                    SELECT org_id, day, sum(moved) OVER (PARTITION BY org_id ORDER BY day) AS balance
                    FROM daily
                ) WHERE balance < 0 LIMIT 5
                """
            )
        ).all()
        floats = conn.execute(
            text(
                """
                SELECT o.id, sum(l.debit_fen - l.credit_fen),
                       (SELECT count(*) FROM store s WHERE s.org_id = o.id)
                FROM journal_line l JOIN journal_entry e ON e.id = l.entry_id
                JOIN account a ON a.id = l.account_id JOIN org o ON o.id = l.org_id
                WHERE a.code = '1001' AND o.kind = 'company' AND e.entry_date <= '2025-12-31'
                GROUP BY o.id
                """
            )
        ).all()
    assert negative == []
    assert len(floats) == 4
    assert all(cash >= 50_000 * stores for _org, cash, stores in floats)  # the ¥500 floats are on the books


def test_every_balance_sheet_foots_with_no_negative_stock_or_funds(
    full_demo: Engine, api: TestClient
) -> None:
    """A 200 is a statement that foots (the builder refuses one that does not)."""
    with read_tx(full_demo) as conn:
        books = [*orgs(conn, "company"), *orgs(conn, "community"), *orgs(conn, "village")]
    for org in books:
        for month in ("2025-03", "2025-06", "2025-09", "2025-12"):
            rows = keyed(report(api, org, "balance-sheet", **{"from": month, "to": month}))
            column = "期末余额" if "期末余额" in rows["monetary_funds"] else "期末数"
            assert fen(rows["monetary_funds"][column]) >= 0, (org, month)
            assert fen(rows["inventories"][column]) >= 0, (org, month)
    with read_tx(full_demo) as conn:
        companies = orgs(conn, "company")
        stock = dict(
            conn.execute(
                text(
                    "SELECT l.org_id, sum(l.debit_fen - l.credit_fen) FROM journal_line l "
                    "JOIN account a ON a.id = l.account_id WHERE a.code = '1405' GROUP BY l.org_id"
                )
            ).all()
        )
    assert all(stock[c] > 0 for c in companies)


def test_what_the_companies_owe_the_villages_is_what_the_villages_say_they_are_owed(
    full_demo: Engine,
) -> None:
    """2202 (produce) and 2232 (declared dividends) to each village = the village's 112/113 from the
    companies."""
    with read_tx(full_demo) as conn:
        payable = dict(
            conn.execute(
                text(
                    """
                    SELECT c.ref_org_id, sum(l.credit_fen - l.debit_fen)
                    FROM journal_line l JOIN account a ON a.id = l.account_id
                    JOIN counterparty c ON c.id = l.counterparty_id
                    JOIN org v ON v.id = c.ref_org_id
                    WHERE a.code IN ('2202', '2232') AND v.kind = 'village' GROUP BY c.ref_org_id
                    """
                )
            ).all()
        )
        receivable = dict(
            conn.execute(
                text(
                    """
                    SELECT l.org_id, sum(l.debit_fen - l.credit_fen)
                    FROM journal_line l JOIN account a ON a.id = l.account_id
                    JOIN counterparty c ON c.id = l.counterparty_id
                    JOIN org co ON co.id = c.ref_org_id JOIN org v ON v.id = l.org_id
                    WHERE a.code IN ('112', '113') AND co.kind = 'company' AND v.kind = 'village'
                    GROUP BY l.org_id
                    """
                )
            ).all()
        )
        sold = conn.execute(
            text(
                "SELECT count(*) FROM journal_line l JOIN account a ON a.id = l.account_id "
                "JOIN org o ON o.id = l.org_id WHERE o.kind = 'village' AND a.code = '50101'"
            )
        ).scalar_one()
    assert len(payable) == 8 and payable == receivable
    assert all(v > 0 for v in payable.values())  # December's produce (paid on 10 January) and dividends
    assert sold > 100


def test_income_and_expenses_are_empty_after_the_years_close(full_demo: Engine) -> None:
    with read_tx(full_demo) as conn:
        left = conn.execute(
            text(
                """
                SELECT o.code, a.code, sum(l.debit_fen - l.credit_fen)
                FROM journal_line l JOIN account a ON a.id = l.account_id
                JOIN journal_entry e ON e.id = l.entry_id JOIN org o ON o.id = l.org_id
                WHERE e.entry_date <= '2025-12-31' AND a.account_class IN ('income', 'expense')
                  AND o.kind IN ('company', 'community', 'village')
                GROUP BY o.code, a.code HAVING sum(l.debit_fen - l.credit_fen) <> 0
                """
            )
        ).all()
    assert left == []


def test_the_demo_books_verify(full_demo: Engine) -> None:
    with read_tx(full_demo) as conn:
        assert verify_all(conn) == []


def test_the_communities_declare_their_vat_each_quarter_within_the_small_scale_threshold(
    full_demo: Engine,
) -> None:
    """Each quarter's sales stay under ¥300,000: the accrued 214 moves to 504 其他收入 at its end."""
    with read_tx(full_demo) as conn:
        owed = conn.execute(
            text(
                """
                SELECT o.code, sum(l.credit_fen - l.debit_fen)
                FROM journal_line l JOIN account a ON a.id = l.account_id
                JOIN journal_entry e ON e.id = l.entry_id JOIN org o ON o.id = l.org_id
                WHERE o.kind = 'community' AND a.code LIKE '214%' AND e.entry_date <= '2025-12-31'
                GROUP BY o.code HAVING sum(l.credit_fen - l.debit_fen) <> 0
                """
            )
        ).all()
        declared = conn.execute(
            text(
                "SELECT count(*) FROM journal_entry e JOIN org o ON o.id = e.org_id "
                "WHERE o.kind = 'community' AND e.source_ref LIKE 'vat-exempt:2025Q%'"
            )
        ).scalar_one()
    assert owed == []
    assert declared >= 27 * 3


def test_the_collectives_opening_balances_are_the_years_opening_figures(
    full_demo: Engine, api: TestClient
) -> None:
    """The funds the communities and villages brought into the books are an opening-balance voucher dated
    the day before the year: the 2025 balance sheet's 年初数 shows them, the year's activity does not."""
    with read_tx(full_demo) as conn:
        community, village = orgs(conn, "community")[0], orgs(conn, "village")[0]
        opening_in_2025 = conn.execute(
            text("SELECT count(*) FROM journal_entry WHERE entry_date >= '2025-01-01' AND memo LIKE '期初%'")
        ).scalar_one()
    for org, funds in ((community, 60_000_000), (village, 50_000_000)):
        rows = keyed(report(api, org, "balance-sheet", **{"from": "2025-12", "to": "2025-12"}))
        assert fen(rows["monetary_funds"]["年初数"]) == funds
        assert fen(rows["capital"]["年初数"]) == funds
    assert opening_in_2025 == 0
