"""``cunshe report`` and ``cunshe report-batch``: the download route's files, written to disk.

    cunshe report income-statement --org dingzikou --period 2025 --format pdf
    cunshe report balance-sheet --org heping --standard collective --period 2025-03 --format xlsx
    cunshe report-batch income-statement --org heping --period 2025 --out heping-2025.zip

``app`` holds both commands (``report_cmd`` and ``report_batch_cmd``) for the top-level ``cunshe`` to
register. The same services as the API build and render; only the file name and place are chosen here.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ledger.books.errors import LedgerError
from ledger.cli.options import DbOption, engine_for, fail, org_id_of, org_of
from ledger.cli.progress import progress
from ledger.db.engine import make_engine, read_tx
from ledger.settings import get_settings
from reports.builders_base import parse_report_period
from reports.builders_batch import batch_orgs, render_batch, render_report
from reports.registry import REPORTS
from reports.report import LANGS, as_lang

app = typer.Typer(help="Reports: statements, books, vouchers, disclosure sheets.", no_args_is_help=True)

PeriodOption = Annotated[str | None, typer.Option(help="YYYY-MM, YYYY-Qn or YYYY")]
FromOption = Annotated[str | None, typer.Option("--from", help="first month YYYY-MM")]
ToOption = Annotated[str | None, typer.Option("--to", help="last month YYYY-MM")]
ReportName = Annotated[str, typer.Argument(help=f"one of: {', '.join(REPORTS)}")]
FormatOption = Annotated[str, typer.Option("--format", help="pdf|xlsx|json|html")]
LangOption = Annotated[str, typer.Option(help="zh|en")]


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        typer.secho(f"error [invalid] lang: one of {', '.join(LANGS)}", err=True, fg="red")
        raise typer.Exit(2)


@app.command("report")
def report_cmd(
    name: ReportName,
    org: Annotated[str, typer.Option(help="org code or id (a street or the county gives the roll-up)")],
    period: PeriodOption = None,
    from_period: FromOption = None,
    to_period: ToOption = None,
    format: FormatOption = "pdf",
    lang: LangOption = "zh",
    standard: Annotated[str | None, typer.Option(help="roll-ups: collective|small_enterprise")] = None,
    account: Annotated[str | None, typer.Option(help="明细账 / 日记账: account code")] = None,
    voucher: Annotated[str | None, typer.Option(help="vouchers: one voucher number")] = None,
    out: Annotated[Path | None, typer.Option(help="file or directory (default: ./<name>)")] = None,
    db: DbOption = None,
) -> None:
    """Write one report for an org (or a street's / the county's roll-up) to a file."""
    _check_lang(lang)
    options = {k: v for k, v in (("account", account), ("voucher", voucher)) if v}
    try:
        report_period = parse_report_period(period, from_period, to_period)
        with read_tx(engine_for(db)) as conn:
            org_id = org_id_of(conn, org)
            rendered = render_report(
                conn,
                name,
                org_id,
                report_period,
                format,
                lang=as_lang(lang),
                options=options,
                standard=standard,
            )
    except LedgerError as exc:
        fail(exc)
    target = out or Path(rendered.filename)
    if target.is_dir():
        target = target / rendered.filename
    target.write_bytes(rendered.content)
    typer.echo(f"wrote {target} ({len(rendered.content):,} bytes)")


@app.command("report-batch")
def report_batch_cmd(
    name: ReportName,
    org: Annotated[str, typer.Option(help="street or county code: every org below it")],
    period: PeriodOption = None,
    from_period: FromOption = None,
    to_period: ToOption = None,
    format: FormatOption = "pdf",
    lang: LangOption = "zh",
    standard: Annotated[str | None, typer.Option(help="only the orgs of this standard")] = None,
    out: Annotated[
        Path | None, typer.Option(help="zip file (default: ./<street>-<name>-<period>.zip)")
    ] = None,
    db: DbOption = None,
) -> None:
    """Render one report for every org below a street or the county into a zip, on all cores."""
    _check_lang(lang)
    url = db or get_settings().database_url
    engine = make_engine(url)
    try:
        report_period = parse_report_period(period, from_period, to_period)
        with read_tx(engine) as conn:
            root = org_of(conn, org)
            org_ids = batch_orgs(conn, name, root.id, standard)
        started = time.perf_counter()
        with progress(f"rendering {name} for {len(org_ids)} orgs on all cores"):
            result = render_batch(url, name, org_ids, report_period, format, lang=as_lang(lang))
    except LedgerError as exc:
        fail(exc)
    target = out or Path(f"{org}-{name}-{report_period.slug()}.zip")
    target.write_bytes(result.zip_bytes)
    seconds = time.perf_counter() - started
    typer.echo(f"wrote {target}: {len(result.files)} files in {seconds:.1f} s")
    for error in result.errors:
        typer.secho(f"  not rendered: {error}", err=True, fg="yellow")
    if result.errors:
        raise typer.Exit(1)
