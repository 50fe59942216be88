"""The browser tests' fixtures: the app under uvicorn (``live``), one Chromium per module (``browser``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from sqlalchemy import Engine

from ledger.app import create_app
from ledger.settings import Settings
from tests.factories.browser import CHROMIUM, CHROMIUM_ARGS, LiveServer, free_port
from tests.factories.county import build_county


@pytest.fixture
def live(engine: Engine) -> Iterator[LiveServer]:
    """The real app under uvicorn in a thread, on the test's fresh database (SQLite file or PostgreSQL)."""
    county = build_county(engine)
    app = create_app(Settings(database_url=str(engine.url)), engine=engine)  # the secret: conftest's file
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", county)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
