"""Every page the app serves works offline: no page, stylesheet or script of ours names another host.

A street office is often offline or behind a filter. The crawl starts at the API docs (Swagger UI, ReDoc),
the login page and the till, logs in as the officer and follows every same-site link under ``/web/`` it
finds (so a page added later is crawled too), and fetches every stylesheet, script, icon and manifest the
pages reference (and what the stylesheets reference). Any ``http(s)://`` host other than the app's own in
any of them fails the test, except XML namespace names (``http://www.w3.org/2000/svg`` names a
vocabulary; nothing fetches it).

Swagger UI's and ReDoc's bundles (fastapi-offline's files) hold hundreds of URLs in their code (RFC links,
JSON-schema ids) that are never fetched; a grep cannot tell those apart, so a real browser loads /docs and
/redoc with every other host blocked and the test fails on any request that leaves the app
(``test_the_api_docs_render_in_a_browser_without_another_host``).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from ledger.demo.build import logins_text
from tests.factories.county import County
from tests.factories.web import log_in

OWN = "testserver"
NAMESPACES = {
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/XML/1998/namespace",
}
VENDORED = {"/static-offline-docs/swagger-ui-bundle.js", "/static-offline-docs/redoc.standalone.js"}
ASSET = re.compile(r"\.(css|js|png|svg|ico|webmanifest|woff2?|ttf)$")
URL = re.compile(r"https?://[^\s\"'<>`)\\]+")
REFERENCE = re.compile(r"""(?:src|href|action)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)["']?\s*\)""")
ENTRY_PAGES = ("/docs", "/redoc", "/docs/oauth2-redirect", "/web/login", "/till/")
MAX_PAGES = 60


def foreign_urls(text: str) -> list[str]:
    """The ``http(s)://`` URLs in a text whose host is not the app's own (namespace names aside)."""
    return [
        url
        for url in URL.findall(text)
        if url.rstrip(".,;") not in NAMESPACES and urlsplit(url).hostname != OWN
    ]


def references(text: str, base: str) -> list[str]:
    found = []
    for match in REFERENCE.finditer(text):
        ref = (match.group(1) or match.group(2)).strip()
        if ref.startswith(("data:", "#", "mailto:", "javascript:", "blob:")) or "{{" in ref:
            continue
        found.append(urljoin(base, ref.replace("&amp;", "&")))
    return found


def crawl(client: TestClient, start: tuple[str, ...]) -> tuple[dict[str, list[str]], set[str]]:
    """(foreign URLs per fetched path, the paths fetched)."""
    problems: dict[str, list[str]] = {}
    seen: set[str] = set()
    queue = [f"http://{OWN}{path}" for path in start]
    pages = 0
    while queue:
        url = queue.pop(0)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if parts.hostname != OWN:
            problems.setdefault("(referenced)", []).append(url)
            continue
        if path in seen:
            continue
        is_asset = bool(ASSET.search(parts.path))
        is_page = parts.path.startswith("/web/") and "." not in parts.path.rsplit("/", 1)[-1]
        if not (is_asset or is_page or path in start):
            continue  # a download (PDF, XLSX), the JSON schema: not a page a browser renders
        if is_page and pages >= MAX_PAGES:
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code != 200:
            continue
        kind = response.headers.get("content-type", "")
        if not any(t in kind for t in ("html", "css", "javascript", "json", "svg")):
            continue
        pages += "html" in kind
        if parts.path in VENDORED:
            continue  # loaded in a browser with other hosts blocked instead (module docstring)
        text = response.text
        if bad := foreign_urls(text):
            problems[path] = bad
        if "html" in kind or "css" in kind or "manifest" in kind:
            queue.extend(references(text, url))
    return problems, seen


def test_every_page_stylesheet_and_script_names_only_the_app_itself(
    county: County, client: TestClient
) -> None:
    problems, seen = crawl(client, ENTRY_PAGES)
    log_in(client, "officer")
    more, seen_in = crawl(client, ("/web/", *ENTRY_PAGES))
    problems.update(more)
    seen |= seen_in
    assert problems == {}
    # The crawl reached what it claims: the docs' files, the pages' stylesheet, the till, an org's pages.
    assert "/static-offline-docs/swagger-ui.css" in seen
    assert any(p.startswith("/web/static/") for p in seen), sorted(seen)
    assert any(p.startswith("/till/static/") for p in seen), sorted(seen)
    assert sum(p.startswith("/web/orgs/") for p in seen) >= 3, sorted(seen)


def test_the_check_catches_a_cdn_link() -> None:
    html = '<link href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"><svg xmlns="http://www.w3.org/2000/svg">'
    assert foreign_urls(html) == ["https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"]
    assert references(html, f"http://{OWN}/docs")[0].startswith("https://cdn.jsdelivr.net/")


def test_the_demo_prints_only_the_app_own_links() -> None:
    text = logins_text(2025, "http://127.0.0.1:8000")
    assert "/docs" in text
    assert [u for u in URL.findall(text) if urlsplit(u).hostname != "127.0.0.1"] == []


# --- the docs in a real browser --------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
def test_the_api_docs_render_in_a_browser_without_another_host(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():  # pragma: no cover - depends on the machine
        pytest.skip(f"{CHROMIUM} is not installed (make setup installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    import uvicorn

    from ledger.app import create_app
    from ledger.settings import Settings
    from tests.factories.browser import CHROMIUM_ARGS

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/docs.db", secret_key="s" * 48))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    elsewhere: list[str] = []
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page()

            def only_the_app(route: object) -> None:
                url = route.request.url  # type: ignore[attr-defined]
                if url.startswith((base, "data:", "blob:")):
                    route.continue_()  # type: ignore[attr-defined]
                else:
                    elsewhere.append(url)
                    route.abort()  # type: ignore[attr-defined]

            page.route("**/*", only_the_app)
            page.goto(base + "/docs")
            page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
            assert "cunshe-ledger" in page.inner_text(".swagger-ui .info .title")
            assert page.locator(".opblock").count() > 20  # the operations rendered from /openapi.json
            page.goto(base + "/redoc")
            page.wait_for_selector("redoc .api-content h1", timeout=30_000)
            assert "cunshe-ledger" in page.inner_text("redoc .api-content h1")
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert elsewhere == []
