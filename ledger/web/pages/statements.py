"""Bank and payment statements: accounts, imports, matching, the reconciliation download (reconcile)."""

from __future__ import annotations

import hashlib
import tempfile
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import File, Form, Request, UploadFile
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from ledger.access.auth import Principal
from ledger.books import periods
from ledger.books.errors import LedgerError, ValidationError
from ledger.db.engine import read_tx
from ledger.http import EngineDep
from ledger.reconcile import importers, matching, outputs, store
from ledger.reconcile import services as reconcile_services
from ledger.web.pages.common import (
    FormKey,
    WebUser,
    attachment,
    books_org,
    carry,
    flash,
    period_param,
    render,
    router,
    safe_next,
    session_of,
)

# ---- bank and payment statements (ledger.reconcile) ---------------------------------------------------

UPLOAD_SUFFIXES = (".csv", ".txt", ".xlsx", ".xls")
DOWNLOAD_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _line_view(line: dict[str, Any]) -> dict[str, Any]:
    when = line.get("occurred_at")
    return {
        "id": line["id"],
        "when": when.strftime("%Y-%m-%d %H:%M") if when is not None else "",
        "amount": line["amount_fen"],
        "fee": line.get("fee_fen") or 0,
        "reference": line.get("reference") or "",
        "counterparty": line.get("counterparty") or "",
        "memo": line.get("memo") or "",
        "kind": line.get("kind") or "",
    }


@router.get("/web/orgs/{org_id}/statements")
def statements_page(
    request: Request, org_id: int, user: WebUser, engine: EngineDep, period: str | None = None
) -> Response:
    org = books_org(user, engine, org_id)
    shown = period_param(period, engine, org_id)
    first, last = periods.period_bounds(shown)
    with read_tx(engine) as conn:
        accounts = store.list_statement_accounts(conn, org_id)
        for account in accounts:
            account["unmatched"] = len(
                matching.statement_lines(conn, org_id, account["id"], unmatched=True, first=first, last=last)
            )
            account["imports"] = store.list_imports(conn, org_id, account["id"])[-3:]
    return render(
        request,
        "statements.html",
        user=user,
        org=org,
        period=shown,
        accounts=accounts,
        kinds=store.STATEMENT_ACCOUNT_KINDS,
        can_write=user.role in ("admin", "officer"),
        max_upload_mb=request.app.state.settings.max_upload_bytes // (1024 * 1024),
    )


@router.post("/web/orgs/{org_id}/statements/accounts")
def add_statement_account(
    request: Request,
    org_id: int,
    user: WebUser,
    engine: EngineDep,
    name: Annotated[str, Form(max_length=100)],
    kind: Annotated[str, Form(max_length=20)],
    ledger_account: Annotated[str, Form(max_length=30)],
    account_no: Annotated[str, Form(max_length=60)] = "",
    form_key: FormKey = None,
) -> Response:
    write = reconcile_services.create_statement_account(
        user, org_id, ledger_account=ledger_account, kind=kind, name=name, account_no=account_no
    )
    carry(request, user, engine, write, form_key)
    flash(request, "account_added", name=name)
    return RedirectResponse(f"/web/orgs/{org_id}/statements", status_code=303)


@router.post("/web/orgs/{org_id}/statements/upload")
async def upload_statement(
    request: Request,
    org_id: int,
    user: WebUser,
    engine: EngineDep,
    statement_account_id: Annotated[int, Form()],
    file: Annotated[UploadFile, File()],
    period: Annotated[str, Form(max_length=7)] = "",
    form_key: FormKey = None,
) -> Response:
    await run_in_threadpool(_check_statement_account, engine, user, org_id, statement_account_id)
    limit = request.app.state.settings.max_upload_bytes
    data = await file.read(limit + 1)
    name = Path(file.filename or "statement").name
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise ValidationError(f"upload a {', '.join(UPLOAD_SUFFIXES)} file, not {name!r}", field="file")
    if not data:
        raise ValidationError("the file is empty", field="file")
    if len(data) > limit:
        raise ValidationError(f"the file is larger than {limit // (1024 * 1024)} MB", field="file")
    result = await run_in_threadpool(
        _import_upload, engine, request, user, org_id, statement_account_id, name, data, form_key
    )
    flash(
        request,
        "imported",
        name=name,
        lines=result["line_count"],
        new=result["new_count"],
        dup=result["duplicate_count"],
    )
    target = f"/web/orgs/{org_id}/statements/{statement_account_id}"
    if period and periods.PERIOD_RE.match(period):
        target += "?" + urlencode({"period": period})
    return RedirectResponse(target, status_code=303)


