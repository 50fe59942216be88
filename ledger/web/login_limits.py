"""Limits on web logins that keep a flood of guesses from stalling everything else the server does.

Every login attempt is argon2 work (t=3, 64 MiB by default): a flood of them, even for usernames that do
not exist, would eat both cores and a gigabyte of memory and starve the tills. So, before any password is
looked at:

1. **Rate limits** (the ``limits`` package, moving windows): ``login_rate_per_address`` attempts per client
   address and ``login_rate_overall`` attempts in all. Every attempt counts, whatever the username and
   whatever the outcome, so random usernames are no way around them. The address is the socket's peer;
   ``X-Forwarded-For`` is believed only from the proxies named in ``CUNSHE_TRUSTED_PROXIES`` (uvicorn's
   proxy middleware, set up by ``cunshe serve``), so a rotating header neither escapes the limit nor locks
   out someone else's address. The counts live where every ``--workers`` process sees them, a SQLite file
   of their own (``ledger.web.shared_limits``; in memory when ``CUNSHE_LIMITS_FILE`` is unset); the
   per-username failures of ``ledger.web.security.LoginThrottle`` stay in the database.
2. **A bounded hashing pool**: at most ``login_hash_slots`` password checks run at once; an attempt that
   cannot get a slot within ``login_hash_wait_seconds`` is refused with 429 instead of queueing without end.
   The hashing runs in the pool's own threads (argon2 releases the GIL), never on the event loop, at a
   lower CPU priority (nice +10 on Linux): when the cores are contended, the tills' requests go first and
   the guesses wait.

A refusal is ``TooManyAttempts`` (429 with ``Retry-After``), the same answer as the per-username throttle.
The gate's own refusal of a web login is a page (``refusal_page``) in the person's language — read from
their signed session cookie without a database read, else their browser's — saying when to try again.

**The gate** (``LoginGate``, an ASGI middleware outside everything else) counts each ``POST /web/login``
and ``POST /till/login`` against the rate limits before its body is read, its session loaded or its CSRF
token checked, and answers a refused one itself — after ``login_refusal_delay_seconds`` of ``asyncio.sleep``
(a tarpit: it costs the server no CPU, and a flooding client that loops on its answers sends one request a
second per connection instead of hundreds). At most ``TARPIT_MAX`` refusals wait at once; past that they are
answered at once. The login handlers call ``admit_request`` too, which counts nothing the gate counted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ledger.books import county_time
from ledger.settings import Settings
from ledger.web.i18n import DEFAULT_LANG, translator
from ledger.web.security import TooManyAttempts
from ledger.web.session import COOKIE_NAME, LANGUAGES, signing_key, unsign
from ledger.web.shared_limits import limits_storage
from ledger.web.templating import environment

ANYONE = "*"
ADMITTED = "cunshe.login_admitted"  # set in the ASGI scope once a login attempt has been counted
GATED_PATHS = frozenset({"/web/login", "/till/login"})
TARPIT_MAX = 512
HASHING_NICE = 10

log = logging.getLogger("cunshe.login_limits")


def _lower_priority() -> None:
    """A hashing thread yields the CPU to everything else (Linux: a thread's own nice value)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICE)
    except (AttributeError, OSError) as exc:  # not Linux, or not allowed: hash at normal priority
        log.debug("hashing threads keep their priority: %s", exc)


class LoginLimits:
    """The rate limits and the hashing pool of one server process."""

    def __init__(
        self,
        per_address: str,
        overall: str,
        hash_slots: int,
        wait_seconds: float,
        storage: Storage | None = None,
    ) -> None:
        self.per_address: RateLimitItem = parse(per_address)
        self.overall: RateLimitItem = parse(overall)
        self.limiter = MovingWindowRateLimiter(storage or MemoryStorage())
        self.slots = threading.BoundedSemaphore(max(1, hash_slots))
        self.wait_seconds = wait_seconds
        self.hashers = ThreadPoolExecutor(
            max_workers=max(1, hash_slots), thread_name_prefix="argon2", initializer=_lower_priority
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        return cls(
            settings.login_rate_per_address,
            settings.login_rate_overall,
            settings.login_hash_slots,
            settings.login_hash_wait_seconds,
            limits_storage(settings),
        )

    def _retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        reset = self.limiter.get_window_stats(item, *identifiers).reset_time
        return max(1, math.ceil(reset - time.time()))

    def admit(self, addr: str | None) -> None:
        """Count one attempt from ``addr``; raise ``TooManyAttempts`` when either limit is spent."""
        where = addr or "?"
        if not self.limiter.test(self.per_address, "login", where):
            wait = self._retry_after(self.per_address, "login", where)
            raise TooManyAttempts(f"too many logins from this address; try again in {wait} s", wait)
        if not self.limiter.hit(self.overall, "login", ANYONE):
            wait = self._retry_after(self.overall, "login", ANYONE)
            raise TooManyAttempts(f"too many logins right now; try again in {wait} s", wait)
        self.limiter.hit(self.per_address, "login", where)

    def admit_request(self, scope: Scope, addr: str | None) -> None:
        """``admit`` once per request: the gate counted it already, or this counts it now."""
        if scope.get(ADMITTED):
            return
        self.admit(addr)
        scope[ADMITTED] = True

    def check_password(self, check: Callable[..., bool], *args: object) -> bool:
        """Run a password check in the pool: a slot within the wait (else 429), then a low-priority thread."""
        with self.hashing_slot():
            return self.hashers.submit(check, *args).result()

    @contextmanager
    def hashing_slot(self) -> Iterator[None]:
        """Hold one of the pool's slots for a password check, or raise ``TooManyAttempts`` after the wait."""
        if not self.slots.acquire(timeout=self.wait_seconds):
            raise TooManyAttempts("the server is busy checking other logins; try again in a moment", 1)
        try:
            yield
        finally:
            self.slots.release()


def login_limits(request: Request) -> LoginLimits:
    """The app's limits (made by the app factory from its settings)."""
    return request.app.state.login_limits


def refusal_lang(scope: Scope, secret_key: str) -> str:
    """The language of the person refused: their session cookie's (its HMAC checked, no database read), else
    their browser's first choice when it is English, else Chinese."""
    request = Request(scope)
    payload = unsign(request.cookies.get(COOKIE_NAME, ""), signing_key(secret_key))
    if payload is not None and payload.get("l") in LANGUAGES:
        return str(payload["l"])
    accepted = request.headers.get("accept-language", "").split(",")[0].strip().lower()
    return "en" if accepted.startswith("en") else DEFAULT_LANG


def refusal_page(lang: str, seconds: int) -> str:
    """The login page's 429: in the person's language, saying how long to wait and until when (Beijing
    time), with the way back to the login form."""
    at = (datetime.now(county_time.CHINA) + timedelta(seconds=seconds)).strftime("%H:%M:%S")
    page = environment().get_template("login_refused.html")
    return page.render(t=translator(lang), lang=lang, seconds=seconds, at=at)


class LoginGate:
    """The rate limits applied to a login before anything else reads it (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.waiting = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in GATED_PATHS:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        client = scope.get("client")
        try:
            state.login_limits.admit_request(scope, client[0] if client else None)
        except TooManyAttempts as refused:
            await self._refuse(scope, send, refused, float(state.settings.login_refusal_delay_seconds))
            return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send, refused: TooManyAttempts, delay: float) -> None:
        if delay > 0 and self.waiting < TARPIT_MAX:
            self.waiting += 1
            try:
                await asyncio.sleep(delay)
            finally:
                self.waiting -= 1
        if scope["path"] == "/till/login":
            body = json.dumps(
                {"error": {"code": refused.code, "message": refused.message, "field": None}},
                ensure_ascii=False,
            ).encode("utf-8")
            kind = b"application/json"
        else:
            lang = refusal_lang(scope, scope["app"].state.settings.secret_key)
            body = refusal_page(lang, refused.retry_after).encode("utf-8")
            kind = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(body)).encode("ascii")),
                    (b"retry-after", str(refused.retry_after).encode("ascii")),
                    (b"cache-control", b"no-store"),
                    (b"x-content-type-options", b"nosniff"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
