"""The one error tree of cunshe-ledger.

Every rule the books enforce raises a ``LedgerError`` subclass with a stable ``code`` (clients switch on it),
a human message, and, where the fault lies in one input field, the ``field`` path (``lines[2].credit``).
The HTTP layer maps the classes to status codes in one place (``ledger.api.errors``); nothing else
raises ``HTTPException``.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every domain error. ``http_status`` is the status the API answers with."""

    code = "ledger_error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class ValidationError(LedgerError):
    """Input that can never be right, whatever the state of the books (422)."""

    code = "invalid"
    http_status = 422


class InvalidAmount(ValidationError):
    """An amount is not a decimal string with at most two places and 15 integer digits."""

    code = "invalid_amount"


class InvalidQuantity(ValidationError):
    """A quantity is not a positive decimal string with at most three places."""

    code = "invalid_quantity"


class AccountingError(LedgerError):
    """A posting would break an accounting rule (422)."""

    code = "accounting_error"
    http_status = 422


class UnbalancedEntry(AccountingError):
    """Σ debit ≠ Σ credit, fewer than two lines, or a zero line."""

    code = "unbalanced_entry"


class AccountNotPostable(AccountingError):
    """The account is closed, a summary (parent) account, or belongs to another org."""

    code = "account_not_postable"


class AccountKept(AccountNotPostable):
    """A plain entry to lines a workflow keeps (``ledger.books.posting.KeptAccount``); ``source`` is that
    workflow's posting source, so a page can name it in its own language."""

    def __init__(self, message: str, *, field: str | None = None, source: str = "") -> None:
        super().__init__(message, field=field)
        self.source = source


class PeriodClosed(AccountingError):
    """The period is closed: it takes no postings until an admin reopens it."""

    code = "period_closed"
    http_status = 409


class NotFound(LedgerError):
    """The thing does not exist, or the caller may not know that it exists (404)."""

    code = "not_found"
    http_status = 404


class Conflict(LedgerError):
    """The request conflicts with the current state (409)."""

    code = "conflict"
    http_status = 409


class IdempotencyConflict(Conflict):
    """The idempotency key was used before with a different request body."""

    code = "idempotency_conflict"


class Forbidden(LedgerError):
    """The caller's role or scope does not allow this (403)."""

    code = "forbidden"
    http_status = 403


class Unauthenticated(LedgerError):
    """No valid credentials (401)."""

    code = "unauthenticated"
    http_status = 401


class TimeLimit(LedgerError):
    """The request would hold the server past its time limit (a report over too much); 503."""

    code = "time_limit"
    http_status = 503


class Busy(LedgerError):
    """The database stayed locked past the retry budget; the client may retry (503 + Retry-After)."""

    code = "busy"
    http_status = 503
