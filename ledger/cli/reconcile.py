"""``cunshe reconcile …`` and ``cunshe import-statement``: thin shells over ``ledger.reconcile``.

Orgs are named by code (``heping-co``) or id. Every write is the reconciliation service's own ``Write``
(``ledger.reconcile.services``, the one the API and the pages carry out), done as the CLI actor with
``--key`` as its idempotency key; the audit log records it with ``(cli)``.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy import Connection

from ledger.books.errors import LedgerError, ValidationError
from ledger.books.money import format_amount
from ledger.books.orgs import get_org
from ledger.cli.options import PROBLEMS_SHOWN, DbOption, KeyOption, engine_for, fail, org_id_of, run_service
from ledger.cli.progress import progress
from ledger.cli.tables import JsonOption, print_json
from ledger.db.engine import read_tx
from ledger.reconcile import matching, outputs, services, store, voids
from ledger.reconcile.importers import parse_statement
from ledger.settings import get_settings

T = TypeVar("T")

app = typer.Typer(help="Bank and payment statements: import, match, reconcile (对账).", no_args_is_help=True)

OrgArg = Annotated[str, typer.Argument(help="org code or id")]


def _write_problems(exc: LedgerError, problems_file: Path) -> None:
    """Every problem of a refused statement into ``problems_file`` (CSV), when there are more than the
    terminal shows."""
    problems = getattr(exc, "problems", None)
    count = getattr(exc, "problem_count", len(problems or ()))
    if not problems or count <= PROBLEMS_SHOWN:
        return
    with problems_file.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "column", "message"])
        writer.writerows([p["line"] or "", p["column"] or "", p["message"]] for p in problems)
    kept = "" if count == len(problems) else f" (the first {len(problems)})"
    typer.secho(f"{count} problems in all; listed{kept} in {problems_file}", err=True, fg="red")


def import_statement_cmd(
    org: OrgArg,
    account: Annotated[int, typer.Argument(help="statement account id (cunshe reconcile accounts ORG)")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    source: Annotated[
        str | None, typer.Option(help="bank, wechat_trade, wechat_fund, alipay_detail, alipay_account")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="override the sniffed text encoding")] = None,
    account_override: Annotated[
        str,
        typer.Option(
            help="import a file whose own account number is not the statement account's, saying why"
        ),
    ] = "",
    problems_file: Annotated[
        Path | None,
        typer.Option(help="where to list every problem of a refused file (default FILE.problems.csv)"),
    ] = None,
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Import a bank / WeChat Pay / Alipay statement file: every line or none; known lines are skipped."""
    problems_at = problems_file or file.with_name(file.name + ".problems.csv")
    limit = get_settings().max_upload_bytes  # the API's and the pages' limit too
    if file.stat().st_size > limit:
        fail(
            ValidationError(
                f"{file.name} is larger than {limit} bytes (CUNSHE_MAX_UPLOAD_BYTES)", field="file"
            )
        )
    try:
        with progress(f"reading {file.name}"):
            parsed = parse_statement(file, source, encoding=encoding)
    except LedgerError as exc:
        _write_problems(exc, problems_at)
        fail(exc)
    with file.open("rb") as stream:
        sha256 = hashlib.file_digest(stream, "sha256").hexdigest()
    _, result = run_service(
        db,
        org,
        lambda actor, org_id: services.import_statement(
            actor,
            org_id,
            account,
            parsed,
            sha256=sha256,
            file_name=file.name,
            account_override=account_override,
        ),
        key=key,
        on_error=lambda exc: _write_problems(exc, problems_at),
    )
    typer.echo(
        f"{result['file_name']}: {result['source']} ({result['encoding']}), {result['line_count']} lines, "
        f"{result['new_count']} new, {result['duplicate_count']} already held (import {result['import_id']})"
    )
    if result["account_override"]:
        typer.echo(
            f"the file's account {result['file_account_no']} was accepted: {result['account_override']}"
        )


app.command("import")(import_statement_cmd)


def _org_rows(db: str | None, org: str, read: Callable[[Connection, int], list[T]]) -> list[T]:
    """What ``read`` finds in the org's books (the org given by code or id); a refusal is told, exit 2."""
    try:
        with read_tx(engine_for(db)) as conn:
            return read(conn, org_id_of(conn, org))
    except LedgerError as exc:
        fail(exc)


