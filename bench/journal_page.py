"""The journal page (凭证查询) with its filters on a big org, and voucher entry through the page.

    .venv/bin/python bench/journal_page.py                       # 10^6 lines, SQLite and PostgreSQL
    .venv/bin/python bench/journal_page.py --lines 200000 --db sqlite

Builds one community's year of books through the real posting code (``post_entries``, batches of 2,000):
entries of 2–4 lines, a quarter of them on 112 应收款 with one of 200 lessees, memos from a small list,
every 500th entry reversed. Then, in process (``TestClient`` over the real app, logged in as the street's
officer), times each journal query and 明细账 page ``REPEAT`` times — the server's whole answer: session,
query, rendering — and prints p50 / p95 per filter (a later page is reached by its "next" links, as a
reader turns them). Run with another checkout's code (this script copied into that checkout) it measures
that code on the same books: the baseline. Then it posts ``POSTS`` two-line vouchers through the entry form
(each a new form key) and prints the p50 / p95 of the POST (the write, not the redirect's page). Last, the
API's account filter with no months: a page of 100 and the exact count of every match (``list_entries``
without a ``count_limit``). Beside the wall times, this process's CPU per request (median and worst): on
SQLite the whole server's work, on PostgreSQL all but the database server's — the figure a shared machine's
load moves least. Figures only.
Targets (issue 17): journal and 明细账 p95 ≤ 150 ms, voucher post ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import html
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.access.auth import create_user
from ledger.app import create_app
from ledger.books.journal import EntryFilter, list_entries
from ledger.books.orgs import add_sub_account, counterparty, create_org
from ledger.books.posting import Draft, Line, post_entries, reversal_draft
from ledger.db.engine import make_engine, read_tx, write_tx
from ledger.db.migrate import upgrade
from ledger.settings import Settings
from ledger.workflows import start

BATCH = 2000
REPEAT = 20
POSTS = 30
PASSWORD = "correct horse battery"
DEBIT = ["101", "102", "121", "51101", "513", "51401"]
CREDIT = ["50101", "50102", "503", "211", "214"]
MEMOS = ["收到门面租金", "支付保洁服务费", "购买办公用品", "发放公益岗位补贴", "收到工作经费", "支付水电费"]


def build(url: str, lines_wanted: int) -> tuple[int, int, int]:
    """The books; returns (org id, lessee id of the filter, lines posted)."""
    engine = make_engine(url)
    upgrade(engine)
    start()
    rng = random.Random(17)
    with write_tx(engine) as conn:
        county = create_org(conn, code="bench-county", name="基准县", kind="county")
        street = create_org(conn, code="bench-street", name="基准街道", kind="street", parent_id=county)
        org = create_org(conn, code="bench-org", name="基准社区", kind="community", parent_id=street)
        for name in ("商品销售收入", "租赁收入"):
            add_sub_account(conn, org, "501", name)
        add_sub_account(conn, org, "511", "经营支出")
        add_sub_account(conn, org, "514", "公益性岗位")
        lessees = [counterparty(conn, org, "lessee", f"承租户{i:03d}") for i in range(200)]
        create_user(conn, username="officer", password=PASSWORD, role="officer", scope_org_id=street)
    posted_lines = 0
    n = 0
    started = time.perf_counter()
    estimate = lines_wanted * 10 // 24  # 2.4 lines an entry on average
    while posted_lines < lines_wanted:
        batch = []
        for _ in range(BATCH):
            day = date.fromordinal(date(2025, 1, 1).toordinal() + min(364, (n * 365) // estimate))
            memo = rng.choice(MEMOS)
            if rng.random() < 0.25:
                fen = rng.randint(100, 5_000_000)
                cp = rng.choice(lessees)
                lines = [Line("102", debit_fen=fen), Line("112", credit_fen=fen, counterparty_id=cp)]
            else:
                k = rng.randint(1, 2)
                debits = [Line(rng.choice(DEBIT), debit_fen=rng.randint(1, 5_000_000)) for _ in range(k)]
                total = sum(d.debit_fen for d in debits)
                lines = [*debits, Line(rng.choice(CREDIT), credit_fen=total)]
            batch.append(Draft(org, day, memo, lines))
            posted_lines += len(lines)
            n += 1
            if posted_lines >= lines_wanted:
                break
        with write_tx(engine) as conn:
            posted = post_entries(conn, batch)
            for p in posted[::500]:
                conn_draft = reversal_draft(conn, p.id, entry_date=date(2025, 12, 31))
                post_entries(conn, [conn_draft])
        print(
            f"\r  {posted_lines:,} lines, {n:,} entries, {time.perf_counter() - started:.0f} s",
            end="",
            flush=True,
        )
    print()
    engine.dispose()
    return org, lessees[0], posted_lines


def log_in(client: TestClient) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/web/login").text)
    assert token
    page = client.post(
        "/web/login", data={"username": "officer", "password": PASSWORD, "csrf_token": token.group(1)}
    )
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:400]
    return token.group(1)


def turned(client: TestClient, url: str, params: dict[str, str], pages: int) -> str:
    """The page ``pages`` pages on from the first of ``url`` with ``params``, by its "next" links as a reader
    turns them (the link carries a key or a page number, whichever the code makes); "" if there is none."""
    page = client.get(url, params=params)
    here = str(page.url)
    for _ in range(pages):
        pager = page.text.split('class="pager"', 1)
        link = re.search(r'<a href="([^"]+)" rel="next">', pager[1]) if len(pager) > 1 else None
        if link is None:
            return ""
        here = html.unescape(link.group(1))
        page = client.get(here)
    return here


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000


def measure(url: str, org: int, lessee: int) -> None:
    engine = make_engine(url)
    app = create_app(Settings(database_url=url, secret_key=secrets.token_urlsafe(48)), engine=engine)
    with TestClient(app) as client:
        log_in(client)
        journal = f"/web/orgs/{org}/journal"
        ledger = f"/web/orgs/{org}/ledger"
        queries: dict[str, str | dict[str, str]] = {
            "default (latest month)": {},
            "one month": {"from": "2025-06", "to": "2025-06"},
            "one month, page 20": turned(client, journal, {"from": "2025-06", "to": "2025-06"}, 19),
            "year, amount exact": {"from": "2025-01", "to": "2025-12", "min": "12345.67", "max": "12345.67"},
            "year, account 112": {"from": "2025-01", "to": "2025-12", "account": "112"},
            "year, account 501 (subs)": {"from": "2025-01", "to": "2025-12", "account": "501"},
            "year, counterparty": {"from": "2025-01", "to": "2025-12", "counterparty": str(lessee)},
            "year, text in 摘要": {"from": "2025-01", "to": "2025-12", "text": "公益岗位"},
            "year, text: a lessee's name": {"from": "2025-01", "to": "2025-12", "text": "承租户007"},
            "year, text found nowhere": {"from": "2025-01", "to": "2025-12", "text": "无此摘要"},
            "year, two characters found nowhere": {"from": "2025-01", "to": "2025-12", "text": "无此"},
            "year, reversed": {"from": "2025-01", "to": "2025-12", "reversed": "yes"},
            "year, source manual, not reversed": {
                "from": "2025-01",
                "to": "2025-12",
                "source": "manual",
                "reversed": "no",
            },
            "voucher number": {"from": "2025-01", "to": "2025-12", "voucher": "记-2025-07-0100"},
            "year, account 112, page 20": turned(
                client, journal, {"from": "2025-01", "to": "2025-12", "account": "112"}, 19
            ),
            "明细账 112, 2025-12": turned(client, ledger, {"account": "112", "period": "2025-12"}, 0),
            "明细账 112, 2025-12, page 20": turned(
                client, ledger, {"account": "112", "period": "2025-12"}, 19
            ),
            "明细账 501 (subs), 2025-06": turned(client, ledger, {"account": "501", "period": "2025-06"}, 0),
            "明细账 102, 2025-03": turned(client, ledger, {"account": "102", "period": "2025-03"}, 0),
        }
        print(f"  {'journal query':36} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8} {'CPU max':>8}  found")
        worst = 0.0
        for name, target in queries.items():
            if target == "":
                print(f"  {name:36} {'(no such page)':>17}")
                continue
            url, params = (target, None) if isinstance(target, str) else (journal, target)
            t0 = time.perf_counter()
            client.get(url, params=params)  # warm
            repeat = REPEAT if time.perf_counter() - t0 < 1 else 3  # a page of seconds: a few will tell
            samples, cpu = [], []
            found = ""
            for _ in range(repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                r = client.get(url, params=params)
                samples.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                assert r.status_code == 200, r.text[:300]
                count = re.search(r"共 (\d+) 张凭证|超过 (\d+) 张", r.text)
                found = (
                    count.group(0)
                    if count
                    else f"{r.text.count('by-number?no=')} vouchers, {len(r.text):,} B"
                )
            p50, p95 = percentiles(samples)
            worst = max(worst, p95)
            cpu50 = statistics.median(cpu) * 1000
            print(
                f"  {name:36} {p50:8.1f} {p95:8.1f} {cpu50:8.1f} {max(cpu) * 1000:8.1f}  {found}", flush=True
            )
        print(f"  worst page p95: {worst:.1f} ms (target ≤ 150)")
        posts = []
        for i in range(POSTS):
            form = client.get(f"/web/orgs/{org}/vouchers/new").text
            key = re.search(r'name="form_key" value="([0-9a-f]+)"', form).group(1)  # type: ignore[union-attr]
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
            data = {
                "csrf_token": csrf,
                "form_key": key,
                "date": "2025-12-20",
                "attachments": "1",
                "memo": ["基准凭证", "基准凭证"],
                "account": ["513", "101"],
                "debit": [f"{100 + i}.00", ""],
                "credit": ["", f"{100 + i}.00"],
            }
            t0 = time.perf_counter()
            r = client.post(f"/web/orgs/{org}/vouchers", data=data, follow_redirects=False)  # type: ignore[arg-type]
            posts.append(time.perf_counter() - t0)
            assert r.status_code == 303, re.sub(r"<[^>]+>", " ", r.text)[-600:]
        p50, p95 = percentiles(posts)
        print(f"  voucher entry POST: p50 {p50:.1f} ms, p95 {p95:.1f} ms (target ≤ 100)")
    api_account_filter(engine, org)
    engine.dispose()


def api_account_filter(engine: Engine, org: int) -> None:
    """The API's ``GET /orgs/{org}/entries?account=…`` with no months: its first 100 entries and the exact
    count of every match (``list_entries`` without ``count_limit``), median and worst of ``REPEAT``."""
    print(f"  {'API entries, account, no months':36} {'p50 ms':>8} {'max ms':>8}  total")
    for code in ("112", "501", "102"):
        samples = []
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            with read_tx(engine) as conn:
                _, total = list_entries(conn, org, EntryFilter(account=code), limit=100)
            samples.append((time.perf_counter() - t0) * 1000)
        print(f"  {'account ' + code:36} {statistics.median(samples):8.1f} {max(samples):8.1f}  {total:,}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--sqlite-file", type=Path, help="keep the SQLite books here (built if missing)")
    parser.add_argument("--pg-database", help="keep the PostgreSQL books in this database (built if missing)")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores)")
    if args.db in ("sqlite", "both") and args.sqlite_file:
        url = f"sqlite:///{args.sqlite_file}"
        print(f"SQLite, {args.lines:,} lines ({args.sqlite_file}):")
        if not args.sqlite_file.exists():
            build(url, args.lines)
        start()
        measure(url, 3, 1)  # the org and the first lessee of a fresh build
    elif args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/journal.db"
            print(f"SQLite, {args.lines:,} lines:")
            org, lessee, _ = build(url, args.lines)
            measure(url, org, lessee)
    if args.db in ("postgresql", "both"):
        name = args.pg_database or f"bench_journal_{os.getpid()}"
        admin = "postgresql://postgres@127.0.0.1:5432/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f"CREATE DATABASE {name}")
        try:
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
            print(f"PostgreSQL, {args.lines:,} lines:")
            org, lessee = 3, 1
            if not exists:
                org, lessee, _ = build(url, args.lines)
                # what autovacuum does after a load this size (PostgreSQL ≥ 13 vacuums after inserts too):
                # statistics for the planner, and the visibility map that lets an index answer alone
                with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}", autocommit=True) as conn:
                    conn.execute("VACUUM ANALYZE")
            start()
            measure(url, org, lessee)
        finally:
            if not args.pg_database:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
