"""No 5xx and no hang from a date, a period or a text (issue 23), on SQLite and PostgreSQL.

Each test is one request an attacker's fuzz run sent: a period in year 9999 (``months`` never ended, or
``period_bounds`` reached year 10000), a welfare post begun in 0134 (its stipend run wrote ``135-01``),
entries dated 4085, a run that posted twelve thousand vouchers in one request, a user whose scope org
does not exist, and NUL in names, reasons, memos and query values (PostgreSQL refuses NUL in text).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import Field
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import func, select

from ledger.access.messages import RequestModel, _date_fields
from ledger.books import county_time
from ledger.books.errors import ValidationError
from ledger.books.periods import (
    MAX_MONTHS_PER_RUN,
    MAX_RUN_TOTAL_FEN,
    Month,
    check_run_size,
    latest_posting_day,
    month_range,
    next_period,
    parse_date,
    parse_period,
    period_bounds,
    previous_period,
)
from ledger.db.engine import read_tx
from ledger.db.models import JournalEntry
from pos.messages import PaymentIn, SaleIn, SaleLineIn
from tests.factories.county import County
from tests.factories.servers import entry_body, is_error_shape

entry_t = JournalEntry.__table__


def entries(county: County) -> int:
    with read_tx(county.engine) as conn:
        return conn.execute(select(func.count()).select_from(entry_t)).scalar_one()


def refused(r: Any, field: str, status: int = 422) -> None:
    assert r.status_code == status, r.text
    assert is_error_shape(r.json()) and r.json()["error"]["field"] == field, r.text


# -- the period type ---------------------------------------------------------------------------------------


def test_months_step_as_numbers_with_four_digit_years() -> None:
    assert next_period("1999-12") == "2000-01" and previous_period("2000-01") == "1999-12"
    assert next_period("9998-12") == "9999-01"  # the month after the last period still exists
    assert period_bounds("9998-12") == (date(9998, 12, 1), date(9998, 12, 31))
    assert period_bounds("2024-02")[1] == date(2024, 2, 29)
    assert Month.parse("1900-01").plus(-1) == Month(1899, 12)
    assert month_range("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]


@pytest.mark.parametrize("text", ["0134-12", "1899-12", "9999-12", "10000-01", "2025-13", "2025-1", ""])
def test_a_period_outside_the_supported_years_or_shape_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_period(text, "through")
    assert caught.value.field == "through"


def test_a_month_walk_is_bounded() -> None:
    assert len(month_range("2016-01", "2025-12")) == MAX_MONTHS_PER_RUN
    with pytest.raises(ValidationError, match="at most 120"):
        month_range("1900-01", "9998-12")


@pytest.mark.parametrize("text", ["0134-12-01", "9999-12-31", "1899-12-31"])
def test_a_date_outside_the_supported_years_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_date(text, "start")
    assert caught.value.field == "start"


class _Visit(RequestModel):
    on: date
    note: str = ""


class _Trip(RequestModel):
    title: str
    back: datetime | None = Field(default=None, alias="returning")
    days: list[date] = Field(default_factory=list)
    visits: list[_Visit] = Field(default_factory=list)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"title": "t", "returning": "0134-12-01T08:00:00"}, ("returning",)),
        ({"title": "t", "days": ["2025-01-02", "9999-12-31"]}, ("days",)),
        ({"title": "t", "visits": [{"on": "2025-01-02"}, {"on": "1899-12-31"}]}, ("visits", 1, "on")),
    ],
)
def test_a_request_date_outside_the_years_is_refused_at_any_depth_by_its_field(
    body: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(PydanticValidationError) as caught:
        _Trip.model_validate(body)
    [error] = caught.value.errors()
    assert error["type"] == "date_out_of_range" and error["loc"] == loc
    assert _Trip.model_validate({**body, "visits": [], "days": [], "returning": None}).title == "t"


def test_only_the_fields_that_can_hold_a_date_are_checked() -> None:
    """A sale's lines and payments hold none: no date check runs for them (bench/README.md, the POS)."""
    assert _date_fields(_Trip) == (("back", "returning"), ("days", "days"))  # a visit checks its own
    assert _date_fields(SaleLineIn) == () and _date_fields(PaymentIn) == ()
    assert _date_fields(SaleIn) == (("sold_at", "sold_at"),)


