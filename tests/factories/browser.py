"""What the browser tests share: Debian's Chromium and its flags, the live server's address, screenshots and
the login form. The ``live`` server and the ``browser`` fixtures are in ``tests/web/conftest.py``; a browser
test module begins with ``sync_api = require_chromium()`` (skipped when Chromium or Playwright is missing)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.factories.county import County

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"
SHOTS = Path(os.environ.get("CUNSHE_SCREENSHOTS", "")) if os.environ.get("CUNSHE_SCREENSHOTS") else None


def require_chromium() -> Any:
    """Playwright's sync API; the calling module is skipped when Chromium or Playwright is not installed."""
    if not Path(CHROMIUM).exists():  # pragma: no cover - depends on the machine
        pytest.skip(f"{CHROMIUM} is not installed (make setup installs it)", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    county: County


def shot(page: object, tmp_path: Path, name: str) -> Path:
    path = (SHOTS or tmp_path) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def log_in(page: object, live: LiveServer, username: str) -> None:
    page.goto(live.url + "/web/")  # type: ignore[attr-defined]
    page.get_by_label("用户名").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("密码").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="登录").click()  # type: ignore[attr-defined]
    page.wait_for_url(live.url + "/web/")  # type: ignore[attr-defined]
