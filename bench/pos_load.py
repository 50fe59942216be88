"""POS load benchmark: the real server, a load generator in another process, and a bare-FastAPI ceiling.

Run: ``.venv/bin/python bench/pos_load.py [--seconds 15] [--concurrency 16]``

1. Builds a fresh SQLite file (migrated schema, a company with a store, a catalogue with stock, a cashier
   token and an open shift).
2. Starts ``uvicorn ledger.app:create_app`` (one worker, uvloop + httptools) on 127.0.0.1 against it.
3. Drives ``POST /api/v1/pos/sales`` from a separate process for a bounded time at the given concurrency,
   with 20% of requests being retries of earlier sales (same key, same body: must answer 200 with the
   original id). Prints sales/s, p50/p99 latency, errors and duplicates (a retry answered with another id,
   or a key stored twice).
4. In the same run starts a bare FastAPI app whose POST validates a small body and inserts one row into
   SQLite (the framework + database ceiling of DESIGN §12), drives it the same way, and prints our sales/s
   as a ratio of that ceiling.
5. Closes the loaded shift through the API and prints how long the one voucher took, with its sales count.

The load generator speaks HTTP/1.1 keep-alive over raw asyncio streams, so the client is not the bottleneck.
It must never touch the database under test except to set it up and to count duplicates at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger.access.secrets import default_secret_path, ensure_secret_file  # noqa: E402

TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0
TARGET_CLOSE_S = 2.0

PRODUCTS = [
    ("APPLE", "苹果", "斤", "8.80", "水果", True),
    ("RICE", "大米", "kg", "3.98", "粮油", True),
    ("EGG", "土鸡蛋", "个", "1.50", "禽蛋", False),
    ("OIL", "菜籽油", "桶", "68.00", "粮油", False),
    ("VEG", "时令蔬菜", "斤", "2.00", "蔬菜", True),
    ("MILK", "牛奶", "盒", "3.50", "乳品", False),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- setup --------------------------------------------------------------------------------------------------


def setup_books(db: Path) -> dict:
    from ledger.access.auth import create_user, issue_token
    from ledger.books.orgs import create_org, create_store
    from ledger.db.engine import make_engine, write_tx
    from ledger.db.migrate import upgrade
    from pos import catalogue, shifts, stock
    from pos.stores import get_store

    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    with write_tx(engine) as conn:
        county = create_org(conn, code="yanhe", name="沿河县", kind="county")
        street = create_org(conn, code="heping", name="和平街道", kind="street", parent_id=county)
        village = create_org(conn, code="v1", name="示范村一", kind="village", parent_id=street)
        company = create_org(
            conn, code="co", name="和平街道村社合股联营集体经济公司", kind="company", parent_id=street
        )
        store_id = create_store(conn, company_id=company, code="s1", name="村社联动超市一号店")
        catalogue.upsert_products(
            conn,
            company,
            [
                catalogue.ProductIn(
                    sku, name, unit, int(price.replace(".", "")), category=cat, origin_org_id=village
                )
                for sku, name, unit, price, cat, _ in PRODUCTS
            ],
        )
        uid = create_user(conn, username="bench-cashier", role="cashier", scope_store_id=store_id)
        token = issue_token(conn, uid, "bench")
        officer = create_user(conn, username="bench-officer", role="officer", scope_org_id=street)
        officer_token = issue_token(conn, officer, "bench")
        store = get_store(conn, store_id)
        stock.record_purchase(
            conn,
            None,
            store,
            stock.Purchase(
                day=datetime.now(UTC).date(),
                supplier=None,
                village_org_id=village,
                lines=[(sku, 1_000_000_000, 100_000_000) for sku, *_ in PRODUCTS],
            ),
        )
        from ledger.access.auth import principal_for_token

        shift = shifts.open_shift(conn, principal_for_token(conn, token), store_id, 50_000)
    engine.dispose()
    return {"store": store_id, "shift": shift, "token": token, "officer_token": officer_token}


# -- servers ------------------------------------------------------------------------------------------------

BARE_APP = """
import sqlite3, threading
from fastapi import FastAPI
from pydantic import BaseModel

class Row(BaseModel):
    key: str
    amount: str

app = FastAPI()
lock = threading.Lock()
conn = sqlite3.connect({db!r}, check_same_thread=False, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL"); conn.execute("PRAGMA synchronous=NORMAL")
conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, key TEXT UNIQUE, amount TEXT)")

@app.post("/rows", status_code=201)
def insert(row: Row):
    with lock:
        cur = conn.execute("INSERT INTO t (key, amount) VALUES (?, ?)", (row.key, row.amount))
    return {{"id": cur.lastrowid}}
