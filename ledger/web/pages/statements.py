"""Bank and payment statements: accounts, imports, matching, the reconciliation download (reconcile)."""

import hashlib
import tempfile
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import File, Form, Query, Request, UploadFile
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from ledger.access.auth import Principal
from ledger.books import money, periods
from ledger.books.errors import LedgerError, NotFound, ValidationError
from ledger.db.engine import read_tx
from ledger.http import EngineDep
from ledger.params import month_param
from ledger.reconcile import importers, matching, outputs, store
from ledger.reconcile import services as reconcile_services
from ledger.web.i18n import N_, error_text, translator
from ledger.web.pages.common import (
    FormKey,
    FormRefused,
    WebUser,
    attachment,
    books_org,
    carry,
    first_open_period,
    flash,
    period_param,
    refused,
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


def _work_period(period: str | None, engine: Engine, org_id: int) -> str:
    """The month asked for, else the first open month (where the officer's matching still posts)."""
    with read_tx(engine) as conn:
        if period:
            return month_param(conn, org_id, period)  # well-formed and in the org's years (ledger.params)
        return first_open_period(conn, org_id)


@router.get("/web/orgs/{org_id}/statements")
def statements_page(
    request: Request, org_id: int, user: WebUser, engine: EngineDep, period: str | None = None
) -> Response:
    return _statements_page(request, user, engine, org_id, period)


def _statements_page(
    request: Request,
    user: Principal,
    engine: Engine,
    org_id: int,
    period: str | None,
    *,
    error: FormRefused | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    org = books_org(user, engine, org_id)
    shown = _work_period(period, engine, org_id)
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
        error.status_code if error else 200,
        user=user,
        org=org,
        period=shown,
        accounts=accounts,
        kinds=store.STATEMENT_ACCOUNT_KINDS,
        can_write=user.role in ("admin", "officer"),
        max_upload_mb=request.app.state.settings.max_upload_bytes // (1024 * 1024),
        error=error.view() if error else None,
        form=form or {},
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
    try:
        carry(request, user, engine, write, form_key)
    except LedgerError as exc:
        typed = {"name": name, "kind": kind, "ledger_account": ledger_account, "account_no": account_no}
        fields = {"name": "name", "kind": "kind", "ledger_account": "ledger_account"}
        return _statements_page(
            request, user, engine, org_id, None, error=refused(request, exc, "account", fields), form=typed
        )
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
    override: Annotated[str, Form(max_length=1)] = "",
    account_override: Annotated[str, Form(max_length=500)] = "",
    form_key: FormKey = None,
) -> Response:
    """导入对账单. A file of another account than the statement account's is refused with the two numbers
    and, beside the refusal, the override: a tick and its reason (kept on the import and audited, as the
    API's ``account_override``); the file is chosen again."""
    await run_in_threadpool(_check_statement_account, engine, user, org_id, statement_account_id)
    limit = request.app.state.settings.max_upload_bytes
    data = await file.read(limit + 1)
    name = Path(file.filename or "statement").name
    suffix = Path(name).suffix.lower()
    try:
        if suffix not in UPLOAD_SUFFIXES:
            raise ValidationError(f"upload a {', '.join(UPLOAD_SUFFIXES)} file, not {name!r}", field="file")
        if not data:
            raise ValidationError("the file is empty", field="file")
        if len(data) > limit:
            raise ValidationError(f"the file is larger than {limit // (1024 * 1024)} MB", field="file")
        reason = account_override.strip() if override else ""
        if override and not reason:
            raise ValidationError(
                "say why this file belongs in this account", field="account_override", code="override_reason"
            )
        result = await run_in_threadpool(
            _import_upload, engine, request, user, org_id, statement_account_id, name, data, form_key, reason
        )
    except LedgerError as exc:
        fields = {"file": "file", "account": "account", "account_override": "account_override"}
        error = refused(request, exc, "upload", fields)
        if error.field == "_form":  # a file the importer refuses: the fault lies in the file
            error.field = "file"
        if isinstance(exc, store.AccountMismatch):  # the two numbers, in the page's language
            t = translator(session_of(request).lang)
            earlier = exc.by_earlier_files
            words = N_("statement_other_account_earlier") if earlier else N_("statement_other_account")
            error.field = "account"
            error.messages = {
                "account": t(
                    words,
                    label=exc.label,
                    printed=exc.printed,
                    account=exc.account_name,
                    known=exc.known,
                )
            }
        typed = {
            "statement_account_id": str(statement_account_id),
            "override": "1" if override else "",
            "account_override": account_override,
            "file_name": name,
        }
        shown = period if period and periods.PERIOD_RE.match(period) else None
        try:
            return await run_in_threadpool(
                _statements_page, request, user, engine, org_id, shown, error=error, form=typed
            )
        except LedgerError:  # the month the form came from is not one the page shows: the refusal still is
            return await run_in_threadpool(
                _statements_page, request, user, engine, org_id, None, error=error, form=typed
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
    account_override: str = "",
) -> Any:
    """Parse the upload outside the write transaction (a large file must not hold the write lock), then
    store its new lines in one write: every line or none (the API's service, override and all)."""
    with tempfile.TemporaryDirectory(prefix="cunshe-upload-") as tmp:
        path = Path(tmp) / ("upload" + Path(name).suffix.lower())
        path.write_bytes(data)
        parsed = importers.parse_statement(path, file_name=name)
    sha256 = hashlib.sha256(data).hexdigest()
    write = reconcile_services.import_statement(
        user,
        org_id,
        statement_account_id,
        parsed,
        sha256=sha256,
        file_name=name,
        account_override=account_override,
    )
    return carry(request, user, engine, write, key)


BOOK_SEARCH_FIELDS = ("books_from", "books_to", "books_any", "books_amount", "books_voucher")


@router.get("/web/orgs/{org_id}/statements/{statement_account_id}")
def matches_page(
    request: Request,
    org_id: int,
    statement_account_id: int,
    user: WebUser,
    engine: EngineDep,
    period: str | None = None,
    books_from: Annotated[str, Query(max_length=10)] = "",
    books_to: Annotated[str, Query(max_length=10)] = "",
    books_any: Annotated[str, Query(max_length=1)] = "",
    books_amount: Annotated[str, Query(max_length=24)] = "",
    books_voucher: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """The account's month: proposals, confirmed matches, unmatched lines and the open book lines to match
    them by hand — by default those within ``MANUAL_WINDOW`` of the month; the ``books_*`` search widens
    that to a date range or any date, or looks a book line up by amount or voucher number."""
    searched = (books_from, books_to, books_any, books_amount, books_voucher)
    books = {k: v for k, v in zip(BOOK_SEARCH_FIELDS, searched, strict=True) if v}
    return _matches_page(request, user, engine, org_id, statement_account_id, period, searched=books)


MANUAL_WINDOW = timedelta(days=7)  # book lines this far either side of the month, unless widened


def _book_search(books: dict[str, str], first: date, last: date) -> matching.BookSearch:
    """The officer's search for book lines to match by hand; a field that does not parse is refused by
    name."""
    voucher = books.get("books_voucher", "").strip()
    amount = books.get("books_amount", "").strip().replace(",", "")
    fen = money.parse_amount(amount, "books_amount", allow_negative=True) if amount else None
    if books.get("books_any") or voucher:
        return matching.BookSearch(amount_fen=fen, voucher_no=voucher)
    start = periods.parse_date(books["books_from"], "books_from") if books.get("books_from") else None
    end = periods.parse_date(books["books_to"], "books_to") if books.get("books_to") else None
    start = start or first - MANUAL_WINDOW
    end = end or last + MANUAL_WINDOW
    if start > end:
        raise ValidationError("the first day is after the last", field="books_to")
    return matching.BookSearch(first=start, last=end, amount_fen=fen)


def _book_view(book: Any) -> dict[str, Any]:
    return {
        "id": book.id,
        "when": book.on.isoformat(),
        "voucher": book.voucher_no,
        "amount": book.amount_fen,
        "memo": book.memo,
        "counterparty": book.counterparty,
    }


def _matches_page(
    request: Request,
    user: Principal,
    engine: Engine,
    org_id: int,
    statement_account_id: int,
    period: str | None,
    *,
    error: FormRefused | None = None,
    form: dict[str, Any] | None = None,
    searched: dict[str, str] | None = None,
) -> Response:
    asked = searched or {}  # the officer's search for book lines (``BOOK_SEARCH_FIELDS``)
    org = books_org(user, engine, org_id)
    shown = _work_period(period, engine, org_id)
    first, last = periods.period_bounds(shown)
    lang = session_of(request).lang
    try:
        search = _book_search(asked, first, last)
    except LedgerError as exc:
        fields = {f: f for f in BOOK_SEARCH_FIELDS}
        error = error or refused(request, exc, "books", fields)
        search = _book_search({}, first, last)
    with read_tx(engine) as conn:
        account = store.get_statement_account(conn, org_id, statement_account_id)
        is_bank = account.kind == "bank"
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
        found, more_books = matching.find_open_book_lines(conn, org_id, account.ledger_account, search)
        open_books = [_book_view(b) for b in found]
        proposed = matching.list_matches(conn, org_id, statement_account_id, status="proposed", lang=lang)
        confirmed = matching.list_matches(conn, org_id, statement_account_id, status="confirmed", lang=lang)
        reconciliation: Any = None
        clearing: Any = None
        try:
            if is_bank:
                reconciliation = outputs.bank_reconciliation(conn, org_id, statement_account_id, shown)
            else:
                clearing = outputs.clearing_reconciliation(conn, org_id, statement_account_id, shown)
        except LedgerError as exc:
            reconciliation = error_text(exc, translator(lang))

    def view(match: dict[str, Any]) -> dict[str, Any]:
        statement_side: list[dict[str, Any]] = []
        book_side: list[dict[str, Any]] = []
        settled: list[dict[str, Any]] = []
        for item in match["items"]:
            if item["role"] == "statement":
                statement_side.append(lines.get(item["statement_line_id"]) or {"amount": item["amount_fen"]})
            else:
                book = books.get(item["journal_line_id"])
                row = (
                    _book_view(book)
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
            "statement_total": sum(i["amount_fen"] for i in match["items"] if i["role"] == "statement"),
            "book": book_side,
            "settled": settled,
        }

    in_period = [m for m in (view(m) for m in proposed) if any(s.get("id") in lines for s in m["statement"])]
    done = [m for m in (view(m) for m in confirmed) if any(s.get("id") in lines for s in m["statement"])]
    ready = [m for m in in_period if not m["conflict"]]  # a conflict needs its own note: confirmed one by one
    return render(
        request,
        "matches.html",
        error.status_code if error else 200,
        user=user,
        org=org,
        account=account,
        is_bank=is_bank,
        period=shown,
        proposed=in_period,
        confirm_all={"ids": [m["id"] for m in ready], "total": sum(m["statement_total"] for m in ready)},
        confirmed=done,
        unmatched=unmatched,
        open_books=open_books,
        more_books=more_books,
        book_search={
            **asked,
            "books_from": asked.get("books_from") or (search.first.isoformat() if search.first else ""),
            "books_to": asked.get("books_to") or (search.last.isoformat() if search.last else ""),
        },
        book_limit=matching.BOOK_SEARCH_LIMIT,
        line_count=len(lines),
        reconciliation=reconciliation if not isinstance(reconciliation, str) else None,
        reconciliation_problem=reconciliation if isinstance(reconciliation, str) else None,
        clearing=clearing,
        can_write=user.role in ("admin", "officer"),
        back=f"/web/orgs/{org_id}/statements/{statement_account_id}?" + urlencode({"period": shown}),
        error=error.view() if error else None,
        form=form or {},
    )


def _matches_target(org_id: int, statement_account_id: int, period: str) -> str:
    return f"/web/orgs/{org_id}/statements/{statement_account_id}?" + urlencode({"period": period})


def _shown_period(period: str) -> str | None:
    return period if periods.PERIOD_RE.match(period or "") else None


@router.post("/web/orgs/{org_id}/statements/{statement_account_id}/propose")
def propose(
    request: Request,
    org_id: int,
    statement_account_id: int,
    user: WebUser,
    engine: EngineDep,
    period: Annotated[str, Form(max_length=40)],
    form_key: FormKey = None,
) -> Response:
    try:
        write = reconcile_services.propose(user, org_id, statement_account_id, period)
        result = carry(request, user, engine, write, form_key)
    except LedgerError as exc:
        error = refused(request, exc, "propose", {"period": "period"})
        return _matches_page(
            request, user, engine, org_id, statement_account_id, _shown_period(period), error=error
        )
    flash(request, "proposed", count=result["proposed"], unmatched=result["unmatched_statement_lines"])
    return RedirectResponse(_matches_target(org_id, statement_account_id, period), status_code=303)


def _ids(values: list[str], field: str) -> list[int]:
    """Checkbox values as ids; anything else is refused naming the field (a forged form)."""
    try:
        return [int(v) for v in values]
    except ValueError:
        raise ValidationError("a selected line is not a line id", field=field) from None


@router.post("/web/orgs/{org_id}/statements/{statement_account_id}/confirm-all")
def confirm_all(
    request: Request,
    org_id: int,
    statement_account_id: int,
    user: WebUser,
    engine: EngineDep,
    match_ids: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies the default)
    note: Annotated[str, Form(max_length=500)] = "",
    period: Annotated[str, Form(max_length=40)] = "",
    form_key: FormKey = None,
) -> Response:
    """确认全部: every proposal the page listed (count and total shown on the button), all or none, through
    the same write as the API's bulk confirm."""
    books_org(user, engine, org_id, write=True)  # scope first: another org's page is a 404, no right a 403
    try:
        ids = _ids(match_ids, "match_ids")
        with read_tx(engine) as conn:  # a match of another account of the org is not this page's
            store.get_statement_account(conn, org_id, statement_account_id)
            mine = {  # every record of the account, decided ones too: a resent form replays its answer
                m["id"]
                for m in matching.list_matches(
                    conn, org_id, statement_account_id, current_only=False, limit=1_000_000
                )
            }
        if not ids:
            raise ValidationError("no match to confirm", field="match_ids")
        foreign = [i for i in ids if i not in mine]
        if foreign:
            raise NotFound(f"match {foreign[0]} is not a proposal of this account", field="match")
        write = reconcile_services.confirm_many(user, org_id, ids, note=note)
        result = carry(request, user, engine, write, form_key)
    except LedgerError as exc:
        error = refused(request, exc, "confirm_all")
        return _matches_page(
            request, user, engine, org_id, statement_account_id, _shown_period(period), error=error
        )
    flash(request, "confirmed_all", count=result["confirmed"])
    return RedirectResponse(_matches_target(org_id, statement_account_id, period), status_code=303)


@router.post("/web/orgs/{org_id}/statements/{statement_account_id}/manual-match")
def manual_match(
    request: Request,
    org_id: int,
    statement_account_id: int,
    user: WebUser,
    engine: EngineDep,
    statement_line_ids: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies the default)
    journal_line_ids: Annotated[list[str], Form()] = [],  # noqa: B006
    note: Annotated[str, Form(max_length=500)] = "",
    period: Annotated[str, Form(max_length=40)] = "",
    books_from: Annotated[str, Form(max_length=10)] = "",
    books_to: Annotated[str, Form(max_length=10)] = "",
    books_any: Annotated[str, Form(max_length=1)] = "",
    books_amount: Annotated[str, Form(max_length=24)] = "",
    books_voucher: Annotated[str, Form(max_length=32)] = "",
    form_key: FormKey = None,
) -> Response:
    """手工匹配: any statement lines of this account against any of its book lines whose sums agree
    (many-to-one, one-to-many, many-to-many), confirmed at once. A refused form is shown again with the
    officer's search for book lines (the ``books_*`` fields it carries) and the ticks kept."""
    books_org(user, engine, org_id, write=True)  # scope first: another org's page is a 404, no right a 403
    try:
        s_ids = _ids(statement_line_ids, "statement_line_ids")
        b_ids = _ids(journal_line_ids, "journal_line_ids")
        write = reconcile_services.manual_match(user, org_id, statement_account_id, s_ids, b_ids, note=note)
        result = carry(request, user, engine, write, form_key)
    except LedgerError as exc:
        fields = {f: f for f in ("statement_line_ids", "journal_line_ids", "note")}
        error = refused(request, exc, "manual", fields)
        typed = {
            "statement_line_ids": statement_line_ids,
            "journal_line_ids": journal_line_ids,
            "note": note,
        }
        shown = _shown_period(period)
        searched = (books_from, books_to, books_any, books_amount, books_voucher)
        books = {k: v for k, v in zip(BOOK_SEARCH_FIELDS, searched, strict=True) if v}
        return _matches_page(
            request,
            user,
            engine,
            org_id,
            statement_account_id,
            shown,
            error=error,
            form=typed,
            searched=books,
        )
    flash(request, "manual_matched", id=result["id"])
    return RedirectResponse(_matches_target(org_id, statement_account_id, period), status_code=303)