# -- the hang and year 10000 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["vouchers", "channel-sales", "brokerage", "trial-balance"])
def test_a_report_of_year_9999_is_a_422_not_a_hang(county: County, client: TestClient, name: str) -> None:
    org = county.ids["dingzikou"] if name != "channel-sales" else county.ids["company"]
    h = county.auth("admin")
    refused(client.get(f"/api/v1/orgs/{org}/reports/{name}.json?period=9999-12", headers=h), "period")
    refused(client.get(f"/api/v1/orgs/{org}/reports/{name}.json?period=9999", headers=h), "period")
    refused(client.get(f"/api/v1/orgs/{org}/reports/{name}.json?from=1900-01&to=9998-12", headers=h), "to")


def test_runs_and_statements_through_year_9999_are_422s(county: County, client: TestClient) -> None:
    h = county.auth("admin")
    org = county.ids["dingzikou"]
    refused(client.post(f"/api/v1/orgs/{org}/leases/accrue?through=9999-12", headers=h), "through")
    refused(client.post(f"/api/v1/orgs/{org}/welfare-posts/stipends?through=9999-12", headers=h), "through")
    r = client.get(
        f"/api/v1/orgs/{org}/reconcile/reconciliation-statement?period=9999-12&account=1", headers=h
    )
    assert r.status_code in (404, 422) and is_error_shape(r.json()), r.text
    r = client.get(f"/api/v1/orgs/{org}/leases/rent-roll?as_of=9999-12-31", headers=h)
    refused(r, "as_of")


# -- dates refused when written, not when the job runs -------------------------------------------------------


def post_body(**over: Any) -> dict[str, Any]:
    return {"post": "保洁员", "holder": "李四", "monthly_stipend": "1500.00", "start": "2025-01-01", **over}


def test_a_welfare_post_begun_in_year_134_is_refused_and_cannot_poison_the_run(
    county: County, client: TestClient
) -> None:
    h = county.auth("admin")
    org = county.ids["dingzikou"]
    refused(
        client.post(f"/api/v1/orgs/{org}/welfare-posts", json=post_body(start="0134-12-01"), headers=h),
        "start",
    )
    refused(
        client.post(f"/api/v1/orgs/{org}/welfare-posts", json=post_body(end="9999-12-31"), headers=h), "end"
    )
    assert client.get(f"/api/v1/orgs/{org}/welfare-posts", headers=h).json() == []


def test_entries_and_deposits_dated_far_ahead_are_refused(county: County, client: TestClient) -> None:
    h = county.auth("admin")
    company, org = county.ids["company"], county.ids["dingzikou"]
    before = entries(county)
    for day in ("4085-01-01", "9999-12-31", "0134-12-01"):
        r = client.post(f"/api/v1/orgs/{company}/entries", json={**entry_body(1), "date": day}, headers=h)
        refused(r, "date")
    too_late = date(latest_posting_day().year + 1, 1, 1).isoformat()
    refused(
        client.post(f"/api/v1/orgs/{company}/entries", json={**entry_body(2), "date": too_late}, headers=h),
        "date",
    )
    lease = {
        "code": "HT-1",
        "mode": "lease",
        "lessee": "张三",
        "start": "2025-01-01",
        "end": "2025-12-31",
        "rent_per_cycle": "1000.00",
    }
    contract = client.post(f"/api/v1/orgs/{org}/leases", json=lease, headers=h)
    assert contract.status_code == 201, contract.text
    r = client.post(
        f"/api/v1/orgs/{org}/leases/{contract.json()['id']}/deposit",
        json={"amount": "100.00", "date": "9998-12-31"},
        headers=h,
    )
    refused(r, "date")
    assert entries(county) == before


def test_a_stipend_run_of_decades_is_refused_with_the_month_to_run_first(
    county: County, client: TestClient
) -> None:
    """A post begun in 1990 and never run: one request would post 400-odd vouchers; the 422 says to run
    through an earlier month first, and that run posts at most ten years."""
    h = county.auth("admin")
    org = county.ids["dingzikou"]
    r = client.post(f"/api/v1/orgs/{org}/welfare-posts", json=post_body(start="1990-01-01"), headers=h)
    assert r.status_code == 201, r.text
    run = client.post(f"/api/v1/orgs/{org}/welfare-posts/stipends?through=2025-12", headers=h)
    refused(run, "through")
    assert "run through 1999-12 first" in run.json()["error"]["message"]
    assert entries(county) == 0
    first = client.post(f"/api/v1/orgs/{org}/welfare-posts/stipends?through=1999-12", headers=h)
    assert first.status_code == 200 and first.json()["posted"] == 120, first.text


