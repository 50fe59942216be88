"""Logins cannot stall the server: per-address and overall rate limits counted before any password work,
unknown usernames counted like real ones, a bounded hashing pool, and X-Forwarded-For believed only from
the proxies named in CUNSHE_TRUSTED_PROXIES (through a real ``cunshe serve``)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from ledger.app import create_app
from ledger.settings import Settings
from tests.factories.county import County, build_county
from tests.factories.servers import Server, url_of

PASSWORD = "correct horse battery"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def _app(engine: Engine, **limits: object):  # type: ignore[no-untyped-def]
    return create_app(Settings(database_url=str(engine.url), **limits), engine=engine)


def _client(app, addr: str) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False, client=(addr, 50000))


def _attempt(client: TestClient, username: str, password: str = "wrong password") -> httpx.Response:
    token = _csrf(client.get("/web/login").text)
    return client.post("/web/login", data={"username": username, "password": password, "csrf_token": token})


def _random_name() -> str:
    return "nobody-" + uuid.uuid4().hex[:12]


@pytest.fixture
def county(engine: Engine) -> County:
    return build_county(engine)


def test_random_usernames_from_one_address_spend_its_limit_and_then_even_the_right_password_waits(
    county: County, engine: Engine
) -> None:
    app = _app(engine, login_rate_per_address="3/minute", login_rate_overall="100/minute")
    with _client(app, "10.0.0.1") as flood, _client(app, "10.0.0.2") as neighbour:
        for _ in range(3):
            assert _attempt(flood, _random_name()).status_code == 401
        refused = _attempt(flood, "officer", PASSWORD)
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 60
        # Another address is not locked out by the flood.
        assert _attempt(neighbour, "officer", PASSWORD).status_code == 303


def test_the_overall_limit_holds_against_many_addresses(county: County, engine: Engine) -> None:
    app = _app(engine, login_rate_per_address="100/minute", login_rate_overall="4/minute")
    for n in range(4):
        with _client(app, f"10.0.1.{n}") as client:
            assert _attempt(client, _random_name()).status_code == 401
    with _client(app, "10.0.1.99") as fresh:
        assert _attempt(fresh, "officer", PASSWORD).status_code == 429


def test_unknown_usernames_are_recorded_as_failures_like_known_ones(county: County, engine: Engine) -> None:
    app = _app(engine)
    name = _random_name()
    with _client(app, "10.0.2.1") as client:
        for _ in range(5):
            assert _attempt(client, name).status_code == 401
        assert _attempt(client, name).status_code == 429  # the per-username throttle, as for "officer"
    with engine.connect() as conn:
        failures = conn.execute(
            text("SELECT COUNT(*) FROM web_login_failure WHERE username = :u"), {"u": name}
        ).scalar_one()
    assert failures == 5


def test_a_login_that_cannot_get_a_hashing_slot_is_refused_not_queued(county: County, engine: Engine) -> None:
    app = _app(engine, login_hash_slots=1, login_hash_wait_seconds=0.2)
    with _client(app, "10.0.3.1") as client:
        token = _csrf(client.get("/web/login").text)
        limits = app.state.login_limits
        assert limits.slots.acquire(timeout=1)  # another login is hashing
        try:
            busy = client.post(
                "/web/login", data={"username": "officer", "password": PASSWORD, "csrf_token": token}
            )
        finally:
            limits.slots.release()
        assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
        ok = client.post(
            "/web/login", data={"username": "officer", "password": PASSWORD, "csrf_token": token}
        )
        assert ok.status_code == 303


@pytest.fixture
def served(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[callable]:
    build_county(engine)
    servers: list[Server] = []

    def start(**env: str) -> Server:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        server = Server(url_of(engine), tmp_path / f"server{len(servers)}.log").start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _attempt_over_http(server: Server, username: str, password: str, forwarded: str) -> httpx.Response:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        token = _csrf(client.get("/web/login").text)
        return client.post(
            "/web/login",
            data={"username": username, "password": password, "csrf_token": token},
            headers={"X-Forwarded-For": forwarded},
        )


def test_a_rotating_forwarded_header_is_not_believed_by_default(served, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    server = served(CUNSHE_LOGIN_RATE_PER_ADDRESS="3/minute", CUNSHE_TRUSTED_PROXIES="")
    statuses = [
        _attempt_over_http(server, _random_name(), "x", f"203.0.113.{n}").status_code for n in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    with engine.connect() as conn:
        addrs = set(conn.execute(text("SELECT addr FROM web_login_failure")).scalars())
    assert addrs == {"127.0.0.1"}


def test_a_configured_proxy_s_forwarded_address_is_the_client(served, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    server = served(CUNSHE_LOGIN_RATE_PER_ADDRESS="3/minute", CUNSHE_TRUSTED_PROXIES="127.0.0.1")
    statuses = [
        _attempt_over_http(server, _random_name(), "x", f"203.0.113.{n}").status_code for n in range(4)
    ]
    assert statuses == [401, 401, 401, 401]
    assert _attempt_over_http(server, "officer", PASSWORD, "198.51.100.7").status_code == 303
    with engine.connect() as conn:
        login_from = conn.execute(
            text("SELECT remote_addr FROM audit_log WHERE action = 'web.login'")
        ).scalar_one()
    assert login_from == "198.51.100.7"


def test_a_refused_login_is_answered_after_the_tarpit_delay_before_its_body_is_read(
    county: County, engine: Engine
) -> None:
    app = _app(
        engine,
        login_rate_per_address="1/minute",
        login_rate_overall="100/minute",
        login_refusal_delay_seconds=0.4,
    )
    with _client(app, "10.0.5.1") as client:
        assert _attempt(client, _random_name()).status_code == 401
        started = time.monotonic()
        # No CSRF token, no form: the gate refuses before anything reads the body (else 403 or 422).
        refused = client.post("/web/login", content=b"not a form")
        waited = time.monotonic() - started
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert waited >= 0.4


def test_the_till_s_own_login_is_refused_with_retry_after_too(county: County, engine: Engine) -> None:
    app = _app(engine, login_rate_per_address="2/minute", login_rate_overall="100/minute")
    with _client(app, "10.0.6.1") as client:
        statuses = []
        for _ in range(3):
            r = client.post("/till/login", json={"username": _random_name(), "password": "guess"})
            statuses.append(r.status_code)
        assert statuses == [401, 401, 429]
        assert int(r.headers["retry-after"]) >= 1 and r.json()["error"]["code"] == "too_many_attempts"
        # The per-username throttle's refusal, raised in the handler, carries it as well.
        app2 = _app(engine, login_rate_per_address="100/minute", login_rate_overall="100/minute")
    with _client(app2, "10.0.6.2") as other:
        answers = [
            other.post("/till/login", json={"username": "cashier", "password": "wrong"}) for _ in range(6)
        ]
    assert answers[-1].status_code == 429 and int(answers[-1].headers["retry-after"]) >= 1


def test_a_refused_web_login_is_a_page_in_the_person_s_language_saying_when_to_retry(
    county: County, engine: Engine
) -> None:
    app = _app(
        engine,
        login_rate_per_address="1/minute",
        login_rate_overall="100/minute",
        login_refusal_delay_seconds=0,
    )
    with _client(app, "10.0.7.1") as client:
        assert _attempt(client, _random_name()).status_code == 401
        refused = _attempt(client, _random_name())  # the session cookie says Chinese (the default)
        wait = int(refused.headers["retry-after"])
        assert refused.status_code == 429 and refused.headers["content-type"].startswith("text/html")
        assert "尝试次数过多" in refused.text and f"请在 {wait} 秒后" in refused.text
        assert re.search(r"北京时间 \d\d:\d\d:\d\d", refused.text) and 'href="/web/login"' in refused.text
        client.get("/web/login?lang=en")  # the person switches the workbench to English
        english = _attempt(client, _random_name())
        assert english.status_code == 429
        assert "Too many login attempts" in english.text and "尝试次数过多" not in english.text
        assert 'lang="en"' in english.text and "Back to the login page" in english.text
    # No session yet: the browser's language decides.
    with _client(app, "10.0.7.1") as stranger:
        r = stranger.post("/web/login", data={}, headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert r.status_code == 429 and "Try again in" in r.text


def test_the_limits_count_in_a_file_every_worker_sees(county: County, engine: Engine, tmp_path: Path) -> None:
    # Two apps on one counts file stand for two worker processes: nothing but the file is shared.
    shared = tmp_path / "limits.sqlite"
    limits = {"login_rate_per_address": "2/minute", "login_rate_overall": "100/minute", "limits_file": shared}
    first, second = _app(engine, **limits), _app(engine, **limits)
    alone = _app(engine, **{**limits, "limits_file": None})
    with _client(first, "10.0.8.1") as a, _client(second, "10.0.8.1") as b, _client(alone, "10.0.8.1") as c:
        assert _attempt(a, _random_name()).status_code == 401
        assert _attempt(b, _random_name()).status_code == 401
        assert _attempt(a, _random_name()).status_code == 429  # the other worker's attempt counted here
        assert _attempt(b, _random_name()).status_code == 429
        assert _attempt(c, _random_name()).status_code == 401  # a process counting in memory saw none
    assert shared.exists()