@app.command("imports")
def imports(org: OrgArg, account: int, db: DbOption = None, as_json: JsonOption = False) -> None:
    """List a statement account's imports, voided ones marked."""
    rows = _org_rows(db, org, lambda conn, org_id: voids.list_imports(conn, org_id, account))
    if as_json:
        print_json(rows)
        return
    for r in rows:
        state = f"VOID ({r['void_reason']})" if r["voided"] else "live"
        typer.echo(
            f"{r['id']:>5}  {r['imported_at']:%Y-%m-%d %H:%M}  {r['source']:<14} {r['new_count']:>7}/"
            f"{r['line_count']:<7} {r['file_name']}  {state}"
        )


@app.command("void-import")
def void_import_cmd(
    org: OrgArg,
    import_id: int,
    reason: Annotated[str, typer.Option(help="why the import is taken back")],
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Void an import none of whose lines is matched: its lines stop counting; the file may be imported
    again."""
    _, result = run_service(
        db, org, lambda actor, org_id: services.void_import(actor, org_id, import_id, reason=reason), key=key
    )
    typer.echo(
        f"import {result['import_id']} ({result['file_name']}) voided: {result['line_count']} lines no "
        "longer count" + (f", {result['withdrawn']} open proposals withdrawn" if result["withdrawn"] else "")
    )


@app.command("account-add")
def account_add(
    org: OrgArg,
    ledger_account: Annotated[str, typer.Option(help="the ledger account, e.g. 1002, 102, 101201")],
    kind: Annotated[str, typer.Option(help="bank, wechat or alipay")],
    name: Annotated[str, typer.Option()],
    account_no: Annotated[str, typer.Option()] = "",
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Register a bank or payment account of an org."""
    _, row = run_service(
        db,
        org,
        lambda actor, org_id: services.create_statement_account(
            actor, org_id, ledger_account=ledger_account, kind=kind, name=name, account_no=account_no
        ),
        key=key,
    )
    typer.echo(f"statement account {row['id']}")


@app.command("accounts")
def accounts(org: OrgArg, db: DbOption = None, as_json: JsonOption = False) -> None:
    """List an org's statement accounts."""
    rows = _org_rows(db, org, store.list_statement_accounts)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['id']:>5}  {r['kind']:<7} {r['ledger_account']:<8} {r['name']} {r['account_no']}")