"""


def start_server(app: str, port: int, env: dict, cwd: Path) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if app.endswith("create_app"):
        cmd.append("--factory")
        # The app refuses to start without a session secret; a bench makes its own, never a default.
        env = {"CUNSHE_SECRET_KEY": secrets.token_urlsafe(48), **env}
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=cwd)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server {app} did not start")


# -- load generator (runs in its own process) ---------------------------------------------------------------


class Conn:
    """One HTTP/1.1 keep-alive connection over asyncio streams."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        self.writer.write(head.encode() + body)
        assert self.reader is not None
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        data = await self.reader.readexactly(length) if length else b""
        return status, data


def _sale_id(data: bytes) -> int:
    """The id of a sale response, which starts ``{"id":N,`` (cheaper than parsing 1.5 KB of JSON)."""
    return int(data[6 : data.index(b",")])


def new_sale(cfg: dict, rng: random.Random) -> dict:
    lines = []
    for sku, _name, _unit, _price, _cat, weighed in rng.sample(PRODUCTS, rng.randint(1, 3)):
        qty = f"{rng.randint(100, 3000) / 1000:.3f}" if weighed else str(rng.randint(1, 5))
        lines.append({"sku": sku, "quantity": qty})
    pay = [{"method": "cash", "amount": "500.00"}]
    if rng.random() < 0.3:
        pay = [{"method": "wechat", "amount": "0.01"}, {"method": "cash", "amount": "500.00"}]
    return {
        "idempotency_key": uuid.uuid4().hex,
        "store_id": cfg["store"],
        "shift_id": cfg["shift"],
        "sold_at": datetime.now(UTC).isoformat(),
        "channel": rng.choice(["counter", "counter", "community", "school"]),
        "lines": lines,
        "payments": pay,
    }


async def drive(cfg: dict, seconds: float, concurrency: int, retry_share: float, kind: str) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    mismatched = 0
    sent: list[tuple[bytes, int]] = []  # (body, id of the original)
    headers = {"Authorization": f"Bearer {cfg['token']}"} if kind == "pos" else {}
    path = "/api/v1/pos/sales" if kind == "pos" else "/rows"
    stop = time.perf_counter() + seconds
    retries = 0

    async def worker(n: int) -> None:
        nonlocal mismatched, retries
        rng = random.Random(n)
        conn = Conn(cfg["port"])
        while time.perf_counter() < stop:
            retry = kind == "pos" and bool(sent) and rng.random() < retry_share
            if retry:
                body, original = rng.choice(sent)
            elif kind == "pos":
                body, original = json.dumps(new_sale(cfg, rng)).encode(), 0
            else:
                body, original = json.dumps({"key": uuid.uuid4().hex, "amount": "12.30"}).encode(), 0
            t0 = time.perf_counter()
            try:
                status, data = await conn.request(path, body, headers)
            except Exception as exc:  # a dropped connection is an error, and a new connection
                errors.append(repr(exc))
                conn = Conn(cfg["port"])
                continue
            latencies.append(time.perf_counter() - t0)
            if retry:
                retries += 1
                if status != 200:
                    errors.append(f"retry of sale {original} answered {status}: {data[:200]!r}")
                elif _sale_id(data) != original:
                    mismatched += 1
            elif status != 201:
                errors.append(f"{status}: {data[:200]!r}")
            elif kind == "pos":
                sent.append((body, _sale_id(data)))

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "created": len(sent) if kind == "pos" else len(latencies) - len(errors),
        "retries": retries,
        "elapsed": elapsed,
        "latencies": latencies,
        "errors": errors,
        "mismatched": mismatched,
    }


def _generator(
    cfg: dict, seconds: float, concurrency: int, retry_share: float, kind: str, out: mp.Queue
) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out.put(asyncio.run(drive(cfg, seconds, concurrency, retry_share, kind)))


def run_load(cfg: dict, seconds: float, concurrency: int, retry_share: float, kind: str) -> dict:
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    p = ctx.Process(target=_generator, args=(cfg, seconds, concurrency, retry_share, kind, q))
    p.start()
    result = q.get(timeout=seconds + 120)
    p.join()
    return result


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


# -- main ---------------------------------------------------------------------------------------------------


def close_shift(port: int, cfg: dict) -> tuple[float, dict]:
    import httpx

    t0 = time.perf_counter()
    r = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/pos/shifts/{cfg['shift']}/close",
        json={"counted_cash": "0.00"},
        headers={"Authorization": f"Bearer {cfg['token']}"},
        timeout=60,
    )
    elapsed = time.perf_counter() - t0
    r.raise_for_status()
    return elapsed, r.json()


