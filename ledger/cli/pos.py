"""``cunshe pos …``: the back office of the joint supermarkets from the command line.

Thin shells over the same services the API uses (``pos.services``: catalogue import, stores, tax rates;
reads of stock and shift reports); every write is that service's ``Write``, carried out as the CLI actor with
``--key`` as its idempotency key, and audited with ``(cli)``. Nothing here posts a sale: sales come from
the tills through the API.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Connection, select

from ledger.access.auth import Principal
from ledger.access.service import Write
from ledger.books.errors import LedgerError, ValidationError
from ledger.books.money import format_amount, format_quantity
from ledger.cli.options import DbOption, KeyOption, engine_for, fail, org_of, run_service
from ledger.cli.tables import JsonOption, print_json
from ledger.db.engine import read_tx
from ledger.db.models import Store
from pos import catalogue, services, stock

app = typer.Typer(
    help="POS of the joint supermarkets (村社联动超市): catalogue, stores, stock.", no_args_is_help=True
)


CompanyArg = Annotated[str, typer.Argument(help="company org (code or id)")]


def _company_write(
    db: str | None, company: str, write_for: Callable[[Principal, int], Write[Any]], key: str | None
) -> Any:
    """A write of the company's back office carried out as the CLI actor (``run_service``); its answer.
    A refusal that names the org names the COMPANY argument."""
    return run_service(db, company, write_for, key=key, option_names={"org": "COMPANY"})[1]


def _company(conn: Connection, code: str) -> int:
    org = org_of(conn, code)
    if org.kind != "company":
        raise LedgerError(f"{code} is a {org.kind}, not a company", field="company", code="invalid")
    return org.id


@app.command("import-catalogue")
def import_catalogue(
    company: CompanyArg,
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GB18030) or XLSX", exists=True, dir_okay=False)],
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Create or update products by SKU from a catalogue file (the columns of export-catalogue)."""
    data = file.read_bytes()
    done = _company_write(
        db, company, lambda actor, org_id: services.import_catalogue(actor, org_id, data, file.name), key
    )
    typer.echo(f"{done['created']} products created, {done['updated']} updated")


@app.command("export-catalogue")
def export_catalogue(
    company: CompanyArg,
    out: Annotated[Path, typer.Argument(help="output file; .xlsx for Excel, otherwise CSV")],
    db: DbOption = None,
) -> None:
    """Write the company's catalogue as CSV (UTF-8 with BOM) or XLSX."""
    fmt = "xlsx" if out.suffix.lower() == ".xlsx" else "csv"
    try:
        with read_tx(engine_for(db)) as conn:
            data = catalogue.export_catalogue(conn, _company(conn, company), fmt)
    except LedgerError as exc:
        fail(exc)
    out.write_bytes(data)
    typer.echo(f"catalogue written to {out}")


@app.command("add-store")
def add_store(
    company: CompanyArg,
    code: str,
    name: str,
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Open a store (村社联动超市) under a company."""
    store = _company_write(
        db, company, lambda actor, org_id: services.create_store(actor, org_id, code=code, name=name), key
    )
    typer.echo(f"store {store['id']} {code} created")


@app.command("set-tax-rate")
def set_tax_rate(
    company: CompanyArg,
    category: Annotated[str, typer.Argument(help="goods or services")],
    rate_bp: Annotated[int, typer.Argument(help="basis points: 1% = 100")],
    effective_from: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Add a dated row to the company's tax-rate table (confirm rates with the local tax office)."""
    try:
        day = date.fromisoformat(effective_from)
    except ValueError:
        fail(ValidationError(f"{effective_from!r} is not a date (YYYY-MM-DD)", field="EFFECTIVE_FROM"))
    _company_write(
        db, company, lambda actor, org_id: services.set_tax_rate(actor, org_id, category, rate_bp, day), key
    )
    typer.echo(f"{category}: {rate_bp / 100:g}% from {effective_from}")


@app.command("stock")
def show_stock(
    store: Annotated[str, typer.Argument(help="store code")],
    exceptions: Annotated[bool, typer.Option(help="only products sold beyond recorded stock")] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Stock per product at moving-average cost (or the stock-exceptions list)."""
    st = Store.__table__
    with read_tx(engine_for(db)) as conn:
        row = conn.execute(select(st.c.id).where(st.c.code == store)).first()
        if row is None:
            fail(LedgerError(f"no store {store!r}", field="store", code="not_found"))
        levels = stock.stock_levels(conn, row.id, exceptions_only=exceptions)
    rows = [
        {"sku": r["sku"], "name": r["name"], "quantity": format_quantity(r["qty_milli"]), "unit": r["unit"],
         "value": format_amount(r["value_fen"])}
        for r in levels
    ]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['sku']}\t{r['quantity']} {r['unit']}\t{r['value']}\t{r['name']}")
