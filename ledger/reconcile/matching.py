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

import json
import re
import tomllib
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib.resources import files
from itertools import combinations
from typing import Any, NamedTuple

from sqlalchemy import Connection, exists, func, select
from sqlalchemy.orm import aliased

from ledger.books.errors import Conflict, NotFound, ValidationError
from ledger.books.money import format_amount
from ledger.books.orgs import get_org, now, require_books
from ledger.books.periods import Month, parse_period, period_bounds
from ledger.books.posting import Draft, Line, Posted, post_entries
from ledger.books.verify import Problem, register_check
from ledger.db.models import Account, Counterparty, JournalEntry, JournalLine
from ledger.db.rows import gc_paused, insert_rows
from ledger.reconcile.models import ReconcileMatch, ReconcileMatchItem, StatementAccount, StatementLineRow
from ledger.reconcile.store import get_statement_account, large_page_cache, live_lines, void_t

__all__ = [
    "BookRecord",
    "ClearingRecord",
    "MatchOptions",
    "Proposal",
    "ProposeResult",
    "Reason",
    "RulePosting",
    "StatementRecord",
    "confirm_match",
    "confirm_matches",
    "list_matches",
    "manual_match",
    "match_history",
    "match_items",
    "match_view",
    "matched_ids",
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

DEFAULT_WINDOW_DAYS = 3
MAX_SUBSET = 12
MAX_SETTLEMENT_LAG = 3
DEFAULT_MAX_FEE_BP = 100  # 1%: WeChat and Alipay charge 0.2–0.6% to small merchants
_GROUP_SCAN_LIMIT = 400  # leftovers in one window beyond which passes 2 do not search

match_t = ReconcileMatch.__table__
item_t = ReconcileMatchItem.__table__
sline_t = StatementLineRow.__table__
saccount_t = StatementAccount.__table__
line_t = JournalLine.__table__
entry_t = JournalEntry.__table__
account_t = Account.__table__
cp_t = Counterparty.__table__

# Payment companies as they appear at the bank, per clearing-account kind.
_PAYER_WORDS = {
    "wechat": ("财付通", "微信", "TENPAY", "WECHAT"),
    "alipay": ("支付宝", "ALIPAY", "蚂蚁"),
}
_FOUR_DIGITS = re.compile(r"\d\D*\d\D*\d\D*\d")
_TOKEN_SPLIT = re.compile(r"[\s,，;；:：()（）\[\]【】/|]+")


# --------------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class StatementRecord:
    """A statement line as the matcher sees it; ``amount_fen`` signed, + money in."""

    id: int
    on: date
    amount_fen: int
    references: tuple[str, ...] = ()
    counterparty: str = ""
    memo: str = ""
    kind: str = "other"
    fee_fen: int = 0
    norm_refs: tuple[str, ...] = field(init=False, repr=False, compare=False)
    norm_counterparty: str = field(init=False, repr=False, compare=False)
    norm_memo: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Normalised once per record, not once per candidate pair.
        object.__setattr__(self, "norm_refs", tuple(_norm(r) for r in self.references if r))
        object.__setattr__(self, "norm_counterparty", _norm(self.counterparty))
        object.__setattr__(self, "norm_memo", _norm(self.memo))


@dataclass(frozen=True)
class BookRecord:
    """A journal line (分录) on the account; ``amount_fen`` = debit − credit (+ money in)."""

    id: int
    on: date
    amount_fen: int
    entry_id: int = 0
    references: tuple[str, ...] = ()
    counterparty: str = ""
    memo: str = ""
    voucher_no: str = ""
    account: str = ""
    norm_refs: tuple[str, ...] = field(init=False, repr=False, compare=False)
    norm_counterparty: str = field(init=False, repr=False, compare=False)
    norm_memo: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Normalised once per record, not once per candidate pair.
        object.__setattr__(self, "norm_refs", tuple(_norm(r) for r in self.references if r))
        object.__setattr__(self, "norm_counterparty", _norm(self.counterparty))
        object.__setattr__(self, "norm_memo", _norm(self.memo))


class Reason(NamedTuple):
    """One reason a proposal was made, with the points it added (or took away) and what it names
    (``params``: amounts in fen, counts, references). Its words live in ``reasons.toml``, per language."""

    code: str
    points: int
    params: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        """The reason in Chinese (``reason_text`` for another language)."""
        return reason_text(self.code, self.params)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "points": self.points, "params": self.params or {}}


@cache
def _reason_templates() -> dict[str, dict[str, str]]:
    return tomllib.loads((files("ledger.reconcile") / "reasons.toml").read_text(encoding="utf-8"))


def reason_text(code: str, params: dict[str, Any] | None = None, lang: str = "zh") -> str:
    """A stored reason in words: its ``reasons.toml`` entry in ``lang`` (Chinese when missing), filled in
    with its params, ``*_fen`` ones as money. An unknown code is shown as itself."""
    params = params or {}
    variant = params.get("variant")
    entry = _reason_templates().get(f"{code}_{variant}" if variant else code)
    if entry is None:
        return code
    fields = {
        (name[:-4] if name.endswith("_fen") else name): (_money(value) if name.endswith("_fen") else value)
        for name, value in params.items()
    }
    return (entry.get(lang) or entry["zh"]).format(**fields)


def reasons_view(stored: str, lang: str = "zh") -> list[dict[str, Any]]:
    """A match's stored reasons (JSON) as ``{"code", "text", "points", "params"}`` in ``lang``. Records
    written before reasons had params keep the Chinese text they were stored with."""
    out = []
    for r in json.loads(stored):
        params = r.get("params")
        text = reason_text(r["code"], params, lang) if params is not None else r.get("text", r["code"])
        out.append({"code": r["code"], "text": text, "points": r["points"], "params": params or {}})
    return out


@dataclass
class Proposal:
    """A proposed match and why. ``settled_ids`` are clearing-account lines a settlement clears."""

    kind: str
    statement_ids: tuple[int, ...]
    book_ids: tuple[int, ...]
    score: int
    reasons: tuple[Reason, ...]
    conflict: bool = False
    ambiguous: bool = False
    fee_fen: int = 0
    settled_ids: tuple[int, ...] = ()
    clearing_account: str | None = None
    exact_reference: bool = False
    same_day: bool = False

    @property
    def auto_confirmable(self) -> bool:
        """Exact amount, same date, equal reference, nothing competing, no conflict."""
        return (
            self.kind == "one_to_one"
            and self.same_day
            and self.exact_reference
            and not self.conflict
            and not self.ambiguous
        )


@dataclass(frozen=True)
class ClearingRecord:
    """A line on a clearing account (微信/支付宝 其他货币资金) that a bank settlement may clear."""

    id: int
    on: date
    amount_fen: int
    account: str
    kind: str  # "wechat" | "alipay"