def _refused_on_account(
    request: Request,
    user: Principal,
    engine: Engine,
    org_id: int,
    account: str,
    period: str,
    error: FormRefused,
    form: dict[str, Any],
) -> Response:
    """A refused form of the matches page shown again on it (the form names its account and month). A
    refusal of the scope (403, 404: another org's match or account) is not the form's: its own page, as is
    any refusal of the page the form names."""
    try:
        account_id = int(account)
    except ValueError:
        raise StarletteHTTPException(error.status_code, error.message) from None
    if error.status_code in (403, 404):
        raise StarletteHTTPException(error.status_code, error.message)
    try:
        return _matches_page(
            request, user, engine, org_id, account_id, _shown_period(period), error=error, form=form
        )
    except LedgerError:
        raise StarletteHTTPException(error.status_code, error.message) from None


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
    account: Annotated[str, Form(max_length=20)] = "",
    period: Annotated[str, Form(max_length=40)] = "",
    form_key: FormKey = None,
) -> Response:
    """确认 or 驳回 a proposal; 驳回 of a confirmed match (with a note) is 取消勾对, as the API's reject."""
    if decision not in ("confirm", "reject"):
        raise StarletteHTTPException(404)
    try:
        carry(
            request,
            user,
            engine,
            reconcile_services.decide(user, org_id, match_id, decision, note=note),
            form_key,
        )
    except LedgerError as exc:
        error = refused(request, exc, f"{decision}-{match_id}", {"note": "note"})
        return _refused_on_account(
            request, user, engine, org_id, account, period, error, {"note": note, "match": match_id}
        )
    flash(request, N_("confirmed_ok") if decision == "confirm" else N_("rejected_ok"), id=match_id)
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
    account: Annotated[str, Form(max_length=20)] = "",
    period: Annotated[str, Form(max_length=40)] = "",
    form_key: FormKey = None,
) -> Response:
    """对账单生成凭证: an unmatched line (a bank charge …) becomes an entry by a rule, matched to it."""
    try:
        posted = carry(
            request, user, engine, reconcile_services.post_by_rule(user, org_id, line_id, rule), form_key
        )
    except LedgerError as exc:
        error = refused(request, exc, f"rule-{line_id}")
        return _refused_on_account(request, user, engine, org_id, account, period, error, {})
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
