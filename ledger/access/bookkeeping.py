"""Services over the books themselves (closing a month …): each returns the ``Write`` that a door carries out
with ``ledger.access.service.perform`` — scope, key, write, audit — so the API and the pages do the same."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from ledger.access.auth import Principal
from ledger.access.service import Write, org_keys
from ledger.books import periods


def close_period(
    actor: Principal, org_id: int, period: str, *, including: Sequence[str] = ()
) -> Write[list[str]]:
    """结账: close ``period``, and first the open months before it that ``including`` names (never others),
    for an officer of the org's street. The answer lists every month closed."""
    periods.parse_period(period)

    def run(conn: Connection) -> list[str]:
        return periods.close_period(conn, org_id, period, user_id=actor.recorded_id, including=including)

    return Write(
        action="period.close",
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=lambda conn: actor.require_org(conn, org_id, write=True),
        run=run,
        answer=lambda closed: {"period": period, "closed": closed},
        request={"close": [org_id, period, sorted(including)]},
        detail=period if not including else f"{period} (with {', '.join(sorted(including))})",
        status=200,
    )