@dataclass
class MatchOptions:
    window_days: int = DEFAULT_WINDOW_DAYS
    max_fee_bp: int = DEFAULT_MAX_FEE_BP
    rejected: frozenset[tuple[tuple[int, ...], tuple[int, ...]]] = frozenset()
    #: Fees the payment company's own bill reports per (clearing account, day), to check settlements.
    bill_fees: dict[tuple[str, date], int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------------
# Scoring


def _norm(text: str) -> str:
    return text.strip().upper().replace(" ", "")


def reference_tokens(*texts: str | None) -> tuple[str, ...]:
    """Reference-like tokens in free text: 6+ characters with at least 4 digits (流水号, 订单号)."""
    out: list[str] = []
    for text in texts:
        if not text or not _FOUR_DIGITS.search(text):  # most memos name no reference: skip the split
            continue
        for token in _TOKEN_SPLIT.split(text.upper()):
            token = token.strip("#:：.。")
            if len(token) >= 6 and sum(ch.isdigit() for ch in token) >= 4 and token not in out:
                out.append(token)
    return tuple(out)


def statement_references(reference: str, merchant_ref: str = "") -> tuple[str, ...]:
    """A statement line's references: as printed, and the serial after the account number
    (CCB prints ``<account>-<serial>``; a bookkeeper copies only the serial into the memo)."""
    refs = [reference] if reference else []
    tail = reference.rsplit("-", 1)[-1] if "-" in reference else ""
    if len(tail) >= 6 and tail not in refs:
        refs.append(tail)
    if merchant_ref and merchant_ref not in refs:
        refs.append(merchant_ref)
    return tuple(refs)


def _same_shape(a: str, b: str) -> bool:
    return len(a) == len(b) and a[:2] == b[:2]


def _reference_verdict(
    stmt: StatementRecord, book: BookRecord, known: frozenset[str]
) -> tuple[str, str, str]:
    """("equal"|"conflict"|"none", statement ref, book ref)."""
    s_refs = stmt.norm_refs
    b_refs = book.norm_refs
    if not s_refs or not b_refs:
        return "none", "", ""
    for b in b_refs:
        for s in s_refs:
            if b == s or (len(s) >= 8 and s in b) or (len(b) >= 8 and b in s):
                shorter = b if len(b) <= len(s) else s
                return "equal", shorter, shorter
    for b in b_refs:
        if b in known:  # the book names another statement line's reference
            return "conflict", s_refs[0], b
        for s in s_refs:
            if _same_shape(s, b):
                return "conflict", s, b
    return "none", "", ""


def _counterparty_agrees(stmt: StatementRecord, book: BookRecord) -> bool:
    s = stmt.norm_counterparty
    b = book.norm_counterparty
    if len(s) >= 2 and (s == b or (b and (s in b or b in s)) or s in book.norm_memo):
        return True
    return len(b) >= 2 and b in stmt.norm_memo


def _date_reason(days: int, *, widest: bool = False) -> Reason:
    """Same day, or days apart; ``widest``: the furthest line of a group."""
    if days == 0:
        return Reason("same_day", 25, {"variant": "widest"} if widest else None)
    params: dict[str, Any] = {"days": days, "variant": "widest"} if widest else {"days": days}
    return Reason("date_shift", max(0, 25 - 7 * days), params)


def _money(fen: int) -> str:
    """``¥12,348.67``; plain arithmetic, as Babel would be the hot spot of 10⁵ proposals."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


class _Facts(NamedTuple):
    days: int
    verdict: str  # equal | conflict | none
    s_ref: str
    b_ref: str
    counterparty: bool
    score: int


_VERDICT_POINTS = {"equal": 25, "conflict": -60, "none": 0}


def _facts(stmt: StatementRecord, book: BookRecord, known: frozenset[str]) -> _Facts:
    verdict, s_ref, b_ref = _reference_verdict(stmt, book, known)
    days = abs(stmt.on.toordinal() - book.on.toordinal())
    agrees = _counterparty_agrees(stmt, book)
    points = (
        50 + (25 if days == 0 else max(0, 25 - 7 * days)) + _VERDICT_POINTS[verdict] + (10 if agrees else 0)
    )
    return _Facts(days, verdict, s_ref, b_ref, agrees, _clip(points))


def _reasons(stmt: StatementRecord, book: BookRecord, facts: _Facts) -> list[Reason]:
    """The words for a scored pair; their points add up to ``facts.score`` (before clipping)."""
    reasons = [
        Reason("amount_equal", 50, {"amount_fen": abs(stmt.amount_fen)}),
        _date_reason(facts.days),
    ]
    if facts.verdict == "equal":
        reasons.append(Reason("reference_equal", 25, {"reference": facts.s_ref}))
    elif facts.verdict == "conflict":
        reasons.append(
            Reason(
                "reference_conflict",
                -60,
                {"statement_reference": facts.s_ref, "book_reference": facts.b_ref},
            )
        )
    if facts.counterparty:
        reasons.append(
            Reason("counterparty_equal", 10, {"counterparty": stmt.counterparty or book.counterparty})
        )
    return reasons


def score_pair(
    stmt: StatementRecord, book: BookRecord, known_refs: frozenset[str] = frozenset()
) -> tuple[int, list[Reason], bool, bool]:
    """Score an equal-amount pair: (score, reasons, conflict, exact_reference)."""
    facts = _facts(stmt, book, known_refs)
    return facts.score, _reasons(stmt, book, facts), facts.verdict == "conflict", facts.verdict == "equal"


def _clip(score: int) -> int:
    return max(0, min(100, score))


# --------------------------------------------------------------------------------------------------------
# Pass 1: one to one


def _one_to_one(
    stmts: Sequence[StatementRecord],
    books: Sequence[BookRecord],
    options: MatchOptions,
    known_refs: frozenset[str],
) -> list[Proposal]:
    buckets: dict[int, list[tuple[int, int]]] = defaultdict(list)  # amount → [(ordinal, index)]
    for i, b in enumerate(books):
        buckets[b.amount_fen].append((b.on.toordinal(), i))
    for bucket in buckets.values():
        bucket.sort()
    window = options.window_days
    pairs: list[tuple[int, int, int, int, _Facts]] = []
    stmt_candidates: dict[int, int] = defaultdict(int)
    book_candidates: dict[int, int] = defaultdict(int)
    rejected = options.rejected
    for si, s in enumerate(stmts):
        found = buckets.get(s.amount_fen)
        if not found:
            continue
        bucket = found
        day = s.on.toordinal()
        lo = bisect_left(bucket, (day - window, -1))
        hi = bisect_right(bucket, (day + window, len(books)))
        for _, bi in bucket[lo:hi]:
            b = books[bi]
            if rejected and ((s.id,), (b.id,)) in rejected:
                continue
            facts = _facts(s, b, known_refs)
            pairs.append((-facts.score, facts.days, si, bi, facts))
            stmt_candidates[si] += 1
            book_candidates[bi] += 1
    pairs.sort()  # by (-score, days, si, bi): (si, bi) is unique, so the facts are never compared
    used_s: set[int] = set()
    used_b: set[int] = set()
    out: list[Proposal] = []
    for _, days, si, bi, facts in pairs:
        if si in used_s or bi in used_b:
            continue
        used_s.add(si)
        used_b.add(bi)
        competing = max(stmt_candidates[si], book_candidates[bi]) - 1
        reasons = _reasons(stmts[si], books[bi], facts)
        score = facts.score
        if competing > 0:
            reasons.append(Reason("competing", -5, {"count": competing}))
            score = _clip(score - 5)
        out.append(
            Proposal(
                "one_to_one",
                (stmts[si].id,),
                (books[bi].id,),
                score,
                tuple(reasons),
                conflict=facts.verdict == "conflict",
                ambiguous=competing > 0,
                exact_reference=facts.verdict == "equal",
                same_day=days == 0,
            )
        )
    return out


# --------------------------------------------------------------------------------------------------------
# Pass 2: split and merged payments


@dataclass(frozen=True)
class _Item:
    id: int
    on: date
    amount_fen: int
    counterparty: str


def _find_group(target: _Item, pool: list[_Item]) -> list[_Item] | None:
    """Items of ``pool`` (same sign, in time order) summing exactly to ``target``: at least two."""
    if len(pool) < 2:
        return None
    total = sum(p.amount_fen for p in pool)
    if total == target.amount_fen:
        return list(pool)
    run = _find_run(target, [p for p in pool if p.on == target.on])
    if run is not None:
        return run
    if len(pool) > MAX_SUBSET:
        pool = sorted(pool, key=lambda p: (abs((p.on - target.on).days), p.id))[:MAX_SUBSET]
    # Every subset of up to 8 lines (247 sums); of 9–12, pairs and triples only (≤ 286 sums): bounded.
    largest = len(pool) if len(pool) <= 8 else 3
    for size in range(2, largest + 1):
        for combo in combinations(pool, size):
            if sum(p.amount_fen for p in combo) == target.amount_fen:
                return list(combo)
    return None


def _find_run(target: _Item, items: list[_Item]) -> list[_Item] | None:
    """A contiguous run of ``items`` (in file order: one shift's sales, refunds included) summing to
    ``target``: prefix sums, O(n)."""
    if len(items) < 2:
        return None
    seen: dict[int, int] = {0: 0}
    running = 0
    for j, p in enumerate(items, start=1):
        running += p.amount_fen
        start = seen.get(running - target.amount_fen)
        if start is not None and j - start >= 2:
            return items[start:j]
        seen.setdefault(running, j)
    return None


def _find_pair(target: _Item, pool: list[_Item]) -> list[_Item] | None:
    """Two items of ``pool`` summing to ``target``, in O(n) (a dict of amounts)."""
    seen: dict[int, _Item] = {}
    for p in pool:
        other = seen.get(target.amount_fen - p.amount_fen)
        if other is not None:
            return [other, p]
        seen.setdefault(p.amount_fen, p)
    return None


def _group_pass(
    targets: list[_Item],
    pool: list[_Item],
    window: int,
    rejected: frozenset,
    *,
    targets_are_statement: bool,
    runs: bool = False,
) -> list[tuple[_Item, list[_Item]]]:
    pool = sorted(pool, key=lambda p: (p.on, p.id))
    days = [p.on.toordinal() for p in pool]
    # The same pool split by sign (order kept), so a target scans only the lines that may sum to it.
    signed = {}
    for sign in (True, False):
        same = [p for p in pool if (p.amount_fen > 0) == sign]
        signed[sign] = (same, [p.on.toordinal() for p in same])
    used: set[int] = set()
    found: list[tuple[_Item, list[_Item]]] = []
    for t in sorted(targets, key=lambda t: (t.on, t.id)):
        first, last = t.on.toordinal() - window, t.on.toordinal() + window
        dense = bisect_right(days, last) - bisect_left(days, first) > _GROUP_SCAN_LIMIT
        if dense:  # too many leftovers around: only two lines of the same day, found by hashing
            first = last = t.on.toordinal()
        same_sign, same_sign_days = signed[t.amount_fen > 0]
        size = abs(t.amount_fen)
        candidates = [
            p
            for p in same_sign[bisect_left(same_sign_days, first) : bisect_right(same_sign_days, last)]
            if abs(p.amount_fen) < size and p.id not in used
        ]
        if dense:
            group = None
            if runs:  # a shift's voucher line against its sales and refunds of the day, in file order
                day = pool[bisect_left(days, first) : bisect_right(days, last)]
                group = _find_run(t, [p for p in day if p.id not in used])
            group = group or _find_pair(t, candidates)
        else:
            group = _find_group(t, candidates)
        if group is None:
            continue
        ids = tuple(sorted(p.id for p in group))
        key = ((t.id,), ids) if targets_are_statement else (ids, (t.id,))
        if key in rejected:
            continue
        used.update(p.id for p in group)
        found.append((t, group))
    return found


def _group_proposal(kind: str, target: _Item, group: list[_Item], *, target_is_statement: bool) -> Proposal:
    days = max(abs((p.on - target.on).days) for p in group)
    reasons = [
        Reason("sum_equal", 45, {"amount_fen": abs(target.amount_fen), "count": len(group)}),
        _date_reason(days, widest=True),
    ]
    cp = _norm(target.counterparty)
    if len(cp) >= 2 and all(
        cp and (cp in _norm(p.counterparty) or _norm(p.counterparty) in cp) for p in group
    ):
        reasons.append(Reason("counterparty_equal", 10, {"counterparty": target.counterparty}))
    ids = tuple(sorted(p.id for p in group))
    return Proposal(
        kind,
        (target.id,) if target_is_statement else ids,
        ids if target_is_statement else (target.id,),
        _clip(sum(r.points for r in reasons)),
        tuple(reasons),
        same_day=days == 0,
    )


# --------------------------------------------------------------------------------------------------------
# Pass 3: fee-netted settlements


def _settlements(
    stmts: list[StatementRecord], clearing: Sequence[ClearingRecord], options: MatchOptions
) -> list[Proposal]:
    groups: dict[tuple[str, date], list[ClearingRecord]] = defaultdict(list)
    kinds: dict[str, str] = {}
    for c in clearing:
        groups[(c.account, c.on)].append(c)
        kinds[c.account] = c.kind
    used: set[tuple[str, date]] = set()
    out: list[Proposal] = []
    for s in sorted(stmts, key=lambda s: (s.on, s.id)):
        if s.amount_fen <= 0:
            continue
        best: tuple[int, Proposal, tuple[str, date]] | None = None
        for account in sorted(kinds):
            for lag in range(1, MAX_SETTLEMENT_LAG + 1):
                day = s.on - timedelta(days=lag)
                key = (account, day)
                if key in used or key not in groups:
                    continue
                lines = groups[key]
                gross = sum(c.amount_fen for c in lines)
                fee = gross - s.amount_fen
                if gross <= 0 or fee < 0 or fee * 10000 > gross * options.max_fee_bp:
                    continue
                ids = tuple(sorted(c.id for c in lines))
                if ((s.id,), ids) in options.rejected:
                    continue
                rate = fee * 10000 / gross
                reasons = [
                    Reason(
                        "settlement_netted",
                        45,
                        {
                            "net_fen": s.amount_fen,
                            "day": f"{day:%m-%d}",
                            "gross_fen": gross,
                            "fee_fen": fee,
                            "rate": f"{rate / 100:.2f}",
                        },
                    ),
                    Reason("settlement_lag", 20 if lag == 1 else 10, {"lag": lag}),
                ]
                words = _PAYER_WORDS.get(kinds[account], ())
                text = _norm(s.counterparty + s.memo)
                if any(w in text for w in words):
                    reasons.append(Reason("payer_equal", 15, {"payer": s.counterparty or s.memo}))
                bill_fee = options.bill_fees.get(key)
                if bill_fee is not None:
                    if bill_fee == fee:
                        reasons.append(Reason("fee_equal", 15))
                    else:
                        reasons.append(Reason("fee_differs", -20, {"bill_fee_fen": bill_fee}))
                score = _clip(sum(r.points for r in reasons))
                proposal = Proposal(
                    "settlement",
                    (s.id,),
                    (),
                    score,
                    tuple(reasons),
                    fee_fen=fee,
                    settled_ids=ids,
                    clearing_account=account,
                )
                if best is None or score > best[0]:
                    best = (score, proposal, key)
                break  # the nearest day of this account
        if best is not None:
            used.add(best[2])
            out.append(best[1])
    return out


# --------------------------------------------------------------------------------------------------------
# The pipeline


def propose(
    stmts: Sequence[StatementRecord],
    books: Sequence[BookRecord],
    *,
    clearing: Sequence[ClearingRecord] = (),
    options: MatchOptions | None = None,
) -> list[Proposal]:
    """Every proposal for these unmatched statement lines and ledger lines; no line in two proposals."""
    options = options or MatchOptions()
    with gc_paused():  # 10⁵ small records and tuples: the cyclic collector would cost more than the matching
        return _propose(stmts, books, clearing, options)


def _propose(
    stmts: Sequence[StatementRecord],
    books: Sequence[BookRecord],
    clearing: Sequence[ClearingRecord],
    options: MatchOptions,
) -> list[Proposal]:
    known_refs = frozenset(_norm(r) for s in stmts for r in s.references if r)
    proposals = _one_to_one(stmts, books, options, known_refs)
    used_s = {i for p in proposals for i in p.statement_ids}
    used_b = {i for p in proposals for i in p.book_ids}
    left_s = [_Item(s.id, s.on, s.amount_fen, s.counterparty) for s in stmts if s.id not in used_s]
    left_b = [_Item(b.id, b.on, b.amount_fen, b.counterparty) for b in books if b.id not in used_b]
    # One statement line paying several ledger lines (a split), then several statement lines for one
    # ledger line (merged: a shift's WeChat sales against its one voucher line).
    for target, group in _group_pass(
        left_s, left_b, options.window_days, options.rejected, targets_are_statement=True
    ):
        proposals.append(_group_proposal("one_to_many", target, group, target_is_statement=True))
        used_s.add(target.id)
        used_b.update(p.id for p in group)
    left_s = [s for s in left_s if s.id not in used_s]
    left_b = [b for b in left_b if b.id not in used_b]
    for target, group in _group_pass(
        left_b, left_s, options.window_days, options.rejected, targets_are_statement=False, runs=True
    ):
        proposals.append(_group_proposal("many_to_one", target, group, target_is_statement=False))
        used_b.add(target.id)
        used_s.update(p.id for p in group)
    if clearing:
        rest = [s for s in stmts if s.id not in used_s]
        proposals.extend(_settlements(rest, clearing, options))
    return proposals


# --------------------------------------------------------------------------------------------------------
# Rules (rules.toml)


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    pattern: re.Pattern[str]
    direction: str
    accounts: dict[str, str]
    sub_account: str

    def applies(self, line: Any) -> bool:
        if self.direction == "out" and line.amount_fen >= 0:
            return False
        if self.direction == "in" and line.amount_fen <= 0:
            return False
        return bool(self.pattern.search(f"{line.memo} {line.kind} {line.counterparty}"))


@cache
def _rules_doc() -> dict[str, Any]:
    return tomllib.loads((files("ledger.reconcile") / "rules.toml").read_text(encoding="utf-8"))


def rules() -> tuple[Rule, ...]:
    return tuple(
        Rule(
            r["name"],
            r["label"],
            re.compile(r["memo"]),
            r.get("direction", "any"),
            dict(r["account"]),
            r.get("sub_account", ""),
        )
        for r in _rules_doc()["rule"]
    )


def fee_account_code(standard: str) -> tuple[str, str]:
    doc = _rules_doc()["fee_account"]
    return doc[standard], doc.get("sub_account", "")


# --------------------------------------------------------------------------------------------------------
# Database: loading records


def _successor_exists():  # type: ignore[no-untyped-def]
    later = aliased(match_t)
    return exists().where(later.c.supersedes_id == match_t.c.id)


def current_items(conn: Connection, org_id: int, status: str, role: str | None = None):  # type: ignore[no-untyped-def]
    stmt = (
        select(item_t.c.match_id, item_t.c.statement_line_id, item_t.c.journal_line_id, item_t.c.role)
        .join(match_t, match_t.c.id == item_t.c.match_id)
        .where(match_t.c.org_id == org_id, match_t.c.status == status, ~_successor_exists())
    )
    if role is not None:
        stmt = stmt.where(item_t.c.role == role)
    return conn.execute(stmt).all()


def matched_ids(conn: Connection, org_id: int) -> tuple[set[int], set[int]]:
    """Statement line ids, and journal line ids matched as book lines, in current confirmed matches.

    A journal line on a clearing account (101201 …) takes part in two relations: it is matched to the
    WeChat/Alipay bill (role ``book``), and it is settled into the bank by a fee-netted T+1 lump (role
    ``settled``). Each relation holds once; the two do not exclude each other (``settled_ids``)."""
    s_ids: set[int] = set()
    b_ids: set[int] = set()
    for r in current_items(conn, org_id, "confirmed"):
        if r.statement_line_id is not None:
            s_ids.add(r.statement_line_id)
        elif r.role != "settled":
            b_ids.add(r.journal_line_id)
    return s_ids, b_ids


def settled_ids(conn: Connection, org_id: int) -> set[int]:
    """Journal line ids already settled into the bank by a confirmed fee-netted settlement."""
    return {r.journal_line_id for r in current_items(conn, org_id, "confirmed", "settled")}


def account_ids(conn: Connection, org_id: int, code: str) -> list[int]:
    """The account and its sub-accounts (a summary account's postings are its children's)."""
    return list(
        conn.execute(
            select(account_t.c.id).where(
                account_t.c.org_id == org_id,
                (account_t.c.code == code) | account_t.c.code.startswith(code),
            )
        ).scalars()
    )


def parse_statement_time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _raw(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """A read straight through the driver (``?`` marks): 10⁵ rows without SQLAlchemy's row objects."""
    if conn.dialect.name == "sqlite":
        params = [
            p.strftime("%Y-%m-%d %H:%M:%S.%f")
            if isinstance(p, datetime)
            else p.isoformat()
            if isinstance(p, date)
            else p
            for p in params
        ]
        return conn.exec_driver_sql(sql, tuple(params)).all()  # type: ignore[return-value]
    return conn.exec_driver_sql(sql.replace("?", "%s"), tuple(params)).all()  # type: ignore[return-value]


def _day(value: Any) -> date:
    """A DATE or TIMESTAMP column's day: SQLite hands back text, PostgreSQL date / datetime."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if isinstance(value, datetime) else value


def _day_reader() -> Callable[[Any], date]:
    """``_day`` remembering SQLite's date texts: a month's 10⁵ lines fall on some 31 days."""
    seen: dict[str, date] = {}

    def read(value: Any) -> date:
        if not isinstance(value, str):
            return _day(value)
        key = value[:10]
        found = seen.get(key)
        if found is None:
            found = seen[key] = date.fromisoformat(key)
        return found

    return read


def load_statement_records(
    conn: Connection, org_id: int, statement_account_id: int, first: date, last: date, *, exclude: set[int]
) -> list[StatementRecord]:
    rows = _raw(
        conn,
        "SELECT id, occurred_at, amount_fen, reference, merchant_ref, counterparty, memo, kind, fee_fen "
        "FROM statement_line WHERE org_id = ? AND statement_account_id = ? AND occurred_at >= ? "
        "AND occurred_at < ? AND import_id NOT IN "
        "(SELECT import_id FROM statement_import_void WHERE statement_account_id = ?)",  # voided: not counted
        [
            org_id,
            statement_account_id,
            datetime.combine(first, datetime.min.time()),
            datetime.combine(last + timedelta(days=1), datetime.min.time()),
            statement_account_id,
        ],
    )
    day = _day_reader()
    return [
        StatementRecord(
            line_id,
            day(occurred_at),
            amount,
            statement_references(reference, merchant_ref),
            counterparty,
            memo,
            kind,
            fee,
        )
        for line_id, occurred_at, amount, reference, merchant_ref, counterparty, memo, kind, fee in rows
        if line_id not in exclude
    ]


def load_book_records(
    conn: Connection, org_id: int, ledger_account: str, first: date, last: date, *, exclude: set[int]
) -> list[BookRecord]:
    ids = account_ids(conn, org_id, ledger_account)
    if not ids:
        return []
    # The months named one by one, not as a range: ix_line_tb (org, period, account, …) then seeks each
    # month's lines of the account instead of scanning both sides of every entry (0.45 → 0.32 s, 10⁵ lines).
    periods = [str(Month.from_index(i)) for i in range(Month.of(first).index, Month.of(last).index + 1)]
    rows = _raw(
        conn,
        "SELECT l.id, l.entry_id, l.debit_fen - l.credit_fen, l.memo, e.entry_date, e.voucher_no, e.memo, "
        "e.source_ref, c.name FROM journal_line l JOIN journal_entry e ON e.id = l.entry_id "
        "LEFT JOIN counterparty c ON c.id = l.counterparty_id "
        f"WHERE l.org_id = ? AND l.account_id IN ({', '.join('?' * len(ids))}) "
        f"AND l.period IN ({', '.join('?' * len(periods))}) AND e.entry_date >= ? AND e.entry_date <= ?",
        [org_id, *ids, *periods, first, last],
    )
    day = _day_reader()
    return [
        BookRecord(
            line_id,
            day(entry_date),
            amount,
            entry_id,
            reference_tokens(source_ref, memo, entry_memo),
            cp_name or "",
            memo or entry_memo or "",
            voucher_no,
            ledger_account,
        )
        for line_id, entry_id, amount, memo, entry_date, voucher_no, entry_memo, source_ref, cp_name in rows
        if line_id not in exclude
    ]


def _load_clearing(
    conn: Connection, org_id: int, statement_account, first: date, last: date
) -> list[ClearingRecord]:  # type: ignore[no-untyped-def]
    """Unsettled debits (sales) and POS credits (refunds) on the org's WeChat / Alipay accounts."""
    if statement_account.kind != "bank":
        return []
    clearing = conn.execute(
        select(saccount_t.c.ledger_account, saccount_t.c.kind).where(
            saccount_t.c.org_id == org_id, saccount_t.c.kind.in_(("wechat", "alipay"))
        )
    ).all()
    settled = settled_ids(conn, org_id)
    out: list[ClearingRecord] = []
    for code, kind in {(c.ledger_account, c.kind) for c in clearing}:
        ids = account_ids(conn, org_id, code)
        rows = conn.execute(
            select(line_t.c.id, line_t.c.debit_fen, line_t.c.credit_fen, entry_t.c.entry_date)
            .join(entry_t, entry_t.c.id == line_t.c.entry_id)
            .where(
                line_t.c.org_id == org_id,
                line_t.c.account_id.in_(ids),
                entry_t.c.entry_date >= first,
                entry_t.c.entry_date <= last,
                entry_t.c.source != "import",  # settlements we posted clear the account; they are not sales
            )
        ).all()
        for r in rows:
            if r.id in settled:
                continue
            on = r.entry_date if isinstance(r.entry_date, date) else date.fromisoformat(str(r.entry_date))
            out.append(ClearingRecord(r.id, on, r.debit_fen - r.credit_fen, code, kind))
    return out


def _bill_fees(conn: Connection, org_id: int, first: date, last: date) -> dict[tuple[str, date], int]:
    """Per clearing account and day, the fees its imported payment bill reports."""
    rows = conn.execute(
        select(
            saccount_t.c.ledger_account,
            sline_t.c.occurred_at,
            sline_t.c.fee_fen,
            sline_t.c.amount_fen,
            sline_t.c.kind,
        )
        .join(saccount_t, saccount_t.c.id == sline_t.c.statement_account_id)
        .where(
            sline_t.c.org_id == org_id,
            saccount_t.c.kind.in_(("wechat", "alipay")),
            sline_t.c.import_id.not_in(select(void_t.c.import_id).where(void_t.c.org_id == org_id)),
            sline_t.c.occurred_at >= datetime.combine(first, datetime.min.time()),
            sline_t.c.occurred_at < datetime.combine(last + timedelta(days=1), datetime.min.time()),
        )
    ).all()
    fees: dict[tuple[str, date], int] = defaultdict(int)
    for r in rows:
        key = (r.ledger_account, parse_statement_time(r.occurred_at).date())
        fees[key] += r.fee_fen if r.kind != "fee" else -r.amount_fen
    return dict(fees)


def _rejected_keys(conn: Connection, org_id: int, statement_account_id: int) -> frozenset:
    groups: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    rows = conn.execute(
        select(item_t.c.match_id, item_t.c.statement_line_id, item_t.c.journal_line_id)
        .join(match_t, match_t.c.id == item_t.c.match_id)
        .where(
            match_t.c.org_id == org_id,
            match_t.c.statement_account_id == statement_account_id,
            match_t.c.status == "rejected",
            ~_successor_exists(),
        )
    ).all()
    for r in rows:
        s, b = groups[r.match_id]
        if r.statement_line_id is not None:
            s.append(r.statement_line_id)
        else:
            b.append(r.journal_line_id)
    return frozenset((tuple(sorted(s)), tuple(sorted(b))) for s, b in groups.values())


# --------------------------------------------------------------------------------------------------------
# Database: writing proposals and decisions


def _allocate_match_ids(conn: Connection, count: int) -> list[int]:
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('reconcile_match', 'id')) FROM generate_series(1, %s)",
            (count,),
        ).scalars()
        return sorted(rows)
    # SQLite: the write transaction holds the database lock (BEGIN IMMEDIATE), so max+1 is ours alone.
    first = conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) + 1 FROM reconcile_match").scalar_one()
    return list(range(first, first + count))


