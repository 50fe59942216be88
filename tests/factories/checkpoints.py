"""Month closes and their signed checkpoints as an officer makes them: an entry body, posting and closing
over HTTP, ``cunshe export`` read back, and the 封账码 of a closed month."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ledger.books import checkpoints
from ledger.cli.main import app as cli
from ledger.db.engine import read_tx
from tests.factories.county import County

runner = CliRunner()


def entry(day: str, amount: str, memo: str = "收租金") -> dict:
    return {
        "date": day,
        "memo": memo,
        "lines": [{"account": "102", "debit": amount}, {"account": "503", "credit": amount}],
    }


def post(client: TestClient, county: County, org: int, body: dict) -> dict:
    r = client.post(f"/api/v1/orgs/{org}/entries", json=body, headers=county.auth("officer"))
    assert r.status_code == 201, r.text
    return r.json()


def close(client: TestClient, county: County, org: int, period: str) -> None:
    r = client.post(f"/api/v1/orgs/{org}/periods/{period}/close", headers=county.auth("officer"))
    assert r.status_code == 200, r.text


def export(db: str, path: Path) -> list[dict]:
    result = runner.invoke(cli, ["checkpoints", "export", str(path), "--db", db])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def code_of(client: TestClient, county: County, period: str) -> str:
    with read_tx(county.engine) as conn:
        code = checkpoints.current_code(conn, county.ids["dingzikou"], period)
    assert code is not None
    return code
