"""``make bench``: run every benchmark in bench/ and write their figures to bench/results.md.

Each script prints its own figures and its ratios against a baseline measured in the same run; this runner
only records the machine, the date, each command and what it printed, plus the full demo build's time.
Nothing here asserts a time.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
RUNS: list[tuple[str, list[str]]] = [
    ("Ledger core: bulk posting and trial balance", [PY, "bench/ledger_bench.py", "--full"]),
    ("POS: sales under load against a bare-insert ceiling", [PY, "bench/pos_load.py"]),
    (
        "Till: the browser till's scan and receipt times with 16 other tills posting",
        [PY, "bench/till_latency.py"],
    ),
    ("Leases: 27 communities × 40 contracts × 10 years", [PY, "bench/lease_accrual.py"]),
    (
        "Reconciliation: 100,000 statement lines against 100,000 ledger lines",
        [PY, "bench/reconcile_bench.py"],
    ),
    ("Reports: 收益及收益分配表 PDF for 27 communities", [PY, "bench/report_bench.py"]),
    ("Start-up: CLI commands, server ready, first statement PDF", [PY, "bench/startup.py"]),
]


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    python = platform.python_version()
    return f"{os.cpu_count()} cores ({cpu}), Python {python}, load average {load:.2f} at start"


def demo_build() -> str:
    with tempfile.TemporaryDirectory(prefix="cunshe-demo-bench-") as tmp:
        db = f"sqlite:///{tmp}/demo.db"
        start = time.perf_counter()
        proc = subprocess.run(
            [str(Path(PY).with_name("cunshe")), "demo", "--db", db, "--statements-dir", f"{tmp}/statements"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "CI": "1"},
        )
        seconds = time.perf_counter() - start
    status = "ok" if proc.returncode == 0 else f"FAILED ({proc.returncode}): {proc.stderr[-500:]}"
    notes = "\n".join(
        line for line in proc.stdout.splitlines() if line.startswith(("supermarkets:", "communities:"))
    )
    return f"full demo county build on SQLite: {seconds:.1f} s (target ≤ 60 s), {status}\n{notes}"


def main() -> None:
    only = set(sys.argv[1:])
    out = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.",
        "Each section is what the script printed; ratios are against baselines measured in the same run.",
        "",
    ]
    for title, cmd in RUNS:
        if only and not any(word in cmd[1] for word in only):
            continue
        print(f"== {title}: {' '.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        elapsed = time.perf_counter() - start
        text = proc.stdout.strip() + (
            f"\n(exit {proc.returncode}) {proc.stderr.strip()[-800:]}" if proc.returncode else ""
        )
        print(text, flush=True)
        out += [f"## {title}", "", f"`{' '.join(cmd[1:])}` ({elapsed:.0f} s)", "", "```", text, "```", ""]
    if not only or "demo" in only:
        print("== demo build", flush=True)
        text = demo_build()
        print(text, flush=True)
        out += ["## Demo county", "", "```", text, "```", ""]
    (ROOT / "bench" / "results.md").write_text("\n".join(out), encoding="utf-8")
    print("wrote bench/results.md")


if __name__ == "__main__":
    main()
