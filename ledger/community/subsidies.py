"""补助收入 (subsidies): money granted to the collective, with where it came from.

    Dr 102 银行存款 / Cr 503 补助收入

503 stays a leaf account: the source (``工作经费`` from the county — at least ¥100,000 a year per community —
or any other grant) is kept on the ``subsidy`` row and in the line memo, so a report can total by source
without opening a sub-account per grant (and without stranding a balance already posted to 503).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from ledger.books.errors import ValidationError
from ledger.books.posting import Draft, Line
from ledger.community import accounts as acct
from ledger.community.idempotency import post_recorded
from ledger.community.leases.contracts import require_collective
from ledger.community.models import Subsidy

subsidy_t = Subsidy.__table__

WORK_FUND = "工作经费"


def receive_subsidy(
    conn: Connection,
    org_id: int,
    *,
    source: str,
    amount_fen: int,
    received_on: date,
    grantor: str = "",
    cash_account: str = acct.BANK,
    idempotency_key: str | None = None,
    user_id: int | None = None,
) -> int:
    """Record a subsidy received and post it; returns the subsidy id (the original one on a retry)."""
    require_collective(conn, org_id)
    if not source.strip():
        raise ValidationError("say what the subsidy is for (工作经费 …)", field="source")
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise ValidationError("the amount must be more than zero", field="amount")
    if cash_account not in acct.CASH_ACCOUNTS:
        raise ValidationError(
            f"subsidies are received into {' or '.join(acct.CASH_ACCOUNTS)}", field="cash_account"
        )
    memo = f"收{grantor.strip()}{source.strip()}"
    draft = Draft(
        org_id=org_id,
        entry_date=received_on,
        memo=memo,
        lines=[
            Line(cash_account, debit_fen=amount_fen),
            Line(acct.SUBSIDY_INCOME, credit_fen=amount_fen, memo=source.strip()),
        ],
        source="manual",
        source_ref=f"subsidy:{source.strip()}"[:128],
        idempotency_key=idempotency_key,
    )
    row = {
        "org_id": org_id,
        "source": source.strip(),
        "grantor": grantor.strip(),
        "received_on": received_on,
        "amount_fen": amount_fen,
    }
    return post_recorded(conn, draft, subsidy_t, row, user_id=user_id).row_id


def totals_by_source(conn: Connection, org_ids: Sequence[int], year: int) -> list[dict[str, Any]]:
    """Per org and source: the subsidies received in ``year``."""
    rows = conn.execute(
        select(subsidy_t.c.org_id, subsidy_t.c.source, func.sum(subsidy_t.c.amount_fen))
        .where(
            subsidy_t.c.org_id.in_(list(org_ids)),
            subsidy_t.c.received_on >= date(year, 1, 1),
            subsidy_t.c.received_on <= date(year, 12, 31),
        )
        .group_by(subsidy_t.c.org_id, subsidy_t.c.source)
        .order_by(subsidy_t.c.org_id, subsidy_t.c.source)
    )
    return [{"org_id": o, "source": s, "amount_fen": int(t)} for o, s, t in rows]
