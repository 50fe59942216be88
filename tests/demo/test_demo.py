"""The demo county on PostgreSQL, built at a small scale (a sample of the year's trading days).

The communities' published figures — collective income (经营收入 + 投资收益) ¥2,377,500.00 and brokerage
(居间服务收入) ¥1,029,800.00 — are exact at any scale; the supermarkets' (turnover ¥2,430,000.00, profit
¥432,000.00) only for the whole year, which ``tests/demo/test_demo_books.py`` builds once and checks with the
rest of what the books must hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.app import create_app
from ledger.books.money import amount_in_words
from ledger.books.verify import verify_all
from ledger.db.engine import read_tx
from ledger.demo.build import build_demo
from ledger.demo.tree import demo_token
from ledger.settings import Settings
from tests.factories.databases import fresh_engine

SEED = 2025


@pytest.fixture(scope="module", params=["postgresql"])  # SQLite: the full build, test_demo_books.py
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine_iter = fresh_engine(request.param, request, tmp_path_factory.mktemp("demo"))
    engine = next(engine_iter)
    build_demo(engine, year=2025, seed=SEED, scale=0.02)
    yield engine
    next(engine_iter, None)


@pytest.fixture(scope="module")
def api(demo: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=str(demo.url)), engine=demo)) as client:
        yield client


def fen(text: str) -> int:
    return int(Decimal(text) * 100)


def report(api: TestClient, who: str, org: int, name: str, **query: str) -> dict:
    params = {"from": "2025-01", "to": "2025-12", **query}
    r = api.get(
        f"/api/v1/orgs/{org}/reports/{name}.json",
        params=params,
        headers={"Authorization": f"Bearer {demo_token(SEED, who)}"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def keyed(doc: dict) -> dict[str, dict]:
    return {row["key"]: row for table in doc["tables"] for row in table["rows"] if "key" in row}


def orgs(api: TestClient, kind: str) -> list[int]:
    r = api.get("/api/v1/orgs", headers={"Authorization": f"Bearer {demo_token(SEED, 'admin')}"})
    return [o["id"] for o in r.json() if o["kind"] == kind]


def org_id(api: TestClient, code: str) -> int:
    r = api.get("/api/v1/orgs", headers={"Authorization": f"Bearer {demo_token(SEED, 'admin')}"})
    return next(o["id"] for o in r.json() if o["code"] == code)


def test_the_county_roll_up_sums_the_four_companies_sample_of_the_year(api: TestClient) -> None:
    [county] = orgs(api, "county")
    doc = report(api, "admin", county, "income-statement", standard="small_enterprise")
    rows = keyed(doc)
    assert fen(rows["revenue"]["本年累计金额"]) > 0
    assert fen(rows["net_profit"]["本年累计金额"]) > 0
    assert "4 个单位汇总" in doc["org_name"]


def test_the_27_communities_earned_the_published_collective_income_and_brokerage(api: TestClient) -> None:
    communities = orgs(api, "community")
    assert len(communities) == 27
    income = brokerage = 0
    for org in communities:
        rows = keyed(report(api, "admin", org, "income-statement"))
        income += fen(rows["operating_revenue"]["本年数"]) + fen(rows["investment_income"]["本年数"])
        months = report(api, "admin", org, "brokerage")["tables"][0]["rows"]
        brokerage += fen(next(r for r in months if r.get("style") == "total")["income"])
    assert income == 237_750_000
    assert brokerage == 102_980_000
    assert amount_in_words(income) == "贰佰叁拾柒万柒仟伍佰元整"


def test_every_community_received_at_least_its_work_funds(api: TestClient) -> None:
    for org in orgs(api, "community"):
        rows = keyed(report(api, "admin", org, "income-statement"))
        assert fen(rows["subsidy_income"]["本年数"]) >= 10_000_000


def test_the_demo_books_verify(demo: Engine) -> None:
    with read_tx(demo) as conn:
        assert verify_all(conn) == []


def test_a_community_can_download_its_own_statement_and_nothing_else(api: TestClient) -> None:
    own = report(api, "community-dingzikou", org_id(api, "dingzikou"), "income-statement")
    assert own["org_name"] == "丁字口社区"
    other = org_id(api, "huahuaqiao")
    r = api.get(
        f"/api/v1/orgs/{other}/reports/income-statement.pdf",
        params={"from": "2025-01", "to": "2025-12"},
        headers={"Authorization": f"Bearer {demo_token(SEED, 'community-dingzikou')}"},
    )
    assert r.status_code == 404


def test_the_street_officer_finds_the_idle_warehouses_of_the_street(api: TestClient) -> None:
    """Every third community has a warehouse entrusted by the county's 供销社 and not let: the street's idle
    assets list shows them, with their entrusting body; the leased shopfronts and yards are not on it."""
    street = org_id(api, "heping")
    r = api.get(
        f"/api/v1/orgs/{street}/assets",
        params={"status": "idle"},
        headers={"Authorization": f"Bearer {demo_token(SEED, 'officer-heping')}"},
    )
    assert r.status_code == 200, r.text
    idle = [(a["org_code"], a["kind"], a["entrusting_body"]) for a in r.json()]
    assert idle == [
        ("yingjiangqiao", "仓库", "县供销合作社联合社"),
        ("heping-c6", "仓库", "县供销合作社联合社"),
    ]
