"""Reports that tell the truth about the period asked (issue 16), on a two-year book with a year-end close.

A community (丁字口) keeps 2025 with its closing entries and distribution, then January–February 2026; the
joint company sells through 六进 channels in 2025 Q1 and Q4, closes the year with ``close_year``, and sells
again in January 2026. Every report in the registry is built for the year and for each of its months: a
flow report's year is the sum of its months and the books' movements without the closing entries.
"""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from ledger.books import county_time
from ledger.books.orgs import counterparty
from ledger.books.periods import close_period, period_bounds
from ledger.books.posting import Draft, post_entries
from ledger.books.trial_balance import movements, trial_balance
from ledger.books.verify import verify_org
from ledger.community.accounts import ensure
from ledger.db.engine import read_tx, write_tx
from ledger.distribution.yearend import close_year
from reports.builders_base import ReportPeriod
from reports.registry import REPORTS, build_report
from tests.factories.county import County
from tests.factories.report_books import (
    COMMUNITY_EXPENSE,
    COMMUNITY_INCOME,
    COMPANY_REVENUE_Q1,
    cr,
    dr,
    post_community_year,
    post_company_quarter,
)

Q4_SALES = {(11, "counter"): 3_000_000, (12, "school"): 1_200_000, (12, "counter"): 900_000}
JANUARY_SALES = 700_000
YEAR_2025 = [f"2025-{m:02d}" for m in range(1, 13)]
OPTIONS = {"ledger-detail": {"account": "102"}, "cash-journal": {}, "bank-journal": {}}
COMPANY_OPTIONS = {"ledger-detail": {"account": "1002"}}


def post_company_year_end(county: County) -> None:
    """2025 Q4 sales by channel, the company's 年终结账 (``close_year``), and January 2026's sales."""
    co, stores = county.ids["company"], county.stores
    with write_tx(county.engine) as conn:
        drafts = [
            Draft(
                co,
                date(2025, month, 20),
                "日结",
                [dr("1001", fen), cr("5001", fen, store_id=stores["store1"], channel=channel)],
                source="pos",
            )
            for (month, channel), fen in Q4_SALES.items()
        ]
        post_entries(conn, drafts)
        close_year(conn, co, 2025)
        post_entries(
            conn,
            [
                Draft(
                    co,
                    date(2026, 1, 15),
                    "日结",
                    [
                        dr("1001", JANUARY_SALES),
                        cr("5001", JANUARY_SALES, store_id=stores["store2"], channel="counter"),
                    ],
                    source="pos",
                )
            ],
        )


def post_community_2026(county: County) -> None:
    org = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        ensure(conn, org, "50102", "51402")
        lessee = counterparty(conn, org, "lessee", "张三商铺")
        post_entries(
            conn,
            [
                Draft(
                    org,
                    date(2026, 1, 28),
                    "1月租金",
                    [dr("112", 570_000, counterparty_id=lessee), cr("50102", 570_000)],
                ),
                Draft(org, date(2026, 2, 10), "修缮路灯", [dr("51402", 120_000), cr("102", 120_000)]),
            ],
        )


@pytest.fixture
def two_years(county: County) -> County:
    post_community_year(county.engine, county.ids["dingzikou"])  # with its closing entries (source close)
    post_company_quarter(county.engine, county.ids["company"], county.stores)
    post_company_year_end(county)
    post_community_2026(county)
    return county


def headline(report) -> int:  # type: ignore[no-untyped-def]
    return report.totals[0].fen


# The flow reports and how their first total reads the books (movements without the closing entries).
def _income_less_nothing(conn, org, first, last) -> int:  # type: ignore[no-untyped-def]
    found = movements(conn, org, first, last, account_classes=("income",))
    return sum(c - d for d, c in found.values())


FLOWS = {
    "disclosure": _income_less_nothing,
    "channel-sales": lambda conn, org, first, last: sum(
        c - d for d, c in movements(conn, org, first, last, accounts=("5001",)).values()
    ),
    "brokerage": lambda conn, org, first, last: sum(
        c - d for d, c in movements(conn, org, first, last, accounts=("50103",)).values()
    ),
}


