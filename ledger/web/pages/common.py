"""What every page shares: the route class, rendering, the session, and the look-ups of the org and period.

Every route of the pages' one ``router`` runs inside ``WebRoute``, the whole web layer in one place: it
loads the signed session cookie (``ledger.web.session``), refuses a POST without the session's CSRF token,
applies ``?lang=zh|en``, turns domain errors into an HTML error page (404 for another org's pages, so their
existence does not leak), and adds the security headers and the renewed cookie to every response.
"""

import logging
import uuid
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ledger.access.auth import Principal, principal_for_user
from ledger.access.service import Write, carry_out
from ledger.books import county_time, periods
from ledger.books.errors import Forbidden, LedgerError, NotFound, Unauthenticated
from ledger.books.journal import EntryFilter, latest_period, list_entries
from ledger.books.money import format_money
from ledger.books.orgs import subtree_ids
from ledger.db.engine import read_tx
from ledger.http import EngineDep, client_addr
from ledger.params import month_param
from ledger.web.i18n import error_text, error_words, side_label, translator, validation_text
from ledger.web.security import (
    CSRF_FIELD,
    CsrfRefused,
    TooManyAttempts,
    add_security_headers,
    require_csrf,
    require_same_origin,
)
from ledger.web.session import WebSession, load_session, save_session
from ledger.web.templating import environment

log = logging.getLogger("cunshe.web")

LOCALES = {"zh": "zh_CN", "en": "en"}
STATIC_FILES = {
    "web.css": "text/css; charset=utf-8",
    "vouchers.css": "text/css; charset=utf-8",
    "voucher.js": "text/javascript; charset=utf-8",
    "web.js": "text/javascript; charset=utf-8",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # every other method needs the CSRF token


class LoginRequired(Exception):
    """The page needs a logged-in user; the browser is sent to the login page."""


class WebRoute(APIRoute):
    """Session, CSRF, language, HTML errors and security headers around every page (see module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
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
                if _number_too_large(exc):  # an id past 64 bits in an address or a form: bad input, no bug
                    response = error_page(request, 422, exc)
                else:
                    log.exception("web page failed", exc_info=exc)
                    response = error_page(request, 500, exc)
            save_session(request, response, session)
            add_security_headers(response)
            return response

        return web_handler


router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _number_too_large(exc: Exception) -> bool:
    """A number no column can hold, as the database refuses it: SQLite's driver raises ``OverflowError``
    before the statement runs, PostgreSQL answers "out of range" (22003)."""
    if isinstance(exc, OverflowError):
        return True
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) == "22003"


# ---- rendering ---------------------------------------------------------------------------------------


def session_of(request: Request) -> WebSession:
    return load_session(request)


def _lang_url(request: Request, lang: str) -> str:
    """The page again in ``lang``. A page shown in answer to a form's POST (a refusal) lives at a URL a GET
    cannot serve, so its switch leads back to the workbench page the form was on (our ``Referrer-Policy:
    same-origin`` sends it), or to the workbench's home without one. Only the referrer's path and query
    are used, and only under ``/web/``, so a forged header can point nowhere but at one of our pages."""
    if request.method != "GET":
        referer = urlsplit(request.headers.get("referer", ""))
        on_our_pages = referer.path.startswith("/web/")
        path, query = (referer.path, referer.query) if on_our_pages else ("/web/", "")
    else:
        path, query = request.url.path, request.url.query
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "lang"]
    return path + "?" + urlencode([*params, ("lang", lang)])


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
            error_text(exc, t),
        )
    elif isinstance(exc, RequestValidationError):
        # The address or the form holds a value the page cannot read (a month, a day, a number): named in
        # the page's language, never the framework's English (by pydantic's error type where the catalogues
        # have words for it, else error_bad_value).
        title, message = t("error_4xx"), validation_text(exc.errors(), t)
    elif _number_too_large(exc):
        title, message = t("error_4xx"), t("error_number_too_large")
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


def safe_next(target: str | None) -> str:
    """Only a path of this workbench: never another site, never a scheme-relative ``//host``."""
    if target and target.startswith("/web/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/web/"


def current_period() -> str:
    today = county_time.today()
    return f"{today.year}-{today.month:02d}"


def books_org(user: Principal, engine: Engine, org_id: int, *, write: bool = False) -> Any:
    """The org if the user may see it (404 otherwise) and it keeps books; 403 for a write without rights."""
    with read_tx(engine) as conn:
        org = user.require_org(conn, org_id, write=write)
    if org.standard is None:
        raise StarletteHTTPException(404)
    return org


def period_param(period: str | None, engine: Engine, org_id: int) -> str:
    """The month asked for (well-formed and in the org's years, else a 422 naming ``period``: the API's own
    check, ``ledger.params``), or else the latest month (up to now) with an entry of the org or the orgs
    below it, or else the current month."""
    with read_tx(engine) as conn:
        if period:
            return month_param(conn, org_id, period)
        now = current_period()
        return latest_period(conn, subtree_ids(conn, org_id), not_after=now) or now


def flash(request: Request, key: str, **fields: object) -> None:
    session = session_of(request)
    session.set_flash(translator(session.lang)(key, **fields))


def attachment(data: bytes, media_type: str, filename: str) -> Response:
    ascii_name = filename.encode("ascii", "ignore").decode() or "report"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition})


