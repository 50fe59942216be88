"""``cunshe … close-year`` and ``cunshe … plan dry-run | execute | reverse``: thin shells over the services.

Orgs are named by code (``heping-co``); amounts print as decimal strings. Errors exit 2 with the code.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from ledger.books.errors import LedgerError
from ledger.books.money import format_amount
from ledger.books.orgs import org_by_code
from ledger.cli.options import DbOption, engine_for, fail
from ledger.db.engine import read_tx, run_write
from ledger.distribution import execute as ex
from ledger.distribution import vat
from ledger.distribution.plans import DryRun
from ledger.distribution.yearend import close_year

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
    org: Annotated[str, typer.Argument(help="org code")],
    year: Annotated[int, typer.Argument(help="the year to close, e.g. 2025")],
    db: DbOption = None,
) -> None:
    """年终结账: income and expenses into 321/3103, then 322/3104 (refused while sources are open)."""
    engine = engine_for(db)
    try:
        done = run_write(engine, lambda conn: close_year(conn, org_by_code(conn, org).id, year))
    except LedgerError as exc:
        fail(exc)
    for e in done.entries:
        typer.echo(f"{e.voucher_no} (entry {e.id}){'' if e.created else ' already posted'}")
    typer.echo(f"{org} {year}: net income {format_amount(done.profit_fen)}")


@plan_app.command("dry-run")
def plan_dry_run_cmd(plan_id: int, db: DbOption = None) -> None:
    """Show the whole plan to the fen; nothing posts."""
    try:
        with read_tx(engine_for(db)) as conn:
            run = ex.dry_run_plan(conn, plan_id)
    except LedgerError as exc:
        fail(exc)
    print_dry_run(run)


@plan_app.command("execute")
def plan_execute_cmd(
    plan_id: int,
    on: Annotated[
        str | None, typer.Option("--date", help="entry date (default: 31 Dec or the resolution)")
    ] = None,
    db: DbOption = None,
) -> None:
    """Post an approved plan: the org's entries and each shareholder's, linked, all or nothing."""
    when = date.fromisoformat(on) if on else None
    try:
        done = run_write(engine_for(db), lambda conn: ex.execute_plan(conn, plan_id, entry_date=when))
    except LedgerError as exc:
        fail(exc)
    print_dry_run(done.result)
    typer.echo(f"posted {len(done.entries)} entries on link {done.link_id}")


@plan_app.command("reverse")
def plan_reverse_cmd(
    plan_id: int, on: Annotated[str, typer.Option("--date", help="date of the reversal")], db: DbOption = None
) -> None:
    """红字冲销 every entry the plan posted, in every org."""
    try:
        posted = run_write(
            engine_for(db), lambda conn: ex.reverse_plan(conn, plan_id, entry_date=date.fromisoformat(on))
        )
    except LedgerError as exc:
        fail(exc)
    typer.echo(f"reversed: {', '.join(p.voucher_no for p in posted)}")


@app.command("vat-exempt")
def vat_exempt_cmd(org: str, year: int, quarter: int, db: DbOption = None) -> None:
    """Within the quarterly threshold, move the quarter's output VAT to income."""
    try:
        q = run_write(
            engine_for(db),
            lambda conn: vat.post_vat_exemption(conn, org_by_code(conn, org).id, year, quarter),
        )
    except LedgerError as exc:
        fail(exc)
    state = "exempt" if q.exempt else "over the threshold: VAT payable"
    typer.echo(
        f"{org} {year}Q{quarter}: sales {format_amount(q.sales_fen)} / threshold "
        f"{format_amount(q.threshold_fen)}: {state}; VAT {format_amount(q.vat_fen)}; entry {q.entry_id}"
    )