_NO_PAIR = (None, None, None)
_MATCH_COLUMNS = (
    "id",
    "org_id",
    "statement_account_id",
    "status",
    "kind",
    "score",
    "conflict",
    "reasons",
    "fee_fen",
    "note",
    "entry_id",
    "supersedes_id",
    "created_by",
    "created_at",
    "statement_line_id",
    "journal_line_id",
    "pair_amount_fen",
)
_ITEM_COLUMNS = ("match_id", "org_id", "role", "statement_line_id", "journal_line_id", "amount_fen")


def _write_matches(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    matches: list[dict[str, Any]],
    items: list[list[tuple[str, int | None, int | None, int]]],
) -> list[int]:
    """Insert match rows and their items (``ledger.db.rows.insert_rows``); returns the new ids in order.

    A proposed one-to-one match may carry ``"pair": (statement_line_id, journal_line_id, amount_fen)``
    instead of items (``models``: the pair on the row)."""
    if not matches:
        return []
    ids = _allocate_match_ids(conn, len(matches))
    created = now()
    created_db: object = created
    if conn.dialect.name == "sqlite":  # SQLAlchemy's text format for a UTC instant
        created_db = created.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    insert_rows(
        conn,
        "reconcile_match",
        _MATCH_COLUMNS,
        [
            (
                mid,
                org_id,
                statement_account_id,
                m["status"],
                m["kind"],
                m["score"],
                bool(m["conflict"]),
                m["reasons"],
                m.get("fee_fen", 0),
                m.get("note", ""),
                m.get("entry_id"),
                m.get("supersedes_id"),
                m.get("created_by"),
                created_db,
                *m.get("pair", _NO_PAIR),
            )
            for mid, m in zip(ids, matches, strict=True)
        ],
    )
    rows = [
        (mid, org_id, role, s_id, b_id, amount)
        for mid, its in zip(ids, items, strict=True)
        for role, s_id, b_id, amount in its
    ]
    if rows:
        insert_rows(conn, "reconcile_match_item", _ITEM_COLUMNS, rows)
    return ids


