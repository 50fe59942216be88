"""The real server as a subprocess, for the crash and two-worker tests, and the calls they send it.

``start_server`` runs ``cunshe serve`` on 127.0.0.1 on a free port in its own process group (so a SIGKILL
takes the uvicorn supervisor and its workers together, as a power cut would), waits until ``/healthz`` answers
and logs to a file in the test's directory. The books it sells from are ``tests.factories.shop.seed_shop``'s,
built before any server starts. The client side: sales and journal entries with idempotency keys, each call
classified as acknowledged (2xx), refused (a 4xx/503 in the one error shape) or unknown (no answer). Loopback
only; nothing here may touch a database the server under test is writing except to seed and to read the
outcome afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

from ledger.books.county_time import business_date
from tests.factories.shop import SEEDED_PRODUCTS, STOCK_MILLI, Shop

ERROR_STATUSES = {409, 422, 503}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _terminate_with_parent() -> None:
    """In the server's process, before exec: SIGTERM it if the test run dies (Linux), so a killed pytest
    does not leave a server in its own session holding a port and a database."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def cunshe_cmd() -> list[str]:
    """The installed ``cunshe`` script beside this interpreter, else the module."""
    script = Path(sys.executable).with_name("cunshe")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ledger.cli.main"]


def cunshe_verify(database_url: str) -> tuple[int, str]:
    """``cunshe verify --db URL``, the command itself, run in this process: (exit code, output)."""
    from typer.testing import CliRunner

    from ledger.cli.main import app

    result = CliRunner().invoke(app, ["verify", "--db", database_url])
    return result.exit_code, result.output


