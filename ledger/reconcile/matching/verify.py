"""``cunshe verify``: every confirmed match still agrees with its lines."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, select

from ledger.books.verify import Problem, register_check
from ledger.reconcile.matching.loading import successor_exists
from ledger.reconcile.matching.tables import item_t, match_t


@register_check
def reconciliation_records(conn: Connection, org_id: int) -> list[Problem]:
    """Confirmed matches hold: no line in two of them, and each one's two sides sum equal."""
    problems: list[Problem] = []
    sides: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    seen_s: dict[int, int] = {}
    seen_b: dict[int, int] = {}
    for r in conn.execute(
        select(
            item_t.c.match_id,
            item_t.c.statement_line_id,
            item_t.c.journal_line_id,
            item_t.c.role,
            item_t.c.amount_fen,
        )
        .join(match_t, match_t.c.id == item_t.c.match_id)
        .where(match_t.c.org_id == org_id, match_t.c.status == "confirmed", ~successor_exists())
    ):
        if r.statement_line_id is not None:
            other = seen_s.setdefault(r.statement_line_id, r.match_id)
            sides[r.match_id][0] += r.amount_fen
            line, kind = r.statement_line_id, "statement line"
        elif r.role == "book":
            other = seen_b.setdefault(r.journal_line_id, r.match_id)
            sides[r.match_id][1] += r.amount_fen
            line, kind = r.journal_line_id, "journal line"
        else:
            continue
        if other != r.match_id:
            problems.append(
                Problem(
                    org_id, "reconcile", f"{kind} {line} is in confirmed matches {other} and {r.match_id}"
                )
            )
    for match_id, (s_total, b_total) in sorted(sides.items()):
        if s_total != b_total:
            problems.append(
                Problem(
                    org_id,
                    "reconcile",
                    f"confirmed match {match_id}: statement {s_total} fen, books {b_total} fen",
                )
            )
    return problems
