"""``cunshe community …``: welfare stipends, idle assets and subsidies from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.community import assets, welfare
from ledger.community.lease_cli import DbOption, OrgOption, StreetOption, engine_for, fail, orgs_of
from ledger.db.engine import read_tx, run_write
from ledger.errors import LedgerError
from ledger.money import format_amount

app = typer.Typer(
    help="A community's own business: assets, welfare posts (公益性岗位).", no_args_is_help=True
)


@app.command()
def stipends(
    through: Annotated[str, typer.Option("--through", help="YYYY-MM")],
    org: OrgOption = None,
    street: StreetOption = None,
    db: DbOption = None,
) -> None:
    """Post every welfare post's monthly stipend through a month (idempotent per post and month)."""
    try:
        run = run_write(
            engine_for(db), lambda conn: welfare.run_stipends(conn, orgs_of(conn, org, street), through)
        )
    except LedgerError as exc:
        fail(exc)
    typer.echo(f"posted {run.posted} stipend-months through {through}: {format_amount(run.amount_fen)}")


@app.command("idle-assets")
def idle_assets(org: OrgOption = None, street: StreetOption = None, db: DbOption = None) -> None:
    """Idle assets (闲置资产) of an org or of every collective org of a street."""
    try:
        with read_tx(engine_for(db)) as conn:
            rows = assets.list_assets(conn, orgs_of(conn, org, street), status="idle")
    except LedgerError as exc:
        fail(exc)
    for a in rows:
        typer.echo(f"{a['org_code']}\t{a['kind']}\t{a['name']}\t{a['location']}\t{a['certificate_no']}")