@dataclass
class Server:
    """One ``cunshe serve`` process group on 127.0.0.1."""

    database_url: str
    log_path: Path
    workers: int = 1
    warm_reports: bool = False  # True: the report pool starts warm, as ``cunshe serve`` does by default
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    _log_from: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 90) -> Server:
        """Start the server and wait until every worker has finished its startup and /healthz answers."""
        # No report warm-up: a test server renders few PDFs, and the suite's machine has cores to spare.
        env = {**os.environ, "DATABASE_URL": self.database_url}
        env["CUNSHE_WARM_REPORTS"] = "1" if self.warm_reports else "0"
        self._log_from = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        cmd = [*cunshe_cmd(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_terminate_with_parent,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            started = self.log_text(since_start=True).count("Application startup complete")
            if started >= self.workers:
                try:
                    if httpx.get(self.base_url + "/healthz", timeout=5).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not start within {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the whole process group: the supervisor and every worker, no clean-up."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._reap_group()
        self.proc = None

    def stop(self) -> None:
        """A clean shutdown (SIGTERM to the group), SIGKILL if it hangs."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._reap_group()
        self.proc = None

    def _reap_group(self) -> None:
        # Workers are in the group; wait until none is left holding the port or the database.
        assert self.proc is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def cpu_seconds(self) -> dict[int, float]:
        """CPU time (user + system) each worker has used so far."""
        out = {}
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return out

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_text(self, *, since_start: bool = False) -> str:
        """The server's log: all of it, or what the current process wrote."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as f:
            f.seek(self._log_from if since_start else 0)
            return f.read().decode(errors="replace")

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes under the supervisor (multiprocessing spawn children)."""
        assert self.proc is not None
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (stat.parent / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.proc.pid and b"spawn_main" in cmdline:
                pids.append(int(stat.parent.name))
        return pids


# -- the client side --------------------------------------------------------------------------------------

_seq = itertools.count()


def new_key(prefix: str) -> str:
    return f"{prefix}-{next(_seq)}-{uuid.uuid4().hex[:10]}"


@dataclass
class Call:
    """One logical write: its key and body, and what the server said (None: no answer, outcome unknown)."""

    kind: str  # sale | entry
    who: str
    path: str
    key: str
    body: dict[str, Any]
    status: int | None = None
    answer: dict[str, Any] | None = None
    attempts: int = 0

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def sale_body(shop: Shop, cashier: str, n: int) -> dict[str, Any]:
    sku, _, _, price, _ = SEEDED_PRODUCTS[n % len(SEEDED_PRODUCTS)]
    qty = 1 + n % 3
    return {
        "store_id": shop.stores[cashier],
        "shift_id": shop.shifts[cashier],
        "sold_at": datetime.now(UTC).isoformat(),
        "lines": [{"sku": sku, "quantity": str(qty)}, {"sku": "EGG", "quantity": "2"}],
        "payments": [{"method": "cash" if n % 2 else "wechat", "amount": _yuan(price * qty + 300)}],
    }


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def entry_body(n: int) -> dict[str, Any]:
    amount = _yuan(100 + n % 5000)
    return {
        "date": business_date(datetime.now(UTC)).isoformat(),
        "memo": f"办公用品 #{n}",
        "lines": [
            {"account": "5602", "debit": amount, "memo": "管理费用"},
            {"account": "1002", "credit": amount, "memo": "银行存款"},
        ],
    }


def new_sale(shop: Shop, cashier: str) -> Call:
    n = next(_seq)
    return Call("sale", cashier, "/api/v1/pos/sales", new_key(f"sale-{cashier}"), sale_body(shop, cashier, n))


def new_batch(shop: Shop, cashier: str, size: int = 5) -> Call:
    """An offline till's queue: ``size`` sales, each with its own key, in one ``sales:batch`` request."""
    sales = []
    for _ in range(size):
        n = next(_seq)
        sales.append({**sale_body(shop, cashier, n), "idempotency_key": new_key(f"batch-{cashier}")})
    return Call("batch", cashier, "/api/v1/pos/sales:batch", new_key(f"batch-{cashier}"), {"sales": sales})


def new_call(shop: Shop, kind: str, who: str) -> Call:
    return {"sale": new_sale, "batch": new_batch, "entry": new_entry}[kind](shop, who)


def expected_sales(calls: list[Call]) -> dict[tuple[int, str], int]:
    """(store, key) → the sale id each acknowledged sale, or sale of a batch, was given."""
    out = {}
    for call in calls:
        if call.kind == "sale" and call.answer:
            out[(call.body["store_id"], call.key)] = call.answer["id"]
        elif call.kind == "batch" and call.answer:
            for sent, result in zip(call.body["sales"], call.answer["results"], strict=True):
                assert result["status"] in ("created", "duplicate"), result
                out[(sent["store_id"], sent["idempotency_key"])] = result["sale"]["id"]
    return out


def new_entry(shop: Shop, who: str = "officer") -> Call:
    n = next(_seq)
    path = f"/api/v1/orgs/{shop.company}/entries"
    return Call("entry", who, path, new_key(f"entry-{who}"), entry_body(n))


def send(client: httpx.Client, shop: Shop, call: Call) -> httpx.Response | None:
    """Send ``call`` once with its key; record the status, or leave it unknown if no answer came."""
    call.attempts += 1
    headers = {**shop.county.auth(call.who), "Idempotency-Key": call.key}
    try:
        r = client.post(call.path, json=call.body, headers=headers)
    except httpx.HTTPError:
        call.status = None
        return None
    call.status = r.status_code
    try:
        call.answer = r.json()
    except ValueError:
        call.answer = None
    return r


def is_error_shape(doc: Any) -> bool:
    """``{"error": {"code", "message", "field"}}``: the one error shape of DESIGN §10."""
    if not isinstance(doc, dict) or not isinstance(doc.get("error"), dict):
        return False
    err = doc["error"]
    return (
        isinstance(err.get("code"), str)
        and isinstance(err.get("message"), str)
        and "field" in err
        and (err["field"] is None or isinstance(err["field"], str))
    )


# -- what the books hold afterwards -----------------------------------------------------------------------


def sales_by_key(engine: Engine) -> dict[tuple[int, str], list[int]]:
    out: dict[tuple[int, str], list[int]] = {}
    with engine.connect() as conn:
        for sale_id, store_id, key in conn.execute(
            text("SELECT id, store_id, idempotency_key FROM pos_sale WHERE kind = 'sale'")
        ):
            out.setdefault((store_id, key), []).append(sale_id)
    return out


def half_sales(engine: Engine) -> list[str]:
    """Sales missing lines or payments, lines or payments without their sale, totals or stock that do not
    tie (for the books of ``seed_shop``, where only sales move stock after the opening purchase)."""
    checks = {
        "sale without lines": "SELECT s.id FROM pos_sale s WHERE NOT EXISTS "
        "(SELECT 1 FROM pos_sale_line l WHERE l.sale_id = s.id)",
        "sale without payments": "SELECT s.id FROM pos_sale s WHERE s.kind = 'sale' AND NOT EXISTS "
        "(SELECT 1 FROM pos_payment p WHERE p.sale_id = s.id)",
        "line without sale": "SELECT l.id FROM pos_sale_line l WHERE NOT EXISTS "
        "(SELECT 1 FROM pos_sale s WHERE s.id = l.sale_id)",
        "payment without sale": "SELECT p.id FROM pos_payment p WHERE NOT EXISTS "
        "(SELECT 1 FROM pos_sale s WHERE s.id = p.sale_id)",
        "total not the sum of lines": "SELECT s.id FROM pos_sale s WHERE s.total_fen <> "
        "(SELECT COALESCE(SUM(l.amount_fen), 0) FROM pos_sale_line l WHERE l.sale_id = s.id)",
        # Stock relieved once per sale line: on hand = bought − sold, per store and product.
        "stock not bought − sold": "SELECT k.product_id FROM pos_stock k WHERE k.qty_milli <> "
        f"{STOCK_MILLI} - (SELECT COALESCE(SUM(l.qty_milli), 0) FROM pos_sale_line l "
        "JOIN pos_sale s ON s.id = l.sale_id WHERE s.store_id = k.store_id AND l.product_id = k.product_id)",
    }
    problems = []
    with engine.connect() as conn:
        for what, sql in checks.items():
            ids = [row[0] for row in conn.execute(text(sql))]
            if ids:
                problems.append(f"{what}: {ids[:10]}")
    return problems


def close_shifts(server: Server, shop: Shop) -> list[str]:
    vouchers = []
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        for cashier, shift_id in shop.shifts.items():
            r = client.post(
                f"/api/v1/pos/shifts/{shift_id}/close",
                json={"counted_cash": "500.00"},
                headers=shop.county.auth(cashier),
            )
            assert r.status_code == 200, r.text
            vouchers.append(r.json()["voucher_no"])
    return vouchers


def entries_by_key(engine: Engine, org_id: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, idempotency_key FROM journal_entry WHERE org_id = :org AND source = 'manual'"),
            {"org": org_id},
        )
        for entry_id, key in rows:
            out.setdefault(key, []).append(entry_id)
    return out


def gaps(engine: Engine) -> list[str]:
    """Voucher numbers 1…n per org and month, receipt numbers 1…n per store and day."""
    problems = []
    with engine.connect() as conn:
        vouchers: dict[tuple[int, str], list[int]] = {}
        for org_id, voucher_no in conn.execute(text("SELECT org_id, voucher_no FROM journal_entry")):
            _, year, month, seq = voucher_no.split("-")
            vouchers.setdefault((org_id, f"{year}-{month}"), []).append(int(seq))
        for (org_id, period), seqs in vouchers.items():
            if sorted(seqs) != list(range(1, len(seqs) + 1)):
                problems.append(f"org {org_id} {period}: vouchers {sorted(seqs)[:20]}…")
        receipts: dict[tuple[int, str], list[int]] = {}
        for store_id, day, seq in conn.execute(
            text("SELECT store_id, business_date, receipt_seq FROM pos_sale")
        ):
            receipts.setdefault((store_id, str(day)), []).append(seq)
        for (store_id, day), seqs in receipts.items():
            if sorted(seqs) != list(range(1, len(seqs) + 1)):
                problems.append(f"store {store_id} {day}: receipts not 1…{len(seqs)}")
    return problems
