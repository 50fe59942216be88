"""The cashier's till in the browser (/till): the page, its PWA files, and the cashier's login.

The till is a static page: everything it shows it builds from the POS API, so it works the same when
the network is gone (the service worker serves the page, IndexedDB holds the catalogue and the queue of
sales). A cashier logs in with a password and gets a bearer token labelled ``till`` (not the web
session's cookie): a sale queued offline must still go up hours later, and a bearer header cannot be
forged by another site, so the API needs no CSRF token. Logging out revokes the token; a revoked token
makes the till ask for the password again, and its queue waits meanwhile. The login and logout are the
page's own (not in the API's OpenAPI: a fuzzer logging out would revoke the token it tests with).
"""

from functools import cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, update
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.access.auth import (
    TILL_LABEL,
    audit,
    hash_token,
    issue_token,
    login_candidate,
    password_matches,
    principal_for_user,
    token_t,
)
from ledger.books.errors import Forbidden, Unauthenticated
from ledger.books.orgs import now
from ledger.db.engine import read_tx, run_write
from ledger.http import EngineDep, client_addr
from ledger.web.i18n import LOCALES, translations, translator
from ledger.web.login_limits import login_limits
from ledger.web.security import SECURITY_HEADERS, login_throttle
from ledger.web.session import load_session
from ledger.web.templating import environment

router = APIRouter(tags=["till"])

STATIC_DIR = Path(__file__).resolve().parent / "static" / "till"
STATIC_TYPES = {
    "till.js": "text/javascript; charset=utf-8",
    "till.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
    "icon-192.png": "image/png",
    "icon-512.png": "image/png",
}
# The page talks to its own origin only; the manifest and the service worker are its own files.
TILL_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"]
    + "; manifest-src 'self'; worker-src 'self'",  # connect-src 'self' is every page's (the suggestions)
    "Cache-Control": "no-cache",  # revalidate, so a new version reaches the till at its next load online
}


def _file(name: str, media_type: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=TILL_HEADERS)


@router.get("/till", include_in_schema=False)
def till_redirect() -> RedirectResponse:
    return RedirectResponse("/till/", status_code=308)


@router.get("/till/", include_in_schema=False)
def till_page(request: Request) -> HTMLResponse:
    """The till's page in the cashier's language (``?lang=zh|en``, else the browser's workbench session,
    else Chinese): its words and its script's words from the catalogues. The service worker keeps the
    copy last loaded for when the network is gone."""
    asked = request.query_params.get("lang")
    lang = asked if asked in LOCALES else load_session(request).lang
    html = (
        environment()
        .get_template("till.html")
        .render(lang=lang, t=translator(lang), words=script_words(lang))
    )
    return HTMLResponse(html, headers=TILL_HEADERS)


@cache
def script_words(lang: str) -> dict[str, str]:
    """Every ``till_js_*`` key of the catalogues (``till.js`` calls ``tr("till_js_…")``), in ``lang``."""
    t = translator(lang)
    keys = (k for k in translations("zh")._catalog if isinstance(k, str) and k.startswith("till_js_"))
    return {k: t(k) for k in sorted(keys)}


@router.get("/till/sw.js", include_in_schema=False)
def service_worker() -> FileResponse:
    """Served from /till/ so that its scope is the till and nothing else."""
    return _file("sw.js", "text/javascript; charset=utf-8")


@router.get("/till/manifest.webmanifest", include_in_schema=False)
def manifest() -> FileResponse:
    return _file("manifest.webmanifest", "application/manifest+json")


@router.get("/till/static/{name}", include_in_schema=False)
def static(name: str) -> FileResponse:
    if name not in STATIC_TYPES:
        raise StarletteHTTPException(404)
    return _file(name, STATIC_TYPES[name])


class TillLoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/till/login", include_in_schema=False)
def till_login(body: TillLoginIn, request: Request, engine: EngineDep) -> JSONResponse:
    """A cashier's password → a bearer token for the till, and the store it sells in."""
    throttle = login_throttle(request)
    addr = client_addr(request)
    limits = login_limits(request)
    limits.admit_request(request.scope, addr)  # counted by the LoginGate already, before the body was read
    throttle.check(body.username, addr)
    with read_tx(engine) as conn:
        candidate = login_candidate(conn, body.username)
    # argon2 at most login_hash_slots at once, in the pool's low-priority threads: the tills go first
    matched = limits.check_password(password_matches, candidate, body.password)
    if not matched or candidate.user_id is None:  # a match has a user; the check tells mypy so
        throttle.failed(body.username, addr)
        raise Unauthenticated("wrong username or password")
    throttle.succeeded(body.username, addr)
    with read_tx(engine) as conn:
        user = principal_for_user(conn, candidate.user_id)
    if user.role != "cashier" or user.scope_store_id is None:
        raise Forbidden("the till is for a cashier of a store; officers use the web pages")

    def work(conn: Connection) -> str:
        token = issue_token(conn, user.user_id, TILL_LABEL)
        audit(conn, user, "till.login", org_id=user.store_org_id, remote_addr=addr)
        return token

    token = run_write(engine, work)
    return JSONResponse(
        {"token": token, "username": user.username, "store_id": user.scope_store_id},
        headers={"Cache-Control": "no-store"},
    )


@router.post("/till/logout", status_code=204, include_in_schema=False)
def till_logout(engine: EngineDep, authorization: Annotated[str, Header()] = "") -> Response:
    """Revoke the till's token (a copy of it stops working everywhere)."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        digest = hash_token(token.strip())
        run_write(
            engine,
            lambda conn: conn.execute(
                update(token_t)
                .where(token_t.c.token_hash == digest, token_t.c.revoked_at.is_(None))
                .values(revoked_at=now())
            ),
        )
    return Response(status_code=204)