def server_cpu(pid: int) -> float:
    """The CPU seconds (user + system) a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loaded(proc: subprocess.Popen, cfg: dict, *load: Any) -> dict:
    """``run_load(cfg, *load)``'s figures, with the CPU seconds ``proc`` used meanwhile (``cpu``)."""
    before = server_cpu(proc.pid)
    result = run_load(cfg, *load)
    return {**result, "cpu": server_cpu(proc.pid) - before}


def _add(total: dict, part: dict) -> None:
    for k, v in part.items():
        total[k] = total[k] + v if k in total else v


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--retry-share", type=float, default=0.2)
    ap.add_argument("--rounds", type=int, default=3, help="alternate the two servers this many times")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pos-bench-"))
    db = tmp / "books.db"
    cfg = setup_books(db)
    ensure_secret_file(default_secret_path(f"sqlite:///{db}"))  # what `cunshe init` does beside the books

    # Both servers run side by side and the load alternates between them in rounds, so that a change in the
    # machine's load (other processes) falls on both measurements alike.
    bare_dir = tmp / "bare"
    bare_dir.mkdir()
    (bare_dir / "bare_app.py").write_text(BARE_APP.format(db=str(tmp / "bare.db")))
    port, port2 = free_port(), free_port()
    server = start_server("ledger.app:create_app", port, {"DATABASE_URL": f"sqlite:///{db}"}, ROOT)
    bare = start_server("bare_app:app", port2, {"PYTHONPATH": str(bare_dir)}, bare_dir)
    ours: dict = {}
    ceiling: dict = {}
    try:
        for _ in range(args.rounds):
            share, n = args.seconds / args.rounds, args.concurrency
            _add(ours, loaded(server, {**cfg, "port": port}, share, n, args.retry_share, "pos"))
            _add(ceiling, loaded(bare, {"port": port2}, share, n, 0.0, "bare"))
        close_s, report = close_shift(port, cfg)
    finally:
        for proc in (server, bare):
            proc.terminate()
            proc.wait(10)

    with sqlite3.connect(db) as conn:
        stored_twice = conn.execute(
            "SELECT COUNT(*) FROM (SELECT store_id, idempotency_key FROM pos_sale "
            "GROUP BY store_id, idempotency_key HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        stored = conn.execute("SELECT COUNT(*) FROM pos_sale").fetchone()[0]

    sales_per_s = ours["requests"] / ours["elapsed"]
    new_per_s = ours["created"] / ours["elapsed"]
    bare_per_s = ceiling["requests"] / ceiling["elapsed"]
    ratio = sales_per_s / bare_per_s
    p50, p99 = pct(ours["latencies"], 50), pct(ours["latencies"], 99)
    errors = len(ours["errors"])
    duplicates = ours["mismatched"] + stored_twice + max(0, stored - ours["created"])
    print(
        f"POS sales:       {sales_per_s:8.0f} req/s ({new_per_s:.0f} new sales/s, {ours['retries']} retries)"
    )
    print(
        f"  latency:       p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        f"  (concurrency {args.concurrency}, {args.seconds:g} s)"
    )
    print(f"  errors:        {errors}")
    print(f"  duplicates:    {duplicates}  ({stored} sales stored for {ours['created']} created)")
    print(
        f"bare FastAPI:    {bare_per_s:8.0f} req/s (p50 {pct(ceiling['latencies'], 50):.1f} ms, "
        f"p99 {pct(ceiling['latencies'], 99):.1f} ms, {len(ceiling['errors'])} errors)"
    )
    print(f"ratio:           {ratio:.2f}  (target ≥ {TARGET_RATIO})")
    # The server's own CPU for each request it answered: what the load average on a shared machine moves
    # least (the req/s above move with whatever else runs on the cores).
    cpu_ms, bare_cpu_ms = 1000 * ours["cpu"] / ours["requests"], 1000 * ceiling["cpu"] / ceiling["requests"]
    print(f"server CPU:      {cpu_ms:.3f} ms a request (bare FastAPI {bare_cpu_ms:.3f} ms)")
    print(
        f"shift close:     {close_s:.2f} s for {report['sales']} sales, voucher {report['voucher_no']} "
        f"(target ≤ {TARGET_CLOSE_S} s for 10,000)"
    )
    for e in ours["errors"][:5]:
        print("  error:", e)
    ok = (
        ratio >= TARGET_RATIO
        and p99 <= TARGET_P99_MS
        and errors == 0
        and duplicates == 0
        and (report["sales"] < 10_000 or close_s <= TARGET_CLOSE_S)
    )
    print("targets:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
