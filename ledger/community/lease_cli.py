"""``cunshe leases …``: the accrual run and the rent roll from the command line (same services as the API)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from sqlalchemy import Engine

from ledger.community import assets, leases, rentroll
from ledger.db.engine import make_engine, read_tx, run_write
from ledger.errors import LedgerError, ValidationError
from ledger.money import format_amount
from ledger.orgs import org_by_code
from ledger.progress import progress
from ledger.settings import get_settings

app = typer.Typer(
    help="Lease contracts (承包 / 租赁): accrual run, rent roll and arrears.", no_args_is_help=True
)

DbOption = Annotated[
    str | None, typer.Option("--db", help="database URL (default: DATABASE_URL or ./cunshe.db)")
]
OrgOption = Annotated[str | None, typer.Option("--org", help="a community or village code")]
StreetOption = Annotated[
    str | None, typer.Option("--street", help="a street code: every collective org of it")
]


def engine_for(db: str | None) -> Engine:
    return make_engine(db or get_settings().database_url)


def fail(exc: LedgerError) -> None:
    typer.secho(
        f"error [{exc.code}]" + (f" {exc.field}" if exc.field else "") + f": {exc.message}",
        err=True,
        fg="red",
    )
    raise typer.Exit(2)


def orgs_of(conn, org: str | None, street: str | None) -> list[int]:  # type: ignore[no-untyped-def]
    """The collective orgs named by ``--org`` or ``--street`` (exactly one of them)."""
    if (org is None) == (street is None):
        raise ValidationError("give one of --org or --street", field="org")
    row = org_by_code(conn, org or street)  # type: ignore[arg-type]
    if street is not None and row.kind != "street":
        raise ValidationError(f"{street} is a {row.kind}, not a street", field="street")
    return leases.collective_orgs_under(conn, row.id)


@app.command()
def accrue(
    through: Annotated[str, typer.Option("--through", help="YYYY-MM: post rent through this month")],
    org: OrgOption = None,
    street: StreetOption = None,
    db: DbOption = None,
) -> None:
    """Post every contract-month's rent through a month (idempotent: safe to rerun and to run twice)."""
    engine = engine_for(db)
    posted = replayed = amount = vouchers = 0
    try:
        with read_tx(engine) as conn:
            org_ids = orgs_of(conn, org, street)
        # One transaction per org: each is idempotent, so a rerun after an interruption finishes the rest.
        with progress(f"accruing rent through {through}", total=len(org_ids)) as bar:
            for org_id in org_ids:
                result = run_write(engine, lambda conn, o=org_id: leases.accrue_leases(conn, [o], through))
                posted, replayed, amount = (
                    posted + result.posted,
                    replayed + result.replayed,
                    amount + result.amount_fen,
                )
                vouchers += result.vouchers
                bar.advance()
    except LedgerError as exc:
        fail(exc)
    typer.echo(
        f"accrued {posted} contract-months through {through}: {format_amount(amount)}"
        + (f" on {vouchers} voucher{'s' if vouchers != 1 else ''}" if posted else "")
        + (f" ({replayed} already posted)" if replayed else "")
    )


@app.command("rent-roll")
def rent_roll_cmd(
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD")],
    org: OrgOption = None,
    street: StreetOption = None,
    db: DbOption = None,
) -> None:
    """Rent roll and arrears aging as of a date; contracts ending within 90 days; idle assets."""
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        fail(ValidationError(f"{as_of!r} is not a date (YYYY-MM-DD)", field="as_of"))
    try:
        with read_tx(engine_for(db)) as conn:
            ids = orgs_of(conn, org, street)
            rows = rentroll.rent_roll(conn, ids, day)
            idle = assets.list_assets(conn, ids, status="idle")
    except LedgerError as exc:
        fail(exc)
    typer.echo("org\tcontract\tlessee\tmonthly\tbilled\treceived\toutstanding")
    for r in rows:
        typer.echo(
            f"{r.org_code}\t{r.code}\t{r.lessee}\t{format_amount(r.monthly_rent_fen)}\t{format_amount(r.billed_fen)}"
            f"\t{format_amount(r.received_fen)}\t{format_amount(r.outstanding_fen)}"
        )
    aging = rentroll.aging_totals(rows)
    typer.echo("aging: " + ", ".join(f"{k} {format_amount(v)}" for k, v in aging.items()))
    for r in rentroll.expiring(rows, day):
        typer.echo(f"expiring: {r.org_code} {r.code} {r.lessee} {r.terminated_on or r.end}")
    for a in idle:
        typer.echo(f"idle: {a['org_code']} {a['name']} {a['location']}")
