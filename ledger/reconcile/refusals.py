"""Every problem of a refused statement file, kept for the download its refusal links to.

A refused import writes nothing of the file. The answer names the count and the first 20 problems; the
whole list (up to the importer's 10,000) is kept here under a random token, in a transaction of its own
after the import's has rolled back, and served as CSV to whoever may read the org's books. A note older
than ``KEPT_FOR`` is deleted when the next one is kept: it is a note about a refusal, not the books.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from ledger.books.errors import NotFound
from ledger.reconcile.models import StatementRefusal

refusal_t = StatementRefusal.__table__
KEPT_FOR = timedelta(days=7)


def problems_csv(problems: Iterable[Mapping[str, Any]]) -> str:
    """line, column, message: one row per problem, as the CLI's ``FILE.problems.csv``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["line", "column", "message"])
    writer.writerows([p.get("line") or "", p.get("column") or "", p["message"]] for p in problems)
    return out.getvalue()


def keep_refusal(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    *,
    file_name: str,
    problems: list[dict[str, Any]],
    problem_count: int,
    user_id: int | None,
) -> str:
    """Keep a refused file's problems; returns the token of their download."""
    now = datetime.now(UTC)
    conn.execute(delete(refusal_t).where(refusal_t.c.created_at < now - KEPT_FOR))
    token = secrets.token_urlsafe(16)
    conn.execute(
        insert(refusal_t).values(
            token=token,
            org_id=org_id,
            statement_account_id=statement_account_id,
            file_name=file_name[:255],
            problem_count=problem_count,
            problems_csv=problems_csv(problems),
            created_by=user_id,
            created_at=now,
        )
    )
    return token


def refusal_csv(conn: Connection, org_id: int, token: str) -> tuple[str, bytes]:
    """(the refused file's name, its problems as CSV in UTF-8 with a BOM, for Excel); 404 for another
    org's token or one that has expired."""
    row = conn.execute(
        select(refusal_t.c.file_name, refusal_t.c.problems_csv).where(
            refusal_t.c.token == token, refusal_t.c.org_id == org_id
        )
    ).first()
    if row is None:
        raise NotFound("no such list of problems (they are kept for a week)", field="token")
    return row.file_name, ("\ufeff" + row.problems_csv).encode("utf-8")
