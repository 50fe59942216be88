"""Books for the books' tests: balances from textbook entries (``balances_after``), and a posting written by
raw SQL, so that a test can show the database's own guards refuse what the services would never send."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import text


def raw_posting(  # type: ignore[no-untyped-def]
    conn,
    org_id: int,
    lines: list[tuple[str, int, int]],
    *,
    line_org: int | None = None,
    line_period: str = "2025-04",
    total: int | None = None,
    line_count: int | None = None,
    entry_date: str = "2025-04-01",
) -> None:
    """Lines then their entry, by raw SQL: what a careless script could write past the posting code."""
    for n, (code, debit, credit) in enumerate(lines, start=1):
        conn.execute(
            text(
                "INSERT INTO journal_line (entry_id, org_id, period, line_no, account_id, debit_fen, "
                "credit_fen, memo) VALUES (900020, :lo, :lp, :n, (SELECT id FROM account WHERE org_id = :lo "
                "AND code = :c), :d, :cr, '')"
            ),
            {"lo": line_org or org_id, "lp": line_period, "n": n, "c": code, "d": debit, "cr": credit},
        )
    conn.execute(
        text(
            "INSERT INTO journal_entry (id, org_id, seq, entry_date, period, voucher_no, memo, source, "
            "created_at, total_fen, line_count, prev_hash, hash) VALUES (900020, :o, 99, :day, '2025-04', "
            "'raw', '', 'manual', '2025-04-01 00:00:00+00:00', :t, :k, '', '')"
        ),
        {
            "o": org_id,
            "day": entry_date,
            "t": sum(d for _, d, _ in lines) if total is None else total,
            "k": len(lines) if line_count is None else line_count,
        },
    )


def balances_after(*entries: tuple[str, str, int]) -> dict[str, int]:
    """Balances (debit positive) after posting each (借 account, 贷 account, fen) entry: books stated as
    textbook entries, so that every expected figure can be checked by hand."""
    balances: dict[str, int] = defaultdict(int)
    for debit, credit, fen in entries:
        balances[debit] += fen
        balances[credit] -= fen
    assert sum(balances.values()) == 0
    return dict(balances)
