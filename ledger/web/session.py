"""The web session: a signed cookie, HMAC-SHA256 with the stdlib over a compact JSON payload with an expiry.

The cookie holds ``{"s": session id, "u": user id or absent, "c": CSRF token, "l": language, "e": expiry,
"f": flash message}``, base64url-encoded, a dot, and the base64url HMAC-SHA256 of that text under a key
derived from ``settings.secret_key``. Nothing secret lives in it (the user id is not a credential without
the signature); a tampered, expired or foreign cookie is ignored as if absent. It is HttpOnly, SameSite=Lax,
and Secure when the request came over https.

Logging out clears the cookie and puts its session id on an in-process deny list until it would have
expired anyway, so a copy of the old cookie stops working in this process. A stateless cookie cannot be
revoked across several worker processes; the deployment is one process per county (DESIGN §11), and the
expiry (8 hours of inactivity) bounds the rest. This module never touches the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger("cunshe.web")

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


class _DenyList:
    """Session ids logged out in this process, kept until their cookies would have expired."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def add(self, sid: str, until: float) -> None:
        with self._lock:
            now = time.time()
            self._until = {s: t for s, t in self._until.items() if t > now}
            self._until[sid] = until

    def __contains__(self, sid: object) -> bool:
        with self._lock:
            return isinstance(sid, str) and self._until.get(sid, 0) > time.time()


LOGGED_OUT = _DenyList()


@dataclass
class WebSession:
    """The state of one browser: who is logged in, the CSRF token, the language, a one-shot message."""

    sid: str
    csrf: str
    user_id: int | None = None
    lang: str = "zh"
    flash: str | None = None
    expires: int = 0
    changed: bool = field(default=False, compare=False)

    @classmethod
    def new(cls, lang: str = "zh") -> WebSession:
        return cls(sid=secrets.token_urlsafe(12), csrf=secrets.token_urlsafe(24), lang=lang, changed=True)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {"s": self.sid, "c": self.csrf, "l": self.lang, "e": self.expires}
        if self.user_id is not None:
            data["u"] = self.user_id
        if self.flash:
            data["f"] = self.flash[:300]
        return data

    def log_in(self, user_id: int) -> None:
        """A new session id and CSRF token at login, so a token planted before login is worthless after."""
        self.sid = secrets.token_urlsafe(12)
        self.csrf = secrets.token_urlsafe(24)
        self.user_id = user_id
        self.changed = True

    def log_out(self) -> None:
        LOGGED_OUT.add(self.sid, time.time() + LIFETIME_SECONDS)
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
            self.lang = lang
            self.changed = True


DEFAULT_SECRET = "dev-only-change-me"
_warned = threading.Event()


def _key(request: Request) -> bytes:
    secret = request.app.state.settings.secret_key
    if secret == DEFAULT_SECRET and not _warned.is_set():
        _warned.set()
        log.warning("CUNSHE_SECRET_KEY is the development default: anyone can forge a session; set it")
    return signing_key(secret)


def load_session(request: Request) -> WebSession:
    """The request's session (cached on ``request.state``); a fresh anonymous one when there is none."""
    cached = getattr(request.state, "web_session", None)
    if cached is not None:
        return cached
    payload = unsign(request.cookies.get(COOKIE_NAME, ""), _key(request))
    session: WebSession | None = None
    if payload is not None and payload.get("s") not in LOGGED_OUT:
        try:
            user = payload.get("u")
            session = WebSession(
                sid=str(payload["s"]),
                csrf=str(payload["c"]),
                user_id=int(user) if user is not None else None,
                lang=payload.get("l") if payload.get("l") in LANGUAGES else "zh",
                flash=payload.get("f"),
                expires=int(payload["e"]),
            )
        except (KeyError, TypeError, ValueError):
            session = None
    if session is None:
        session = WebSession.new()
    request.state.web_session = session
    request.state.session_user_id = session.user_id
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
