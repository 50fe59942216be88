"""The rent page in a real browser: Playwright drives Debian's Chromium against the app under uvicorn (the
``live`` server and ``browser`` of ``tests/web/conftest.py``), on a SQLite file and on PostgreSQL.

Run with ``pytest -m browser``; skipped when Chromium is not installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories.browser import CHROMIUM, LiveServer, log_in, require_chromium, shot
from tests.factories.leases import AS_OF, receivable, seed_leases

pytestmark = pytest.mark.browser
sync_api = require_chromium()


def test_officer_accrues_the_rent_and_reads_the_roll_in_the_browser(
    live: LiveServer,
    browser: object,
    tmp_path: Path,
) -> None:
    assert Path(CHROMIUM).exists()
    county = live.county
    seed_leases(county)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    expect = sync_api.expect

    log_in(page, live, "officer")
    page.get_by_role("link", name="丁字口社区").click()
    page.get_by_role("link", name="租金").click()
    expect(page.get_by_role("heading", name="租金台账")).to_be_visible()
    page.get_by_label("截至日期").fill(AS_OF)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text("沿河路12号门面")).to_be_visible()

    accrual = page.locator("form", has=page.get_by_role("button", name="计提"))
    expect(accrual.get_by_label("计提至")).to_have_value("2026-04")
    accrual.get_by_role("button", name="计提").click()
    expect(page.get_by_role("status")).to_have_text("计提 17 个合同月，¥27,500.00")
    roll = page.locator("table.leases")
    expect(roll.get_by_role("row").filter(has_text="HT-1")).to_contain_text("10,000.00")
    expect(roll.get_by_role("row").filter(has_text="HT-2")).to_contain_text("17,500.00")
    expect(roll.locator("tfoot")).to_contain_text("27,500.00")
    expect(page.locator("table.aging").get_by_role("row").filter(has_text="180天以上")).to_contain_text(
        "6,500.00"
    )
    assert receivable(county, "dingzikou") == 2_750_000
    shot(page, tmp_path, "leases-1366")

    # Rent received from 张三 pays July 2025 first; the flash names the voucher.
    receipt = page.locator("form", has=page.get_by_role("button", name="登记收款"))
    receipt.get_by_label("承租方").select_option("张三")
    receipt.get_by_label("金额").fill("1500.00")
    receipt.get_by_role("button", name="登记收款").click()
    expect(page.get_by_role("status")).to_contain_text("核销 ¥1,500.00，预收 ¥0.00")
    expect(roll.get_by_role("row").filter(has_text="HT-1")).to_contain_text("8,500.00")
    assert receivable(county, "dingzikou") == 2_600_000
    assert errors == [], errors  # no CSP violations or script errors
    context.close()