_escape = json.encoder.encode_basestring  # a JSON string literal, non-ASCII kept (as ensure_ascii=False)
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json_param(value: Any) -> str:
    if type(value) is int:
        return str(value)
    return _escape(value) if type(value) is str else _encode(value)


def _reasons_json(reasons: Iterable[Reason]) -> str:
    """``[{"code", "points", "params"}, …]``: no words, which ``reason_text`` writes per language. Written
    by hand (codes and param names are identifiers) as 10⁵ proposals go through here."""
    parts = []
    for r in reasons:
        params = r.params
        body = ",".join([f'"{k}":{_json_param(v)}' for k, v in params.items()]) if params else ""
        parts.append(f'{{"code":"{r.code}","points":{int(r.points)},"params":{{{body}}}}}')
    return "[" + ",".join(parts) + "]"


def _withdraw_open_proposals(conn: Connection, org_id: int, statement_account_id: int) -> int:
    """Delete the account's open proposals (nothing decided on them), before proposing afresh."""
    open_ids = list(
        conn.execute(
            select(match_t.c.id).where(
                match_t.c.org_id == org_id,
                match_t.c.statement_account_id == statement_account_id,
                match_t.c.status == "proposed",
                ~_successor_exists(),
            )
        ).scalars()
    )
    for start in range(0, len(open_ids), 5000):
        chunk = open_ids[start : start + 5000]
        conn.execute(item_t.delete().where(item_t.c.match_id.in_(chunk)))
        conn.execute(match_t.delete().where(match_t.c.id.in_(chunk)))
    return len(open_ids)


