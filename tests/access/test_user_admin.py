"""Keeping users: an admin disables, enables, lists and revokes over HTTP and with the CLI; disabling ends
the user's tokens and web sessions at once, and re-enabling brings neither back. Every change is audited."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text, update
from typer.testing import CliRunner

from ledger.access.auth import TILL_LABEL, token_t
from ledger.app import create_app
from ledger.books.orgs import now
from ledger.cli.main import app as cli
from ledger.db.engine import write_tx
from ledger.settings import Settings, get_settings
from tests.factories.county import County
from tests.factories.servers import url_of
from tests.factories.web import log_in

runner = CliRunner()


def _audit(engine: Engine) -> list[tuple[str, int | None, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT action, user_id, detail FROM audit_log "
                "WHERE action LIKE 'user.%' OR action LIKE 'token.%' ORDER BY id"
            )
        )
        return [tuple(r) for r in rows]


def test_disabling_a_user_ends_its_token_and_its_web_session_at_once(
    county: County, client: TestClient, engine: Engine
) -> None:
    officer = county.user_ids["officer"]
    log_in(client, "officer")  # the client now carries the officer's web session
    assert client.get("/web/", follow_redirects=False).status_code == 200
    assert client.get("/api/v1/me", headers=county.auth("officer")).status_code == 200

    disabled = client.post(f"/api/v1/users/{officer}/disable", headers=county.auth("admin"))
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True and disabled.json()["token_ids"] == []

    assert client.get("/api/v1/me", headers=county.auth("officer")).status_code == 401
    assert client.get("/web/", follow_redirects=False).headers["location"].startswith("/web/login")

    # Enabled again: the old token stays dead (the old cookie: the next test); a new token works.
    enabled = client.post(f"/api/v1/users/{officer}/enable", headers=county.auth("admin"))
    assert enabled.status_code == 200 and enabled.json()["disabled"] is False
    assert client.get("/api/v1/me", headers=county.auth("officer")).status_code == 401
    fresh = client.post(
        f"/api/v1/users/{officer}/tokens", json={"label": "new till"}, headers=county.auth("admin")
    )
    assert fresh.status_code == 201
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh.json()['token']}"})
    assert me.status_code == 200 and me.json()["username"] == "officer"

    actions = [(action, user_id) for action, user_id, _ in _audit(engine)]
    admin = county.user_ids["admin"]
    assert actions == [("user.disable", admin), ("user.enable", admin), ("token.issue", admin)]


def test_a_cookie_from_before_the_disable_stays_dead_after_enable(county: County, client: TestClient) -> None:
    officer = county.user_ids["officer"]
    log_in(client, "officer")
    cookie = client.cookies.get("cunshe_session")
    assert client.post(f"/api/v1/users/{officer}/disable", headers=county.auth("admin")).status_code == 200
    assert client.post(f"/api/v1/users/{officer}/enable", headers=county.auth("admin")).status_code == 200
    client.cookies.clear()
    client.cookies.set("cunshe_session", cookie)
    assert client.get("/web/", follow_redirects=False).status_code == 303


def test_only_an_admin_keeps_users_and_not_against_itself(county: County, client: TestClient) -> None:
    cashier = county.user_ids["cashier"]
    for who in ("officer", "community", "cashier"):
        assert client.get("/api/v1/users", headers=county.auth(who)).status_code == 403
        assert client.post(f"/api/v1/users/{cashier}/disable", headers=county.auth(who)).status_code == 403
    own = client.post(f"/api/v1/users/{county.user_ids['admin']}/disable", headers=county.auth("admin"))
    assert own.status_code == 409 and own.json()["error"]["field"] == "user"
    assert client.post("/api/v1/users/999999/disable", headers=county.auth("admin")).status_code == 404
    listed = client.get("/api/v1/users", headers=county.auth("admin")).json()
    assert {u["username"] for u in listed} >= {"admin", "officer", "cashier"}
    assert all(len(u["token_ids"]) == 1 for u in listed)


def test_revoking_one_token_leaves_the_others(county: County, client: TestClient, engine: Engine) -> None:
    cashier = county.user_ids["cashier"]
    second = client.post(f"/api/v1/users/{cashier}/tokens", json={}, headers=county.auth("admin")).json()
    first_id = client.get("/api/v1/users", headers=county.auth("admin")).json()
    first_id = next(u for u in first_id if u["user_id"] == cashier)["token_ids"][0]
    revoked = client.post(f"/api/v1/users/{cashier}/tokens/{first_id}/revoke", headers=county.auth("admin"))
    assert revoked.status_code == 200 and revoked.json() == {"revoked": [first_id]}
    assert client.get("/api/v1/me", headers=county.auth("cashier")).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {second['token']}"}).status_code == 200
    # Another user's token is not this user's to revoke.
    other = county.user_ids["officer"]
    assert (
        client.post(f"/api/v1/users/{other}/tokens/{second['token_id']}/revoke", headers=county.auth("admin"))
    ).status_code == 404
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {second['token']}"}).status_code == 200
    assert [a for a, _, _ in _audit(engine)] == ["token.issue", "token.revoke"]


def test_a_disabled_cashier_is_refused_on_the_till_s_own_path(county: County, client: TestClient) -> None:
    """The sale route looks its token up with its own driver-level query; disabling reaches it too."""

    def sell() -> int:
        body = {
            "store_id": county.stores["store1"],
            "shift_id": 999_999,
            "sold_at": datetime.now(UTC).isoformat(),
            "lines": [{"sku": "NONE", "quantity": "1"}],
            "payments": [{"method": "cash", "amount": "1.00"}],
        }
        headers = {**county.auth("cashier"), "Idempotency-Key": uuid.uuid4().hex}
        return client.post("/api/v1/pos/sales", json=body, headers=headers).status_code

    assert sell() != 401  # the cashier gets as far as the missing shift
    cashier = county.user_ids["cashier"]
    assert client.post(f"/api/v1/users/{cashier}/disable", headers=county.auth("admin")).status_code == 200
    assert sell() == 401


def test_the_cli_lists_disables_enables_and_revokes(
    county: County, client: TestClient, engine: Engine
) -> None:
    db = url_of(engine)
    listed = runner.invoke(cli, ["user", "list", "--json", "--db", db])
    assert listed.exit_code == 0, listed.output
    cashier = next(u for u in json.loads(listed.output) if u["username"] == "cashier")
    assert cashier["role"] == "cashier" and not cashier["disabled"]
    table = runner.invoke(cli, ["user", "list", "--db", db]).output
    assert re.search(r"cashier\s+cashier\s+store \d+\s+active", table), table

    disabled = runner.invoke(cli, ["user", "disable", "cashier", "--db", db])
    assert disabled.exit_code == 0, disabled.output
    assert client.get("/api/v1/me", headers=county.auth("cashier")).status_code == 401
    assert "disabled" in runner.invoke(cli, ["user", "list", "--db", db]).output

    assert runner.invoke(cli, ["user", "enable", "cashier", "--db", db]).exit_code == 0
    token = runner.invoke(cli, ["user", "token", "cashier", "--db", db]).output.strip()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    revoked = runner.invoke(cli, ["user", "revoke-token", "cashier", "--all", "--db", db])
    assert revoked.exit_code == 0 and "revoked 1 token" in revoked.output
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    unknown = runner.invoke(cli, ["user", "disable", "nobody", "--db", db])
    assert unknown.exit_code == 2 and "no user 'nobody'" in unknown.output
    neither = runner.invoke(cli, ["user", "revoke-token", "cashier", "--db", db])
    assert neither.exit_code == 2

    audited = _audit(engine)
    assert [a for a, _, _ in audited] == ["user.disable", "user.enable", "token.issue", "token.revoke"]
    assert all(user_id is None and detail.endswith("(cli)") for _, user_id, detail in audited)


def test_a_retried_token_issue_answers_the_first_token_without_showing_it_again(
    county: County, client: TestClient, engine: Engine
) -> None:
    cashier = county.user_ids["cashier"]
    headers = {**county.auth("admin"), "Idempotency-Key": "new-till-token-1"}
    first = client.post(f"/api/v1/users/{cashier}/tokens", json={"label": "till"}, headers=headers)
    again = client.post(f"/api/v1/users/{cashier}/tokens", json={"label": "till"}, headers=headers)
    assert first.status_code == 201 and first.json()["token"].startswith("cs_")
    assert again.json() == {"token_id": first.json()["token_id"], "token": None}
    other = client.post(f"/api/v1/users/{cashier}/tokens", json={"label": "other"}, headers=headers)
    assert other.status_code == 409
    assert [a for a, _, _ in _audit(engine)] == ["token.issue"]


def _till_token(client: TestClient, county: County, age: timedelta) -> tuple[int, str]:
    """A till login for the cashier, issued by the admin over HTTP and dated ``age`` ago: (id, token)."""
    cashier = county.user_ids["cashier"]
    r = client.post(
        f"/api/v1/users/{cashier}/tokens", json={"label": TILL_LABEL}, headers=county.auth("admin")
    )
    assert r.status_code == 201, r.text
    with write_tx(county.engine) as conn:
        moved = conn.execute(
            update(token_t).where(token_t.c.id == r.json()["token_id"]).values(created_at=now() - age)
        )
        assert moved.rowcount == 1
    return r.json()["token_id"], r.json()["token"]


def test_the_listing_shows_a_tills_expired_token_as_no_longer_in_force(
    county: County, engine: Engine
) -> None:
    """The user listing counts a till's token in force exactly as long as the token check lets it in, under
    the app's own ``till_token_hours`` (here 2, not the default 14): an expired till login is not listed,
    a young one and an API token (which never expires) are."""
    app = create_app(Settings(database_url=str(engine.url), till_token_hours=2), engine=engine)
    assert get_settings().till_token_hours != 2  # the process's default settings would say otherwise
    cashier = county.user_ids["cashier"]
    with TestClient(app, raise_server_exceptions=False) as client:

        def in_force() -> list[int]:
            r = client.get("/api/v1/users", headers=county.auth("admin"))
            assert r.status_code == 200, r.text
            return next(u["token_ids"] for u in r.json() if u["user_id"] == cashier)

        api_tokens = in_force()
        old_id, old = _till_token(client, county, timedelta(hours=3))
        young_id, young = _till_token(client, county, timedelta(hours=1))

        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {young}"}).status_code == 200
        assert in_force() == [*api_tokens, young_id] and api_tokens and old_id not in api_tokens


def test_the_cli_listing_takes_the_till_token_hours_of_the_environment(
    county: County, client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cunshe user list`` reads ``till_token_hours`` from the settings the served app starts with (the
    environment): a till login past it is not in force there either."""
    old_id, _ = _till_token(client, county, timedelta(hours=3))
    young_id, _ = _till_token(client, county, timedelta(hours=1))
    monkeypatch.setenv("CUNSHE_TILL_TOKEN_HOURS", "2")
    get_settings.cache_clear()
    try:
        listed = runner.invoke(cli, ["user", "list", "--json", "--db", url_of(engine)])
    finally:
        get_settings.cache_clear()
    assert listed.exit_code == 0, listed.output
    cashier = next(u for u in json.loads(listed.output) if u["username"] == "cashier")
    assert young_id in cashier["token_ids"] and old_id not in cashier["token_ids"]