@pytest.mark.parametrize("org_key", ["dingzikou", "company"])
def test_every_report_of_a_closed_year_is_the_sum_of_its_months_and_the_books_before_closing(
    two_years: County, org_key: str
) -> None:
    org = two_years.ids[org_key]
    standard = "collective" if org_key == "dingzikou" else "small_enterprise"
    built = []
    with read_tx(two_years.engine) as conn:
        for name, spec in sorted(REPORTS.items()):
            if standard not in spec.standards:
                continue
            options = (OPTIONS if standard == "collective" else COMPANY_OPTIONS).get(name, {})
            year = build_report(conn, name, org, ReportPeriod("2025-01", "2025-12"), options=options)
            months = []
            for month in YEAR_2025:
                try:
                    months.append(build_report(conn, name, org, ReportPeriod(month, month), options=options))
                except Exception as exc:  # a month without vouchers has no 记账凭证 print
                    assert name == "vouchers" and "no vouchers" in str(exc), (name, month, exc)
            built.append(name)
            if name in FLOWS:
                expected = FLOWS[name](conn, org, "2025-01", "2025-12")
                assert headline(year) == sum(headline(m) for m in months) == expected, name
            if name == "trial-balance":
                tb = trial_balance(conn, org, "2025-01", "2025-12", closing="exclude")
                before_close = sum(r.debit_fen for r in tb if r.level == 1)
                with_close = sum(
                    r.debit_fen for r in trial_balance(conn, org, "2025-01", "2025-12") if r.level == 1
                )
                assert headline(year) == sum(headline(m) for m in months) == with_close > before_close
        income = movements(conn, org, "2025-01", "2025-12", account_classes=("income", "expense"))
        net = sum(c - d for d, c in income.values())
        statement = build_report(conn, "income-statement", org, ReportPeriod("2025-01", "2025-12"))
    assert {"trial-balance", "balance-sheet", "income-statement", "vouchers"} <= set(built)
    if standard == "collective":
        assert {"disclosure", "brokerage", "rent-roll", "arrears", "welfare-funds"} <= set(built)
        assert net == sum(COMMUNITY_INCOME.values()) - sum(COMMUNITY_EXPENSE.values())
    else:
        assert "channel-sales" in built
        assert net == COMPANY_REVENUE_Q1 + sum(Q4_SALES.values()) - 5_000_000 - 12_000
        # 利润表 line 32 净利润, 本年累计金额: the year's income before the closing entries
        frame = statement.tables[0].frame.set_index("key")
        assert int(frame.iloc[:, :].filter(like="本年").loc["net_profit"].iloc[0]) == net


def test_channel_sales_of_a_closed_year_equal_its_5001_turnover(
    client: TestClient, two_years: County
) -> None:
    co = two_years.ids["company"]
    response = client.get(
        f"/api/v1/orgs/{co}/reports/channel-sales.json?from=2025-01&to=2025-12",
        headers=two_years.auth("officer"),
    )
    assert response.status_code == 200, response.text
    total = COMPANY_REVENUE_Q1 + sum(Q4_SALES.values())
    assert response.json()["totals"][0]["amount"] == f"{total / 100:.2f}"
    december = client.get(
        f"/api/v1/orgs/{co}/reports/channel-sales.json?period=2025-12", headers=two_years.auth("officer")
    ).json()
    assert december["totals"][0]["amount"] == "21000.00"  # 12 000 + 9 000, no 未标渠道 closing line


def test_vat_quarter_counts_the_quarters_sales_not_the_year_end_close(
    client: TestClient, two_years: County
) -> None:
    co = two_years.ids["company"]
    q4 = client.get(f"/api/v1/orgs/{co}/vat/2025/q4", headers=two_years.auth("officer"))
    assert q4.status_code == 200, q4.text
    assert q4.json()["sales"] == f"{sum(Q4_SALES.values()) / 100:.2f}"
    q1 = client.get(f"/api/v1/orgs/{co}/vat/2025/q1", headers=two_years.auth("officer")).json()
    assert q1["sales"] == f"{COMPANY_REVENUE_Q1 / 100:.2f}"