@dataclass(frozen=True)
class ProposeResult:
    proposed: int
    auto_confirmed: int
    withdrawn: int
    statement_lines: int
    book_lines: int
    unmatched_statement_lines: int
    match_ids: tuple[int, ...]


def propose_matches(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    period: str,
    user_id: int | None = None,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    max_fee_bp: int = DEFAULT_MAX_FEE_BP,
    auto_confirm_exact: bool = False,
) -> ProposeResult:
    """Propose matches for the statement lines of ``period`` still unmatched; replaces open proposals."""
    with large_page_cache(conn), gc_paused():
        return _propose_matches(
            conn,
            org_id,
            statement_account_id,
            period,
            user_id,
            window_days=window_days,
            max_fee_bp=max_fee_bp,
            auto_confirm_exact=auto_confirm_exact,
        )


def _propose_matches(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    period: str,
    user_id: int | None,
    *,
    window_days: int,
    max_fee_bp: int,
    auto_confirm_exact: bool,
) -> ProposeResult:
    parse_period(period)
    if not 0 <= window_days <= 31:
        raise ValidationError("the date window is 0 to 31 days", field="window_days")
    account = get_statement_account(conn, org_id, statement_account_id, lock=True)
    first, last = period_bounds(period)
    withdrawn = _withdraw_open_proposals(conn, org_id, statement_account_id)
    s_done, b_done = matched_ids(conn, org_id)
    stmts = load_statement_records(conn, org_id, statement_account_id, first, last, exclude=s_done)
    books = load_book_records(
        conn,
        org_id,
        account.ledger_account,
        first - timedelta(days=window_days),
        last + timedelta(days=window_days),
        exclude=b_done,
    )
    clearing_from = first - timedelta(days=MAX_SETTLEMENT_LAG)
    clearing = _load_clearing(conn, org_id, account, clearing_from, last)
    options = MatchOptions(
        window_days=window_days,
        max_fee_bp=max_fee_bp,
        rejected=_rejected_keys(conn, org_id, statement_account_id),
        bill_fees=_bill_fees(conn, org_id, clearing_from, last) if clearing else {},
    )
    proposals = propose(stmts, books, clearing=clearing, options=options)
    s_amount = {s.id: s.amount_fen for s in stmts}
    b_amount = {b.id: b.amount_fen for b in books}
    c_amount = {c.id: c.amount_fen for c in clearing}
    rows: list[dict[str, Any]] = []
    items: list[list[tuple[str, int | None, int | None, int]]] = []
    for p in proposals:
        row = {
            "status": "proposed",
            "kind": p.kind,
            "score": p.score,
            "conflict": p.conflict,
            "reasons": _reasons_json(p.reasons),
            "fee_fen": p.fee_fen,
            "created_by": user_id,
        }
        if p.kind == "one_to_one":
            (s_id,), (b_id,) = p.statement_ids, p.book_ids
            row["pair"] = (s_id, b_id, s_amount[s_id])
            items.append([])
        else:
            parts: list[tuple[str, int | None, int | None, int]] = [
                ("statement", s, None, s_amount[s]) for s in p.statement_ids
            ]
            items.append(
                parts
                + [("book", None, b, b_amount[b]) for b in p.book_ids]
                + [("settled", None, c, c_amount[c]) for c in p.settled_ids]
            )
        rows.append(row)
    ids = _write_matches(conn, org_id, statement_account_id, rows, items)
    auto = [
        (mid, p, _pair_items(*row["pair"]))
        for mid, p, row in zip(ids, proposals, rows, strict=True)
        if auto_confirm_exact and p.auto_confirmable
    ]
    if auto:
        confirmed_rows = [
            {
                "status": "confirmed",
                "kind": p.kind,
                "score": p.score,
                "conflict": False,
                "reasons": _reasons_json((*p.reasons, Reason("auto_confirmed", 0))),
                "supersedes_id": mid,
                "created_by": user_id,
                "note": "auto_confirm_exact",
            }
            for mid, p, _ in auto
        ]
        _write_matches(conn, org_id, statement_account_id, confirmed_rows, [its for _, _, its in auto])
    matched_now = {s for p in proposals for s in p.statement_ids}
    return ProposeResult(
        proposed=len(proposals),
        auto_confirmed=len(auto),
        withdrawn=withdrawn,
        statement_lines=len(stmts),
        book_lines=len(books),
        unmatched_statement_lines=len(stmts) - len(matched_now),
        match_ids=tuple(ids),
    )


