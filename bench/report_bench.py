"""Report benchmark: the 收益及收益分配表 PDF for 27 communities, sequentially and across all cores.

    .venv/bin/python bench/report_bench.py            # 27 communities, one year of books each
    .venv/bin/python bench/report_bench.py --orgs 54

Builds a SQLite file with one street of N communities, each with the textbook year of
``tests/factories/report_books`` (capital, leases, a subsidy, stipends, petty cash, the year-end close and
distribution: ~50 vouchers). Then, in this process after one warm-up, builds and renders each community's
statement in turn (books → DataFrame → checks → HTML → WeasyPrint PDF) and prints wall and CPU seconds per
statement; then renders the same N PDFs through ``reports.builders_batch.render_batch`` on a warm pool of
one worker per core, ``--rounds`` times (default 2, the best counts), and prints each batch's wall time,
the CPU seconds of the workers (from /proc) and of this process, the speed-up over the sequential run and
how busy the workers kept the cores: on a loaded machine the CPU figures are the ones to judge.
Targets (issue 6): one statement ≤ 0.5 s steady-state, and the batch
≤ 1.2 × (N × one statement's steady-state time ÷ cores). Prints figures and whether each target is met.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.books.orgs import create_org
from ledger.books.posting import post_entries
from ledger.db.engine import make_engine, read_tx, write_tx
from ledger.db.migrate import upgrade
from reports.builders_base import ReportPeriod
from reports.builders_batch import pool, render_batch, render_report, shutdown_pool, worker_pids
from tests.factories.report_books import community_drafts

YEAR = ReportPeriod("2025-01", "2025-12")


def build(db: Path, orgs: int) -> list[int]:
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    ids = []
    with write_tx(engine) as conn:
        county = create_org(conn, code="bench-county", name="基准县", kind="county")
        street = create_org(conn, code="bench-street", name="基准街道", kind="street", parent_id=county)
        for n in range(1, orgs + 1):
            org = create_org(
                conn, code=f"bench-c{n:02d}", name=f"基准街道第{n}社区", kind="community", parent_id=street
            )
            post_entries(conn, community_drafts(conn, org, 2025))
            ids.append(org)
    engine.dispose()
    return ids


def workers_cpu() -> float:
    """User + system CPU seconds the pool's workers have used so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in worker_pids():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / tick


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orgs", type=int, default=27)
    parser.add_argument("--rounds", type=int, default=2, help="batches on the same warm pool (best counts)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        started = time.perf_counter()
        ids = build(db, args.orgs)
        print(
            f"books: {args.orgs} communities, one year each, built in {time.perf_counter() - started:.1f} s"
        )
        url = f"sqlite:///{db}"
        engine = make_engine(url)

        cpu: list[float] = []

        def one(org_id: int) -> float:
            t0, c0 = time.perf_counter(), time.process_time()
            with read_tx(engine) as conn:
                rendered = render_report(conn, "income-statement", org_id, YEAR, "pdf")
            assert rendered.content.startswith(b"%PDF")
            cpu.append(time.process_time() - c0)
            return time.perf_counter() - t0

        print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {cores} cores")
        cold = one(ids[0])
        one(ids[0])  # a second warm-up: fonts and templates cached
        cpu.clear()
        times = [one(org_id) for org_id in ids]
        sequential = sum(times)
        steady = statistics.median(times)
        print(f"first statement in a fresh process (imports, fonts): {cold:.2f} s")
        print(
            f"sequential: {len(ids)} statements in {sequential:.2f} s; per statement median {steady:.3f} s,"
            f" mean {statistics.mean(times):.3f} s, max {max(times):.3f} s;"
            f" CPU median {statistics.median(cpu):.3f} s, mean {statistics.mean(cpu):.3f} s"
        )

        t0, c0 = time.perf_counter(), time.process_time()
        pool()  # start and warm one worker per core (not part of the batch: a server keeps them warm)
        print(
            f"pool of {cores} workers started and warmed in {time.perf_counter() - t0:.1f} s"
            f" ({time.process_time() - c0:.2f} s CPU in this process; fork server preloads the imports)"
        )
        batches = []
        for round_no in range(1, args.rounds + 1):  # the same warm pool for every round, as a server keeps it
            workers_before = workers_cpu()
            t0, c0 = time.perf_counter(), time.process_time()
            result = render_batch(url, "income-statement", ids, YEAR, "pdf")
            wall = time.perf_counter() - t0
            parent_cpu = time.process_time() - c0
            worker_cpu = workers_cpu() - workers_before
            assert len(result.files) == len(ids) and not result.errors, result.errors
            batches.append(wall)
            print(
                f"batch {round_no}: {len(ids)} statements on {cores} workers in {wall:.2f} s"
                f" ({wall / len(ids):.3f} s each; zip {len(result.zip_bytes) / 1e6:.1f} MB);"
                f" CPU: workers {worker_cpu:.2f} s ({worker_cpu / len(ids):.3f} s a statement),"
                f" this process {parent_cpu:.2f} s ({parent_cpu / len(ids) * 1000:.1f} ms a statement);"
                f" speed-up {sequential / wall:.2f} x ({sequential / wall / cores:.0%} of ideal, target"
                f" >= {1 / 1.2:.0%}); workers busy {worker_cpu / (wall * cores):.0%} of {cores} cores;"
                f" load {os.getloadavg()[0]:.1f}"
            )
        batch = min(batches)
        target = 1.2 * len(ids) * steady / cores
        print(f"target one statement <= 0.5 s: {steady:.3f} s -> {'met' if steady <= 0.5 else 'NOT met'}")
        print(
            f"target batch <= 1.2 x {len(ids)} x {steady:.3f} / {cores} = {target:.2f} s:"
            f" best {batch:.2f} s -> {'met' if batch <= target else 'NOT met'}"
        )
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (others slow both runs)")
        shutdown_pool()
        engine.dispose()


if __name__ == "__main__":
    main()
