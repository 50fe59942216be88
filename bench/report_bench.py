"""Report benchmark: the 收益及收益分配表 PDF for 27 communities, sequentially and across all cores.

    .venv/bin/python bench/report_bench.py            # 27 communities, one year of books each
    .venv/bin/python bench/report_bench.py --orgs 54

Builds a SQLite file with one street of N communities, each with the textbook year of
``tests/test_reports_books`` (capital, leases, a subsidy, stipends, petty cash, the year-end close and
distribution: ~50 vouchers). Then, in this process after one warm-up, builds and renders each community's
statement in turn (books → DataFrame → checks → HTML → WeasyPrint PDF) and prints seconds per statement;
then renders the same N PDFs through ``reports.builders_batch.render_batch`` on a warm pool of one worker
per core and prints the batch total. Targets (issue 6): one statement ≤ 0.5 s steady-state, and the batch
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

from ledger.db.engine import make_engine, read_tx, write_tx
from ledger.db.migrate import upgrade
from ledger.orgs import create_org
from ledger.posting import post_entries
from reports.builders_base import ReportPeriod
from reports.builders_batch import pool, render_batch, render_report, shutdown_pool
from tests.test_reports_books import community_drafts

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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orgs", type=int, default=27)
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
            f" CPU {statistics.median(cpu):.3f} s"
        )

        t0 = time.perf_counter()
        pool()  # start and warm one worker per core (not part of the batch: a server keeps them warm)
        print(f"pool of {cores} workers started and warmed in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        result = render_batch(url, "income-statement", ids, YEAR, "pdf")
        batch = time.perf_counter() - t0
        assert len(result.files) == len(ids) and not result.errors, result.errors
        target = 1.2 * len(ids) * steady / cores
        print(
            f"batch: {len(ids)} statements across {cores} cores in {batch:.2f} s"
            f" ({batch / len(ids):.3f} s each)"
        )
        print(f"target one statement <= 0.5 s: {steady:.3f} s -> {'met' if steady <= 0.5 else 'NOT met'}")
        print(
            f"target batch <= 1.2 x {len(ids)} x {steady:.3f} / {cores} = {target:.2f} s: {batch:.2f} s -> "
            f"{'met' if batch <= target else 'NOT met'}"
        )
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (others slow both runs)")
        shutdown_pool()
        engine.dispose()


if __name__ == "__main__":
    main()
