"""Matching statement lines to journal lines (对账): pure proposals over records, and a thin DB layer.

The pure part (``propose``) takes plain records, ``StatementRecord`` and ``BookRecord`` (a journal line on
the statement account's ledger account, signed debit − credit so that + is money in on both sides), and
returns ``Proposal``s, each with a score (0–100) and the reasons behind it (金额一致, 日期相差1天,
参考号一致 …).
It runs in passes, each over what the previous left:

1. **one to one** — ledger lines bucketed by amount, sorted by date; each statement line looks only at its
   amount's bucket within the date window (a bisect), so 10⁵ × 10⁵ lines cost about 10⁵ lookups. Every
   candidate pair is scored; pairs are taken best first, each line at most once. A pair whose references
   disagree is proposed with ``conflict`` set and a low score; a line with several equal candidates is
   ``ambiguous``.
2. **one to many / many to one** (a split or merged payment) — for a line left over, the other side's
   leftovers of the same sign within the window: the whole day's lines when their total fits, a contiguous
   run in time (prefix sums), else a subset sum over at most ``MAX_SUBSET`` candidates. Bounded: a larger
   candidate set is not searched.
3. **fee-netted settlement** (DESIGN §5a, statement-formats: a T+1 WeChat/Alipay lump at the bank) — a
   bank credit N against one day's unsettled clearing-account debits (101201 …) of total G, 1 to
   ``MAX_SETTLEMENT_LAG`` days earlier, with fee F = G − N between 0 and ``max_fee_bp`` of G. Confirming it
   posts Dr bank N, Dr 财务费用 F / Cr clearing G.

Nothing here confirms anything by itself. ``auto_confirm_exact`` (off by default) may confirm only a
one-to-one pair with equal amount, the same date, an equal reference, no conflict and no competing
candidate. The DB layer writes proposals, and confirmations / rejections as new records that supersede
the proposal (``ledger.reconcile.models``); it posts entries only through ``post_entries``.
"""

from __future__ import annotations

from ledger.reconcile.matching.by_rule import RulePosting, post_by_rule
from ledger.reconcile.matching.decisions import confirm_match, confirm_matches, manual_match, reject_match
from ledger.reconcile.matching.loading import (
    account_ids,
    current_items,
    load_book_records,
    matched_ids,
    parse_statement_time,
)
from ledger.reconcile.matching.match_rows import match_items
from ledger.reconcile.matching.passes import propose
from ledger.reconcile.matching.proposals import ProposeResult, propose_matches
from ledger.reconcile.matching.reading import (
    BOOK_SEARCH_LIMIT,
    BookSearch,
    book_lines_on,
    find_open_book_lines,
    list_matches,
    match_history,
    match_view,
    statement_lines,
)
from ledger.reconcile.matching.records import (
    DEFAULT_WINDOW_DAYS,
    BookRecord,
    ClearingRecord,
    MatchOptions,
    Proposal,
    Reason,
    StatementRecord,
    reason_text,
    reasons_view,
)
from ledger.reconcile.matching.rulebook import rules
from ledger.reconcile.matching.scoring import reference_tokens, score_pair, statement_references
from ledger.reconcile.matching.tables import match_t

__all__ = [
    "BOOK_SEARCH_LIMIT",
    "DEFAULT_WINDOW_DAYS",
    "BookRecord",
    "BookSearch",
    "ClearingRecord",
    "MatchOptions",
    "Proposal",
    "ProposeResult",
    "Reason",
    "RulePosting",
    "StatementRecord",
    "account_ids",
    "book_lines_on",
    "confirm_match",
    "confirm_matches",
    "current_items",
    "find_open_book_lines",
    "list_matches",
    "load_book_records",
    "manual_match",
    "match_history",
    "match_items",
    "match_t",
    "match_view",
    "matched_ids",
    "parse_statement_time",
    "post_by_rule",
    "propose",
    "propose_matches",
    "reason_text",
    "reasons_view",
    "reference_tokens",
    "reject_match",
    "rules",
    "score_pair",
    "statement_lines",
    "statement_references",
]
