"""A report of a closed period renders the same data forever (issue 16).

Every report in the registry, for each org and for the street's roll-ups, is rendered for a closed quarter
and a closed month; then random balanced entries are posted into later months, the community's leases and
stipends run on, receipts and brokerage fees come in, and the year is closed; rendered again, every report
is the same to the character but for its generation time. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from ledger.books.orgs import counterparty
from ledger.books.periods import close_period, open_months_before
from ledger.books.posting import Draft, post_entries
from ledger.community.accounts import ensure
from ledger.db.engine import read_tx, write_tx
from ledger.distribution.yearend import close_year, year_closed
from reports.builders_base import ReportPeriod
from reports.registry import REPORTS, ROLLUP_KINDS, build_report
from reports.render import to_json
from tests.factories.county import County
from tests.factories.report_books import (
    cr,
    dr,
    post_community_workflows,
    post_community_year,
    post_company_quarter,
)

CLOSED = (ReportPeriod("2025-01", "2025-03"), ReportPeriod("2025-03", "2025-03"))
OPTIONS = {
    "collective": {"ledger-detail": {"account": "102"}},
    "small_enterprise": {"ledger-detail": {"account": "1002"}},
}
ACCOUNTS = {
    "collective": ["101", "102", "112", "113", "212", "50102", "503", "511", "513", "51401", "51402"],
    "small_enterprise": ["1001", "1002", "1012", "1122", "2202", "5001", "5401", "5603", "3001"],
}
WITH_COUNTERPARTY = {"112", "113", "1122", "2202"}


@pytest.fixture
def closed_quarter(county: County) -> County:
    """丁字口's year (its closing entries on 31 December), 花花桥's leases, posts and brokerage, the
    company's first quarter; January to March closed in each."""
    ids = county.ids
    post_community_year(county.engine, ids["dingzikou"])
    post_community_workflows(county.engine, ids["huahuaqiao"])
    post_company_quarter(county.engine, ids["company"], county.stores)
    with write_tx(county.engine) as conn:
        close_year(conn, ids["huahuaqiao"], 2024)  # its leases began in October 2024
        for org in ("dingzikou", "huahuaqiao", "company"):
            close_period(conn, ids[org], "2025-03", including=open_months_before(conn, ids[org], "2025-03"))
    return county


def render_all(county: County) -> dict[tuple[Any, ...], Any]:
    """Every report of every org and roll-up for the closed periods, as JSON data without the clock."""
    out: dict[tuple[Any, ...], Any] = {}
    targets = [(key, county.ids[key]) for key in ("dingzikou", "huahuaqiao", "company", "heping")]
    with read_tx(county.engine) as conn:
        for key, org_id in targets:
            for name, spec in sorted(REPORTS.items()):
                for standard in spec.standards:
                    rollup = key in ("heping",)
                    if rollup and spec.rollup is None:
                        continue
                    if not rollup and standard != ("small_enterprise" if key == "company" else "collective"):
                        continue
                    for period in CLOSED:
                        report = build_report(
                            conn,
                            name,
                            org_id,
                            period,
                            options=OPTIONS[standard].get(name, {}),
                            standard=standard if rollup else None,
                        )
                        data = to_json(report)
                        data.pop("generated_at")
                        out[(key, name, standard, period)] = data
    assert {k[1] for k in out} == set(REPORTS)  # every registered report is rendered
    assert any(k[0] in ROLLUP_KINDS or k[0] == "heping" for k in out)
    return out


entry = st.tuples(
    st.integers(min_value=4, max_value=15),  # month: April 2025 to March 2026
    st.integers(min_value=1, max_value=28),
    st.sampled_from(["dingzikou", "huahuaqiao", "company"]),
    st.integers(min_value=0, max_value=99),  # which two accounts
    st.integers(min_value=1, max_value=5_000_000),
)


def post_later(county: County, entries: list[tuple[int, int, str, int, int]]) -> None:
    """The random entries, and the community's workflows running on: accruals, stipends, rent, fees."""
    from ledger.community import brokerage, welfare
    from ledger.community.leases.contracts import accrue_leases
    from ledger.community.leases.receipts import receive_rent

    hua = county.ids["huahuaqiao"]
    with write_tx(county.engine) as conn:
        for org in ("dingzikou", "huahuaqiao"):
            ensure(conn, county.ids[org], "50102", "51401", "51402")
        drafts = []
        for month, day, org_key, pick, fen in entries:
            org = county.ids[org_key]
            standard = "small_enterprise" if org_key == "company" else "collective"
            accounts = ACCOUNTS[standard]
            a, b = (
                accounts[pick % len(accounts)],
                accounts[(pick // len(accounts) + 1 + pick) % len(accounts)],
            )
            if a == b:
                continue
            year, m = (2025, month) if month <= 12 else (2026, month - 12)

            def dims(code: str, org: int = org, pick: int = pick) -> dict[str, object]:
                dims: dict[str, object] = {}
                if code in WITH_COUNTERPARTY:
                    dims["counterparty_id"] = counterparty(conn, org, "other", f"往来单位{pick % 3}")
                if code == "5001":
                    dims["store_id"] = county.stores["store1"]
                    dims["channel"] = "school"
                return dims

            drafts.append(
                Draft(org, date(year, m, day), "随机分录", [dr(a, fen, **dims(a)), cr(b, fen, **dims(b))])
            )
        post_entries(conn, drafts)
        accrue_leases(conn, [hua], "2025-12")
        welfare.run_stipends(conn, [hua], "2025-12")
        receive_rent(conn, hua, amount_fen=2_000_000, received_on=date(2025, 6, 1), lessee="王五餐馆")
        for deal in brokerage.outstanding(conn, [hua]):
            brokerage.receive_fee(
                conn, hua, deal["deal_id"], amount_fen=deal["outstanding_fen"], received_on=date(2025, 5, 5)
            )
        for org in ("huahuaqiao", "company"):
            if not year_closed(conn, county.ids[org], 2025):
                close_year(conn, county.ids[org], 2025)


@settings(max_examples=4, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(entries=st.lists(entry, min_size=1, max_size=25))
def test_a_closed_periods_reports_never_change(closed_quarter: County, entries: list[Any]) -> None:
    before = render_all(closed_quarter)
    post_later(closed_quarter, entries)
    after = render_all(closed_quarter)
    changed = [key for key in before if before[key] != after[key]]
    assert changed == [], changed[:5]