def _match_row(conn: Connection, org_id: int, match_id: int):  # type: ignore[no-untyped-def]
    row = conn.execute(select(match_t).where(match_t.c.id == match_id, match_t.c.org_id == org_id)).first()
    if row is None:
        raise NotFound(f"match {match_id} does not exist", field="match")
    return row


def _require_current(conn: Connection, match_id: int) -> None:
    successor = conn.execute(
        select(match_t.c.id, match_t.c.status).where(match_t.c.supersedes_id == match_id)
    ).first()
    if successor is not None:
        raise Conflict(
            f"match {match_id} was already decided ({successor.status}, record {successor.id})", field="match"
        )


def _pair_items(
    statement_line_id: int, journal_line_id: int, amount_fen: int
) -> list[tuple[str, int | None, int | None, int]]:
    return [("statement", statement_line_id, None, amount_fen), ("book", None, journal_line_id, amount_fen)]


def match_items(
    conn: Connection, matches: Sequence[Any]
) -> dict[int, list[tuple[str, int | None, int | None, int]]]:
    """The items of these match rows, ``(role, statement_line_id, journal_line_id, amount_fen)`` in order:
    their item rows, or the pair a proposed one-to-one match keeps on its row (``models``)."""
    out: dict[int, list[tuple[str, int | None, int | None, int]]] = {}
    listed: list[int] = []
    for m in matches:
        if m.statement_line_id is not None:
            out[m.id] = _pair_items(m.statement_line_id, m.journal_line_id, m.pair_amount_fen)
        else:
            out[m.id] = []
            listed.append(m.id)
    for chunk in _chunks(listed):
        for r in conn.execute(
            select(
                item_t.c.match_id,
                item_t.c.role,
                item_t.c.statement_line_id,
                item_t.c.journal_line_id,
                item_t.c.amount_fen,
            )
            .where(item_t.c.match_id.in_(chunk))
            .order_by(item_t.c.id)
        ):
            out[r.match_id].append((r.role, r.statement_line_id, r.journal_line_id, r.amount_fen))
    return out


def item_dicts(items: Sequence[tuple[str, int | None, int | None, int]]) -> list[dict[str, Any]]:
    return [
        {"role": role, "statement_line_id": s_id, "journal_line_id": b_id, "amount_fen": amount}
        for role, s_id, b_id, amount in items
    ]


def _items(conn: Connection, match_id: int) -> list[tuple[str, int | None, int | None, int]]:
    row = conn.execute(select(match_t).where(match_t.c.id == match_id)).one()
    return match_items(conn, [row])[match_id]


def _check_not_matched(
    conn: Connection, org_id: int, items: list[tuple[str, int | None, int | None, int]]
) -> None:
    s_done, b_done = matched_ids(conn, org_id)
    settled = settled_ids(conn, org_id) if any(role == "settled" for role, *_ in items) else set()
    for role, s_id, b_id, _ in items:
        if s_id is not None and s_id in s_done:
            raise Conflict(f"statement line {s_id} is already matched", field="statement_line_ids")
        if b_id is not None and b_id in (settled if role == "settled" else b_done):
            raise Conflict(
                f"journal line {b_id} is already {'settled' if role == 'settled' else 'matched'}",
                field="journal_line_ids",
            )


def _resolve_posting_account(conn: Connection, org_id: int, code: str, sub_word: str) -> str:
    """``code`` itself if it takes postings, else its sub-account named with ``sub_word`` (手续费)."""
    parent = conn.execute(
        select(account_t.c.id).where(account_t.c.org_id == org_id, account_t.c.code == code)
    ).first()
    if parent is None:
        raise NotFound(f"no account {code} in this org's chart", field="account")
    children = conn.execute(
        select(account_t.c.code, account_t.c.name)
        .where(account_t.c.parent_id == parent.id, account_t.c.is_closed.is_(False))
        .order_by(account_t.c.code)
    ).all()
    if not children:
        return code
    named = [c.code for c in children if sub_word and sub_word in c.name]
    if len(named) == 1:
        return named[0]
    raise ValidationError(
        f"account {code} has sub-accounts; none is named {sub_word!r} to take this posting", field="account"
    )


def _statement_line(conn: Connection, org_id: int, statement_line_id: int):  # type: ignore[no-untyped-def]
    row = conn.execute(
        select(sline_t).where(sline_t.c.id == statement_line_id, sline_t.c.org_id == org_id)
    ).first()
    if row is None:
        raise NotFound(f"statement line {statement_line_id} does not exist", field="statement_line")
    if conn.execute(select(void_t.c.id).where(void_t.c.import_id == row.import_id)).first() is not None:
        raise Conflict(
            f"statement line {statement_line_id} is of voided import {row.import_id}", field="statement_line"
        )
    return row


def _settlement_entry(
    conn: Connection,
    org_id: int,
    match,
    items,
    user_id: int | None,  # type: ignore[no-untyped-def]
) -> tuple[Posted, int]:
    """Post Dr bank (net), Dr 财务费用 (fee) / Cr clearing (gross); returns it and its bank line id."""
    account = conn.execute(select(saccount_t).where(saccount_t.c.id == match.statement_account_id)).one()
    standard = require_books(get_org(conn, org_id))
    s_id = next(s for role, s, _, _ in items if role == "statement")
    line = _statement_line(conn, org_id, s_id)
    settled = [b for role, _, b, _ in items if role == "settled"]
    clearing = conn.execute(
        select(account_t.c.code, func.sum(line_t.c.debit_fen - line_t.c.credit_fen))
        .join(account_t, account_t.c.id == line_t.c.account_id)
        .where(line_t.c.id.in_(settled))
        .group_by(account_t.c.code)
    ).all()
    fee_code, fee_word = fee_account_code(standard)
    fee_account = _resolve_posting_account(conn, org_id, fee_code, fee_word)
    gross = sum(int(total) for _, total in clearing)
    if gross - line.amount_fen != match.fee_fen:
        raise Conflict("the settled lines no longer add up to this settlement", field="match")
    on = parse_statement_time(line.occurred_at).date()
    lines = [
        Line(account.ledger_account, debit_fen=line.amount_fen, memo=f"结算到账 {line.reference}".strip())
    ]
    if match.fee_fen:
        lines.append(Line(fee_account, debit_fen=match.fee_fen, memo="支付手续费"))
    lines.extend(Line(code, credit_fen=int(total), memo="结算") for code, total in clearing if total)
    draft = Draft(
        org_id=org_id,
        entry_date=on,
        memo=f"{account.name} 结算 {on:%m-%d} 到账",
        lines=lines,
        source="import",
        source_ref=f"stmt:{line.id}",
        idempotency_key=f"reconcile-settlement:{match.id}",
    )
    posted = post_entries(conn, [draft], user_id=user_id)[0]
    bank_line = conn.execute(
        select(line_t.c.id).where(line_t.c.entry_id == posted.id, line_t.c.line_no == 1)
    ).scalar_one()
    return posted, bank_line


