"""The year's distribution in the demo: the plan a members' (or shareholders') meeting approves on the
year's last day, executed at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Connection

from ledger.distribution.execute import approve_plan, create_plan, execute_plan
from ledger.distribution.plans import Step


def distribute(
    conn: Connection, org: int, year: int, steps: Sequence[Step], *, approving_body: str, document_no: str
) -> int:
    """Create ``org``'s plan for ``year``, approve it under ``document_no`` on 31 December and execute it;
    returns the plan's id."""
    plan = create_plan(conn, org, year, steps)
    approve_plan(
        conn,
        plan,
        approving_body=approving_body,
        resolution_date=date(year, 12, 31),
        document_no=document_no,
    )
    execute_plan(conn, plan)
    return plan
