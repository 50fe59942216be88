"""The officer's web workbench: server-rendered pages under ``/web`` (Jinja2 templates in ``templates/web``).

Pages present; they never compute and never hold SQL. Every figure comes from a service function of the
books (``ledger.*``, ``pos.*``, ``reports.*``) — often the same function the JSON API calls — and is only
formatted here (``ledger.books.money``).

Every route of this router runs inside ``WebRoute``, which is the whole web layer in one place: it loads the
signed session cookie (``ledger.web.session``), refuses a POST without the session's CSRF token, applies
``?lang=zh|en``, turns domain errors into an HTML error page (404 for another org's pages, so their
existence does not leak), and adds the security headers and the renewed cookie to every response.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from ledger.access import bookkeeping
from ledger.access.auth import Principal, audit, login_candidate, password_matches, principal_for_user
from ledger.access.service import Write, carry_out, org_keys
from ledger.books import periods
from ledger.books.errors import LedgerError, Unauthenticated, ValidationError
from ledger.books.journal import EntryFilter, latest_period, list_entries
from ledger.books.money import format_money, format_quantity, parse_amount
from ledger.books.orgs import all_org_ids, get_org, subtree_ids
from ledger.books.trial_balance import trial_balance
from ledger.community import assets as lease_assets
from ledger.community.leases import contracts as leases
from ledger.community.leases import receipts, rentroll
from ledger.community.leases.schedule import AGING_BUCKETS
from ledger.db.engine import read_tx, run_write
from ledger.http import EngineDep, client_addr, content_disposition
from ledger.reconcile import importers, matching, outputs, store
from ledger.reconcile import services as reconcile_services
from ledger.web.i18n import side_label, translator
from ledger.web.login_limits import login_limits
from ledger.web.security import (
    CSRF_FIELD,
    CsrfRefused,
    TooManyAttempts,
    add_security_headers,
    login_throttle,
    require_csrf,
    require_same_origin,
)
from ledger.web.session import WebSession, load_session, save_session
from pos import shifts, stores
from reports import registry
from reports.builders_base import parse_report_period
from reports.builders_batch import render_report

log = logging.getLogger("cunshe.web")

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "templates" / "web"
LOCALES = {"zh": "zh_CN", "en": "en"}
STATIC_FILES = {"web.css": "text/css; charset=utf-8"}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # every other method needs the CSRF token


class LoginRequired(Exception):
    """The page needs a logged-in user; the browser is sent to the login page."""


class WebRoute(APIRoute):
    """Session, CSRF, language, HTML errors and security headers around every page (see module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def web_handler(request: Request) -> Response:
            session = load_session(request)
            lang = request.query_params.get("lang")
            if request.method == "GET" and lang:
                session.set_lang(lang)
            try:
                if request.method not in SAFE_METHODS:
                    require_same_origin(request)
                    await require_csrf(request, session.csrf)
                response = await handler(request)
            except LoginRequired:
                target = "/web/"
                if request.method == "GET":
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = RedirectResponse("/web/login?" + urlencode({"next": target}), status_code=303)
            except LedgerError as exc:
                response = error_page(request, exc.http_status, exc)
                if isinstance(exc, TooManyAttempts):
                    response.headers["Retry-After"] = str(exc.retry_after)
            except RequestValidationError as exc:
                response = error_page(request, 422, exc)
            except StarletteHTTPException as exc:
                response = error_page(request, exc.status_code, exc)
            except Exception as exc:
                log.exception("web page failed", exc_info=exc)
                response = error_page(request, 500, exc)
            save_session(request, response, session)
            add_security_headers(response)
            return response

        return web_handler


router = APIRouter(route_class=WebRoute, include_in_schema=False)


# ---- rendering ---------------------------------------------------------------------------------------


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def session_of(request: Request) -> WebSession:
    return load_session(request)


def _lang_url(request: Request, lang: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return request.url.path + "?" + urlencode([*params, ("lang", lang)])


def render(
    request: Request, template: str, status_code: int = 200, *, user: Principal | None = None, **context: Any
) -> HTMLResponse:
    session = session_of(request)
    lang = session.lang
    locale = LOCALES[lang]

    def money(fen: int | None) -> str:
        return "" if fen is None else format_money(fen, locale, symbol=False)

    html = (
        environment()
        .get_template(template)
        .render(
            t=translator(lang),
            lang=lang,
            user=user,
            csrf_field=CSRF_FIELD,
            csrf_token=session.csrf,
            flash=session.pop_flash(),
            lang_urls={code: _lang_url(request, code) for code in LOCALES},
            path=request.url.path,
            money=money,
            side=lambda s: side_label(s, lang),
            form_key=lambda: uuid.uuid4().hex,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code)


FormKey = Annotated[str | None, Form(min_length=1, max_length=128)]
"""Each form's one-time key (a hidden field, new at every render): a form sent twice writes once."""


def carry(request: Request, user: Principal, engine: Engine, write: Write[Any], key: str | None) -> Any:
    """Carry out a service's write for the person on the page (scope, key, write, audit); its answer."""
    return carry_out(engine, user, write, key=key, remote_addr=client_addr(request)).body


def error_page(request: Request, status_code: int, exc: Exception) -> HTMLResponse:
    """The HTML answer to a failed page; the status code is kept (403, 404, 409, 422, 429, 500)."""
    t = translator(session_of(request).lang)
    if isinstance(exc, CsrfRefused):
        title, message = t("error_403"), t("csrf_refused")
    elif status_code == 404:
        title, message = t("error_404"), t("not_found_text")
    elif status_code == 500:
        title, message = t("error_500"), ""
    elif isinstance(exc, LedgerError):
        title, message = (
            t(f"error_{status_code}") if status_code in (403, 429) else t("error_4xx"),
            exc.message,
        )
    elif isinstance(exc, RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        title = t("error_4xx")
        message = f"{'.'.join(str(p) for p in first.get('loc', ())[1:])}: {first.get('msg', '')}"
    else:
        title, message = t("error_4xx"), str(getattr(exc, "detail", ""))
    user = getattr(request.state, "web_user", None)
    return render(
        request, "error.html", status_code, user=user, title=title, message=message, code=status_code
    )


# ---- who is asking -----------------------------------------------------------------------------------


def web_user(request: Request, engine: EngineDep) -> Principal:
    """The logged-in person, from the session cookie only (bearer tokens are for the API)."""
    session = session_of(request)
    if session.user_id is None:
        raise LoginRequired
    try:
        with read_tx(engine) as conn:
            user = principal_for_user(conn, session.user_id, logged_in_at=session.logged_in_at)
    except Unauthenticated:
        session.log_out()
        raise LoginRequired from None
    request.state.web_user = user
    return user


WebUser = Annotated[Principal, Depends(web_user)]


def _safe_next(target: str | None) -> str:
    """Only a path of this workbench: never another site, never a scheme-relative ``//host``."""
    if target and target.startswith("/web/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/web/"


# ---- the workflows' figures on the dashboard -----------------------------------------------------------


def _open_shifts(conn: Any, user: Principal, org: Any) -> int | None:
    """Shifts still open (not yet handed over, 未交班) in the company's stores."""
    if org.kind != "company":
        return None
    return sum(
        len(shifts.list_shifts(conn, user, s.id, "open")) for s in stores.list_stores(conn, user, org.id)
    )


def _unmatched_lines(conn: Any, user: Principal, org: Any) -> int | None:
    """Statement lines of every statement account of the org not yet in a confirmed match."""
    accounts = store.list_statement_accounts(conn, org.id)
    if not accounts:
        return None
    return sum(
        len(matching.statement_lines(conn, org.id, a["id"], unmatched=True, limit=100_000)) for a in accounts
    )


def _last_reconciliation(conn: Any, user: Principal, org: Any) -> str | None:
    """The day of the latest confirmed match in any of the org's statement accounts."""
    stamps = [
        m["created_at"]
        for a in store.list_statement_accounts(conn, org.id)
        for m in matching.list_matches(conn, org.id, a["id"], status="confirmed", limit=100_000)
    ]
    return max(stamps).date().isoformat() if stamps else None


def _arrears(conn: Any, user: Principal, org: Any) -> int | None:
    """Rent past due and unpaid today (every aging bucket but "current", which is not yet due).

    The one sum on these pages: the rent roll gives totals per aging bucket, not their total.
    """
    if org.standard != "collective":
        return None
    rows = rentroll.rent_roll(conn, [org.id], date.today())
    if not rows:
        return None
    return sum(fen for bucket, fen in rentroll.aging_totals(rows).items() if bucket != "current")


# Dashboard columns beyond the core:
# (label key, figure(conn, user, org) -> value or None where it does not apply, kind).
WORKFLOW_COLUMNS: tuple[tuple[str, Callable[..., Any], str], ...] = (
    ("open_shifts", _open_shifts, "count"),
    ("unmatched_lines", _unmatched_lines, "count"),
    ("last_reconciliation", _last_reconciliation, "text"),
    ("arrears", _arrears, "money"),
)


def current_period() -> str:
    today = date.today()
    return f"{today.year}-{today.month:02d}"


def _period_to_close(conn: Any, org_id: int, closed_through: str | None) -> str:
    """The month the officer closes next: the first month after the closed ones that has entries; else the
    month after the last closed one; else the current month."""
    first_day = periods.period_bounds(periods.next_period(closed_through))[0] if closed_through else None
    entries, _total = list_entries(conn, org_id, EntryFilter(date_from=first_day), limit=1)
    if entries:
        return entries[0]["period"]
    return periods.next_period(closed_through) if closed_through else current_period()


def _org_rows(conn: Any, user: Principal, orgs: Iterable[Any]) -> list[dict]:
    rows = []
    for org in orgs:
        if org.standard is None:  # streets and the county keep no books of their own
            continue
        through = periods.closed_through(conn, org.id)
        extra = {}
        for key, fn, kind in WORKFLOW_COLUMNS:
            try:
                extra[key] = (kind, fn(conn, user, org))
            except LedgerError as exc:
                extra[key] = ("text", exc.message)
        rows.append(
            {
                "id": org.id,
                "name": org.name,
                "kind": org.kind,
                "collective": org.standard == "collective",
                "closed_through": through,
                "open_period": _period_to_close(conn, org.id, through),
                "extra": extra,
            }
        )
    return rows


# ---- pages -------------------------------------------------------------------------------------------


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/web/", status_code=303)


@router.get("/web/static/{name}")
def static(name: str) -> FileResponse:
    if name not in STATIC_FILES:
        raise StarletteHTTPException(404)
    return FileResponse(
        TEMPLATES_DIR / name, media_type=STATIC_FILES[name], headers={"Cache-Control": "max-age=3600"}
    )


@router.get("/web/login")
def login_form(request: Request, next: str | None = None) -> Response:
    session = session_of(request)
    if session.user_id is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), username="", error=None)


@router.post("/web/login")
def login(
    request: Request,
    engine: EngineDep,
    username: Annotated[str, Form(max_length=150)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=500)] = "/web/",
) -> Response:
    throttle = login_throttle(request)
    addr = client_addr(request)
    limits = login_limits(request)
    limits.admit(addr)  # every attempt counts, known username or not, before any password work
    throttle.check(username, addr)
    with read_tx(engine) as conn:
        candidate = login_candidate(conn, username)
    with limits.hashing_slot():  # argon2 in this worker thread, at most login_hash_slots at once
        matched = password_matches(candidate, password)
    if not matched:
        throttle.failed(username, addr)
        t = translator(session_of(request).lang)
        return render(
            request, "login.html", 401, next=_safe_next(next), username=username, error=t("login_failed")
        )
    with read_tx(engine) as conn:
        user = principal_for_user(conn, candidate.user_id)  # type: ignore[arg-type]
    throttle.succeeded(username, addr)

    def record(conn: Any) -> None:
        audit(conn, user, "web.login", remote_addr=addr)

    run_write(engine, record)
    session_of(request).log_in(user.user_id)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/web/logout")
def logout(request: Request) -> Response:
    session = session_of(request)
    session.log_out()
    session.set_flash(translator(session.lang)("logged_out"))
    return RedirectResponse("/web/login", status_code=303)


@router.get("/web/")
def dashboard(request: Request, user: WebUser, engine: EngineDep) -> Response:
    if user.role == "cashier":  # a cashier's work is the till (issue 18), not the books
        return RedirectResponse("/till/", status_code=303)
    with read_tx(engine) as conn:
        visible = user.visible_orgs(conn)
        orgs = [
            get_org(conn, org_id) for org_id in sorted(visible if visible is not None else all_org_ids(conn))
        ]
        rows = _org_rows(conn, user, orgs)
    return render(
        request,
        "dashboard.html",
        user=user,
        rows=rows,
        columns=[(key, kind) for key, _fn, kind in WORKFLOW_COLUMNS],
        rollup_org=user.scope_org_id if user.role == "officer" else None,
    )


@router.get("/web/orgs/{org_id}")
def org_page(
    request: Request, org_id: int, user: WebUser, engine: EngineDep, period: str | None = None
) -> Response:
    with read_tx(engine) as conn:
        org = user.require_org(conn, org_id)  # 404 outside the user's scope
        if org.standard is None:
            raise StarletteHTTPException(404)
        through = periods.closed_through(conn, org_id)
        to_close = _period_to_close(conn, org_id, through)
        closing_first = periods.open_months_before(conn, org_id, to_close)  # the form names them: no surprise
        shown = periods.parse_period(period) if period else to_close
        tb = trial_balance(conn, org_id, shown, None)
    rows = [
        {
            "code": r.code,
            "name": r.name,
            "level": r.level,
            "opening": abs(r.opening_fen),
            "opening_side": "平" if r.opening_fen == 0 else ("借" if r.opening_fen > 0 else "贷"),
            "debit": r.debit_fen,
            "credit": r.credit_fen,
            "closing": abs(r.closing_fen),
            "side": r.side,
        }
        for r in tb
        if r.opening_fen or r.debit_fen or r.credit_fen or r.closing_fen
    ]
    top = [r for r in tb if r.level == 1]
    return render(
        request,
        "org.html",
        user=user,
        org=org,
        period=shown,
        closed_through=through,
        is_closed=through is not None and shown <= through,
        to_close=to_close,
        closing_first=closing_first,
        rows=rows,
        total_debit=sum(r.debit_fen for r in top),
        total_credit=sum(r.credit_fen for r in top),
        can_write=user.role in ("admin", "officer"),
    )


@router.post("/web/orgs/{org_id}/close")
def close_period(
    request: Request,
    org_id: int,
    user: WebUser,
    engine: EngineDep,
    period: Annotated[str, Form(max_length=7)],
    including: Annotated[str, Form(max_length=240)] = "",
    form_key: FormKey = None,
) -> Response:
    # ``including``: the earlier open months the form listed and the officer confirmed
    named = [m.strip() for m in including.split(",") if m.strip()]
    answer = carry(
        request, user, engine, bookkeeping.close_period(user, org_id, period, including=named), form_key
    )
    closed = answer.get("closed") if isinstance(answer, dict) else None
    session_of(request).set_flash(
        translator(session_of(request).lang)("closed_ok", period="、".join(closed or [period]))
    )
    return RedirectResponse(f"/web/orgs/{org_id}?" + urlencode({"period": period}), status_code=303)


# ---- bank and payment statements (ledger.reconcile) ---------------------------------------------------

UPLOAD_SUFFIXES = (".csv", ".txt", ".xlsx", ".xls")
DOWNLOAD_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _books_org(user: Principal, engine: Engine, org_id: int, *, write: bool = False) -> Any:
    """The org if the user may see it (404 otherwise) and it keeps books; 403 for a write without rights."""
    with read_tx(engine) as conn:
        org = user.require_org(conn, org_id, write=write)
    if org.standard is None:
        raise StarletteHTTPException(404)
    return org


def _period_param(period: str | None, engine: Engine, org_id: int) -> str:
    """The month asked for, or else the latest month (up to now) with an entry of the org or the orgs below
    it, or else the current month."""
    if period:
        return periods.parse_period(period)
    now = current_period()
    with read_tx(engine) as conn:
        return latest_period(conn, subtree_ids(conn, org_id), not_after=now) or now


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
    org = _books_org(user, engine, org_id)
    shown = _period_param(period, engine, org_id)
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
    _flash(request, "account_added", name=name)
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
    _flash(
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


def _flash(request: Request, key: str, **fields: object) -> None:
    session = session_of(request)
    session.set_flash(translator(session.lang)(key, **fields))


@router.get("/web/orgs/{org_id}/statements/{statement_account_id}")
def matches_page(
    request: Request,
    org_id: int,
    statement_account_id: int,
    user: WebUser,
    engine: EngineDep,
    period: str | None = None,
) -> Response:
    org = _books_org(user, engine, org_id)
    shown = _period_param(period, engine, org_id)
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
    _flash(request, "proposed", count=result["proposed"], unmatched=result["unmatched_statement_lines"])
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
    _flash(request, "confirmed_ok" if decision == "confirm" else "rejected_ok", id=match_id)
    return RedirectResponse(_safe_next(back) if back else f"/web/orgs/{org_id}/statements", status_code=303)


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
    _flash(request, "posted_by_rule", voucher=posted["voucher_no"])
    return RedirectResponse(_safe_next(back) if back else f"/web/orgs/{org_id}/statements", status_code=303)


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
    _books_org(user, engine, org_id)
    shown = _period_param(period, engine, org_id)
    with read_tx(engine) as conn:
        rec = outputs.bank_reconciliation(conn, org_id, statement_account_id, shown)
        data = outputs.render_reconciliation(conn, rec, fmt)
    return _attachment(data, DOWNLOAD_TYPES[fmt], f"银行存款余额调节表-{rec.account_name}-{shown}.{fmt}")


def _attachment(data: bytes, media_type: str, filename: str) -> Response:
    ascii_name = filename.encode("ascii", "ignore").decode() or "report"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition})


# ---- report downloads (reports.registry, the same pipeline as the API) ---------------------------

REPORT_FORMATS = ("pdf", "xlsx")


@router.get("/web/orgs/{org_id}/reports")
def reports_page(
    request: Request, org_id: int, user: WebUser, engine: EngineDep, period: str | None = None
) -> Response:
    with read_tx(engine) as conn:
        org = user.require_org(conn, org_id)  # 404 outside the user's scope
    shown = _period_param(period, engine, org_id)
    lang = session_of(request).lang
    rollup = org.kind in registry.ROLLUP_KINDS
    standards = ("collective", "small_enterprise") if org.standard is None else (org.standard,)
    return render(
        request,
        "reports.html",
        user=user,
        org=org,
        period=shown,
        reports=[
            {
                "name": spec.name,
                "title": spec.title_en if lang == "en" else spec.file_title(org.standard, "zh"),
                "options": list(spec.options),
                "rollup": rollup,
            }
            for spec in registry.reports_for(org)
        ],
        standards=standards,
        formats=REPORT_FORMATS,
    )


@router.get("/web/orgs/{org_id}/reports/{name}.{fmt}")
def download_report(
    request: Request,
    org_id: int,
    name: str,
    fmt: str,
    user: WebUser,
    engine: EngineDep,
    period: str | None = None,
    standard: str | None = None,
) -> Response:
    """The same download as ``GET /api/v1/orgs/{org}/reports/{name}.{fmt}``, for the logged-in person."""
    if fmt not in REPORT_FORMATS:
        raise StarletteHTTPException(404)
    spec = registry.spec_for(name)
    options = {k: v for k, v in request.query_params.items() if k in spec.options}
    report_period = parse_report_period(_period_param(period, engine, org_id), None, None)
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)  # 404 outside the user's scope
        rendered = render_report(
            conn,
            name,
            org_id,
            report_period,
            fmt,
            lang=session_of(request).lang,
            options=options,
            standard=standard or None,
        )
    disposition = content_disposition(rendered.filename, rendered.display_name)
    return Response(
        rendered.content, media_type=rendered.media_type, headers={"Content-Disposition": disposition}
    )