# ---- what a form shows first, and what it says when refused ---------------------------------------------


def first_open_period(conn: Any, org_id: int) -> str:
    """The month the officer works in (and closes) next: the first month after the closed ones that has
    entries; else the month after the last closed one; else the current month."""
    through = periods.closed_through(conn, org_id)
    first_day = periods.period_bounds(periods.next_period(through))[0] if through else None
    entries, _total = list_entries(conn, org_id, EntryFilter(date_from=first_day), limit=1)
    if entries:
        return str(entries[0]["period"])
    return periods.next_period(through) if through else current_period()


def default_day(period: str) -> date:
    """A form's date: today when today falls in ``period`` (the first open month), else its last day."""
    today = county_time.today()
    first, last = periods.period_bounds(period)
    return today if first <= today <= last else last


class FormRefused(Exception):
    """The one way a page shows a refused form (issue 15): the form again, with what was typed, and each
    message beside the field at fault, in the page's language.

    ``messages`` maps the form's field to its message (``_form`` for the form as a whole; a field of a row
    is named as the template names it, ``line-2-debit``); the first is the refusal's ``field`` and
    ``message``. Templates show them with ``forms.html``'s ``field_error``, ``invalid`` and ``any_error``."""

    def __init__(self, form: str, messages: dict[str, str], status_code: int) -> None:
        if not messages:
            raise ValueError("a refusal says why")
        super().__init__(next(iter(messages.values())))
        self.form, self.messages, self.status_code = form, dict(messages), status_code

    @property
    def field(self) -> str:
        return next(iter(self.messages))

    @field.setter
    def field(self, field: str) -> None:
        """The refusal moved beside another field (a file's fault shown at the file input)."""
        self.messages = {field: self.message}

    @property
    def message(self) -> str:
        return self.messages[self.field]

    def view(self) -> dict[str, Any]:
        return {"form": self.form, "field": self.field, "message": self.message, "fields": self.messages}


def refused(
    request: Request, exc: LedgerError, form: str, fields: dict[str, str] | None = None
) -> FormRefused:
    """The domain's refusal of ``form`` as the page shows it: in the page's language, beside the form field
    named by ``fields`` (the domain's field → the form's; ``_form`` for the form as a whole).

    Scope refusals are not a form's: another org's page stays a 404 page and a write without rights a 403
    page, so they are raised again as they are."""
    scope = isinstance(exc, Forbidden | Unauthenticated)
    if scope or (isinstance(exc, NotFound) and exc.field in (None, "org")):
        raise exc
    lang = session_of(request).lang
    field = (fields or {}).get(exc.field or "", "_form")
    words = error_words(lang, exc.code, exc.field, exc.message)
    return FormRefused(form, {field: words}, exc.http_status)
