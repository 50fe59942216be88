"""Limits on web logins that keep a flood of guesses from stalling everything else the server does.

Every login attempt is argon2 work (t=3, 64 MiB by default): a flood of them, even for usernames that do
not exist, would eat both cores and a gigabyte of memory and starve the tills. So, before any password is
looked at:

1. **Rate limits** (the ``limits`` package, moving windows): ``login_rate_per_address`` attempts per client
   address and ``login_rate_overall`` attempts in all. Every attempt counts, whatever the username and
   whatever the outcome, so random usernames are no way around them. The address is the socket's peer;
   ``X-Forwarded-For`` is believed only from the proxies named in ``CUNSHE_TRUSTED_PROXIES`` (uvicorn's
   proxy middleware, set up by ``cunshe serve``), so a rotating header neither escapes the limit nor locks
   out someone else's address. The counts live in the process (each ``--workers`` process keeps its own);
   the per-username failures of ``ledger.web.security.LoginThrottle`` stay in the database.
2. **A bounded hashing pool**: at most ``login_hash_slots`` password checks run at once; an attempt that
   cannot get a slot within ``login_hash_wait_seconds`` is refused with 429 instead of queueing without end.
   The hashing runs in a worker thread (argon2 releases the GIL), never on the event loop.

A refusal is ``TooManyAttempts`` (429 with ``Retry-After``), the same answer as the per-username throttle.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from ledger.settings import Settings
from ledger.web.security import TooManyAttempts

ANYONE = "*"


class LoginLimits:
    """The rate limits and the hashing pool of one server process."""

    def __init__(self, per_address: str, overall: str, hash_slots: int, wait_seconds: float) -> None:
        self.per_address: RateLimitItem = parse(per_address)
        self.overall: RateLimitItem = parse(overall)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.slots = threading.BoundedSemaphore(max(1, hash_slots))
        self.wait_seconds = wait_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        return cls(
            settings.login_rate_per_address,
            settings.login_rate_overall,
            settings.login_hash_slots,
            settings.login_hash_wait_seconds,
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
