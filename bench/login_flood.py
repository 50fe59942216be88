"""The till under a login flood: POS sales with and without a concurrent flood of web logins.

Run: ``.venv/bin/python bench/login_flood.py [--seconds 10] [--flood 16]``

Builds the books of ``pos_load.py``, starts the real app (one uvicorn worker, the product's argon2 costs:
t=3, 64 MiB) and drives ``POST /api/v1/pos/sales`` at concurrency 16 three ways, in alternating rounds:

- **alone**: the till by itself;
- **flood, limits on**: plus ``--flood`` connections posting ``/web/login`` with random usernames as fast as
  answers come (the product's defaults: 10 a minute per address, 60 in all, one argon2 at a time);
- **flood, pool only**: the same flood with the rate limits lifted, so every attempt reaches the bounded
  hashing pool (it shows what the pool alone protects).

Prints the till's sales/s and p99 for each, the ratio to the till alone, the flood's answers by status, and
the server's peak resident memory (VmHWM). Targets (issue 21): sales/s under the flood ≥ 0.8 of the till
alone, p99 ≤ 100 ms, server memory < 400 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pos_load import free_port, pct, run_load, setup_books, start_server  # noqa: E402

from ledger.access.secrets import default_secret_path, ensure_secret_file  # noqa: E402

TARGET_RATIO = 0.8
TARGET_P99_MS = 100.0
TARGET_RSS_MIB = 400


async def _flood(port: int, seconds: float, concurrency: int, ready) -> dict:  # type: ignore[no-untyped-def]
    import httpx

    statuses: Counter[int] = Counter()
    prepared = asyncio.Event()
    armed = 0
    stop = 0.0

    async def attacker() -> None:
        nonlocal armed, stop
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            page = (await client.get("/web/login")).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            armed += 1
            if armed == concurrency:  # every connection holds its form: the flood starts now
                stop = time.perf_counter() + seconds
                ready.set()
                prepared.set()
            await prepared.wait()
            while time.perf_counter() < stop:
                form = {"username": uuid.uuid4().hex[:12], "password": "guess", "csrf_token": token}
                try:
                    r = await client.post("/web/login", data=form)
                    statuses[r.status_code] += 1
                except httpx.HTTPError:
                    statuses[0] += 1

    await asyncio.gather(*(attacker() for _ in range(concurrency)))
    return dict(statuses)


def _flood_process(port: int, seconds: float, concurrency: int, out: mp.Queue, ready) -> None:  # type: ignore[no-untyped-def]
    out.put(asyncio.run(_flood(port, seconds, concurrency, ready)))


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    """The server process's user + system CPU time so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(port: int, cfg: dict, seconds: float, flood: int, pid: int) -> tuple[dict, dict]:
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    flooder = None
    if flood:
        ready = ctx.Event()
        flooder = ctx.Process(target=_flood_process, args=(port, seconds + 1, flood, q, ready))
        flooder.start()
        # The flood is on before the till starts measuring: the flooder's own start-up (a spawned
        # interpreter importing its modules) is not counted against the server.
        if not ready.wait(120):
            raise RuntimeError("the flood did not start")
        time.sleep(0.5)
    cpu = _cpu_seconds(pid)
    sales = run_load({**cfg, "port": port}, seconds, 16, 0.0, "pos")
    sales["cpu"] = _cpu_seconds(pid) - cpu
    answers = q.get(timeout=seconds + 120) if flooder else {}
    if flooder:
        flooder.join()
    return sales, answers


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    ap.add_argument("--flood", type=int, default=16, help="concurrent login connections")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="login-flood-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUNSHE_")}
    os.environ.clear()
    os.environ.update(env)  # the product's argon2 costs and limits, not a test run's
    results: dict[str, list] = {"alone": [], "flood, limits on": [], "flood, pool only": []}
    floods: dict[str, Counter] = {name: Counter() for name in results}
    peaks: dict[str, float] = {}
    for variant, extra in (
        ("flood, limits on", {}),
        ("flood, pool only", {"CUNSHE_LOGIN_RATE_PER_ADDRESS": "1000000/second",
                              "CUNSHE_LOGIN_RATE_OVERALL": "1000000/second"}),
    ):  # fmt: skip
        db = tmp / f"{variant.split(',')[1].strip().replace(' ', '-')}.db"
        cfg = setup_books(db)
        ensure_secret_file(default_secret_path(f"sqlite:///{db}"))
        port = free_port()
        server = start_server(
            "ledger.app:create_app", port, {"DATABASE_URL": f"sqlite:///{db}", **extra}, ROOT
        )
        try:
            for _ in range(args.rounds):
                alone, _ = _run(port, cfg, args.seconds / args.rounds, 0, server.pid)
                flooded, answers = _run(port, cfg, args.seconds / args.rounds, args.flood, server.pid)
                results["alone"].append(alone)
                results[variant].append(flooded)
                floods[variant].update(answers)
            peaks[variant] = _peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(10)

    def figures(runs: list[dict]) -> tuple[float, float, int]:
        requests = sum(r["requests"] for r in runs)
        elapsed = sum(r["elapsed"] for r in runs)
        latencies = [x for r in runs for x in r["latencies"]]
        return requests / elapsed, pct(latencies, 99), sum(len(r["errors"]) for r in runs)

    def cpu(runs: list[dict]) -> tuple[float, float, float]:
        """The server's CPU: in all, per second of the run, per sale (seconds)."""
        used = sum(r["cpu"] for r in runs)
        return used, used / sum(r["elapsed"] for r in runs), used / max(1, sum(r["requests"] for r in runs))

    base, base_p99, base_errors = figures(results["alone"])
    _, base_cpu_rate, per_sale = cpu(results["alone"])
    print(
        f"till alone:        {base:7.0f} sales/s, p99 {base_p99:6.1f} ms, {base_errors} errors; "
        f"server CPU {base_cpu_rate:.2f} s/s, {per_sale * 1000:.2f} ms per sale"
    )
    ok = True
    for variant in ("flood, limits on", "flood, pool only"):
        rate, p99, errors = figures(results[variant])
        ratio = rate / base
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(floods[variant].items()))
        used, cpu_rate, _ = cpu(results[variant])
        # What the server spent beyond the sales it made (at the till-alone cost per sale): the flood's cost,
        # which the machine's other load does not change.
        elapsed = sum(r["elapsed"] for r in results[variant])
        flood_cpu = (used - sum(r["requests"] for r in results[variant]) * per_sale) / elapsed
        print(
            f"{variant + ':':18} {rate:7.0f} sales/s, p99 {p99:6.1f} ms, {errors} errors, ratio {ratio:.2f}; "
            f"server peak {peaks[variant]:.0f} MiB; logins answered {answers}; "
            f"server CPU {cpu_rate:.2f} s/s, of which the flood ≈ {flood_cpu:.2f} s/s"
        )
        ok &= (
            ratio >= TARGET_RATIO and p99 <= TARGET_P99_MS and peaks[variant] < TARGET_RSS_MIB and not errors
        )
    print(
        f"targets (ratio ≥ {TARGET_RATIO}, p99 ≤ {TARGET_P99_MS:g} ms, < {TARGET_RSS_MIB} MiB):",
        "met" if ok else "NOT met",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
