"""``cunshe close-period``: the month close of the API and the pages, carried out as the CLI actor."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from ledger.cli.main import app
from ledger.db.engine import write_tx
from tests.factories.county import County
from tests.factories.distribution import book

runner = CliRunner()


def test_close_period_from_the_command_line_closes_once_and_says_why_it_refuses(county: County) -> None:
    co = county.ids["company"]
    db = county.engine.url.render_as_string(hide_password=False)
    with write_tx(county.engine) as conn:
        book(conn, co, date(2025, 1, 5), "销售", ("1002", "Dr", 10_000), ("5001", "Cr", 10_000))
        book(conn, co, date(2025, 2, 5), "销售", ("1002", "Dr", 20_000), ("5001", "Cr", 20_000))

    skipped = runner.invoke(app, ["close-period", "heping-co", "2025-02", "--db", db])
    closed = runner.invoke(
        app, ["close-period", str(co), "2025-02", "--including", "2025-01", "--key", "c1", "--db", db]
    )
    again = runner.invoke(
        app, ["close-period", str(co), "2025-02", "--including", "2025-01", "--key", "c1", "--db", db]
    )
    bad = runner.invoke(app, ["close-period", "heping-co", "2025-13", "--db", db])
    nobody = runner.invoke(app, ["close-period", "nosuch", "2025-02", "--db", db])

    assert skipped.exit_code == 2 and "2025-01" in skipped.output, skipped.output
    assert closed.exit_code == 0 and "closed 2025-01, 2025-02" in closed.output, closed.output
    assert again.output == closed.output  # the first answer under the key; nothing closed twice
    assert bad.exit_code == 2 and "PERIOD" in bad.output and "Traceback" not in bad.output
    assert nobody.exit_code == 2 and "nosuch" in nobody.output
    with county.engine.connect() as conn:
        events = conn.execute(
            text("SELECT period, user_id FROM period_event WHERE org_id = :o ORDER BY id"), {"o": co}
        ).all()
        audits = conn.execute(text("SELECT detail FROM audit_log WHERE action = 'period.close'")).all()
    assert [tuple(e) for e in events] == [("2025-01", None), ("2025-02", None)]
    assert [a for (a,) in audits] == ["2025-02 (with 2025-01) (cli)"]


def test_a_close_at_the_api_under_a_key_is_answered_once_at_the_cli(
    county: County, client: TestClient
) -> None:
    """The API, the pages and the CLI carry out one close service with one request and one answer: the
    CLI's rerun under the API's key prints what the API closed and closes nothing again; the API's retry
    answers the same body."""
    co = county.ids["company"]
    db = county.engine.url.render_as_string(hide_password=False)
    with write_tx(county.engine) as conn:
        book(conn, co, date(2025, 1, 5), "销售", ("1002", "Dr", 10_000), ("5001", "Cr", 10_000))
    headers = {**county.auth("officer"), "Idempotency-Key": "close-jan"}
    first = client.post(f"/api/v1/orgs/{co}/periods/2025-01/close", headers=headers)
    retry = client.post(f"/api/v1/orgs/{co}/periods/2025-01/close", headers=headers)
    again = runner.invoke(app, ["close-period", str(co), "2025-01", "--key", "close-jan", "--db", db])

    assert first.status_code == 200, first.text
    assert (
        first.json()
        == retry.json()
        == {
            "org_id": co,
            "period": "2025-01",
            "status": "closed",
            "closed_through": "2025-01",
            "closed": ["2025-01"],
        }
    )
    assert again.exit_code == 0 and "closed 2025-01" in again.output, again.output
    with county.engine.connect() as conn:
        closes = conn.execute(text("SELECT count(*) FROM period_event WHERE org_id = :o"), {"o": co}).scalar()
    assert closes == 1
