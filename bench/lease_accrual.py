"""Bench: a full lease accrual run and the rent roll of a street.

27 communities × 40 contracts × 10 years (2016–2025) of rent: 123,039 contract-months with rent (free months
and mid-month starts leave the rest), posted in one ``accrue_leases`` run as one summary voucher per org and
month (3,240 vouchers: Dr 112 / Cr 50102 per contract, one Cr 214), then a rerun with nothing to post and the
street's rent roll as of the last day. Target: the accrual run in ≤ 5 s on SQLite (2-core machine).
Wall time suffers from other load on the machine; CPU seconds (``time.process_time``) are printed beside it.

    .venv/bin/python bench/lease_accrual.py                 # SQLite file in a temporary directory
    .venv/bin/python bench/lease_accrual.py --db postgresql://postgres@127.0.0.1:5432/bench --orgs 9
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import text

from ledger.books.orgs import create_org
from ledger.community.leases import contracts as leases
from ledger.community.leases import receipts, rentroll
from ledger.community.leases.schedule import BillingCycle, LeaseTerms
from ledger.db.engine import make_engine, read_tx, run_write, write_tx
from ledger.db.migrate import upgrade


def build(engine, orgs: int, contracts: int, years: int) -> list[int]:  # type: ignore[no-untyped-def]
    cycles = list(BillingCycle)
    with write_tx(engine) as conn:
        county = create_org(conn, code="bench-county", name="沿河县", kind="county")
        street = create_org(conn, code="bench-street", name="和平街道", kind="street", parent_id=county)
        ids = []
        for o in range(orgs):
            org = create_org(
                conn, code=f"bench-{o}", name=f"和平街道第{o + 1}社区", kind="community", parent_id=street
            )
            ids.append(org)
            for c in range(contracts):
                start = date(2016, 1 + c % 12, 1 + c % 28)
                terms = LeaseTerms(
                    start=start,
                    end=date(start.year + years, start.month, start.day) - timedelta(days=1),
                    # distinct per org too, so no two contracts share a schedule (leases caches them by terms)
                    rent_per_cycle_fen=100_000 * BillingCycle(cycles[c % 4]).months + c * 1_001 + o * 10,
                    cycle=cycles[c % 4],
                    free_months=c % 3,
                    escalation_bp=300 if c % 2 else 0,
                    escalation_every_years=1 if c % 2 else 0,
                )
                leases.create_contract(
                    conn, org, code=f"HT-{c:03d}", mode="lease", lessee=f"承租人{c}", terms=terms
                )
    return ids


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db")
    ap.add_argument("--orgs", type=int, default=27)
    ap.add_argument("--contracts", type=int, default=40)
    ap.add_argument("--years", type=int, default=10)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    ids = build(engine, args.orgs, args.contracts, args.years)
    through = f"{2016 + args.years - 1}-12"

    core = [0.0, 0.0]  # wall, CPU
    post = leases.post_entries

    def timed_post(*a, **kw):  # type: ignore[no-untyped-def]
        t, c = time.perf_counter(), time.process_time()
        try:
            return post(*a, **kw)
        finally:
            core[0] += time.perf_counter() - t
            core[1] += time.process_time() - c

    leases.post_entries = timed_post  # type: ignore[assignment]
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_write(engine, lambda conn: leases.accrue_leases(conn, ids, through))
    t_accrue, c_accrue = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    again = run_write(engine, lambda conn: leases.accrue_leases(conn, ids, through))
    t_rerun = time.perf_counter() - t0
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    with read_tx(engine) as conn:
        vouchers = conn.execute(
            text("SELECT count(*), max(line_count) FROM journal_entry WHERE source = 'lease'")
        ).one()

    with write_tx(engine) as conn:  # every lessee pays a year's rent, so the roll has receipts and arrears
        for org in ids:
            for c in range(args.contracts):
                receipts.receive_rent(
                    conn,
                    org,
                    lessee=f"承租人{c}",
                    amount_fen=1_200_000,
                    received_on=date(2016 + args.years - 1, 6, 1),
                )
    t0, c0 = time.perf_counter(), time.process_time()
    with read_tx(engine) as conn:
        rows = rentroll.rent_roll(conn, ids, date(2016 + args.years - 1, 12, 31))
    t_roll, c_roll = time.perf_counter() - t0, time.process_time() - c0
    aging = rentroll.aging_totals(rows)

    print(f"database: {engine.dialect.name}; load average during the run {' '.join(load)}")
    rate = result.posted / t_accrue
    print(
        f"accrual run: {result.posted} contract-months in {t_accrue:.2f} s ({rate:,.0f}/s),"
        f" CPU {c_accrue:.2f} s"
    )
    print(f"  {vouchers[0]:,} summary vouchers, at most {vouchers[1]} lines each")
    print(
        f"  of which post_entries (ledger core: validation, chain, triggers): {core[0]:.2f} s,"
        f" CPU {core[1]:.2f} s"
    )
    print(f"rerun (nothing to post): {again.posted} in {t_rerun:.2f} s")
    outstanding = sum(r.outstanding_fen for r in rows) / 100
    print(
        f"rent roll: {len(rows)} contracts in {t_roll:.2f} s (CPU {c_roll:.2f} s);"
        f" outstanding {outstanding:,.2f}"
    )
    print("aging: " + ", ".join(f"{k} {v / 100:,.2f}" for k, v in aging.items()))


if __name__ == "__main__":
    main()