def _check_statement_account(engine: Engine, user: Principal, org_id: int, account_id: int) -> None:
    """Scope and write right first, so a file for books one may not touch is never read or parsed."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id, write=True)
        store.get_statement_account(conn, org_id, account_id)


def _import_upload(
    engine: Engine,
    request: Request,
    user: Principal,
    org_id: int,
    statement_account_id: int,
    name: str,
    data: bytes,
    key: str | None,
) -> Any:
    """Parse the upload outside the write transaction (a large file must not hold the write lock), then
    store its new lines in one write: every line or none."""
    with tempfile.TemporaryDirectory(prefix="cunshe-upload-") as tmp:
        path = Path(tmp) / ("upload" + Path(name).suffix.lower())
        path.write_bytes(data)
        parsed = importers.parse_statement(path, file_name=name)
    sha256 = hashlib.sha256(data).hexdigest()
    write = reconcile_services.import_statement(
        user, org_id, statement_account_id, parsed, sha256=sha256, file_name=name
    )
    return carry(request, user, engine, write, key)


@router.get("/web/orgs/{org_id}/statements/{statement_account_id}")
def matches_page(
    request: Request,
    org_id: int,
    statement_account_id: int,
    user: WebUser,
    engine: EngineDep,
    period: str | None = None,
) -> Response:
    org = books_org(user, engine, org_id)
    shown = period_param(period, engine, org_id)
    first, last = periods.period_bounds(shown)
    with read_tx(engine) as conn:
        account = store.get_statement_account(conn, org_id, statement_account_id)
        lines = {
            line["id"]: _line_view(line)
            for line in matching.statement_lines(
                conn, org_id, statement_account_id, first=first, last=last, limit=5000
            )
        }
        rules = matching.rules()
        unmatched = [
            {
                **_line_view(line),
                "rules": [(r.name, r.label) for r in rules if r.applies(SimpleNamespace(**line))],
            }
            for line in matching.statement_lines(
                conn, org_id, statement_account_id, unmatched=True, first=first, last=last, limit=5000
            )
        ]
        window = timedelta(days=31)
        books = {
            b.id: b
            for b in matching.load_book_records(
                conn, org_id, account.ledger_account, first - window, last + window, exclude=set()
            )
        }
        lang = session_of(request).lang
        proposed = matching.list_matches(conn, org_id, statement_account_id, status="proposed", lang=lang)
        confirmed = matching.list_matches(conn, org_id, statement_account_id, status="confirmed", lang=lang)
        reconciliation: Any = None
        try:
            reconciliation = outputs.bank_reconciliation(conn, org_id, statement_account_id, shown)
        except LedgerError as exc:
            reconciliation = exc.message

    def view(match: dict[str, Any]) -> dict[str, Any]:
        statement_side, book_side, settled = [], [], []
        for item in match["items"]:
            if item["role"] == "statement":
                statement_side.append(lines.get(item["statement_line_id"]) or {"amount": item["amount_fen"]})
            else:
                book = books.get(item["journal_line_id"])
                row = (
                    {
                        "when": book.on.isoformat(),
                        "voucher": book.voucher_no,
                        "amount": book.amount_fen,
                        "memo": book.memo,
                        "counterparty": book.counterparty,
                    }
                    if book is not None
                    else {
                        "amount": item["amount_fen"],
                        "voucher": "",
                        "when": "",
                        "memo": "",
                        "counterparty": "",
                    }
                )
                (book_side if item["role"] == "book" else settled).append(row)
        return {
            "id": match["id"],
            "kind": match["kind"],
            "score": match["score"],
            "conflict": match["conflict"],
            "fee": match.get("fee_fen") or 0,
            "note": match.get("note") or "",
            "reasons": [
                {"text": r.get("text") or r.get("code", ""), "against": (r.get("points") or 0) < 0}
                for r in match["reasons"]
            ],
            "statement": statement_side,
            "book": book_side,
            "settled": settled,
        }

    in_period = [m for m in (view(m) for m in proposed) if any(s.get("id") in lines for s in m["statement"])]
    done = [m for m in (view(m) for m in confirmed) if any(s.get("id") in lines for s in m["statement"])]
    return render(
        request,
        "matches.html",
        user=user,
        org=org,
        account=account,
        period=shown,
        proposed=in_period,
        confirmed=done,
        unmatched=unmatched,
        line_count=len(lines),
        reconciliation=reconciliation if not isinstance(reconciliation, str) else None,
        reconciliation_problem=reconciliation if isinstance(reconciliation, str) else None,
        can_write=user.role in ("admin", "officer"),
        back=f"/web/orgs/{org_id}/statements/{statement_account_id}?" + urlencode({"period": shown}),
    )


@router.post("/web/orgs/{org_id}/statements/{statement_account_id}/propose")
def propose(
    request: Request,
    org_id: int,
    statement_account_id: int,
    user: WebUser,
    engine: EngineDep,
    period: Annotated[str, Form(max_length=7)],
    form_key: FormKey = None,
) -> Response:
    write = reconcile_services.propose(user, org_id, statement_account_id, period)
    result = carry(request, user, engine, write, form_key)
    flash(request, "proposed", count=result["proposed"], unmatched=result["unmatched_statement_lines"])
    return RedirectResponse(
        f"/web/orgs/{org_id}/statements/{statement_account_id}?" + urlencode({"period": period}),
        status_code=303,
    )


@router.post("/web/orgs/{org_id}/matches/{match_id}/{decision}")
def decide_match(
    request: Request,
    org_id: int,
    match_id: int,
    decision: str,
    user: WebUser,
    engine: EngineDep,
    note: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=500)] = "",
    form_key: FormKey = None,
) -> Response:
    if decision not in ("confirm", "reject"):
        raise StarletteHTTPException(404)
    carry(
        request,
        user,
        engine,
        reconcile_services.decide(user, org_id, match_id, decision, note=note),
        form_key,
    )
    flash(request, "confirmed_ok" if decision == "confirm" else "rejected_ok", id=match_id)
    return RedirectResponse(safe_next(back) if back else f"/web/orgs/{org_id}/statements", status_code=303)


@router.post("/web/orgs/{org_id}/statement-lines/{line_id}/post-by-rule")
def post_by_rule(
    request: Request,
    org_id: int,
    line_id: int,
    user: WebUser,
    engine: EngineDep,
    rule: Annotated[str, Form(max_length=64)],
    back: Annotated[str, Form(max_length=500)] = "",
    form_key: FormKey = None,
) -> Response:
    """对账单生成凭证: an unmatched line (a bank charge …) becomes an entry by a rule, matched to it."""
    posted = carry(
        request, user, engine, reconcile_services.post_by_rule(user, org_id, line_id, rule), form_key
    )
    flash(request, "posted_by_rule", voucher=posted["voucher_no"])
    return RedirectResponse(safe_next(back) if back else f"/web/orgs/{org_id}/statements", status_code=303)


@router.get("/web/orgs/{org_id}/statements/{statement_account_id}/reconciliation.{fmt}")
def download_reconciliation(
    org_id: int,
    statement_account_id: int,
    fmt: str,
    user: WebUser,
    engine: EngineDep,
    period: str | None = None,
) -> Response:
    """银行存款余额调节表 as PDF or XLSX, through the report pipeline."""
    if fmt not in DOWNLOAD_TYPES:
        raise StarletteHTTPException(404)
    books_org(user, engine, org_id)
    shown = period_param(period, engine, org_id)
    with read_tx(engine) as conn:
        rec = outputs.bank_reconciliation(conn, org_id, statement_account_id, shown)
        data = outputs.render_reconciliation(conn, rec, fmt)
    return attachment(data, DOWNLOAD_TYPES[fmt], f"银行存款余额调节表-{rec.account_name}-{shown}.{fmt}")