def test_welfare_funds_count_facility_spending_before_the_close(
    client: TestClient, two_years: County
) -> None:
    ding = two_years.ids["dingzikou"]
    report = client.get(
        f"/api/v1/orgs/{ding}/reports/welfare-funds.json?from=2025-01&to=2025-12",
        headers=two_years.auth("officer"),
    )
    assert report.status_code == 200, report.text
    facilities = report.json()["tables"][2]["rows"][0]
    assert facilities["spent"] == "8000.00"
    api = client.get(
        f"/api/v1/orgs/{ding}/years/2025/welfare-funds", headers=two_years.auth("officer")
    ).json()
    assert api["facilities_spent"] == "8000.00"


def test_verify_names_an_income_or_expense_account_left_open_after_the_year_closed(two_years: County) -> None:
    ding = two_years.ids["dingzikou"]
    with read_tx(two_years.engine) as conn:
        assert verify_org(conn, ding) == []
    with write_tx(two_years.engine) as conn:  # a voucher slipped in after 年终结账, on the last day
        post_entries(
            conn, [Draft(ding, date(2025, 12, 31), "补记办公费", [dr("513", 100_000), cr("101", 100_000)])]
        )
    with read_tx(two_years.engine) as conn:
        problems = [p for p in verify_org(conn, ding) if p.check == "year_close"]
    assert len(problems) == 1
    text = str(problems[0])
    assert f"org {ding}" in text and "2025" in text and "account 513" in text and "100000" in text


# --- a safe month close ------------------------------------------------------------------------------------


def test_closing_a_month_not_begun_is_a_422_naming_the_period(client: TestClient, two_years: County) -> None:
    co = two_years.ids["company"]
    future = county_time.today().replace(day=1).replace(year=county_time.today().year + 1)
    period = f"{future:%Y-%m}"
    response = client.post(f"/api/v1/orgs/{co}/periods/{period}/close", headers=two_years.auth("officer"))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "period" and period in error["message"]


def test_closing_a_month_with_open_months_before_it_names_them_or_is_refused(
    client: TestClient, two_years: County
) -> None:
    ding = two_years.ids["dingzikou"]
    officer = two_years.auth("officer")
    refused = client.post(f"/api/v1/orgs/{ding}/periods/2025-03/close", headers=officer)
    assert refused.status_code == 409, refused.text
    assert "2025-01, 2025-02" in refused.json()["error"]["message"]
    assert client.get(f"/api/v1/orgs/{ding}/periods/2025-01", headers=officer).json()["status"] == "open"
    stray = client.post(f"/api/v1/orgs/{ding}/periods/2025-03/close?including=2024-12", headers=officer)
    assert stray.status_code == 422 and stray.json()["error"]["field"] == "including"
    done = client.post(
        f"/api/v1/orgs/{ding}/periods/2025-03/close?including=2025-01&including=2025-02", headers=officer
    )
    assert done.status_code == 200, done.text
    assert done.json()["closed"] == ["2025-01", "2025-02", "2025-03"]
    assert done.json()["closed_through"] == "2025-03"
    with read_tx(two_years.engine) as conn:  # each month closed by itself, with its own event
        from sqlalchemy import text

        events = conn.execute(
            text("SELECT period FROM period_event WHERE org_id = :o AND action = 'close' ORDER BY id"),
            {"o": ding},
        ).scalars()
        assert list(events) == ["2025-01", "2025-02", "2025-03"]
    nothing_open = client.post(f"/api/v1/orgs/{ding}/periods/2025-04/close", headers=officer)
    assert nothing_open.status_code == 200 and nothing_open.json()["closed"] == ["2025-04"]


