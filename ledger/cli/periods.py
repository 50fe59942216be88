"""``cunshe close-period ORG PERIOD [--including 2026-01,2026-02]``: the month close of the API and the pages
(``ledger.access.bookkeeping.close_period``), carried out as the CLI actor.

Open months before PERIOD close only when named; a month not begun yet is refused. Errors exit 2 with code.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.access import bookkeeping
from ledger.cli.options import DbOption, KeyOption, run_service


def close_period_cmd(
    org: Annotated[str, typer.Argument(help="org code or id")],
    period: Annotated[str, typer.Argument(help="the month to close, YYYY-MM")],
    including: Annotated[
        str, typer.Option("--including", help="the open months before PERIOD to close too: 2026-01,2026-02")
    ] = "",
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """结账: close a month (and the earlier open months named with --including)."""
    named = [m.strip() for m in including.split(",") if m.strip()]
    _, done = run_service(
        db,
        org,
        lambda actor, org_id: bookkeeping.close_period(actor, org_id, period, including=named),
        key=key,
        option_names={"period": "PERIOD", "including": "--including"},
    )
    typer.echo(f"{org}: closed {', '.join(done['closed'])}")
