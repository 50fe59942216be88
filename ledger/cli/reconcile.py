"""``cunshe reconcile …`` and ``cunshe import-statement``: thin shells over ``ledger.reconcile``.

Orgs are named by code (``heping-co``) or id. The CLI acts as no user (``created_by`` empty), as the other
operator commands do; the audit log records the action.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated

import typer

from ledger.access.auth import audit
from ledger.books.errors import LedgerError
from ledger.books.money import format_amount
from ledger.books.orgs import get_org
from ledger.cli.options import DbOption, engine_for, fail, org_id_of
from ledger.cli.progress import progress
from ledger.db.engine import read_tx, run_write
from ledger.reconcile import matching, outputs, store
from ledger.reconcile.importers import parse_statement

app = typer.Typer(help="Bank and payment statements: import, match, reconcile (对账).", no_args_is_help=True)

OrgArg = Annotated[str, typer.Argument(help="org code or id")]


def import_statement_cmd(
    org: OrgArg,
    account: Annotated[int, typer.Argument(help="statement account id (cunshe reconcile accounts ORG)")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    source: Annotated[
        str | None, typer.Option(help="bank, wechat_trade, wechat_fund, alipay_detail, alipay_account")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="override the sniffed text encoding")] = None,
    db: DbOption = None,
) -> None:
    """Import a bank / WeChat Pay / Alipay statement file: every line or none; known lines are skipped."""
    engine = engine_for(db)
    try:
        with progress(f"reading {file.name}"):
            parsed = parse_statement(file, source, encoding=encoding)
        sha256 = hashlib.sha256(file.read_bytes()).hexdigest()

        def work(conn):  # type: ignore[no-untyped-def]
            org_id = org_id_of(conn, org)
            result = store.store_lines(
                conn,
                org_id,
                account,
                parsed.lines,
                source=parsed.source,
                encoding=parsed.encoding,
                file_name=file.name,
                sha256=sha256,
            )
            audit(conn, None, "reconcile.import", org_id=org_id, detail=f"{file.name} (cli)")
            return result

        result = run_write(engine, work)
    except LedgerError as exc:
        fail(exc)
        return
    typer.echo(
        f"{result.file_name}: {result.source} ({result.encoding}), {result.line_count} lines, "
        f"{result.new_count} new, {result.duplicate_count} already held"
    )


app.command("import")(import_statement_cmd)


@app.command("account-add")
def account_add(
    org: OrgArg,
    ledger_account: Annotated[str, typer.Option(help="the ledger account, e.g. 1002, 102, 101201")],
    kind: Annotated[str, typer.Option(help="bank, wechat or alipay")],
    name: Annotated[str, typer.Option()],
    account_no: Annotated[str, typer.Option()] = "",
    db: DbOption = None,
) -> None:
    """Register a bank or payment account of an org."""

    def work(conn):  # type: ignore[no-untyped-def]
        return store.create_statement_account(
            conn,
            org_id_of(conn, org),
            ledger_account=ledger_account,
            kind=kind,
            name=name,
            account_no=account_no,
        )

    try:
        typer.echo(f"statement account {run_write(engine_for(db), work)}")
    except LedgerError as exc:
        fail(exc)


@app.command("accounts")
def accounts(org: OrgArg, db: DbOption = None) -> None:
    """List an org's statement accounts."""
    try:
        with read_tx(engine_for(db)) as conn:
            rows = store.list_statement_accounts(conn, org_id_of(conn, org))
    except LedgerError as exc:
        fail(exc)
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
    db: DbOption = None,
) -> None:
    """Propose matches for a statement account and month (replaces open proposals)."""

    def work(conn):  # type: ignore[no-untyped-def]
        return matching.propose_matches(
            conn,
            org_id_of(conn, org),
            account,
            period,
            window_days=window_days,
            auto_confirm_exact=auto_confirm_exact,
        )

    try:
        r = run_write(engine_for(db), work)
    except LedgerError as exc:
        fail(exc)
        return
    typer.echo(
        f"{r.statement_lines} statement lines, {r.book_lines} ledger lines: {r.proposed} proposals "
        f"({r.auto_confirmed} confirmed automatically), {r.unmatched_statement_lines} statement lines left"
    )