def test_a_run_whose_total_no_amount_can_state_is_refused(county: County, client: TestClient) -> None:
    """999,999,999,999,999.99 a month answered a 16-digit amount: such a stipend is refused at the door now
    (the amount maximum), and a run's total is bounded on its own too."""
    h = county.auth("admin")
    org = county.ids["dingzikou"]
    body = post_body(monthly_stipend="999999999999999.99", start="2025-01-01")
    refused(client.post(f"/api/v1/orgs/{org}/welfare-posts", json=body, headers=h), "monthly_stipend")
    with pytest.raises(ValidationError, match="more than an amount can state") as caught:
        check_run_size({"2025-01", "2025-02"}, 2, MAX_RUN_TOTAL_FEN + 1, "2025-02")
    assert caught.value.field == "through"
    check_run_size({"2025-01"}, 1, MAX_RUN_TOTAL_FEN, "2025-01")


# -- ids checked before writing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "field"),
    [
        ({"role": "community", "scope_org_id": 987654}, "scope_org_id"),
        ({"role": "cashier", "scope_store_id": 987654}, "scope_store_id"),
    ],
)
def test_a_user_scoped_to_an_org_or_store_that_does_not_exist_is_a_404_naming_it(
    county: County, client: TestClient, scope: dict[str, Any], field: str
) -> None:
    r = client.post("/api/v1/users", json={"username": "ghost", **scope}, headers=county.auth("admin"))
    refused(r, field, 404)


# -- control characters --------------------------------------------------------------------------------------


def test_nul_in_names_reasons_memos_and_query_values_is_a_422_naming_the_field(
    county: County, client: TestClient
) -> None:
    h = county.auth("admin")
    company, org = county.ids["company"], county.ids["dingzikou"]
    refused(
        client.post(
            "/api/v1/orgs",
            json={"code": "x1", "name": "坏\u0000名", "kind": "community", "parent_id": county.ids["heping"]},
            headers=h,
        ),
        "name",
    )
    refused(
        client.post(f"/api/v1/orgs/{org}/members", json={"member": "第\u00001组", "shares": 1}, headers=h),
        "member",
    )
    refused(
        client.post(f"/api/v1/orgs/{org}/periods/2025-01/reopen", json={"reason": "错\u0000账"}, headers=h),
        "reason",
    )
    body = entry_body(3)
    body["lines"][1]["memo"] = "银行\u0007存款"
    refused(client.post(f"/api/v1/orgs/{company}/entries", json=body, headers=h), "lines[1].memo")
    refused(client.get(f"/api/v1/orgs/{company}/entries?memo=a%00b", headers=h), "memo")
    refused(client.get(f"/api/v1/orgs/{company}/accounts/10%0002", headers=h), "path")
    r = client.post(
        "/login", data={"username": "admin\u0000", "password": "x"}, headers={"Accept": "text/html"}
    )
    refused(r, "username")
    assert entries(county) == 0


def test_escaped_text_that_only_looks_like_a_control_character_is_kept(
    county: County, client: TestClient
) -> None:
    body = entry_body(4)
    body["memo"] = "a literal \\u0000 and \\b, not control characters"
    r = client.post(f"/api/v1/orgs/{county.ids['company']}/entries", json=body, headers=county.auth("admin"))
    assert r.status_code == 201, r.text
    assert r.json()["memo"] == body["memo"]


def test_a_report_that_outlasts_its_time_limit_is_a_503_and_frees_the_connection(
    county: County, client: TestClient
) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    h = county.auth("admin")
    co = county.ids["company"]
    url = f"/api/v1/orgs/{co}/reports/trial-balance.json?period=2025-03"
    pdf = f"/api/v1/orgs/{co}/reports/balance-sheet.pdf?period=2025-03"
    batch = f"/api/v1/orgs/{county.ids['heping']}/reports:batch?name=balance-sheet&period=2025-03"
    settings.report_seconds = 0.001
    try:
        refused = [client.get(u, headers=h) for u in (url, pdf, batch)]
    finally:
        settings.report_seconds = 60.0
    for r in refused:
        assert r.status_code == 503 and r.json()["error"]["code"] == "time_limit", r.text
    assert client.get(url, headers=h).status_code == 200  # the pooled connection has no limit left on it
    assert client.get(pdf, headers=h).content.startswith(b"%PDF")  # and the worker took the next task
    assert client.post(f"/api/v1/orgs/{co}/entries", json=entry_body(5), headers=h).status_code == 201