@app.command("propose")
def propose(
    org: OrgArg,
    account: int,
    period: str,
    window_days: int = matching.DEFAULT_WINDOW_DAYS,
    auto_confirm_exact: bool = False,
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Propose matches for a statement account and month (replaces open proposals)."""
    _, r = run_service(
        db,
        org,
        lambda actor, org_id: services.propose(
            actor, org_id, account, period, window_days=window_days, auto_confirm_exact=auto_confirm_exact
        ),
        key=key,
        option_names={"period": "PERIOD"},
    )
    typer.echo(
        f"{r['statement_lines']} statement lines, {r['book_lines']} ledger lines: {r['proposed']} proposals "
        f"({r['auto_confirmed']} confirmed automatically), {r['unmatched_statement_lines']} statement lines "
        "left"
    )


@app.command("matches")
def matches(
    org: OrgArg, account: int, status: str | None = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """List current matches with their score and reasons."""
    rows = _org_rows(
        db,
        org,
        lambda conn, org_id: matching.list_matches(conn, org_id, account, status=status, limit=100_000),
    )
    if as_json:
        print_json(rows)
        return
    for m in rows:
        flag = " 参考号冲突" if m["conflict"] else ""
        why = "；".join(r["text"] for r in m["reasons"])
        typer.echo(f"{m['id']:>7} {m['status']:<9} {m['kind']:<11} {m['score']:>3}{flag}  {why}")


def _decide(org: str, match_id: int, note: str, key: str | None, db: str | None, action: str) -> None:
    _, record = run_service(
        db, org, lambda actor, org_id: services.decide(actor, org_id, match_id, action, note=note), key=key
    )
    typer.echo(f"{action}ed: record {record['id']} supersedes {match_id}")


@app.command("confirm")
def confirm(org: OrgArg, match_id: int, note: str = "", key: KeyOption = None, db: DbOption = None) -> None:
    """Confirm a proposal (a settlement posts its entry)."""
    _decide(org, match_id, note, key, db, "confirm")


@app.command("reject")
def reject(org: OrgArg, match_id: int, note: str = "", key: KeyOption = None, db: DbOption = None) -> None:
    """Reject a proposal, or undo a confirmed match (with --note)."""
    _decide(org, match_id, note, key, db, "reject")


@app.command("post-by-rule")
def post_by_rule(
    org: OrgArg, line_id: int, rule: str | None = None, key: KeyOption = None, db: DbOption = None
) -> None:
    """Turn an unmatched statement line into an entry by a rule (银行手续费 → 5603 / 513)."""
    _, posted = run_service(
        db, org, lambda actor, org_id: services.post_by_rule(actor, org_id, line_id, rule), key=key
    )
    typer.echo(f"{posted['voucher_no']} by rule {posted['rule']}; match {posted['match_id']}")


@app.command("statement")
def statement(
    org: OrgArg,
    account: int,
    period: str,
    out: Annotated[Path | None, typer.Option(help="write .xlsx, .pdf or .html; default: print JSON")] = None,
    db: DbOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print JSON (what it prints without --out; with --out, too)")
    ] = False,
) -> None:
    """银行存款余额调节表 of an account at a month end."""
    try:
        with read_tx(engine_for(db)) as conn:
            rec = outputs.bank_reconciliation(conn, org_id_of(conn, org), account, period)
            if out is not None:
                out.write_bytes(outputs.render_reconciliation(conn, rec, out.suffix.lstrip(".").lower()))
    except LedgerError as exc:
        fail(exc)
        return
    as_json = as_json or out is None
    if as_json:  # stdout is the one JSON document; the rest goes to stderr
        typer.echo(json.dumps(rec.to_dict(), ensure_ascii=False, indent=2))
    if out is not None:
        typer.echo(f"wrote {out}", err=as_json)
    typer.echo(
        f"调节后余额 book {format_amount(rec.adjusted_book_fen)}"
        f" / bank {format_amount(rec.adjusted_bank_fen)}: "
        + ("平衡" if rec.foots else f"差额 {format_amount(rec.difference_fen)}"),
        err=as_json,
    )
    if not rec.foots:
        raise typer.Exit(1)


@app.command("ties")
def ties(org: OrgArg, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Sub-ledger ties of an org, and a company's inter-org reconciliation; exits 1 on a difference."""
    try:
        with read_tx(engine_for(db)) as conn:
            org_id = org_id_of(conn, org)
            found = outputs.subledger_ties(conn, org_id)
            inter = outputs.inter_org(conn, org_id) if get_org(conn, org_id).kind == "company" else None
    except LedgerError as exc:
        fail(exc)
        return
    if as_json:
        # numpy scalars as plain numbers
        inter_rows = [
            {k: v.item() if hasattr(v, "item") else v for k, v in r.items()}
            for r in ([] if inter is None else inter.to_dict("records"))
        ]
        print_json(
            {
                "ties": [{**t.__dict__, "difference_fen": t.difference_fen} for t in found],
                "inter_org": inter_rows,
            }
        )
        if any(t.difference_fen for t in found) or any(r["difference_fen"] for r in inter_rows):
            raise typer.Exit(1)
        return
    bad = False
    for t in found:
        bad |= t.difference_fen != 0
        typer.echo(
            f"{t.label}: 明细 {format_amount(t.subledger_fen)} 总账 {format_amount(t.ledger_fen)} "
            f"差额 {format_amount(t.difference_fen)}"
        )
    if inter is not None:
        for row in inter.to_dict("records"):
            bad |= row["difference_fen"] != 0
            typer.echo(
                f"{row['org_name']}: 公司应付 {format_amount(int(row['company_payable_fen']))} "
                f"股东应收 {format_amount(int(row['shareholder_receivable_fen']))} "
                f"差额 {format_amount(int(row['difference_fen']))}"
            )
    if bad:
        raise typer.Exit(1)