def confirm_match(
    conn: Connection, org_id: int, match_id: int, user_id: int | None = None, *, note: str = ""
) -> int:
    """Confirm a proposal: a new ``confirmed`` record superseding it; returns the record's id.

    A proposal whose references conflict needs a ``note`` saying why it is right. A settlement posts its
    entry (Dr bank, Dr 财务费用 / Cr clearing) and the record joins the statement line to the new bank line.
    """
    return confirm_matches(conn, org_id, [match_id], user_id, note=note)[0]


def _chunks(ids: Sequence[int], size: int = 5000) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def confirm_matches(
    conn: Connection, org_id: int, match_ids: Sequence[int], user_id: int | None = None, *, note: str = ""
) -> list[int]:
    """Confirm several proposals at once (all or none), e.g. every exact one an officer has reviewed.

    The rules of ``confirm_match`` apply to each; no line may be in two of them. Returns the new record ids
    in the order asked.
    """
    ids = list(dict.fromkeys(match_ids))
    if not ids:
        return []
    rows: dict[int, Any] = {}
    for chunk in _chunks(ids):
        for r in conn.execute(select(match_t).where(match_t.c.id.in_(chunk), match_t.c.org_id == org_id)):
            rows[r.id] = r
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFound(f"match {missing[0]} does not exist", field="match")
    for account_id in sorted({r.statement_account_id for r in rows.values()}):
        get_statement_account(conn, org_id, account_id, lock=True)
    for chunk in _chunks(ids):
        successor = conn.execute(
            select(match_t.c.id, match_t.c.status, match_t.c.supersedes_id).where(
                match_t.c.supersedes_id.in_(chunk)
            )
        ).first()
        if successor is not None:
            raise Conflict(
                f"match {successor.supersedes_id} was already decided ({successor.status}, record "
                f"{successor.id})",
                field="match",
            )
    for i in ids:
        if rows[i].status != "proposed":
            raise Conflict(f"match {i} is {rows[i].status}, not a proposal", field="match")
        if rows[i].conflict and not note.strip():
            raise ValidationError(
                f"the references of match {i} conflict; say in a note why it is right", field="note"
            )
    items = match_items(conn, [rows[i] for i in ids])
    s_done, b_done = matched_ids(conn, org_id)
    # A clearing line (101201 …) is matched to its bill and settled into the bank: two relations, each
    # held once, neither excluding the other (``matched_ids``), so each is checked against its own kind.
    settled = settled_ids(conn, org_id)
    for i in ids:
        for role, s_id, b_id, _ in items[i]:
            if s_id is not None:
                if s_id in s_done:
                    raise Conflict(f"statement line {s_id} is already matched", field="statement_line_ids")
                s_done.add(s_id)
            elif b_id is not None:
                pool = settled if role == "settled" else b_done
                if b_id in pool:
                    word = "settled" if role == "settled" else "matched"
                    raise Conflict(f"journal line {b_id} is already {word}", field="journal_line_ids")
                pool.add(b_id)
    by_account: dict[int, list[int]] = defaultdict(list)
    for i in ids:
        by_account[rows[i].statement_account_id].append(i)
    new_ids: dict[int, int] = {}
    for account_id, group in by_account.items():
        records, record_items = [], []
        for i in group:
            proposal, its = rows[i], items[i]
            entry_id = None
            if proposal.kind == "settlement":
                posted, bank_line = _settlement_entry(conn, org_id, proposal, its, user_id)
                entry_id = posted.id
                s_amount = next(a for role, _, _, a in its if role == "statement")
                its = [*its, ("book", None, bank_line, s_amount)]
            records.append(
                {
                    "status": "confirmed",
                    "kind": proposal.kind,
                    "score": proposal.score,
                    "conflict": proposal.conflict,
                    "reasons": proposal.reasons,
                    "fee_fen": proposal.fee_fen,
                    "note": note.strip(),
                    "entry_id": entry_id,
                    "supersedes_id": i,
                    "created_by": user_id,
                }
            )
            record_items.append(its)
        for i, new_id in zip(
            group, _write_matches(conn, org_id, account_id, records, record_items), strict=True
        ):
            new_ids[i] = new_id
    return [new_ids[i] for i in ids]


def reject_match(
    conn: Connection, org_id: int, match_id: int, user_id: int | None = None, *, note: str = ""
) -> int:
    """Reject a proposal, or undo a confirmed match: a new ``rejected`` record that supersedes it.

    The same pairing is not proposed again. An entry posted on confirmation (a settlement) stays in the
    books: reverse it (红字冲销) if it was wrong.
    """
    row = _match_row(conn, org_id, match_id)
    get_statement_account(conn, org_id, row.statement_account_id, lock=True)
    _require_current(conn, match_id)
    if row.status == "rejected":
        raise Conflict(f"match {match_id} is already rejected", field="match")
    if row.status == "confirmed" and not note.strip():
        raise ValidationError("undoing a confirmed match needs a note saying why", field="note")
    return _write_matches(
        conn,
        org_id,
        row.statement_account_id,
        [
            {
                "status": "rejected",
                "kind": row.kind,
                "score": row.score,
                "conflict": row.conflict,
                "reasons": row.reasons,
                "fee_fen": row.fee_fen,
                "note": note.strip(),
                "supersedes_id": match_id,
                "created_by": user_id,
            }
        ],
        [_items(conn, match_id)],
    )[0]


def manual_match(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    statement_line_ids: Sequence[int],
    journal_line_ids: Sequence[int],
    user_id: int | None = None,
    *,
    note: str = "",
) -> int:
    """An officer's own match: the statement lines and the account's journal lines must sum equal."""
    account = get_statement_account(conn, org_id, statement_account_id, lock=True)
    if not statement_line_ids or not journal_line_ids:
        raise ValidationError(
            "a match joins at least one statement line and one journal line", field="statement_line_ids"
        )
    s_rows = conn.execute(
        select(sline_t.c.id, sline_t.c.amount_fen).where(
            sline_t.c.id.in_(statement_line_ids),
            sline_t.c.org_id == org_id,
            live_lines(statement_account_id),
        )
    ).all()
    if len(s_rows) != len(set(statement_line_ids)):
        raise NotFound("a statement line is not this account's", field="statement_line_ids")
    ids = account_ids(conn, org_id, account.ledger_account)
    b_rows = conn.execute(
        select(line_t.c.id, line_t.c.debit_fen, line_t.c.credit_fen).where(
            line_t.c.id.in_(journal_line_ids), line_t.c.org_id == org_id, line_t.c.account_id.in_(ids)
        )
    ).all()
    if len(b_rows) != len(set(journal_line_ids)):
        raise NotFound(
            f"a journal line is not on account {account.ledger_account} of this org", field="journal_line_ids"
        )
    s_total = sum(r.amount_fen for r in s_rows)
    b_total = sum(r.debit_fen - r.credit_fen for r in b_rows)
    if s_total != b_total:
        raise ValidationError(
            f"statement lines total {format_amount(s_total)} and journal lines {format_amount(b_total)}",
            field="journal_line_ids",
        )
    items = [("statement", r.id, None, r.amount_fen) for r in s_rows] + [
        ("book", None, r.id, r.debit_fen - r.credit_fen) for r in b_rows
    ]
    _check_not_matched(conn, org_id, items)
    reasons = [
        Reason("manual", 0),
        Reason("sum_equal", 0, {"amount_fen": abs(s_total), "variant": "total"}),
    ]
    return _write_matches(
        conn,
        org_id,
        statement_account_id,
        [
            {
                "status": "confirmed",
                "kind": "manual",
                "score": 100,
                "conflict": False,
                "reasons": _reasons_json(reasons),
                "note": note.strip(),
                "created_by": user_id,
            }
        ],
        [items],
    )[0]


@dataclass(frozen=True)
class RulePosting:
    match_id: int
    entry_id: int
    voucher_no: str
    rule: str
    created: bool


