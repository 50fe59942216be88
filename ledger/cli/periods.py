"""``cunshe close-period ORG PERIOD [--including 2026-01,2026-02]``: a thin shell over ``close_period``.

Open months before PERIOD close only when named; a month not begun yet is refused. Errors exit 2 with code.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.books.errors import LedgerError
from ledger.books.orgs import org_by_code
from ledger.books.periods import close_period
from ledger.db.engine import make_engine, run_write
from ledger.settings import get_settings

DbOption = Annotated[
    str | None, typer.Option("--db", help="database URL (default: DATABASE_URL or ./cunshe.db)")
]


def close_period_cmd(
    org: Annotated[str, typer.Argument(help="org code")],
    period: Annotated[str, typer.Argument(help="the month to close, YYYY-MM")],
    including: Annotated[
        str, typer.Option("--including", help="the open months before PERIOD to close too: 2026-01,2026-02")
    ] = "",
    db: DbOption = None,
) -> None:
    """结账: close a month (and the earlier open months named with --including)."""
    engine = make_engine(db or get_settings().database_url)
    named = [m.strip() for m in including.split(",") if m.strip()]
    try:
        closed = run_write(
            engine, lambda conn: close_period(conn, org_by_code(conn, org).id, period, including=named)
        )
    except LedgerError as exc:
        typer.secho(
            f"error [{exc.code}]" + (f" {exc.field}" if exc.field else "") + f": {exc.message}",
            err=True,
            fg="red",
        )
        raise typer.Exit(2) from None
    typer.echo(f"{org}: closed {', '.join(closed)}")
