"""The web session: a signed cookie, HMAC-SHA256 with the stdlib over a compact JSON payload with an expiry.

The cookie holds ``{"s": session id, "u": user id or absent, "a": login time, "c": CSRF token, "l":
language, "e": expiry, "f": flash message}``, base64url-encoded, a dot, and the base64url HMAC-SHA256 of
that text under a key derived from the session secret (``ledger.access.secrets``: a file made by ``cunshe
init``, never a default). Nothing secret lives in it (the user id is not a credential without the
signature); a tampered, expired or foreign cookie is ignored as if absent. It is HttpOnly, SameSite=Lax,
and Secure when the request came over https.

Logging out clears the cookie and puts its session id on a deny list until it would have expired anyway,
so a copy of the old cookie stops working. The deny list is the ``web_session_revoked`` table in the books'
own database: every worker process refuses the old cookie, and so does the server after a restart. Only
a cookie that names a user is looked up there (one indexed read per logged-in page); expired rows are
pruned as new ones arrive. The session's other state stays in the signed cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select
from starlette.requests import Request
from starlette.responses import Response

from ledger.db.engine import read_tx, run_write
from ledger.db.models import WebSessionRevoked
from reports.report import Lang, as_lang

revoked_t = WebSessionRevoked.__table__

COOKIE_NAME = "cunshe_session"
LIFETIME_SECONDS = 8 * 60 * 60
REFRESH_AFTER_SECONDS = 15 * 60  # re-issue the cookie (sliding expiry) at most this often
LANGUAGES = ("zh", "en")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key(secret_key: str) -> bytes:
    """A key for this one purpose, so the secret is never used raw (another use would derive another)."""
    return hashlib.sha256(b"cunshe-web-session\x00" + secret_key.encode("utf-8")).digest()


def sign(payload: dict[str, Any], key: bytes) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii"))
    mac = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(cookie: str, key: bytes, *, now: float | None = None) -> dict[str, Any] | None:
    """The payload of a cookie signed with ``key`` and not yet expired; None for anything else."""
    body, dot, mac = cookie.partition(".")
    if not dot or not body or not mac or len(cookie) > 4096:
        return None
    expected = hmac.new(key, body.encode("ascii", "replace"), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("e"), int):
        return None
    if payload["e"] <= (time.time() if now is None else now):
        return None
    return payload


def revoke_session(engine: Engine, sid: str, until: float) -> None:
    """Refuse session ``sid`` until ``until`` (epoch seconds), in every process sharing the database."""

    def record(conn: Connection) -> None:
        now = time.time()
        conn.execute(delete(revoked_t).where(revoked_t.c.expires_at <= now))
        known = conn.execute(select(revoked_t.c.expires_at).where(revoked_t.c.sid == sid)).first()
        if known is None:
            conn.execute(insert(revoked_t).values(sid=sid, expires_at=until))

    run_write(engine, record)


def is_revoked(engine: Engine, sid: str) -> bool:
    with read_tx(engine) as conn:
        row = conn.execute(select(revoked_t.c.expires_at).where(revoked_t.c.sid == sid)).first()
    return row is not None and row.expires_at > time.time()


@dataclass
class WebSession:
    """The state of one browser: who is logged in, the CSRF token, the language, a one-shot message."""

    sid: str
    csrf: str
    user_id: int | None = None
    logged_in_at: float = 0.0  # when the user logged in (epoch s): sessions before a disable are over
    lang: Lang = "zh"
    flash: str | None = None
    expires: int = 0
    changed: bool = field(default=False, compare=False)
    engine: Engine | None = field(default=None, compare=False, repr=False)  # where log_out records the sid

    @classmethod
    def new(cls, lang: Lang = "zh") -> WebSession:
        return cls(sid=secrets.token_urlsafe(12), csrf=secrets.token_urlsafe(24), lang=lang, changed=True)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {"s": self.sid, "c": self.csrf, "l": self.lang, "e": self.expires}
        if self.user_id is not None:
            data["u"] = self.user_id
            data["a"] = self.logged_in_at
        if self.flash:
            data["f"] = self.flash[:300]
        return data

    def log_in(self, user_id: int) -> None:
        """A new session id and CSRF token at login, so a token planted before login is worthless after."""
        self.sid = secrets.token_urlsafe(12)
        self.csrf = secrets.token_urlsafe(24)
        self.user_id = user_id
        self.logged_in_at = round(time.time(), 3)
        self.changed = True

    def log_out(self) -> None:
        """Forget the user and deny the old session id everywhere (a sync handler's call: it writes)."""
        if self.user_id is not None:
            if self.engine is None:
                raise RuntimeError("a logged-in session came without its database; load it with load_session")
            revoke_session(self.engine, self.sid, time.time() + LIFETIME_SECONDS)
        lang = self.lang
        fresh = WebSession.new(lang)
        self.sid, self.csrf, self.user_id, self.flash = fresh.sid, fresh.csrf, None, None
        self.changed = True

    def set_flash(self, message: str) -> None:
        self.flash = message
        self.changed = True

    def pop_flash(self) -> str | None:
        message, self.flash = self.flash, None
        if message:
            self.changed = True
        return message

    def set_lang(self, lang: str) -> None:
        if lang in LANGUAGES and lang != self.lang:
            self.lang = as_lang(lang)
            self.changed = True


def _key(request: Request) -> bytes:
    # create_app resolved the secret (ledger.access.secrets) and refused to start without a usable one.
    return signing_key(request.app.state.settings.secret_key)


def load_session(request: Request) -> WebSession:
    """The request's session (cached on ``request.state``); a fresh anonymous one when there is none."""
    cached = getattr(request.state, "web_session", None)
    if cached is not None:
        return cached
    engine: Engine = request.app.state.engine
    payload = unsign(request.cookies.get(COOKIE_NAME, ""), _key(request))
    session: WebSession | None = None
    if payload is not None and payload.get("u") is not None and is_revoked(engine, str(payload.get("s"))):
        payload = None  # logged out, in this process or another
    if payload is not None:
        try:
            user = payload.get("u")
            session = WebSession(
                sid=str(payload["s"]),
                csrf=str(payload["c"]),
                user_id=int(user) if user is not None else None,
                logged_in_at=float(payload.get("a") or 0),
                lang=as_lang(payload.get("l")),
                flash=payload.get("f"),
                expires=int(payload["e"]),
            )
        except (KeyError, TypeError, ValueError):
            session = None
    if session is None:
        session = WebSession.new()
    session.engine = engine
    request.state.web_session = session
    request.state.session_user_id = session.user_id
    request.state.session_logged_in_at = session.logged_in_at
    return session


def save_session(request: Request, response: Response, session: WebSession) -> None:
    """Write the cookie when the session changed or its sliding expiry is due for renewal."""
    now = int(time.time())
    if not session.changed and session.expires - now > LIFETIME_SECONDS - REFRESH_AFTER_SECONDS:
        return
    session.expires = now + LIFETIME_SECONDS
    response.set_cookie(
        COOKIE_NAME,
        sign(session.payload(), _key(request)),
        max_age=LIFETIME_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