# ---- leases: rent roll, accrual run, rent received (ledger.community) ---------------------------------

# The PDF reports linked from the rent page: (report name, label key, has a street roll-up).
LEASE_REPORTS = (("rent-roll", "pdf_rent_roll", False), ("arrears", "pdf_arrears", True))
RECEIPT_TOKEN_RE = r"^[A-Za-z0-9_-]{16,64}$"
EXPIRING_DAYS = 90  # the rent page lists contracts ending within this many days, as the API's default
# Which form field a service's error names, for the message beside the form.
RECEIPT_FIELDS = {"amount": "amount", "date": "date", "lessee": "lessee", "lessee_id": "lessee"}


def _collective_scope(
    conn: Any, user: Principal, org_id: int, *, write: bool = False
) -> tuple[Any, list[int]]:
    """The org and the collective orgs its rent page covers: itself (a community or village), or those of
    its street (or the county) that the user may see — as the API's rent roll and accrual run. 404 outside
    the user's scope and for a company (it keeps no collective books); 403 for a write without rights."""
    org = user.require_org(conn, org_id, write=write)
    if org.standard != "collective" and org.kind not in ("street", "county"):
        raise StarletteHTTPException(404)
    return org, leases.collective_orgs_for(conn, user, org_id, write=write)


def _back_to_leases(org_id: int, as_of: str) -> str:
    """The rent page again, on the day it showed (the form's hidden ``as_of``; dropped unless a date)."""
    try:
        day = periods.parse_date(as_of, "as_of") if as_of else None
    except ValidationError:
        day = None
    return f"/web/orgs/{org_id}/leases" + (f"?{urlencode({'as_of': day.isoformat()})}" if day else "")


