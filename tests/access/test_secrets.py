"""The session secret: made by ``cunshe init`` beside the books, owner-only; no server without it.

The attack these tests close: a cookie ``{"u": <admin>, …}`` signed with the secret that used to be the
default in code opened ``/web/`` as the admin.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.access.secrets import DEV_SECRET, SecretMissing, default_secret_path
from ledger.app import create_app
from ledger.settings import Settings
from ledger.web.session import COOKIE_NAME, LIFETIME_SECONDS, sign, signing_key
from tests.factories.county import build_county
from tests.factories.servers import cunshe_cmd, free_port, url_of


def _env_without_secret(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CUNSHE_SECRET_FILE", "CUNSHE_SECRET_KEY")}
    env.pop("CUNSHE_DEV_MODE", None)
    return {**env, **extra}


def _cunshe(args: list[str], cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*cunshe_cmd(), *args],
        cwd=cwd,
        env=_env_without_secret(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _forged_admin_cookie(user_id: int, secret: str) -> str:
    payload = {
        "s": "forged",
        "c": "x" * 24,
        "u": user_id,
        "l": "zh",
        "e": int(time.time()) + LIFETIME_SECONDS,
    }
    return sign(payload, signing_key(secret))


def test_init_writes_an_owner_only_secret_beside_the_books_and_keeps_it(
    engine: Engine, tmp_path: Path
) -> None:
    url = url_of(engine)
    first = _cunshe(["init", "--db", url], tmp_path)
    assert first.returncode == 0, first.stderr
    with_cwd = Path.cwd()
    try:
        os.chdir(tmp_path)  # a PostgreSQL database's secret is named after it in the working directory
        path = default_secret_path(url)
    finally:
        os.chdir(with_cwd)
    assert path.exists() and str(path) in first.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = path.read_text().strip()
    assert len(secret) >= 32 and secret != DEV_SECRET
    again = _cunshe(["init", "--db", url], tmp_path)
    assert again.returncode == 0 and "kept in" in again.stdout
    assert path.read_text().strip() == secret


def test_serve_refuses_to_start_without_a_secret_or_with_the_published_default(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'books.db'}"
    port = str(free_port())
    missing = _cunshe(["serve", "--db", url, "--port", port], tmp_path, timeout=60)
    assert missing.returncode == 2
    assert "no session secret" in missing.stderr and "books.db.secret" in missing.stderr
    default = _cunshe(
        ["serve", "--db", url, "--port", port], tmp_path, timeout=60, CUNSHE_SECRET_KEY=DEV_SECRET
    )
    assert default.returncode == 2 and "published default" in default.stderr
    short = _cunshe(["serve", "--db", url, "--port", port], tmp_path, timeout=60, CUNSHE_SECRET_KEY="hunter2")
    assert short.returncode == 2 and "shorter than" in short.stderr


def test_serve_in_explicit_development_mode_starts_without_a_secret(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'books.db'}"
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [*cunshe_cmd(), "serve", "--db", url, "--port", str(port), "--dev"],
        cwd=tmp_path,
        env=_env_without_secret(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert status == 200, (tmp_path / "serve.log").read_text()
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    assert "development mode" in (tmp_path / "serve.log").read_text()


def test_the_app_factory_refuses_books_without_a_secret(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(database_url=str(engine.url), secret_file=tmp_path / "absent.secret")
    with pytest.raises(SecretMissing, match=r"absent\.secret"):
        create_app(settings, engine=engine)
    with pytest.raises(SecretMissing, match="published default"):
        create_app(Settings(database_url=str(engine.url), secret_key=DEV_SECRET), engine=engine)


def test_a_cookie_forged_with_the_old_default_opens_nothing(engine: Engine, tmp_path: Path) -> None:
    county = build_county(engine)
    secret_file = tmp_path / "books.secret"
    secret_file.write_text(secrets.token_urlsafe(32))
    secret_file.chmod(0o600)
    app = create_app(Settings(database_url=str(engine.url), secret_file=secret_file), engine=engine)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        client.cookies.set(COOKIE_NAME, _forged_admin_cookie(county.user_ids["admin"], DEV_SECRET))
        forged = client.get("/web/")
        assert forged.status_code == 303 and forged.headers["location"].startswith("/web/login")
        # The same cookie under the real secret is a session: the refusal above is the key's doing.
        client.cookies.clear()
        client.cookies.set(
            COOKIE_NAME, _forged_admin_cookie(county.user_ids["admin"], secret_file.read_text())
        )
        assert client.get("/web/").status_code == 200


def test_rotate_secret_replaces_it_owner_only_and_ends_the_old_sessions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'books.db'}"
    assert _cunshe(["init", "--db", url], tmp_path).returncode == 0
    path = tmp_path / "books.db.secret"
    old = path.read_text().strip()
    rotated = _cunshe(["rotate-secret", "--db", url], tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    new = path.read_text().strip()
    assert new != old and len(new) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob("*.new-*"))
