"""What an import gives: ``StatementLine``, ``ParsedStatement``, and ``StatementParseError`` with every
problem found (line, column, message); ``Draft``, a line before its key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from ledger.books.errors import ValidationError

SOURCES = ("bank", "wechat_trade", "wechat_fund", "alipay_detail", "alipay_account")
KINDS = ("sale", "refund", "fee", "settlement", "transfer", "other")

# detect_source() tries the payment companies first: their headers are unmistakable, a bank's is not.
DETECT_ORDER = ("wechat_trade", "wechat_fund", "alipay_detail", "alipay_account", "bank")
"""The order sources are tried in when a file does not say which it is: the most specific first."""
HEADER_SCAN_ROWS = 100
"""How many rows from the top the header row is looked for in."""
MAX_INTEGER_DIGITS = 15
"""The most digits the yuan part of an amount may have; a longer number is refused as not an amount."""
_MESSAGE_PROBLEMS = 5
_KEPT_PROBLEMS = 10_000


@dataclass(frozen=True)
class StatementLine:
    """One line of a bank or payment-company statement, from our account's point of view.

    ``amount_fen`` is signed (+ money in, − money out; refunds negative). ``fee_fen`` is the payment
    company's fee charged on this line (negative when a refund gives it back; 0 for banks and for the fee
    rows of fund bills, whose amount already is the fee). ``key`` is stable across re-imports of
    overlapping files and distinct for distinct lines.
    """

    source: str
    line_no: int
    occurred_at: datetime
    amount_fen: int
    fee_fen: int
    balance_fen: int | None
    reference: str
    merchant_ref: str
    counterparty: str
    counterparty_account: str
    memo: str
    kind: str
    key: str
    voucher_fen: int = 0
    # What told two lines apart in the keys of imports before serial identity (``legacy_keys``).
    identity: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedStatement:
    """Every line of one statement file, the encoding it was read with (``"xlsx"``/``"xls"`` for
    workbooks) and its footer totals, already checked against the lines.

    Summary keys: ``*_count`` (rows) and ``*_total_fen`` (magnitudes: a refund or expense total is
    positive; only WeChat's ``fee_total_fen`` is net and may be negative). Per source: wechat_trade
    row_count, settled_total, refund_total, fee_total; wechat_fund row_count, income_*, expense_*;
    alipay_detail sale_*, refund_*; alipay_account income_*, expense_*; bank none.
    """

    source: str
    lines: list[StatementLine]
    encoding: str
    summary: dict[str, int]
    #: The account the file says it is of (账号, 商户号, the Alipay account), as printed; empty if none.
    account_numbers: tuple[str, ...] = ()
    #: What the file calls that number (账号, 商户号 …), for messages.
    account_label: str = ""
    #: The balance column's header when the file has one: its lines' balances run without a break.
    balance_column: str | None = None
    #: The line the file's balances start from (its earliest), when it has a balance column.
    opening_line: StatementLine | None = None


class StatementParseError(ValidationError):
    """A statement file cannot be imported: unreadable, truncated, wrong encoding, a missing column, a cell
    that is not an amount or a date, or a footer total the rows do not add up to.

    The message names the file, line and column of the first problems; ``problems`` lists all of them as
    ``{"line": int | None, "column": str | None, "message": str}`` so the user can fix everything in one
    pass.
    """

    code = "statement_parse_error"
    #: where the answer links every problem (as CSV) when there are more than it shows; set by the API
    problems_url: str | None = None

    def __init__(
        self, message: str, *, problems: list[dict[str, Any]] | None = None, count: int | None = None
    ) -> None:
        super().__init__(message, field="file")
        self.problems: list[dict[str, Any]] = (
            problems if problems is not None else [{"line": None, "column": None, "message": message}]
        )
        #: every problem found, also those beyond the ones kept in ``problems``
        self.problem_count = count if count is not None else len(self.problems)


def _describe_problem(problem: dict[str, Any]) -> str:
    where = []
    if problem["line"] is not None:
        where.append(f"line {problem['line']}")
    if problem["column"]:
        where.append(f"column {problem['column']}")
    return f"{', '.join(where)}: {problem['message']}" if where else problem["message"]


class Problems:
    """Collects problems while parsing goes on, so one error can report them all."""

    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self.items: list[dict[str, Any]] = []
        self.count = 0  # every problem found; only the first _KEPT_PROBLEMS are kept

    def __len__(self) -> int:
        return self.count

    def add(self, line: int | None, column: str | None, message: str) -> None:
        self.count += 1
        if self.count <= _KEPT_PROBLEMS:
            self.items.append({"line": line, "column": column or None, "message": message})

    def error(self) -> StatementParseError:
        shown = "; ".join(_describe_problem(p) for p in self.items[:_MESSAGE_PROBLEMS])
        more = self.count - _MESSAGE_PROBLEMS
        suffix = f"; and {more} more problem{'s' if more > 1 else ''}" if more > 0 else ""
        # A junk file of 10⁵ bad rows must not cost a gigabyte of messages: the first ones tell.
        return StatementParseError(
            f"{self.file_name}: {shown}{suffix}", problems=list(self.items), count=self.count
        )

    def raise_if_any(self) -> None:
        if self.items:
            raise self.error()

    def fail(self, line: int | None, column: str | None, message: str) -> StatementParseError:
        self.add(line, column, message)
        return self.error()


class Draft(NamedTuple):
    """A statement line as a row parser reads it, before the file's lines are keyed."""

    line_no: int
    occurred_at: datetime
    amount_fen: int
    fee_fen: int
    balance_fen: int | None
    reference: str
    merchant_ref: str
    counterparty: str
    counterparty_account: str
    memo: str
    kind: str
    identity: tuple[str, ...] = ()  # extra fields that tell two lines apart (refund numbers, accounts)
    voucher_fen: int = 0  # WeChat's 代金券 on the line: the part of 总金额 not received (+ on a sale)
