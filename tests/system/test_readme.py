"""The README's walkthrough works as written: its shell blocks run against the real server on the demo.

The demo is the full county ``make run`` builds (the session's ``demo_county``, shared with
``tests/demo/test_demo_books.py``, which only reads the demo year), the server runs on a free port (the only
edit made to the README's text), and the blocks run in bash from a directory holding the demo's statement
files, as after ``make run``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories.county import DemoCounty
from tests.factories.servers import Server

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## A day with each user", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


@pytest.fixture(scope="module")
def served_demo(demo_county: DemoCounty) -> Iterator[tuple[Server, Path]]:
    server = Server(demo_county.url, demo_county.home / "server.log").start()
    yield server, demo_county.home
    server.stop()


def run(blocks: list[str], server: Server, home: Path) -> str:
    script = "\n".join(block.replace("http://127.0.0.1:8000", server.base_url) for block in blocks)
    done = subprocess.run(["bash", "-c", script], cwd=home, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readme_walkthrough_runs_as_written(served_demo: tuple[Server, Path]) -> None:
    server, home = served_demo
    setup, cashier, officer, leases, community = walkthrough_blocks()
    out = run([setup, cashier], server, home)
    assert "合计(2项)                  30.98" in out and "找零                       19.02" in out
    assert "'expected': '530.98', 'counted': '530.98', 'over_short': '0.00'" in out
    out = run([setup, officer], server, home)
    assert '"new_count":35' in out.replace(" ", "") or '"new_count": 35' in out
    assert '"rule":"bank_fee"' in out.replace(" ", "")
    assert '"status":"closed"' in out.replace(" ", "")
    assert (home / "reconciliation.pdf").read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(home / "reconciliation.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "银行存款余额调节表" in text.replace(" ", "")
    out = run([setup, leases], server, home).replace(" ", "")
    first, rerun = out.splitlines()[:2]
    assert '"orgs":10,"posted":16' in first and '"posted":0' in rerun
    assert "'0-30':'37783.52','31-90':'5200.00','91-180':'2600.00'" in out
    assert '"voucher_no":"记-2026-01-0002","applied":"3000.00","credit":"400.00"' in out
    # one tenant's prepaid rent is not netted against another's arrears (issue 16): they are summed apart
    assert "'billed':'63211.33','received':'62664.30','outstanding':'947.03','prepaid':'400.00'" in out
    aging = subprocess.run(
        ["pdftotext", "-layout", str(home / "欠租账龄.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "欠租账龄分析表" in aging and "和平街道第4社区" in aging and "10,400.00" in aging
    out = run([setup, community], server, home)
    assert out.strip().endswith("404")
    statement = subprocess.run(
        ["pdftotext", "-layout", str(home / "收益及收益分配表.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "丁字口社区" in statement and "人民币（大写）" in statement
