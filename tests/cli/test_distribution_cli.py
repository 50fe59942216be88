"""The distribution commands as an operator runs them: close-year, plan dry-run, plan execute, vat-exempt."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from ledger.cli.distribution import app
from ledger.db.engine import write_tx
from ledger.distribution import execute as ex
from ledger.distribution.plans import Step
from tests.factories.county import County
from tests.factories.distribution import book

runner = CliRunner()


def test_close_year_then_dry_run_and_execute_a_plan(county: County) -> None:
    co = county.ids["company"]
    db = county.engine.url.render_as_string(hide_password=False)
    with write_tx(county.engine) as conn:
        book(conn, co, date(2025, 3, 1), "销售", ("1002", "Dr", 1_000_000), ("5001", "Cr", 1_000_000))
    result = runner.invoke(app, ["close-year", "heping-co", "2025", "--db", db])
    assert result.exit_code == 0, result.output
    assert "net income 10000.00" in result.output
    with write_tx(county.engine) as conn:
        plan_id = ex.create_plan(conn, co, 2025, [Step("statutory_reserve", rate_bp=1_000)])
    dry = runner.invoke(app, ["plan", "dry-run", str(plan_id), "--db", db])
    assert dry.exit_code == 0, dry.output
    assert "提取法定盈余公积" in dry.output and "1000.00" in dry.output
    refused = runner.invoke(app, ["plan", "execute", str(plan_id), "--db", db])
    assert refused.exit_code == 2 and "only an approved plan" in refused.output
    with write_tx(county.engine) as conn:
        ex.approve_plan(
            conn, plan_id, approving_body="股东会", resolution_date=date(2026, 3, 1), document_no="D1"
        )
    done = runner.invoke(app, ["plan", "execute", str(plan_id), "--db", db])
    assert done.exit_code == 0, done.output
    assert "posted 2 entries" in done.output
    vat = runner.invoke(app, ["vat-exempt", "heping-co", "2025", "1", "--db", db])
    assert vat.exit_code == 0 and "exempt" in vat.output


def test_a_year_close_under_one_key_is_done_once_whichever_door_it_comes_through(
    county: County, client: TestClient
) -> None:
    """The API and the CLI carry out the same service with the same request: the CLI's rerun under the API's
    key answers what the API did and writes nothing; another year under that key is refused."""
    co = county.ids["company"]
    db = county.engine.url.render_as_string(hide_password=False)
    with write_tx(county.engine) as conn:
        book(conn, co, date(2025, 3, 1), "销售", ("1002", "Dr", 1_000_000), ("5001", "Cr", 1_000_000))
    headers = {**county.auth("officer"), "Idempotency-Key": "close-2025"}
    first = client.post(f"/api/v1/orgs/{co}/years/2025/close", headers=headers)
    again = runner.invoke(app, ["close-year", str(co), "2025", "--key", "close-2025", "--db", db])
    other = runner.invoke(app, ["close-year", "heping-co", "2024", "--key", "close-2025", "--db", db])

    assert first.status_code == 200, first.text
    assert again.exit_code == 0, again.output
    voucher = first.json()["entries"][0]["voucher_no"]
    assert voucher in again.output and "already posted" not in again.output
    assert other.exit_code == 2 and "close-2025" in other.output
    with county.engine.connect() as conn:
        closes = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'year.close'")).scalar()
    assert closes == 1


def test_a_plan_executed_at_the_api_under_a_key_is_answered_once_at_the_cli_with_the_same_plan(
    county: County, client: TestClient
) -> None:
    """Every door answers a plan's execution with the plan as it then stands and the entries it posted:
    the CLI's rerun under the API's key prints the API's vouchers and link, and posts nothing more."""
    co = county.ids["company"]
    db = county.engine.url.render_as_string(hide_password=False)
    with write_tx(county.engine) as conn:
        book(conn, co, date(2025, 3, 1), "销售", ("1002", "Dr", 1_000_000), ("5001", "Cr", 1_000_000))
    officer = county.auth("officer")
    assert client.post(f"/api/v1/orgs/{co}/years/2025/close", headers=officer).status_code == 200
    plan = client.post(
        f"/api/v1/orgs/{co}/years/2025/plans",
        json={"steps": [{"kind": "statutory_reserve", "rate_bp": 1000}]},
        headers=officer,
    )
    assert plan.status_code == 201 and plan.json()["status"] == "draft", plan.text
    plan_id = plan.json()["id"]
    approve = {"approving_body": "股东会", "resolution_date": "2026-03-01", "document_no": "D1"}
    approved = client.post(f"/api/v1/orgs/{co}/plans/{plan_id}/approve", json=approve, headers=officer)
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text

    first = client.post(
        f"/api/v1/orgs/{co}/plans/{plan_id}/execute", json={}, headers={**officer, "Idempotency-Key": "run-1"}
    )
    again = runner.invoke(app, ["plan", "execute", str(plan_id), "--key", "run-1", "--db", db])

    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "executed" and body["execution"]["link_id"]
    assert [e["voucher_no"] for e in body["entries"]] and body["entries"][0]["created"]
    assert again.exit_code == 0, again.output
    for e in body["entries"]:
        assert e["voucher_no"] in again.output
    assert f"on link {body['execution']['link_id']}" in again.output
    with county.engine.connect() as conn:
        runs = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'plan.execute'")).scalar()
        linked = conn.execute(
            text("SELECT count(*) FROM journal_entry WHERE link_id = :l"), {"l": body["execution"]["link_id"]}
        ).scalar()
    assert runs == 1 and linked == len(body["entries"])
