"""Scoring a pair: references, counterparty, dates, and the reasons behind the score."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from ledger.reconcile.matching.records import BookRecord, Reason, StatementRecord

# Payment companies as they appear at the bank, per clearing-account kind.
PAYER_WORDS = {
    "wechat": ("财付通", "微信", "TENPAY", "WECHAT"),
    "alipay": ("支付宝", "ALIPAY", "蚂蚁"),
}
"""Words in a statement line's counterparty that name a payment company, by clearing source."""
_FOUR_DIGITS = re.compile(r"\d\D*\d\D*\d\D*\d")
_TOKEN_SPLIT = re.compile(r"[\s,，;；:：()（）\[\]【】/|]+")


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


def date_reason(days: int, *, widest: bool = False) -> Reason:
    """Same day, or days apart; ``widest``: the furthest line of a group."""
    if days == 0:
        return Reason("same_day", 25, {"variant": "widest"} if widest else None)
    params: dict[str, Any] = {"days": days, "variant": "widest"} if widest else {"days": days}
    return Reason("date_shift", max(0, 25 - 7 * days), params)


class PairFacts(NamedTuple):
    """What scoring a statement line against a journal line found: days apart, the references' verdict,
    the references compared, whether the counterparty agrees, and the score."""

    days: int
    verdict: str  # equal | conflict | none
    s_ref: str
    b_ref: str
    counterparty: bool
    score: int


_VERDICT_POINTS = {"equal": 25, "conflict": -60, "none": 0}


def pair_facts(stmt: StatementRecord, book: BookRecord, known: frozenset[str]) -> PairFacts:
    """Score a statement line against a journal line (see ``PairFacts``)."""
    verdict, s_ref, b_ref = _reference_verdict(stmt, book, known)
    days = abs(stmt.on.toordinal() - book.on.toordinal())
    agrees = _counterparty_agrees(stmt, book)
    points = (
        50 + (25 if days == 0 else max(0, 25 - 7 * days)) + _VERDICT_POINTS[verdict] + (10 if agrees else 0)
    )
    return PairFacts(days, verdict, s_ref, b_ref, agrees, clip_score(points))


def pair_reasons(stmt: StatementRecord, book: BookRecord, facts: PairFacts) -> list[Reason]:
    """The words for a scored pair; their points add up to ``facts.score`` (before clipping)."""
    reasons = [
        Reason("amount_equal", 50, {"amount_fen": abs(stmt.amount_fen)}),
        date_reason(facts.days),
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
    facts = pair_facts(stmt, book, known_refs)
    return facts.score, pair_reasons(stmt, book, facts), facts.verdict == "conflict", facts.verdict == "equal"


def clip_score(score: int) -> int:
    """A score held to 0–100."""
    return max(0, min(100, score))
