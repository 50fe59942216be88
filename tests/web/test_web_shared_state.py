"""The login throttle and the logout deny list live in the database, not in a process: two app instances
on one database (as two workers of ``cunshe serve --workers 2`` are) share them, and a restarted server
remembers them. On SQLite and PostgreSQL; the restart runs the real ``cunshe serve``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from ledger.app import create_app
from ledger.db.engine import make_engine, read_tx
from ledger.db.models import WebLoginFailure, WebSessionRevoked
from ledger.settings import Settings
from ledger.web.security import LoginThrottle, TooManyAttempts
from ledger.web.session import COOKIE_NAME
from tests.factories.county import County
from tests.factories.servers import Server, url_of

PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def attempt(client: TestClient | httpx.Client, username: str, password: str) -> httpx.Response:
    token = csrf_of(client.get("/web/login").text)
    return client.post(
        "/web/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/web/"},
        follow_redirects=True,
    )


@pytest.fixture
def two_apps(county: County) -> Iterator[tuple[TestClient, TestClient]]:
    """Two instances of the app, each with its own engine (its own pool), on the county's database."""
    url = url_of(county.engine)
    engines = [make_engine(url), make_engine(url)]
    clients = [
        TestClient(create_app(Settings(database_url=url), engine=e), raise_server_exceptions=False)
        for e in engines
    ]
    with clients[0] as first, clients[1] as second:
        yield first, second
    for e in engines:
        e.dispose()


def test_failed_logins_on_one_instance_lock_the_user_on_the_other(
    county: County, two_apps: tuple[TestClient, TestClient]
) -> None:
    first, second = two_apps
    for n in range(5):
        client = first if n % 2 == 0 else second  # the guesses land on either worker
        assert attempt(client, "officer", "guess").status_code == 401
    for client in (first, second):
        locked = attempt(client, "officer", PASSWORD)
        assert locked.status_code == 429, "an instance did not see the other's failures"
        assert int(locked.headers["retry-after"]) > 0
    assert attempt(second, "community", PASSWORD).status_code == 200  # another username is not locked


def test_a_success_on_one_instance_clears_the_failures_counted_by_the_other(
    county: County, two_apps: tuple[TestClient, TestClient]
) -> None:
    first, second = two_apps
    for _ in range(4):
        assert attempt(first, "officer", "guess").status_code == 401
    assert attempt(second, "officer", PASSWORD).status_code == 200
    second.post("/web/logout", data={"csrf_token": csrf_of(second.get("/web/").text)})
    for _ in range(4):
        assert attempt(first, "officer", "guess").status_code == 401
    assert attempt(first, "officer", PASSWORD).status_code == 200  # 4 since the success: not locked


def test_a_cookie_logged_out_on_one_instance_is_refused_by_the_other(
    county: County, two_apps: tuple[TestClient, TestClient]
) -> None:
    first, second = two_apps
    assert attempt(first, "officer", PASSWORD).status_code == 200
    cookie = first.cookies[COOKIE_NAME]
    second.cookies.set(COOKIE_NAME, cookie)
    assert second.get("/web/", follow_redirects=False).status_code == 200  # the same signed session
    page = first.get("/web/").text
    assert first.post("/web/logout", data={"csrf_token": csrf_of(page)}).status_code == 200
    second.cookies.clear()
    second.cookies.set(COOKIE_NAME, cookie)
    assert second.get("/web/", follow_redirects=False).status_code == 303, "the other instance let it in"
    with read_tx(county.engine) as conn:
        assert conn.execute(select(func.count()).select_from(WebSessionRevoked.__table__)).scalar_one() == 1


def test_the_throttle_prunes_failures_older_than_its_window(engine: Engine) -> None:
    throttle = LoginThrottle(engine, max_failures=3, window=900)
    for i in range(3):
        throttle.failed("officer", "10.0.0.1", now=1000 + i)
    with pytest.raises(TooManyAttempts) as locked:
        throttle.check("OFFICER ", "10.0.0.1", now=1100)  # the username is case-folded and stripped
    assert locked.value.retry_after == 1000 + 900 - 1100 + 1
    throttle.failed("community", "10.0.0.2", now=5000)  # a failure long after: the old rows go
    with read_tx(engine) as conn:
        left = conn.execute(select(WebLoginFailure.__table__.c.username)).scalars().all()
    assert left == ["community"]
    throttle.check("officer", "10.0.0.1", now=5000)


def test_a_restarted_server_still_refuses_the_locked_user_and_the_logged_out_cookie(
    county: County, tmp_path: Path
) -> None:
    county.engine.dispose()
    url = url_of(county.engine)
    server = Server(url, tmp_path / "server-1.log")
    try:
        server.start()
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            for _ in range(5):
                assert attempt(client, "officer", "guess").status_code == 401
            assert attempt(client, "officer", PASSWORD).status_code == 429
            assert attempt(client, "community", PASSWORD).status_code == 200
            cookie = client.cookies[COOKIE_NAME]
            page = client.get("/web/").text
            assert client.post("/web/logout", data={"csrf_token": csrf_of(page)}).status_code == 303
    finally:
        server.stop()
    server = Server(url, tmp_path / "server-2.log")
    try:
        server.start()
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            assert attempt(client, "officer", PASSWORD).status_code == 429, "the restart forgot the failures"
            client.cookies.clear()
            client.cookies.set(COOKIE_NAME, cookie)
            response = client.get("/web/", follow_redirects=False)
            assert response.status_code == 303, "the restart forgot the logout"
    finally:
        server.stop()