def test_a_pdf_layout_is_stopped_by_the_time_limit_not_only_its_reads() -> None:
    """The worker's timer interrupts WeasyPrint itself: a 20,000-row table stops within the limit."""
    import time

    import pandas as pd

    from ledger.books.errors import TimeLimit
    from reports.builders_batch import _stopped_after
    from reports.render import render_pdf
    from reports.report import Column, Report, Table

    rows = 20_000
    frame = pd.DataFrame({"item": [f"第{i}行" for i in range(rows)], "amount": list(range(rows))})
    report = Report(
        title="很长的表",
        org_name="测试",
        period="2025",
        tables=(Table(frame, (Column("item", "项目", "label"), Column("amount", "金额", "amount"))),),
        chain_head="0" * 64,
    )
    started = time.monotonic()
    with pytest.raises(TimeLimit), _stopped_after(0.5):
        render_pdf(report)
    assert time.monotonic() - started < 10


def test_control_characters_in_a_statement_file_are_a_422_not_a_500(
    county: County, client: TestClient, tmp_path: Path
) -> None:
    """A NUL in a bank file was a 500 on PostgreSQL (and SQLite): the importer names the line instead."""
    from ledger.reconcile.statement_writers import sample_bank_txns, write_bank_csv

    org = county.ids["company"]
    h = county.auth("officer")
    account = client.post(
        f"/api/v1/orgs/{org}/statement-accounts",
        json={"ledger_account": "1002", "kind": "bank", "name": "建行基本户"},
        headers=h,
    ).json()["id"]
    path = write_bank_csv(tmp_path / "bank.csv", sample_bank_txns(range(1, 6)))
    goods = "货款".encode("gbk")
    data = path.read_bytes()
    assert data.index(goods) > 400  # (a NUL in the first 400 bytes reads as UTF-16)
    path.write_bytes(data.replace(goods, goods[:2] + b"\x00\x01" + goods[2:]))
    with path.open("rb") as f:
        r = client.post(
            f"/api/v1/orgs/{org}/statements",
            files={"file": (path.name, f, "text/csv")},
            data={"account": str(account)},
            headers=h,
        )
    assert r.status_code == 422 and is_error_shape(r.json()), r.text
    lines = client.get(f"/api/v1/orgs/{org}/statement-accounts/{account}/lines", headers=h)
    assert lines.status_code == 200 and lines.json() == []


@pytest.mark.parametrize("dimension", ["contract_id", "welfare_post_id"])
def test_an_entry_line_naming_a_contract_or_post_of_no_such_or_another_org_is_a_404(
    county: County, client: TestClient, dimension: str
) -> None:
    h = county.auth("admin")
    other = county.ids["huahuaqiao"]
    if dimension == "contract_id":
        body = {"code": "HT-9", "mode": "lease", "lessee": "王五", "start": "2025-01-01", "end": "2025-12-31"}
        made = client.post(
            f"/api/v1/orgs/{other}/leases", json={**body, "rent_per_cycle": "100.00"}, headers=h
        )
    else:
        made = client.post(f"/api/v1/orgs/{other}/welfare-posts", json=post_body(), headers=h)
    assert made.status_code == 201, made.text
    org = county.ids["dingzikou"]
    for foreign in (made.json()["id"], 987654):
        body = {
            "date": "2025-03-01",
            "memo": "调整",
            "lines": [
                {"account": "101", "debit": "10.00", dimension: foreign},
                {"account": "102", "credit": "10.00"},
            ],
        }
        refused(
            client.post(f"/api/v1/orgs/{org}/entries", json=body, headers=h), f"lines[0].{dimension}", 404
        )
    assert entries(county) == 0


def test_a_month_that_has_not_begun_cannot_close(county: County, client: TestClient) -> None:
    """Closed through 9998-12, an org's books would take no posting until an admin reopened them."""
    h = county.auth("admin")
    org = county.ids["company"]
    next_year = f"{county_time.today().year + 1}-01"
    for period in ("9998-12", next_year):
        refused(client.post(f"/api/v1/orgs/{org}/periods/{period}/close", headers=h), "period", 422)


def test_a_time_limit_whose_first_alarm_is_swallowed_still_stops_the_work() -> None:
    """The garbage collector runs weakref callbacks where Python only reports an exception (CI saw the
    timer's first alarm lost so inside WeasyPrint): the alarm repeats, so the next one stops the work."""
    import time

    from ledger.books.errors import TimeLimit
    from reports.builders_batch import _Expired, _stopped_after

    swallowed = 0
    started = time.monotonic()
    with pytest.raises(TimeLimit), _stopped_after(0.1):
        while time.monotonic() - started < 3:
            try:
                while time.monotonic() - started < 3:
                    pass
            except _Expired:
                if swallowed:
                    raise
                swallowed += 1  # the first alarm lost, as in an unraisable context
    assert swallowed == 1
    assert time.monotonic() - started < 1