def _lease_row(r: rentroll.RentRollRow, names: dict[int, str]) -> dict[str, Any]:
    return {
        "org_id": r.org_id,
        "org": names[r.org_id],
        "code": r.code,
        "lessee": r.lessee,
        "start": r.start.isoformat(),
        "end": r.end.isoformat(),
        "terminated_on": r.terminated_on.isoformat() if r.terminated_on else None,
        "monthly_rent": r.monthly_rent_fen,
        "billed": r.billed_fen,
        "received": r.received_fen,
        "outstanding": r.outstanding_fen,
        "aging": r.aging,
    }


def _open_lessees(rows: Iterable[rentroll.RentRollRow], as_of: date) -> list[str]:
    """Lessees a receipt can come from: a contract still running on ``as_of``, or rent still owed."""
    return sorted(
        {r.lessee for r in rows if r.outstanding_fen > 0 or min(r.end, r.terminated_on or r.end) >= as_of}
    )


def _leases_page(
    request: Request,
    user: Principal,
    engine: Engine,
    org_id: int,
    as_of_text: str | None,
    *,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    as_of = periods.parse_date(as_of_text, "as_of") if as_of_text else None
    with read_tx(engine) as conn:
        org, org_ids = _collective_scope(conn, user, org_id)
        if as_of is None:  # today, or the end of the last month the books were kept in if that is earlier
            latest = latest_period(conn, org_ids, not_after=current_period())
            as_of = min(date.today(), periods.period_bounds(latest)[1]) if latest else date.today()
        names = {i: get_org(conn, i).name for i in org_ids}
        rows = rentroll.rent_roll(conn, org_ids, as_of)
        idle = lease_assets.list_assets(conn, org_ids, status="idle")
    period = f"{as_of:%Y-%m}"
    reports = [
        {"org_id": i, "name": names[i], "links": [(name, key) for name, key, _rollup in LEASE_REPORTS]}
        for i in org_ids
    ]
    if org.standard is None:
        reports.insert(
            0,
            {
                "org_id": org.id,
                "name": org.name,
                "links": [(n, k) for n, k, rollup in LEASE_REPORTS if rollup],
            },
        )
    is_collective = org.standard == "collective"
    return render(
        request,
        "leases.html",
        status_code,
        user=user,
        org=org,
        as_of=as_of.isoformat(),
        period=period,
        by_org=not is_collective,
        rows=[_lease_row(r, names) for r in rows],
        totals=rentroll.roll_totals(rows),
        buckets=AGING_BUCKETS,
        aging=rentroll.aging_totals(rows),
        horizon_days=EXPIRING_DAYS,
        expiring=[_lease_row(r, names) for r in rentroll.expiring(rows, as_of, EXPIRING_DAYS)],
        idle=[
            {
                "org": a["org_name"],
                "kind": a["kind"],
                "name": a["name"],
                "location": a["location"],
                "area": format_quantity(a["area_milli_m2"]),
            }
            for a in idle
        ],
        reports=reports,
        can_write=user.role in ("admin", "officer"),
        takes_receipts=is_collective,
        lessees=_open_lessees(rows, as_of) if is_collective else [],
        error=error,
        form=form or {"lessee": "", "amount": "", "date": as_of.isoformat(), "token": uuid.uuid4().hex},
    )


@router.get("/web/orgs/{org_id}/leases")
def leases_page(
    request: Request, org_id: int, user: WebUser, engine: EngineDep, as_of: str | None = None
) -> Response:
    """租金: the rent roll with its aging, contracts expiring soon, idle assets, and (for an officer) the
    accrual run and the rent-received form."""
    return _leases_page(request, user, engine, org_id, as_of)


@router.post("/web/orgs/{org_id}/leases/accrue")
def accrue_leases_form(
    request: Request,
    org_id: int,
    user: WebUser,
    engine: EngineDep,
    through: Annotated[str, Form(max_length=7)],
    as_of: Annotated[str, Form(max_length=10)] = "",
    form_key: FormKey = None,
) -> Response:
    """The accrual run (租金计提) of the org or of its street's collective orgs, as ``POST …/leases/accrue``
    of the API: every contract-month through ``through`` not charged yet; a rerun posts nothing."""
    periods.parse_period(through, "through")

    def run(conn: Connection) -> Any:
        _org, org_ids = _collective_scope(conn, user, org_id, write=True)
        return leases.accrue_leases(conn, org_ids, through, user_id=user.user_id)

    write = Write(
        action="lease.accrue",
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=lambda conn: _collective_scope(conn, user, org_id, write=True),
        run=run,
        answer=lambda r: {"posted": r.posted, "amount_fen": r.amount_fen},
        request={"accrue": [org_id, through]},
        detail=lambda r: f"through {through}: {r.posted} months" if r.posted else None,
        status=200,
    )
    result = carry(request, user, engine, write, form_key)
    lang = session_of(request).lang
    _flash(
        request, "accrued", count=result["posted"], amount=format_money(result["amount_fen"], LOCALES[lang])
    )
    return RedirectResponse(_back_to_leases(org_id, as_of), status_code=303)


@router.post("/web/orgs/{org_id}/leases/receipts")
def receive_rent_form(
    request: Request,
    org_id: int,
    user: WebUser,
    engine: EngineDep,
    lessee: Annotated[str, Form(max_length=200)],
    amount: Annotated[str, Form(max_length=40)],
    received_on: Annotated[str, Form(alias="date", max_length=10)],
    token: Annotated[str, Form(pattern=RECEIPT_TOKEN_RE)],
    as_of: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Rent received (收租) from a lessee of a community or village, as ``POST …/lease-receipts``: it pays
    the oldest open charges, the rest stays as a credit. The form's one-time token is the idempotency key,
    so a form sent twice (a double click, a resubmit) posts once."""
    try:
        fen = parse_amount(amount.strip(), "amount")
        day = periods.parse_date(received_on, "date")

        def scope(conn: Connection) -> None:
            org, _org_ids = _collective_scope(conn, user, org_id, write=True)
            if org.standard != "collective":
                raise StarletteHTTPException(404)  # rent is received by a community, not by its street

        key = f"web-receipt:{token}"
        write = Write(
            action="lease.receipt",
            keyspace=org_keys(org_id),
            org_id=org_id,
            scope=scope,
            run=lambda conn: receipts.receive_rent(
                conn,
                org_id,
                amount_fen=fen,
                received_on=day,
                lessee=lessee,
                idempotency_key=key,
                user_id=user.user_id,
            ),
            answer=lambda r: {
                "voucher_no": r.voucher_no,
                "applied_fen": r.applied_fen,
                "credit_fen": r.credit_fen,
            },
            request={"receipt": [org_id, lessee, fen, day.isoformat()]},
            detail=lambda r: r.voucher_no,
        )
        done = carry_out(engine, user, write, key=key, remote_addr=client_addr(request))
        receipt = SimpleNamespace(**done.body, created=not done.replayed)
    except ValidationError as exc:
        t = translator(session_of(request).lang)
        label = t(RECEIPT_FIELDS[exc.field]) if exc.field in RECEIPT_FIELDS else exc.field
        message = f"{label}: {exc.message}" if label else exc.message
        form = {"lessee": lessee, "amount": amount, "date": received_on, "token": token}
        return _leases_page(
            request, user, engine, org_id, as_of or None, status_code=422, error=message, form=form
        )
    locale = LOCALES[session_of(request).lang]
    _flash(
        request,
        "receipt_posted" if receipt.created else "receipt_replayed",
        voucher=receipt.voucher_no,
        applied=format_money(receipt.applied_fen, locale),
        credit=format_money(receipt.credit_fen, locale),
    )
    return RedirectResponse(_back_to_leases(org_id, as_of), status_code=303)
