"""The web workbench's defences: CSRF tokens, security headers, and login throttling.

- **CSRF**: every form carries the session's token in a hidden ``csrf_token`` field; every POST to a page
  is refused (403 page) unless the field (or an ``X-CSRF-Token`` header) equals the token in the signed
  session cookie. The cookie is SameSite=Lax as a second line.
- **Origin**: every POST to a page whose ``Origin`` header (or, when a browser sent none, ``Referer``) names
  another origin than the page's own (scheme, host and port the request came to, or one of
  ``settings.allowed_origins`` for a proxy that rewrites the host) is refused (403 page) before the form is
  read. ``Origin: null`` (a sandboxed or privacy-stripped request) is another origin. A request with
  neither header (a non-browser client) still needs the CSRF token.
- **Headers** on every page: a Content-Security-Policy that allows no inline script or style and nothing
  from other origins, ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, a strict
  Referrer-Policy, and ``Cache-Control: no-store`` (pages show books).
- **Throttling**: after ``MAX_FAILURES`` failed logins for one username from one address within
  ``WINDOW_SECONDS``, further attempts are refused with 429 until the oldest failure leaves the window,
  before any password is checked. The failures are rows of ``web_login_failure`` in the books' own
  database, so every worker process (``cunshe serve --workers N``) counts the same failures and a restart
  forgets none; rows older than the window are pruned as new failures arrive. Two workers checking the
  same pair at the same instant may both let one more guess through: the limit is a brake, not a count.
"""

from __future__ import annotations

import hmac
import time
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, insert, select
from starlette.requests import Request
from starlette.responses import Response

from ledger.books.errors import LedgerError
from ledger.db.engine import read_tx, run_write
from ledger.db.models import WebLoginFailure

failure_t = WebLoginFailure.__table__

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
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


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else url.lower()


def require_same_origin(request: Request) -> None:
    """Raise ``CsrfRefused`` when a page POST says it comes from another origin (Origin, else Referer)."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if claimed is None:
        return
    own = f"{request.url.scheme}://{request.url.netloc}".lower()
    extra = getattr(request.app.state.settings, "allowed_origins", "")
    allowed = {own, *(_origin_of(o.strip()) for o in extra.split(",") if o.strip())}
    if _origin_of(claimed.strip()) not in allowed:
        raise CsrfRefused("this form was sent from another site; open the page here and send it again")


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
    """Failed logins per (username, address), remembered for ``window`` seconds in the database."""

    def __init__(
        self, engine: Engine, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS
    ) -> None:
        self.engine = engine
        self.max_failures = max_failures
        self.window = window

    @staticmethod
    def _key(username: str, addr: str | None) -> tuple[str, str]:
        return (username.strip().casefold(), addr or "?")

    def _pair(self, username: str, addr: str | None) -> ColumnElement[bool]:
        name, where = self._key(username, addr)
        return and_(failure_t.c.username == name, failure_t.c.addr == where)

    def check(self, username: str, addr: str | None, *, now: float | None = None) -> None:
        """Raise ``TooManyAttempts`` while the pair has ``max_failures`` failures inside the window."""
        now = time.time() if now is None else now
        with read_tx(self.engine) as conn:
            times = list(
                conn.execute(
                    select(failure_t.c.failed_at)
                    .where(self._pair(username, addr), failure_t.c.failed_at > now - self.window)
                    .order_by(failure_t.c.failed_at.desc())
                    .limit(self.max_failures)
                ).scalars()
            )
        if len(times) >= self.max_failures:
            oldest = times[-1]  # of the latest max_failures: when it leaves the window, one more try
            wait = int(oldest + self.window - now) + 1
            raise TooManyAttempts(f"too many failed logins; try again in {wait // 60 + 1} min", wait)

    def failed(self, username: str, addr: str | None, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        name, where = self._key(username, addr)

        def record(conn: Connection) -> None:
            conn.execute(delete(failure_t).where(failure_t.c.failed_at <= now - self.window))
            conn.execute(insert(failure_t).values(username=name, addr=where, failed_at=now))

        run_write(self.engine, record)

    def succeeded(self, username: str, addr: str | None) -> None:
        pair = self._pair(username, addr)
        run_write(self.engine, lambda conn: conn.execute(delete(failure_t).where(pair)))


def login_throttle(request: Request) -> LoginThrottle:
    """The throttle over the app's database (its state is there, not in the object)."""
    throttle = getattr(request.app.state, "web_login_throttle", None)
    if throttle is None:
        throttle = request.app.state.web_login_throttle = LoginThrottle(request.app.state.engine)
    return throttle
