"""Reconciliation benchmark: import a 100,000-line bank statement and propose matches against 100,000
ledger lines on SQLite (issue 7 target: ≤ 10 s for the two together).

    .venv/bin/python bench/reconcile_bench.py              # N = 100,000
    .venv/bin/python bench/reconcile_bench.py --n 20000

Builds a company with one bank account; posts N entries (Dr/Cr 1002 against 1122/2202, through
``post_entries``: not timed) in one month; writes the bank's export of the same month as a CCB-style CSV in
GBK: most lines equal to a posting (half of them with the serial in the entry's memo, a tenth a day or two
apart), a few split in the books, a few merged, and some bank-only and book-only lines. Then times, each in
its own transaction as the API runs them: ``import_statement`` (parse + store), ``propose_matches`` and the
银行存款余额调节表. A second import of the same file shows the dedupe path. Then the manual-match page's
search for open book lines (``find_open_book_lines``, issue 17): the month ± 7 days, any date by amount, one
voucher number, a month's range by amount (median of 5 runs each). Figures only: no assertions beyond
sanity.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.books.orgs import create_org
from ledger.books.posting import Draft, Line, post_entries
from ledger.db.engine import make_engine, read_tx, write_tx
from ledger.db.migrate import upgrade
from ledger.reconcile.importers import parse_statement
from ledger.reconcile.matching import BookSearch, find_open_book_lines, propose_matches
from ledger.reconcile.outputs import bank_reconciliation
from ledger.reconcile.statement_writers import BankTxn, write_bank_csv
from ledger.reconcile.store import create_statement_account, import_statement

BATCH = 2000
MONTH = date(2024, 3, 1)


def build(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    upgrade(engine)
    with write_tx(engine) as conn:
        county = create_org(conn, code="bench-county", name="基准县", kind="county")
        street = create_org(conn, code="bench-street", name="基准街道", kind="street", parent_id=county)
        org = create_org(conn, code="bench-co", name="基准公司", kind="company", parent_id=street)
        account = create_statement_account(conn, org, ledger_account="1002", kind="bank", name="基本户")
    engine.dispose()
    return org, account


def scenario(n: int, seed: int = 11) -> tuple[list[Draft], list[BankTxn]]:
    """N ledger lines on 1002 and about N bank lines for one month."""
    rng = random.Random(seed)
    drafts: list[Draft] = []
    txns: list[tuple[datetime, int, str, str]] = []  # when, fen, memo, serial
    org = 0  # filled in by the caller
    i = 0
    while len(drafts) < n:
        day = MONTH + timedelta(days=rng.randrange(28))
        when = datetime(
            day.year, day.month, day.day, rng.randrange(8, 18), rng.randrange(60), rng.randrange(60)
        )
        amount = rng.randint(100, 5_000_000) * (1 if rng.random() < 0.5 else -1)
        serial = f"{i:012d}"
        i += 1
        kind = rng.random()
        book_day = day
        if kind < 0.10:  # booked a day or two later
            book_day = min(day + timedelta(days=rng.randint(1, 2)), MONTH + timedelta(days=30))
        memo = f"流水号 {serial}" if rng.random() < 0.5 else "收付款"
        if kind > 0.98 and len(drafts) + 2 <= n:  # one bank line, two postings (split)
            first = amount // 2
            drafts.append(_draft(org, book_day, first, "分笔一"))
            drafts.append(_draft(org, book_day, amount - first, "分笔二"))
            txns.append((when, amount, "合并到账", serial))
            continue
        if 0.96 < kind <= 0.98:  # two bank lines, one posting (merged)
            first = amount // 2
            txns.append((when, first, "分次一", serial))
            txns.append((when + timedelta(minutes=1), amount - first, "分次二", serial + "b"))
            drafts.append(_draft(org, book_day, amount, "合并入账"))
            continue
        if 0.94 < kind <= 0.96:  # book only (未达账项)
            drafts.append(_draft(org, book_day, amount, memo))
            continue
        if 0.92 < kind <= 0.94:  # bank only
            txns.append((when, amount, "银行代扣", serial))
            continue
        drafts.append(_draft(org, book_day, amount, memo))
        txns.append((when, amount, "往来款", serial))
    txns.sort()
    balance = Decimal("1000000.00")
    bank = []
    for when, fen, memo, serial in txns:
        value = Decimal(fen) / 100
        balance += value
        bank.append(BankTxn(when, value, balance, "对方单位", "6222000000000000", memo, serial))
    return drafts, bank


def _draft(org: int, on: date, amount: int, memo: str) -> Draft:
    if amount > 0:
        lines = [Line("1002", debit_fen=amount), Line("1122", credit_fen=amount)]
    else:
        lines = [Line("2202", debit_fen=-amount), Line("1002", credit_fen=-amount)]
    return Draft(org, on, memo, lines)


def stolen_seconds() -> float:
    """CPU time the hypervisor took from this machine so far (Linux ``/proc/stat`` steal), 0 elsewhere.

    On a shared VM the CPU seconds of a run swing by ±40 % with it, at any load average."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return 0.0
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="ledger lines on the bank account")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cunshe-recon-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        org, account = build(url)
        drafts, bank = scenario(args.n)
        drafts = [Draft(org, d.entry_date, d.memo, d.lines) for d in drafts]
        engine = make_engine(url)
        start = time.perf_counter()
        for k in range(0, len(drafts), BATCH):
            with write_tx(engine) as conn:
                post_entries(conn, drafts[k : k + BATCH])
        print(f"setup: posted {len(drafts):,} entries in {time.perf_counter() - start:.1f} s (not timed)")
        path = write_bank_csv(Path(tmp) / "bank.csv", bank, layout="ccb_corporate", encoding="gbk")
        print(f"setup: wrote {len(bank):,} bank lines, {path.stat().st_size / 1e6:.1f} MB GBK CSV")

        steal0 = stolen_seconds()
        t0, c0 = time.perf_counter(), time.process_time()
        parsed = parse_statement(path)
        tp, cp = time.perf_counter(), time.process_time()
        with write_tx(engine) as conn:
            imported = import_statement(conn, org, account, path)
        t1, c1 = time.perf_counter(), time.process_time()
        with write_tx(engine) as conn:
            proposed = propose_matches(conn, org, account, "2024-03")
        t2, c2 = time.perf_counter(), time.process_time()
        steal = stolen_seconds() - steal0
        with read_tx(engine) as conn:
            rec = bank_reconciliation(conn, org, account, "2024-03")
        t3 = time.perf_counter()
        with write_tx(engine) as conn:
            again = import_statement(conn, org, account, path)
        t4 = time.perf_counter()

        print(
            f"parse alone (importers.parse_statement): {len(parsed.lines):,} lines in {tp - t0:.2f} s wall,"
            f" {cp - c0:.2f} s CPU"
        )
        print(
            f"import:   {imported.line_count:,} lines ({imported.new_count:,} new) in {t1 - tp:.2f} s"
            f" wall, {c1 - cp:.2f} s CPU (parse + store)"
        )
        print(
            f"propose:  {proposed.statement_lines:,} statement × {proposed.book_lines:,} ledger lines → "
            f"{proposed.proposed:,} proposals, {proposed.unmatched_statement_lines:,} statement lines left, "
            f"in {t2 - t1:.2f} s wall, {c2 - c1:.2f} s CPU"
        )
        print(
            f"import + propose: {t2 - tp:.2f} s wall, {c2 - cp:.2f} s CPU (target ≤ 10 s); "
            f"{steal:.2f} s stolen by the host, load average {os.getloadavg()[0]:.2f}"
        )
        print(
            f"调节表:   {len(rec.bank_received) + len(rec.bank_paid):,} bank-side and "
            f"{len(rec.book_received) + len(rec.book_paid):,} book-side outstanding items in {t3 - t2:.2f} s "
            "(nothing confirmed yet)"
        )
        print(f"re-import of the same file: {again.new_count} new in {t4 - t3:.2f} s")
        searches = {
            "month ± 7 days": BookSearch(MONTH - timedelta(days=7), date(2024, 4, 7)),
            "any date, by amount": BookSearch(amount_fen=drafts[len(drafts) // 2].lines[0].debit_fen or 1),
            "one voucher number": BookSearch(voucher_no=_voucher_of(engine, org, len(drafts) // 2)),
            "a month, by amount": BookSearch(MONTH, date(2024, 3, 31), amount_fen=12_345),
        }
        for name, search in searches.items():
            times, cpu, found = [], [], 0
            for _ in range(5):
                t, c = time.perf_counter(), time.process_time()
                with read_tx(engine) as conn:
                    found = len(find_open_book_lines(conn, org, "1002", search)[0])
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            print(
                f"manual-match search, {name}: {found} lines in {sorted(times)[2] * 1000:.1f} ms wall, "
                f"{sorted(cpu)[2] * 1000:.1f} ms CPU (medians of 5)"
            )
        engine.dispose()


def _voucher_of(engine: object, org: int, seq: int) -> str:
    from sqlalchemy import text

    with read_tx(engine) as conn:  # type: ignore[arg-type]
        return str(
            conn.execute(
                text("SELECT voucher_no FROM journal_entry WHERE org_id = :o ORDER BY id LIMIT 1 OFFSET :k"),
                {"o": org, "k": seq},
            ).scalar_one()
        )


if __name__ == "__main__":
    main()
