"""The demo county at full scale: one build per session on SQLite (``demo_county`` in conftest), and one on
PostgreSQL for this module (``full_demo``'s second parameter: the same build, the same checks).

The four published figures come out of the reports' own JSON; the stores trade at a village shop's volume
through the POS services; no SKU is ever sold below zero and no drawer's cash book goes below zero; every
balance sheet foots with no negative 存货 or 货币资金; what the companies owe the villages for produce is what
the villages' own books say the companies owe them. (``tests/demo/test_demo.py`` builds a small sample of the
year on both databases.)
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner

from ledger.access.signing_key import installation_keys
from ledger.app import create_app
from ledger.books import checkpoints
from ledger.books.money import amount_in_words
from ledger.books.trial_balance import trial_balance
from ledger.books.verify import verify_all
from ledger.cli.main import app
from ledger.db.engine import make_engine, read_tx
from ledger.db.migrate import upgrade
from ledger.demo.build import build_demo
from ledger.demo.tree import demo_token
from ledger.settings import Settings
from tests.factories.county import DemoCounty
from tests.factories.databases import WORKER, admin_exec, pg_url
from tests.factories.plaintext_accounting import TOOLS, balances

SEED = 2025


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def full_demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The session's SQLite county, or the same county built here on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield request.getfixturevalue("demo_county").engine
        return
    request.getfixturevalue("pg_template")  # PostgreSQL is reachable (or the run fails under CI=true)
    name = f"cunshe_demo_{WORKER}_{os.getpid()}"
    admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin_exec(f"CREATE DATABASE {name}")
    engine = make_engine(pg_url(name))
    upgrade(engine)
    home = tmp_path_factory.mktemp("demo-county-pg")
    build_demo(engine, year=2025, seed=SEED, statements_dir=home / "demo-statements")
    yield engine
    engine.dispose()
    admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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
                "WHERE business_date BETWEEN '2025-01-01' AND '2025-12-31'"
            )
        ).one()
        shifts = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT store_id || ':' || business_date) FROM pos_shift "
                "WHERE business_date BETWEEN '2025-01-01' AND '2025-12-31'"
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
                "SELECT count(*) FROM pos_shift WHERE business_date BETWEEN '2025-01-01' AND '2025-12-31' "
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
                ) AS balances WHERE balance < 0 LIMIT 5
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


def test_the_collectives_opening_balances_open_2024_and_2025_opens_where_2024_closed(
    full_demo: Engine, api: TestClient
) -> None:
    """The funds the communities and villages brought into the books are an opening-balance voucher dated
    the day before the books' first year (2024): 2024's 年初数 shows them, no year's activity does; 2025's
    年初数 is where 2024 closed."""
    with read_tx(full_demo) as conn:
        community, village = orgs(conn, "community")[0], orgs(conn, "village")[0]
        company = orgs(conn, "company")[0]
        opening = conn.execute(
            text("SELECT min(entry_date), max(entry_date) FROM journal_entry WHERE memo LIKE '期初%'")
        ).one()
    assert [str(d) for d in opening] == ["2023-12-31"] * 2
    for org, funds in ((community, 60_000_000), (village, 50_000_000)):
        first = keyed(report(api, org, "balance-sheet", **{"from": "2024-12", "to": "2024-12"}))
        assert fen(first["monetary_funds"]["年初数"]) == funds
        assert fen(first["capital"]["年初数"]) == funds
        second = keyed(report(api, org, "balance-sheet", **{"from": "2025-12", "to": "2025-12"}))
        for key, row in second.items():
            if row.get("年初数") is not None:
                assert row["年初数"] == first[key]["期末数"], (org, key)
    first = keyed(report(api, company, "balance-sheet", **{"from": "2024-12", "to": "2024-12"}))
    second = keyed(report(api, company, "balance-sheet", **{"from": "2025-12", "to": "2025-12"}))
    assert fen(second["inventories"]["年初余额"]) == fen(first["inventories"]["期末余额"]) > 0
    assert all(row.get("年初余额") == first[k].get("期末余额") for k, row in second.items())


def test_2025s_last_year_column_is_2024_a_lighter_year_closed_and_distributed(
    full_demo: Engine, api: TestClient
) -> None:
    """上年数 of each community's 2025 收益及收益分配表 is its 2024 本年数; 2024's stores sold less a day."""
    with read_tx(full_demo) as conn:
        communities = orgs(conn, "community")
        per_day = conn.execute(
            text(
                "SELECT avg(n), min(n), max(n) FROM (SELECT count(*) AS n FROM pos_sale WHERE kind = 'sale' "
                "AND business_date BETWEEN '2024-01-01' AND '2024-12-31' "
                "GROUP BY store_id, business_date) AS days"
            )
        ).one()
        plans = conn.execute(
            text("SELECT count(*) FROM distribution_plan WHERE year = 2024 AND status = 'executed'")
        ).scalar_one()
    for org in communities[:3]:
        this = keyed(report(api, org, "income-statement", **{"from": "2024-01", "to": "2024-12"}))
        next_ = keyed(report(api, org, "income-statement"))
        assert fen(this["operating_revenue"]["本年数"]) > 0
        for key, row in next_.items():
            if row.get("上年数") is not None:
                assert row["上年数"] == this[key]["本年数"], (org, key)
    assert per_day[1] >= 10 and per_day[2] <= 100 and per_day[0] < 40
    assert plans >= 27 + 8  # every community and village, and the companies with a profit


def test_2024s_dividends_are_paid_in_2025_and_none_is_payable_at_its_end(full_demo: Engine) -> None:
    """What each company's 2024 distribution declared to a shareholder (2232, by counterparty) is paid in
    2025 through the dividend service (both books, linked); at 2025-12-31 only 2025's own declaration is
    payable."""
    with read_tx(full_demo) as conn:
        [*rows] = conn.execute(
            text(
                """
                SELECT l.org_id, l.counterparty_id,
                       sum(CASE WHEN e.entry_date <= '2024-12-31' THEN l.credit_fen - l.debit_fen ELSE 0 END),
                       sum(CASE WHEN e.entry_date BETWEEN '2025-01-01' AND '2025-12-30'
                                THEN l.credit_fen - l.debit_fen ELSE 0 END),
                       sum(CASE WHEN e.entry_date <= '2025-12-31' THEN l.credit_fen - l.debit_fen ELSE 0 END),
                       sum(CASE WHEN e.entry_date = '2025-12-31' THEN l.credit_fen - l.debit_fen ELSE 0 END)
                FROM journal_line l JOIN journal_entry e ON e.id = l.entry_id
                JOIN account a ON a.id = l.account_id
                WHERE a.code = '2232'
                GROUP BY l.org_id, l.counterparty_id
                """
            )
        )
        payments = conn.execute(
            text(
                "SELECT p.company_org_id, p.amount_fen, p.paid_on, pl.year, c.link_id, s.link_id, s.org_id, "
                "p.shareholder_org_id FROM dividend_payment p JOIN distribution_plan pl ON pl.id = p.plan_id "
                "JOIN journal_entry c ON c.id = p.company_entry_id "
                "JOIN journal_entry s ON s.id = p.shareholder_entry_id"
            )
        ).all()
    declared_2024 = sum(r[2] for r in rows)
    assert declared_2024 > 0 and all(r[2] >= 0 for r in rows)
    for _org, _cp, at_2024_end, paid_in_2025, at_2025_end, declared_2025 in rows:
        assert paid_in_2025 == -at_2024_end  # every fen owed at 2024's end paid in 2025, no more
        assert at_2025_end == declared_2025  # what is left is 2025's own distribution
    assert sum(p[1] for p in payments) == declared_2024
    assert {(p[2].isoformat() if hasattr(p[2], "isoformat") else str(p[2]))[:4] for p in payments} == {"2025"}
    assert {p[3] for p in payments} == {2024}
    assert all(p[4] == p[5] and p[6] == p[7] for p in payments)  # both books, linked


def test_every_closed_month_has_its_signed_checkpoint_and_the_officer_who_closed_it(
    full_demo: Engine,
) -> None:
    """The demo closes its months through the bookkeeping service, as the officer's pages do: each month of
    each book has its 封账码, the books still hold what it signed, and the audit log names the street's
    officer who closed it."""
    with read_tx(full_demo) as conn:
        closed = conn.execute(
            text("SELECT org_id, period FROM period WHERE status = 'closed' ORDER BY org_id, period")
        ).all()
        signed = conn.execute(
            text("SELECT org_id, period FROM period_checkpoint ORDER BY org_id, period")
        ).all()
        # under the keys this installation keeps (never the key a checkpoint carries with it)
        trust = checkpoints.Trust(installation_keys(full_demo.url.render_as_string(hide_password=False)))
        compared = checkpoints.compare_all(conn, checkpoints.stored(conn), trust)
        closes = conn.execute(
            text(
                """
                SELECT a.org_id, u.username, u.scope_org_id, o.parent_id, a.detail
                FROM audit_log a JOIN user_account u ON u.id = a.user_id JOIN org o ON o.id = a.org_id
                WHERE a.action = 'period.close'
                """
            )
        ).all()
        books = len(orgs(conn, "company") + orgs(conn, "community") + orgs(conn, "village"))
    assert len(closed) >= books * 12
    assert signed == [tuple(r) for r in closed]
    assert compared and all(c.agrees for c in compared), checkpoints.first_differing(compared)
    assert len(closes) == books * 24  # one close per month and book, 2024's January naming the opening month
    assert all(user.startswith("officer-") and scope == parent for _o, user, scope, parent, _d in closes)


def test_the_tills_shifts_refunds_and_the_back_office_are_audited_as_the_door_audits_them(
    full_demo: Engine,
) -> None:
    """Shifts, refunds, purchases and the year-end count go through the POS services the API carries out:
    one audit row each, by the store's cashier (the till) or the street's officer (the back office)."""
    with read_tx(full_demo) as conn:
        audited = dict(
            conn.execute(
                text("SELECT action, count(*) FROM audit_log WHERE action LIKE 'pos.%' GROUP BY action")
            ).all()
        )
        shifts = conn.execute(text("SELECT count(*) FROM pos_shift")).scalar_one()
        refunds = conn.execute(text("SELECT count(*) FROM pos_sale WHERE kind = 'refund'")).scalar_one()
        moves = dict(
            conn.execute(
                text("SELECT kind, count(DISTINCT entry_id) FROM pos_stock_move GROUP BY kind")
            ).all()
        )
        by_role = dict(
            conn.execute(
                text(
                    "SELECT a.action, min(u.role) || '/' || max(u.role) FROM audit_log a "
                    "JOIN user_account u ON u.id = a.user_id WHERE a.action LIKE 'pos.%' GROUP BY a.action"
                )
            ).all()
        )
    assert audited["pos.shift.open"] == audited["pos.shift.close"] == shifts
    assert audited["pos.refund"] == refunds
    assert audited["pos.purchase"] == moves["purchase"]
    assert audited["pos.stock.count"] >= 5
    assert by_role["pos.shift.open"] == by_role["pos.refund"] == "cashier/cashier"
    assert by_role["pos.purchase"] == by_role["pos.stock.count"] == "officer/officer"


def test_beancount_loads_the_whole_county_and_agrees_with_every_trial_balance(
    demo_county: DemoCounty, tmp_path: Path
) -> None:
    """``cunshe export --format beancount`` of the whole county loads in Beancount (what ``bean-check``
    runs) without an error, and every account of every book closes where our 科目余额表 says."""
    out = tmp_path / "county.beancount"
    result = CliRunner().invoke(
        app, ["export", "--format", "beancount", "--out", str(out), "--db", demo_county.url]
    )
    assert result.exit_code == 0, result.output
    entries, errors, _options = loader.load_file(str(out))
    assert errors == []
    theirs: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                _root, org_part, code = posting.account.split(":")
                theirs[(int(org_part[1:].split("-")[0]), code[1:])] += posting.units.number
    with read_tx(demo_county.engine) as conn:
        books = [*orgs(conn, "company"), *orgs(conn, "community"), *orgs(conn, "village")]
        last = conn.execute(text("SELECT max(period) FROM journal_line")).scalar_one()
        ours = {
            (org, r.code): r.closing_fen for org in books for r in trial_balance(conn, org, last) if r.is_leaf
        }
    assert {k for k, v in theirs.items() if v} <= set(ours)
    differing = [(k, v, theirs[k] * 100) for k, v in ours.items() if theirs[k] * 100 != v]
    assert differing == []
    assert sum(1 for v in ours.values() if v) > 300


@pytest.mark.parametrize("tool", TOOLS)
def test_hledger_and_ledger_cli_load_the_whole_county_and_agree_with_every_trial_balance(
    demo_county: DemoCounty, tmp_path: Path, tool: str
) -> None:
    """``cunshe export --format hledger`` of the whole county, loaded by hledger and by ledger-cli (each on
    its own, as an auditor would check us): every account of every book closes where our 科目余额表 says."""
    out = tmp_path / "county.journal"
    result = CliRunner().invoke(
        app, ["export", "--format", "hledger", "--out", str(out), "--db", demo_county.url]
    )
    assert result.exit_code == 0, result.output
    theirs: dict[tuple[int, str], int] = {}
    for account, amount in balances(tool, out).items():
        _root, org_part, code = account.split(":")
        theirs[(int(org_part[1:].split("-")[0]), code[1:])] = int(amount * 100)
    with read_tx(demo_county.engine) as conn:
        books = [*orgs(conn, "company"), *orgs(conn, "community"), *orgs(conn, "village")]
        last = conn.execute(text("SELECT max(period) FROM journal_line")).scalar_one()
        ours = {
            (org, r.code): r.closing_fen
            for org in books
            for r in trial_balance(conn, org, last)
            if r.is_leaf and r.closing_fen
        }
    assert theirs == ours
    assert len(ours) > 300


def test_income_tax_is_provisional_each_quarter_and_settled_with_the_year(
    full_demo: Engine, api: TestClient
) -> None:
    """Each company books 所得税费用 at each of the first three quarters' ends (预缴: 5 % of the year's
    利润总额 so far, less what it booked before) and the rest with the year (the fourth quarter and the
    settlement), so the year's 所得税费用 is 5 % of its 利润总额; each is paid on the 15th of the next
    month."""
    with read_tx(full_demo) as conn:
        companies = orgs(conn, "company")
        quarters = conn.execute(
            text(
                "SELECT org_id, count(*) FROM journal_entry "
                "WHERE idempotency_key LIKE 'demo-income-tax-2025Q%' GROUP BY org_id"
            )
        ).all()
        paid_days = set(
            conn.execute(
                text(
                    "SELECT DISTINCT e.entry_date FROM journal_line l "
                    "JOIN journal_entry e ON e.id = l.entry_id JOIN account a ON a.id = l.account_id "
                    "WHERE a.code = '222106' AND l.debit_fen > 0 AND e.memo LIKE '缴纳%' "
                    "AND e.entry_date BETWEEN '2025-01-01' AND '2025-12-31'"
                )
            ).scalars()
        )
    assert sorted(q for _o, q in quarters) == [3] * len(companies)
    assert {str(d) for d in paid_days} == {"2025-01-15", "2025-04-15", "2025-07-15", "2025-10-15"}
    for company in companies:
        rows = keyed(report(api, company, "income-statement"))
        before_tax = fen(rows["total_profit"]["本年累计金额"])
        assert fen(rows["income_tax_expense"]["本年累计金额"]) == (before_tax * 5 + 50) // 100


def test_decembers_utility_bill_is_an_ordinary_months(full_demo: Engine) -> None:
    """The bill that settles each company's year on its share of the published profit is no more than
    1.3 times (and no less than half) its other months' bills on average."""
    with read_tx(full_demo) as conn:
        bills = conn.execute(
            text(
                "SELECT e.org_id, e.entry_date, sum(l.debit_fen) FROM journal_entry e "
                "JOIN journal_line l ON l.entry_id = e.id JOIN account a ON a.id = l.account_id "
                "WHERE a.code = '5601' AND e.memo LIKE '2025-__ 门店水电费' GROUP BY e.id"
            )
        ).all()
    by_company: dict[int, dict[int, int]] = defaultdict(dict)
    for org, day, fen_ in bills:
        by_company[org][int(str(day)[5:7])] = int(fen_)  # PostgreSQL's sum of bigints is a numeric
    assert len(by_company) == 4
    for org, months in by_company.items():
        assert sorted(months) == list(range(1, 13))
        usual = sum(v for m, v in months.items() if m != 12) / 11
        assert usual / 2 <= months[12] <= usual * 1.3, (org, months)
