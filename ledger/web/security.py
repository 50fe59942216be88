"""The web workbench's defences: CSRF tokens, security headers, and login throttling.

- **CSRF**: every form carries the session's token in a hidden ``csrf_token`` field; every POST to a page
  is refused (403 page) unless the field (or an ``X-CSRF-Token`` header) equals the token in the signed
  session cookie. The cookie is SameSite=Lax as a second line.
- **Headers** on every page: a Content-Security-Policy that allows no inline script or style and nothing
  from other origins, ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, a strict
  Referrer-Policy, and ``Cache-Control: no-store`` (pages show books).
- **Throttling**: after ``MAX_FAILURES`` failed logins for one username from one address within
  ``WINDOW_SECONDS``, further attempts are refused with 429 until the oldest failure leaves the window,
  before any password is checked. The record is **in-process** (one per app, on ``app.state``): it resets
  when the server restarts and is not shared between worker processes — the deployment is one process
  per county (DESIGN §11); a multi-process deployment would keep it in the database instead.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque

from starlette.requests import Request
from starlette.responses import Response

from ledger.errors import LedgerError

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class CsrfRefused(LedgerError):
    """A form came without the session's CSRF token (or with another one)."""

    code = "csrf_refused"
    http_status = 403


class TooManyAttempts(LedgerError):
    """Too many failed logins for this username from this address; wait and retry."""

    code = "too_many_attempts"
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def csrf_matches(expected: str, submitted: object) -> bool:
    return isinstance(submitted, str) and bool(submitted) and hmac.compare_digest(expected, submitted)


async def require_csrf(request: Request, expected: str) -> None:
    """Raise ``CsrfRefused`` unless the POST carries the session's token (form field or header)."""
    submitted: object = request.headers.get(CSRF_HEADER)
    if not submitted:
        form = await request.form()  # Starlette caches it; the route's Form/File parameters reuse it
        submitted = form.get(CSRF_FIELD)
    if not csrf_matches(expected, submitted):
        raise CsrfRefused("this form has expired or did not come from this site; reload the page and retry")


def add_security_headers(response: Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


class LoginThrottle:
    """Failed logins per (username, address), remembered for ``window`` seconds, in this process."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS) -> None:
        self.max_failures = max_failures
        self.window = window
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str], deque[float]] = {}

    @staticmethod
    def _key(username: str, addr: str | None) -> tuple[str, str]:
        return (username.strip().casefold(), addr or "?")

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def check(self, username: str, addr: str | None, *, now: float | None = None) -> None:
        """Raise ``TooManyAttempts`` while the pair has ``max_failures`` failures inside the window."""
        now = time.time() if now is None else now
        key = self._key(username, addr)
        with self._lock:
            times = self._recent(key, now)
            if not times:
                self._failures.pop(key, None)
            if len(times) >= self.max_failures:
                wait = int(times[0] + self.window - now) + 1
                raise TooManyAttempts(f"too many failed logins; try again in {wait // 60 + 1} min", wait)

    def failed(self, username: str, addr: str | None, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        key = self._key(username, addr)
        with self._lock:
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times
            if len(self._failures) > 10_000:  # forget the idle pairs rather than grow without bound
                self._failures = {k: v for k, v in self._failures.items() if v and v[-1] > now - self.window}

    def succeeded(self, username: str, addr: str | None) -> None:
        with self._lock:
            self._failures.pop(self._key(username, addr), None)


def login_throttle(request: Request) -> LoginThrottle:
    """The app's throttle, created on first use."""
    throttle = getattr(request.app.state, "web_login_throttle", None)
    if throttle is None:
        throttle = request.app.state.web_login_throttle = LoginThrottle()
    return throttle