def post_by_rule(
    conn: Connection,
    org_id: int,
    statement_line_id: int,
    user_id: int | None = None,
    *,
    rule_name: str | None = None,
) -> RulePosting:
    """Turn an unmatched statement line into an entry by a rule (银行手续费 → 5603 / 513) and match them.

    Idempotent per statement line: the entry's idempotency key is the line's, so a retry returns the
    original entry, and a line already matched is a conflict.
    """
    line = _statement_line(conn, org_id, statement_line_id)
    account = get_statement_account(conn, org_id, line.statement_account_id, lock=True)
    standard = require_books(get_org(conn, org_id))
    s_done, _ = matched_ids(conn, org_id)
    if line.id in s_done:
        raise Conflict(f"statement line {line.id} is already matched", field="statement_line")
    candidates = rules()
    if rule_name is not None:
        chosen = next((r for r in candidates if r.name == rule_name), None)
        if chosen is None:
            raise NotFound(f"no rule {rule_name!r}", field="rule")
        if not chosen.applies(line):
            raise ValidationError(f"rule {rule_name!r} does not fit this line", field="rule")
    else:
        chosen = next((r for r in candidates if r.applies(line)), None)
        if chosen is None:
            raise ValidationError("no rule fits this line; post an entry by hand", field="rule")
    if standard not in chosen.accounts:
        raise ValidationError(f"rule {chosen.name!r} has no account for {standard} books", field="rule")
    other = _resolve_posting_account(conn, org_id, chosen.accounts[standard], chosen.sub_account)
    amount = abs(line.amount_fen)
    memo = f"{chosen.label} {line.memo}".strip()[:200]
    if line.amount_fen < 0:
        lines = [
            Line(other, debit_fen=amount, memo=memo),
            Line(account.ledger_account, credit_fen=amount, memo=memo),
        ]
    else:
        lines = [
            Line(account.ledger_account, debit_fen=amount, memo=memo),
            Line(other, credit_fen=amount, memo=memo),
        ]
    draft = Draft(
        org_id=org_id,
        entry_date=parse_statement_time(line.occurred_at).date(),
        memo=memo,
        lines=lines,
        source="import",
        source_ref=(line.reference or f"stmt:{line.id}")[:128],
        idempotency_key=f"statement-line:{line.id}",
    )
    posted = post_entries(conn, [draft], user_id=user_id)[0]
    book_line_no = 2 if line.amount_fen < 0 else 1
    book_line = conn.execute(
        select(line_t.c.id).where(line_t.c.entry_id == posted.id, line_t.c.line_no == book_line_no)
    ).scalar_one()
    reasons = [Reason("rule", 0, {"label": chosen.label, "name": chosen.name})]
    match_id = _write_matches(
        conn,
        org_id,
        account.id,
        [
            {
                "status": "confirmed",
                "kind": "rule",
                "score": 100,
                "conflict": False,
                "reasons": _reasons_json(reasons),
                "entry_id": posted.id,
                "created_by": user_id,
            }
        ],
        [[("statement", line.id, None, line.amount_fen), ("book", None, book_line, line.amount_fen)]],
    )[0]
    return RulePosting(match_id, posted.id, posted.voucher_no, chosen.name, posted.created)


# --------------------------------------------------------------------------------------------------------
# Reading


def list_matches(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    *,
    status: str | None = None,
    current_only: bool = True,
    limit: int = 500,
    offset: int = 0,
    lang: str = "zh",
) -> list[dict[str, Any]]:
    """Matches of an account with their items and reasons in ``lang`` (current records unless
    ``current_only``)."""
    stmt = select(match_t).where(
        match_t.c.org_id == org_id, match_t.c.statement_account_id == statement_account_id
    )
    if status is not None:
        stmt = stmt.where(match_t.c.status == status)
    if current_only:
        stmt = stmt.where(~_successor_exists())
    rows = conn.execute(stmt.order_by(match_t.c.id).limit(limit).offset(offset)).all()
    items = match_items(conn, rows)
    return [match_view(r, items[r.id], lang) for r in rows]


def match_view(
    row: Any, items: Sequence[tuple[str, int | None, int | None, int]], lang: str = "zh"
) -> dict[str, Any]:
    """A match row as a dict with its reasons in ``lang`` and its items (the pair columns folded in)."""
    return {**_record(row), "reasons": reasons_view(row.reasons, lang), "items": item_dicts(items)}


def match_history(conn: Connection, org_id: int, match_id: int) -> list[dict[str, Any]]:
    """The chain of records from the first proposal to the current decision."""
    row = _match_row(conn, org_id, match_id)
    chain = [_record(row)]
    while chain[0]["supersedes_id"] is not None:
        chain.insert(0, _record(_match_row(conn, org_id, chain[0]["supersedes_id"])))
    while True:
        nxt = conn.execute(select(match_t).where(match_t.c.supersedes_id == chain[-1]["id"])).first()
        if nxt is None:
            break
        chain.append(_record(nxt))
    return chain


_PAIR_COLUMNS = ("statement_line_id", "journal_line_id", "pair_amount_fen")


def _record(row: Any) -> dict[str, Any]:
    """A match row as a dict, without the pair columns (storage; ``match_items`` reads them)."""
    return {k: v for k, v in row._mapping.items() if k not in _PAIR_COLUMNS}


def statement_lines(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    *,
    unmatched: bool = False,
    first: date | None = None,
    last: date | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[dict[str, Any]]:
    stmt = select(sline_t).where(sline_t.c.org_id == org_id, live_lines(statement_account_id))
    if first is not None:
        stmt = stmt.where(sline_t.c.occurred_at >= datetime.combine(first, datetime.min.time()))
    if last is not None:
        stmt = stmt.where(
            sline_t.c.occurred_at < datetime.combine(last + timedelta(days=1), datetime.min.time())
        )
    if unmatched:
        current = (
            select(item_t.c.statement_line_id)
            .join(match_t, match_t.c.id == item_t.c.match_id)
            .where(
                match_t.c.org_id == org_id,
                match_t.c.status == "confirmed",
                item_t.c.statement_line_id.is_not(None),
                ~_successor_exists(),
            )
        )
        stmt = stmt.where(sline_t.c.id.not_in(current))
    rows = conn.execute(stmt.order_by(sline_t.c.occurred_at, sline_t.c.id).limit(limit).offset(offset))
    return [dict(r) for r in rows.mappings()]


def open_book_lines(
    conn: Connection, org_id: int, ledger_account: str, first: date, last: date
) -> list[BookRecord]:
    """The account's journal lines dated ``first``–``last`` that no confirmed match holds as its book side:
    what an officer may match by hand (oldest first). The entries confirmed matches posted (a settlement's
    Dr bank / Cr 101201) are left out: their line here is the clearing account's side of a bank match."""
    _, done = matched_ids(conn, org_id)
    posted = set(
        conn.execute(
            select(match_t.c.entry_id).where(
                match_t.c.org_id == org_id,
                match_t.c.status == "confirmed",
                match_t.c.entry_id.is_not(None),
                ~_successor_exists(),
            )
        ).scalars()
    )
    records = load_book_records(conn, org_id, ledger_account, first, last, exclude=done)
    return sorted((b for b in records if b.entry_id not in posted), key=lambda b: (b.on, b.voucher_no, b.id))


# --------------------------------------------------------------------------------------------------------
# cunshe verify


@register_check
def reconciliation_records(conn: Connection, org_id: int) -> list[Problem]:
    """Confirmed matches hold: no line in two of them, and each one's two sides sum equal."""
    problems: list[Problem] = []
    sides: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    seen_s: dict[int, int] = {}
    seen_b: dict[int, int] = {}
    for r in conn.execute(
        select(
            item_t.c.match_id,
            item_t.c.statement_line_id,
            item_t.c.journal_line_id,
            item_t.c.role,
            item_t.c.amount_fen,
        )
        .join(match_t, match_t.c.id == item_t.c.match_id)
        .where(match_t.c.org_id == org_id, match_t.c.status == "confirmed", ~_successor_exists())
    ):
        if r.statement_line_id is not None:
            other = seen_s.setdefault(r.statement_line_id, r.match_id)
            sides[r.match_id][0] += r.amount_fen
            line, kind = r.statement_line_id, "statement line"
        elif r.role == "book":
            other = seen_b.setdefault(r.journal_line_id, r.match_id)
            sides[r.match_id][1] += r.amount_fen
            line, kind = r.journal_line_id, "journal line"
        else:
            continue
        if other != r.match_id:
            problems.append(
                Problem(
                    org_id, "reconcile", f"{kind} {line} is in confirmed matches {other} and {r.match_id}"
                )
            )
    for match_id, (s_total, b_total) in sorted(sides.items()):
        if s_total != b_total:
            problems.append(
                Problem(
                    org_id,
                    "reconcile",
                    f"confirmed match {match_id}: statement {s_total} fen, books {b_total} fen",
                )
            )
    return problems
