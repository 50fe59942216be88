"""Reconciliation over HTTP: uploads all or nothing, scopes, proposals, decisions, the 调节表."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from ledger.api.routes import reconcile as reconcile_api
from ledger.app import create_app
from ledger.books.orgs import ensure_sub_account
from ledger.books.posting import Draft, Line, post_entries
from ledger.db.engine import write_tx
from ledger.reconcile import importers
from ledger.settings import Settings
from tests.factories.county import County
from tests.factories.statement_files import sample_bank_txns, write_bank_csv
from tests.factories.web import company_with_bank, csrf_of, log_in
from tests.factories.web import upload as web_upload


def upload(client: TestClient, county: County, org: int, account: int, path: Path, who: str = "officer"):  # type: ignore[no-untyped-def]
    with path.open("rb") as f:
        return client.post(
            f"/api/v1/orgs/{org}/statements",
            files={"file": (path.name, f, "text/csv")},
            data={"account": str(account)},
            headers=county.auth(who),
        )


def make_account(client: TestClient, county: County, org: int, code: str = "1002") -> int:
    response = client.post(
        f"/api/v1/orgs/{org}/statement-accounts",
        json={"ledger_account": code, "kind": "bank", "name": "建行基本户"},
        headers=county.auth("officer"),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_upload_reupload_and_a_corrupted_file(client: TestClient, county: County, tmp_path: Path) -> None:
    org = county.ids["company"]
    account = make_account(client, county, org)
    path = write_bank_csv(tmp_path / "march.csv", sample_bank_txns(range(1, 6)))

    first = upload(client, county, org, account, path)
    again = upload(client, county, org, account, path)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(path.read_bytes().replace(b"2,011.01", b"2,011.0x"))
    broken = upload(client, county, org, account, bad)
    lines = client.get(
        f"/api/v1/orgs/{org}/statement-accounts/{account}/lines", headers=county.auth("officer")
    )

    assert first.status_code == 201 and first.json()["new_count"] == 11
    assert again.status_code == 200 and again.json()["duplicate_count"] == 11
    assert broken.status_code == 422
    error = broken.json()["error"]
    assert (
        error["code"] == "statement_parse_error"
        and "line 4" in error["message"]
        and "贷方" in error["message"]
    )
    assert len(lines.json()) == 11 and lines.json()[0]["amount"] == "2011.01"


def test_scopes_community_reads_own_org_only_and_never_writes(
    client: TestClient, county: County, tmp_path: Path
) -> None:
    company, own = county.ids["company"], county.ids["dingzikou"]
    account = make_account(client, county, own, code="102")
    path = write_bank_csv(tmp_path / "m.csv", sample_bank_txns([1]))

    assert upload(client, county, own, account, path, who="community").status_code == 403
    assert upload(client, county, own, account, path, who="officer_tuanjie").status_code == 404
    assert (
        client.get(f"/api/v1/orgs/{company}/statement-accounts", headers=county.auth("community")).status_code
        == 404
    )
    listed = client.get(f"/api/v1/orgs/{own}/statement-accounts", headers=county.auth("community"))
    assert listed.status_code == 200 and listed.json()[0]["ledger_account"] == "102"
    propose = client.post(
        f"/api/v1/orgs/{own}/reconcile/propose",
        params={"account": account, "period": "2024-03"},
        headers=county.auth("community"),
    )
    assert propose.status_code == 403


@pytest.fixture
def small_upload_client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=str(engine.url), max_upload_bytes=200), engine=engine)
    with TestClient(app, raise_server_exceptions=False) as tc:
        yield tc


def test_an_upload_over_the_limit_is_refused(
    small_upload_client: TestClient, county: County, tmp_path: Path
) -> None:
    org = county.ids["company"]
    account = make_account(small_upload_client, county, org)
    path = write_bank_csv(tmp_path / "m.csv", sample_bank_txns(range(1, 11)))
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x92junk" * 1000)
    with county.engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM statement_import")).scalar()

    for file in (path, junk):
        response = upload(small_upload_client, county, org, account, file)

        assert response.status_code == 413, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("upload_too_large", "file")
        assert file.name in error["message"]
    with county.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM statement_import")).scalar() == before


def test_propose_confirm_and_the_reconciliation_statement_over_http(
    client: TestClient, county: County, tmp_path: Path
) -> None:
    org = county.ids["company"]
    with write_tx(county.engine) as conn:
        ensure_sub_account(conn, org, "1012", "101201", "微信")
        post_entries(
            conn,
            [
                Draft(
                    org,
                    date(2024, 2, 29),
                    "期初",
                    [Line("1002", debit_fen=5000000), Line("3001", credit_fen=5000000)],
                ),
                Draft(
                    org,
                    date(2024, 3, 3),
                    "付货款 030100771420",
                    [Line("2202", debit_fen=1234867), Line("1002", credit_fen=1234867)],
                ),
            ],
        )
    account = make_account(client, county, org)
    upload(client, county, org, account, write_bank_csv(tmp_path / "m.csv", sample_bank_txns(range(1, 4))))
    auth = county.auth("officer")

    proposed = client.post(
        f"/api/v1/orgs/{org}/reconcile/propose",
        params={"account": account, "period": "2024-03"},
        headers=auth,
    )
    matches = client.get(
        f"/api/v1/orgs/{org}/reconcile/matches",
        params={"account": account, "status": "proposed"},
        headers=auth,
    ).json()
    [match] = matches
    keyed = {**auth, "Idempotency-Key": "confirm-1"}
    confirm_url = f"/api/v1/orgs/{org}/reconcile/matches/{match['id']}/confirm"
    confirmed = client.post(confirm_url, headers=keyed)
    retried = client.post(confirm_url, headers=keyed)
    other_body = client.post(confirm_url, headers=keyed, json={"note": "不同的请求"})
    twice = client.post(confirm_url, headers=auth)
    fee_line = next(
        ln
        for ln in client.get(
            f"/api/v1/orgs/{org}/statement-accounts/{account}/lines",
            params={"unmatched": "true"},
            headers=auth,
        ).json()
        if ln["memo"] == "汇划手续费"
    )
    by_rule = client.post(f"/api/v1/orgs/{org}/statement-lines/{fee_line['id']}/post-by-rule", headers=auth)
    statement = client.get(
        f"/api/v1/orgs/{org}/reconcile/reconciliation-statement",
        params={"account": account, "period": "2024-03"},
        headers=county.auth("officer"),
    )
    xlsx = client.get(
        f"/api/v1/orgs/{org}/reconcile/reconciliation-statement",
        params={"account": account, "period": "2024-03", "format": "xlsx"},
        headers=auth,
    )
    ties = client.get(f"/api/v1/orgs/{org}/reconcile/ties", headers=auth)

    assert proposed.status_code == 200 and proposed.json()["proposed"] == 1
    assert match["kind"] == "one_to_one" and match["items"][0]["amount"] == "-12348.67"
    assert [r["code"] for r in match["reasons"]][:3] == ["amount_equal", "same_day", "reference_equal"]
    assert confirmed.status_code == 201 and confirmed.json()["supersedes_id"] == match["id"]
    assert retried.status_code == 200 and retried.json() == confirmed.json()
    assert other_body.status_code == 409 and other_body.json()["error"]["code"] == "idempotency_conflict"
    assert twice.status_code == 409
    assert by_rule.status_code == 201 and by_rule.json()["rule"] == "bank_fee"
    body = statement.json()
    assert statement.status_code == 200 and body["foots"] and body["difference"] == "0.00"
    assert body["bank_balance"] == "43711.39"  # 50,000 + three settlements − one payment − three fees
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert ties.status_code == 200 and {t["name"] for t in ties.json()} >= {"customers"}


def _parsed_where(monkeypatch: pytest.MonkeyPatch, module: object) -> list[bool]:
    """Wrap ``module.parse_statement``; record, per call, whether it ran on a thread with an event loop."""
    calls: list[bool] = []
    real = importers.parse_statement

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            asyncio.get_running_loop()
            calls.append(True)
        except RuntimeError:
            calls.append(False)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "parse_statement", recording)
    return calls


def test_uploads_are_parsed_off_the_event_loop_in_the_api_and_the_web_page(
    client: TestClient, county: County, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = county.ids["company"]
    account = make_account(client, county, org)
    path = write_bank_csv(tmp_path / "march.csv", sample_bank_txns(range(1, 6)))
    api_calls = _parsed_where(monkeypatch, reconcile_api)
    web_calls = _parsed_where(monkeypatch, importers)

    assert upload(client, county, org, account, path).status_code == 201
    page = log_in(client, "officer")
    assert web_upload(client, org, account, path, csrf_of(page)).status_code == 200

    assert api_calls == [False] and web_calls == [False]  # parsed, each in a worker thread


def test_match_reasons_read_in_the_language_of_the_page(
    client: TestClient, county: County, tmp_path: Path
) -> None:
    org, bank, path = company_with_bank(county, tmp_path)
    page = log_in(client, "officer")
    uploaded = web_upload(client, org, bank, path, csrf_of(page))
    client.post(
        f"/web/orgs/{org}/statements/{bank}/propose",
        data={"period": "2024-03", "csrf_token": csrf_of(uploaded.text)},
    )
    review = f"/web/orgs/{org}/statements/{bank}?period=2024-03"

    english = client.get(review + "&lang=en").text
    chinese = client.get(review + "&lang=zh").text

    assert "Amounts equal: ¥12,348.67" in english and "Reference equal: 030100771420" in english
    assert "金额一致" not in english
    assert "金额一致 ¥12,348.67" in chinese and "参考号一致 030100771420" in chinese
