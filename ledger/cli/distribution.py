"""``cunshe … close-year`` and ``cunshe … plan dry-run | execute | reverse``: thin shells over the services.

Orgs are named by code (``heping-co``) or id; amounts print as decimal strings. Errors exit 2 with the code.
Every write is the year end's own service (``ledger.distribution.services``, the one the API carries out),
done as the CLI actor; ``--key`` makes a rerun write nothing again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

import typer
from sqlalchemy import Connection

from ledger.books.errors import LedgerError, ValidationError
from ledger.books.money import format_amount
from ledger.cli.options import DbOption, KeyOption, engine_for, fail, run_service
from ledger.cli.tables import JsonOption, print_json
from ledger.db.engine import read_tx
from ledger.distribution import execute as ex
from ledger.distribution import services
from ledger.distribution.plans import DryRun

app = typer.Typer(help="Year-end close and profit distribution (年终结账与收益分配).", no_args_is_help=True)
plan_app = typer.Typer(help="Distribution plans.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")


def print_dry_run(run: DryRun) -> None:
    f = format_amount
    typer.echo(f"本年收益/净利润 {f(run.facts.profit_fen)}  年初未分配 {f(run.facts.brought_forward_fen)}")
    typer.echo(f"可分配 {f(run.distributable_fen)}  (base {f(run.base_fen)})")
    for line in run.lines:
        typer.echo(f"  {line.order:>2} {line.label:<12} {f(line.amount_fen):>18}  {line.basis}")
        for share in line.shares:
            typer.echo(f"       {share.recipient.name:<16} {f(share.amount_fen):>18}")
    typer.echo(f"分配合计 {f(run.distributed_fen)}  年末未分配 {f(run.undistributed_fen)}")


@app.command("close-year")
def close_year_cmd(
    org: Annotated[str, typer.Argument(help="org code or id")],
    year: Annotated[int, typer.Argument(help="the year to close, e.g. 2025")],
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """年终结账: income and expenses into 321/3103, then 322/3104 (refused while sources are open)."""
    _, done = run_service(db, org, lambda actor, org_id: services.year_close(actor, org_id, year), key=key)
    for e in done["entries"]:
        typer.echo(f"{e['voucher_no']} (entry {e['id']}){'' if e['created'] else ' already posted'}")
    typer.echo(f"{org} {year}: net income {done['profit']}")


@plan_app.command("dry-run")
def plan_dry_run_cmd(plan_id: int, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Show the whole plan to the fen; nothing posts."""
    try:
        with read_tx(engine_for(db)) as conn:
            run = ex.dry_run_plan(conn, plan_id)
    except LedgerError as exc:
        fail(exc)
    if as_json:
        print_json(run)
        return
    print_dry_run(run)


@plan_app.command("execute")
def plan_execute_cmd(
    plan_id: int,
    on: Annotated[
        str | None, typer.Option("--date", help="entry date (default: 31 Dec or the resolution)")
    ] = None,
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Post an approved plan: the org's entries and each shareholder's, linked, all or nothing."""
    when = _day(on) if on else None
    _, done = run_service(
        db,
        _plan_org(plan_id),
        lambda actor, org_id: services.execute_plan(actor, org_id, plan_id, entry_date=when),
        key=key,
    )
    for e in done["entries"]:
        typer.echo(f"{e['voucher_no']} (entry {e['id']})")
    typer.echo(f"posted {len(done['entries'])} entries on link {done['execution']['link_id']}")


@plan_app.command("reverse")
def plan_reverse_cmd(
    plan_id: int,
    on: Annotated[str, typer.Option("--date", help="date of the reversal")],
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """红字冲销 every entry the plan posted, in every org."""
    when = _day(on)
    _, done = run_service(
        db,
        _plan_org(plan_id),
        lambda actor, org_id: services.reverse_plan(actor, org_id, plan_id, entry_date=when),
        key=key,
    )
    typer.echo(f"reversed: {', '.join(e['voucher_no'] for e in done['entries'])}")


@app.command("vat-exempt")
def vat_exempt_cmd(org: str, year: int, quarter: int, key: KeyOption = None, db: DbOption = None) -> None:
    """Within the quarterly threshold, move the quarter's output VAT to income."""
    if not 1 <= quarter <= 4:
        fail(ValidationError(f"{quarter} is not a quarter (1–4)", field="QUARTER"))
    _, q = run_service(
        db, org, lambda actor, org_id: services.vat_exemption(actor, org_id, year, quarter), key=key
    )
    state = "exempt" if q["exempt"] else "over the threshold: VAT payable"
    typer.echo(
        f"{org} {year}Q{quarter}: sales {q['sales']} / threshold {q['threshold']}: {state}; "
        f"VAT {q['vat']}; entry {q['entry_id']}"
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(ValidationError(f"{text!r} is not a date (YYYY-MM-DD)", field="--date"))


def _plan_org(plan_id: int) -> Callable[[Connection], int]:
    """The org whose plan this is: its books are the write's scope and its keys the keyspace."""
    return lambda conn: ex.get_plan(conn, plan_id).org_id
