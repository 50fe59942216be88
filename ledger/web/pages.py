"""The officer's web workbench: server-rendered pages under ``/web`` (Jinja2 templates in ``templates/web``).

Pages present; they never compute and never hold SQL. Every figure comes from a service function of the
books (``ledger.*``, ``pos.*``, ``reports.*``) — often the same function the JSON API calls — and is only
formatted here (``ledger.money``). Workflow modules still being built (POS shifts, statements and matching,
report downloads) are imported lazily through ``ledger.modules.present``: a page shows what exists.

Every route of this router runs inside ``WebRoute``, which is the whole web layer in one place: it loads the
signed session cookie (``ledger.web.session``), refuses a POST without the session's CSRF token, applies
``?lang=zh|en``, turns domain errors into an HTML error page (404 for another org's pages, so their
existence does not leak), and adds the security headers and the renewed cookie to every response.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import date
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from ledger import periods
from ledger.api import orgs as org_api
from ledger.api.deps import EngineDep, client_addr
from ledger.auth import Principal, audit, check_password, principal_for_user
from ledger.db.engine import read_tx, run_write
from ledger.errors import LedgerError, Unauthenticated
from ledger.journal import EntryFilter, list_entries
from ledger.modules import present
from ledger.money import format_money
from ledger.web.i18n import side_label, translator
from ledger.web.security import (
    CSRF_FIELD,
    CsrfRefused,
    TooManyAttempts,
    add_security_headers,
    login_throttle,
    require_csrf,
)
from ledger.web.session import WebSession, load_session, save_session

log = logging.getLogger("cunshe.web")

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "web"
LOCALES = {"zh": "zh_CN", "en": "en"}
STATIC_FILES = {"web.css": "text/css; charset=utf-8"}


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
                if request.method == "POST":
                    await require_csrf(request, session.csrf)
                response = await handler(request)
            except LoginRequired:
                target = request.url.path if request.method == "GET" else "/web/"
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
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code)


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
            user = principal_for_user(conn, session.user_id)
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


# ---- optional figures from modules still being built ---------------------------------------------------


def _provider(module: str, name: str) -> Callable[..., Any] | None:
    """``module.name`` when that workflow module is installed and offers it; None otherwise."""
    if not present(module):
        return None
    return getattr(import_module(module), name, None)


# Dashboard columns beyond the core: (label key, module, function(conn, org_id) -> value, kind of value).
OPTIONAL_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("open_shifts", "pos.shifts", "count_open_shifts", "count"),
    ("unmatched_lines", "ledger.reconcile.store", "count_unmatched_lines", "count"),
    ("last_reconciliation", "ledger.reconcile.store", "last_reconciliation", "text"),
    ("arrears", "ledger.community.rentroll", "arrears_total", "money"),
)


def _available_columns() -> list[tuple[str, Callable[..., Any], str]]:
    out = []
    for key, module, name, kind in OPTIONAL_COLUMNS:
        fn = _provider(module, name)
        if fn is not None:
            out.append((key, fn, kind))
    return out


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


def _org_rows(
    conn: Any, orgs: Iterable[Any], columns: list[tuple[str, Callable[..., Any], str]]
) -> list[dict]:
    rows = []
    for org in orgs:
        if org.standard is None:  # streets and the county keep no books of their own
            continue
        through = periods.closed_through(conn, org.id)
        extra = {}
        for key, fn, kind in columns:
            try:
                extra[key] = (kind, fn(conn, org.id))
            except LedgerError as exc:
                extra[key] = ("text", exc.message)
        rows.append(
            {
                "id": org.id,
                "name": org.name,
                "kind": org.kind,
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
    throttle.check(username, addr)
    try:
        with read_tx(engine) as conn:
            user = check_password(conn, username, password)
    except Unauthenticated:
        throttle.failed(username, addr)
        t = translator(session_of(request).lang)
        return render(
            request, "login.html", 401, next=_safe_next(next), username=username, error=t("login_failed")
        )
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
    orgs = org_api.list_orgs(user, engine)
    columns = _available_columns()
    with read_tx(engine) as conn:
        rows = _org_rows(conn, orgs, columns)
    return render(
        request,
        "dashboard.html",
        user=user,
        rows=rows,
        columns=[(key, kind) for key, _fn, kind in columns],
        nav=_nav(None),
    )


def _nav(org_id: int | None) -> dict[str, bool]:
    """Which workflow pages exist, so the page links only to pages that work."""
    return {"statements": False, "reports": False}


@router.get("/web/orgs/{org_id}")
def org_page(
    request: Request, org_id: int, user: WebUser, engine: EngineDep, period: str | None = None
) -> Response:
    org = org_api.get_org(org_id, user, engine)  # 404 outside the user's scope
    if org.standard is None:
        raise StarletteHTTPException(404)
    with read_tx(engine) as conn:
        through = periods.closed_through(conn, org_id)
        to_close = _period_to_close(conn, org_id, through)
    shown = periods.parse_period(period) if period else to_close
    tb = org_api.get_trial_balance(org_id, user, engine, from_period=shown, to_period=None)
    rows = [
        {
            "code": r.code,
            "name": r.name,
            "level": r.level,
            "opening": abs(r.opening),
            "opening_side": "平" if r.opening == 0 else ("借" if r.opening > 0 else "贷"),
            "debit": r.debit,
            "credit": r.credit,
            "closing": abs(r.closing),
            "side": r.side,
        }
        for r in tb.rows
        if r.opening or r.debit or r.credit or r.closing
    ]
    return render(
        request,
        "org.html",
        user=user,
        org=org,
        period=shown,
        closed_through=through,
        is_closed=through is not None and shown <= through,
        to_close=to_close,
        rows=rows,
        total_debit=tb.total_debit,
        total_credit=tb.total_credit,
        can_write=user.role in ("admin", "officer"),
        nav=_nav(org_id),
    )


@router.post("/web/orgs/{org_id}/close")
def close_period(
    request: Request,
    org_id: int,
    user: WebUser,
    engine: EngineDep,
    period: Annotated[str, Form(max_length=7)],
) -> Response:
    org_api.close_period(org_id, period, user, engine, request)  # scope, write right, audit: as the API
    session_of(request).set_flash(translator(session_of(request).lang)("closed_ok", period=period))
    return RedirectResponse(f"/web/orgs/{org_id}?" + urlencode({"period": period}), status_code=303)
