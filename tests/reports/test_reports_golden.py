"""Golden HTML, before WeasyPrint, for every report kind, built from the textbook books of
``tests.factories.report_books`` on SQLite. Regenerate with ``UPDATE_GOLDEN=1 pytest
tests/reports/test_reports_golden.py``
and read the diff before committing it. The chain head (its hash covers entry creation times) and the
short code that fingerprints it are normalised; so is the chart's SVG payload (the charts are tested in
``test_reports``: a chart never holds a figure the tables do not).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from ledger.db.engine import read_tx
from reports.builders_base import ReportPeriod
from reports.registry import build_report
from reports.render import render_html
from tests.factories.county import County
from tests.factories.goldens import GOLDEN, normalised
from tests.factories.report_books import post_community_workflows, post_community_year, post_company_quarter

GENERATED = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
YEAR = ReportPeriod("2025-01", "2025-12")
Q1 = ReportPeriod("2025-01", "2025-03")
MARCH = ReportPeriod("2025-03", "2025-03")

CASES = [
    ("trial-balance", "dingzikou", Q1, {}, None, "zh"),
    ("balance-sheet", "dingzikou", YEAR, {}, None, "zh"),
    ("income-statement", "dingzikou", YEAR, {}, None, "zh"),
    ("income-statement", "dingzikou", YEAR, {}, None, "en"),
    ("balance-sheet", "company", Q1, {}, None, "zh"),
    ("income-statement", "company", MARCH, {}, None, "zh"),
    ("balance-sheet", "heping", YEAR, {}, "collective", "zh"),
    ("trial-balance", "county", Q1, {}, "small_enterprise", "zh"),
    ("ledger-detail", "dingzikou", Q1, {"account": "112"}, None, "zh"),
    ("cash-journal", "dingzikou", Q1, {}, None, "zh"),
    ("bank-journal", "company", Q1, {}, None, "zh"),
    ("vouchers", "dingzikou", MARCH, {}, None, "zh"),
    ("disclosure", "dingzikou", Q1, {}, None, "zh"),
    ("channel-sales", "company", Q1, {}, None, "zh"),
    ("rent-roll", "huahuaqiao", Q1, {}, None, "zh"),
    ("arrears", "huahuaqiao", Q1, {}, None, "zh"),
    ("brokerage", "huahuaqiao", Q1, {}, None, "zh"),
    ("welfare-funds", "huahuaqiao", Q1, {}, None, "zh"),
]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_every_report_kind_matches_its_golden_html(county: County) -> None:
    post_community_year(county.engine, county.ids["dingzikou"])
    post_company_quarter(county.engine, county.ids["company"], county.stores)
    post_community_workflows(county.engine, county.ids["huahuaqiao"])
    mismatched = []
    with read_tx(county.engine) as conn:
        for name, org, period, options, standard, lang in CASES:
            report = build_report(
                conn,
                name,
                county.ids[org],
                period,
                lang=lang,  # type: ignore[arg-type]
                options=options,
                standard=standard,
                generated_at=GENERATED,
            )
            html = normalised(render_html(report))
            golden = GOLDEN / f"report-{name}-{org}-{period.slug()}.{lang}.html"
            if os.environ.get("UPDATE_GOLDEN") == "1":
                golden.write_text(html, encoding="utf-8")
            if html != golden.read_text(encoding="utf-8"):
                mismatched.append(golden.name)
    assert not mismatched, f"HTML differs from the golden files: {mismatched}"