@app.command("matches")
def matches(org: OrgArg, account: int, status: str | None = None, db: DbOption = None) -> None:
    """List current matches with their score and reasons."""
    try:
        with read_tx(engine_for(db)) as conn:
            rows = matching.list_matches(conn, org_id_of(conn, org), account, status=status, limit=100_000)
    except LedgerError as exc:
        fail(exc)
        return
    for m in rows:
        flag = " 参考号冲突" if m["conflict"] else ""
        why = "；".join(r["text"] for r in m["reasons"])
        typer.echo(f"{m['id']:>7} {m['status']:<9} {m['kind']:<11} {m['score']:>3}{flag}  {why}")


def _decide(org: str, match_id: int, note: str, db: str | None, action: str) -> None:
    def work(conn):  # type: ignore[no-untyped-def]
        org_id = org_id_of(conn, org)
        decide = matching.confirm_match if action == "confirm" else matching.reject_match
        record = decide(conn, org_id, match_id, note=note)
        audit(conn, None, f"reconcile.{action}", org_id=org_id, detail=f"match {match_id} → {record} (cli)")
        return record

    try:
        typer.echo(f"{action}ed: record {run_write(engine_for(db), work)} supersedes {match_id}")
    except LedgerError as exc:
        fail(exc)


@app.command("confirm")
def confirm(org: OrgArg, match_id: int, note: str = "", db: DbOption = None) -> None:
    """Confirm a proposal (a settlement posts its entry)."""
    _decide(org, match_id, note, db, "confirm")


@app.command("reject")
def reject(org: OrgArg, match_id: int, note: str = "", db: DbOption = None) -> None:
    """Reject a proposal, or undo a confirmed match (with --note)."""
    _decide(org, match_id, note, db, "reject")


@app.command("post-by-rule")
def post_by_rule(org: OrgArg, line_id: int, rule: str | None = None, db: DbOption = None) -> None:
    """Turn an unmatched statement line into an entry by a rule (银行手续费 → 5603 / 513)."""

    def work(conn):  # type: ignore[no-untyped-def]
        return matching.post_by_rule(conn, org_id_of(conn, org), line_id, rule_name=rule)

    try:
        posted = run_write(engine_for(db), work)
    except LedgerError as exc:
        fail(exc)
        return
    typer.echo(f"{posted.voucher_no} by rule {posted.rule}; match {posted.match_id}")


@app.command("statement")
def statement(
    org: OrgArg,
    account: int,
    period: str,
    out: Annotated[Path | None, typer.Option(help="write .xlsx, .pdf or .html; default: print JSON")] = None,
    db: DbOption = None,
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
    if out is None:
        typer.echo(json.dumps(rec.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(f"wrote {out}")
    typer.echo(
        f"调节后余额 book {format_amount(rec.adjusted_book_fen)}"
        f" / bank {format_amount(rec.adjusted_bank_fen)}: "
        + ("平衡" if rec.foots else f"差额 {format_amount(rec.difference_fen)}"),
        err=out is None,
    )
    if not rec.foots:
        raise typer.Exit(1)


@app.command("ties")
def ties(org: OrgArg, db: DbOption = None) -> None:
    """Sub-ledger ties of an org, and a company's inter-org reconciliation; exits 1 on a difference."""
    try:
        with read_tx(engine_for(db)) as conn:
            org_id = org_id_of(conn, org)
            found = outputs.subledger_ties(conn, org_id)
            inter = outputs.inter_org(conn, org_id) if get_org(conn, org_id).kind == "company" else None
    except LedgerError as exc:
        fail(exc)
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
