"""``cunshe serve`` with its report pool warm from the start (the default): the pool's fork server is a fork
of the server (``reports.forkserver.start_forked``), the first statement PDF renders in a worker forked from
it, and the fork server and its workers end with the server."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.factories.county import County
from tests.factories.report_books import post_community_year
from tests.factories.servers import Server


@pytest.fixture
def books(county: County) -> County:
    """丁字口's year of books, closed."""
    post_community_year(county.engine, county.ids["dingzikou"])
    return county


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def test_the_warm_pool_forks_from_the_server_renders_and_ends_with_it(books: County, tmp_path: Path) -> None:
    url = books.engine.url.render_as_string(hide_password=False)
    server = Server(url, tmp_path / "server.log", warm_reports=True).start()
    try:
        assert server.proc is not None
        org = books.ids["dingzikou"]
        answer = httpx.get(
            f"{server.base_url}/api/v1/orgs/{org}/reports/balance-sheet.pdf?period=2025-12",
            headers=books.auth("community"),
            timeout=120,
        )
        assert answer.status_code == 200, answer.text
        assert answer.content.startswith(b"%PDF")
        # The fork server is the server's own fork (its command line), not a new interpreter's `-c …`;
        # the workers are its children.
        forks = [pid for pid in _children(server.proc.pid) if _cmdline(pid) == _cmdline(server.proc.pid)]
        assert len(forks) == 1, [_cmdline(p) for p in _children(server.proc.pid)]
        workers = _children(forks[0])
        assert workers
        assert all(b"forkserver" not in _cmdline(pid) for pid in _children(server.proc.pid))
    finally:
        server.stop()
    for pid in [*forks, *workers]:
        assert not os.path.exists(f"/proc/{pid}") or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