def test_a_till_closes_its_shift_into_the_first_open_month_after_an_officers_close(
    county: County, client: TestClient
) -> None:
    from tests.factories.shop import build_shop, key

    shop = build_shop(county, client)
    assert shop.sale([("RICE", "1")], [("cash", "10.00")]).status_code == 201
    for shift_id, who in ((shop.shift, "cashier"), (shop.shift2, "cashier2")):
        counted = client.get(f"/api/v1/pos/shifts/{shift_id}", headers=shop.h(who)).json()["cash"]["expected"]
        closed = client.post(
            f"/api/v1/pos/shifts/{shift_id}/close", json={"counted_cash": counted}, headers=shop.h(who)
        )
        assert closed.status_code == 200, closed.text
    this_month = f"{county_time.today():%Y-%m}"
    with read_tx(county.engine) as conn:
        from ledger.books.periods import open_months_before

        earlier = open_months_before(conn, shop.company, this_month)
    officer_close = client.post(
        f"/api/v1/orgs/{shop.company}/periods/{this_month}/close"
        + "".join(f"{'&' if i else '?'}including={m}" for i, m in enumerate(earlier)),
        headers=county.auth("officer"),
    )  # the officer closes today's month while the till still trades
    assert officer_close.status_code == 200, officer_close.text
    opened = client.post(
        "/api/v1/pos/shifts", json={"store_id": shop.store1, "float": "100.00"}, headers=shop.h()
    )
    assert opened.status_code in (200, 201), opened.text
    shift = opened.json()["id"]
    sold = shop.sale([("RICE", "1")], [("cash", "10.00")], shift=shift, idem=key())
    assert sold.status_code == 201, sold.text
    expected = client.get(f"/api/v1/pos/shifts/{shift}", headers=shop.h()).json()["cash"]["expected"]
    done = client.post(f"/api/v1/pos/shifts/{shift}/close", json={"counted_cash": expected}, headers=shop.h())
    assert done.status_code == 200, done.text
    voucher = done.json()["voucher_no"]
    next_month = period_bounds(this_month)[1].toordinal() + 1
    assert voucher.startswith(f"记-{date.fromordinal(next_month):%Y-%m}-")
    entry = client.get(
        f"/api/v1/orgs/{shop.company}/entries?voucher_no={voucher}", headers=county.auth("officer")
    ).json()
    assert "已结账，补记" in entry["items"][0]["memo"]


def test_close_period_in_python_refuses_the_future_by_the_date_it_is_given(two_years: County) -> None:
    from ledger.books.errors import ValidationError

    ding = two_years.ids["dingzikou"]
    with pytest.raises(ValidationError, match="2026-02 is in the future"), write_tx(two_years.engine) as conn:
        close_period(conn, ding, "2026-02", including=[f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01"],
                     today=date(2026, 1, 31))  # fmt: skip


# --- as of means as of -------------------------------------------------------------------------------------


def test_rent_roll_as_of_a_day_ignores_what_was_posted_after_it(client: TestClient, county: County) -> None:
    from ledger.community.leases.contracts import accrue_leases
    from ledger.community.leases.receipts import receive_rent
    from tests.factories.report_books import post_community_workflows

    hua = county.ids["huahuaqiao"]
    post_community_workflows(county.engine, hua)  # accrued through 2025-03, ¥8,000.00 received
    officer = county.auth("officer")
    url = f"/api/v1/orgs/{hua}/leases/rent-roll?as_of=2025-03-31"
    before = client.get(url, headers=officer).json()
    pdf_before = client.get(
        f"/api/v1/orgs/{hua}/reports/rent-roll.json?period=2025-03", headers=officer
    ).json()
    with write_tx(county.engine) as conn:
        accrue_leases(conn, [hua], "2025-04")
        lessee = counterparty(conn, hua, "lessee", "王五餐馆")
        receive_rent(conn, hua, lessee_id=lessee, amount_fen=1_600_000, received_on=date(2025, 4, 10))
    after = client.get(url, headers=officer).json()
    assert after == before
    pdf_after = client.get(
        f"/api/v1/orgs/{hua}/reports/rent-roll.json?period=2025-03", headers=officer
    ).json()
    pdf_before.pop("generated_at"), pdf_after.pop("generated_at")
    assert pdf_after == pdf_before
    april = client.get(f"/api/v1/orgs/{hua}/leases/rent-roll?as_of=2025-04-30", headers=officer).json()
    # 王五 paid ahead; 李四 still owes: the totals keep the two apart, and the arrears equal the aging.
    rows = {r["lessee"]: r for r in april["contracts"]}
    assert float(rows["王五餐馆"]["outstanding"]) < 0 < float(rows["李四便利店"]["outstanding"])
    totals = april["totals"]
    assert totals["outstanding"] == rows["李四便利店"]["outstanding"]
    assert totals["prepaid"] == f"{-float(rows['王五餐馆']['outstanding']):.2f}"
    assert float(totals["outstanding"]) == pytest.approx(sum(float(v) for v in april["aging"].values()))
