"""The pure matcher: pass 1 (one to one), pass 2 (split and merged payments), pass 3 (fee-netted
settlements) and ``propose``, the pipeline that runs them over records.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import combinations

from ledger.db.rows import gc_paused
from ledger.reconcile.matching.records import (
    GROUP_SCAN_LIMIT,
    MAX_SETTLEMENT_LAG,
    MAX_SUBSET,
    BookRecord,
    ClearingRecord,
    MatchOptions,
    Proposal,
    Reason,
    StatementRecord,
    norm,
)
from ledger.reconcile.matching.scoring import (
    PAYER_WORDS,
    PairFacts,
    clip_score,
    date_reason,
    pair_facts,
    pair_reasons,
)


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
    pairs: list[tuple[int, int, int, int, PairFacts]] = []
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
            facts = pair_facts(s, b, known_refs)
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
        reasons = pair_reasons(stmts[si], books[bi], facts)
        score = facts.score
        if competing > 0:
            reasons.append(Reason("competing", -5, {"count": competing}))
            score = clip_score(score - 5)
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
        dense = bisect_right(days, last) - bisect_left(days, first) > GROUP_SCAN_LIMIT
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
        date_reason(days, widest=True),
    ]
    cp = norm(target.counterparty)
    if len(cp) >= 2 and all(cp and (cp in norm(p.counterparty) or norm(p.counterparty) in cp) for p in group):
        reasons.append(Reason("counterparty_equal", 10, {"counterparty": target.counterparty}))
    ids = tuple(sorted(p.id for p in group))
    return Proposal(
        kind,
        (target.id,) if target_is_statement else ids,
        ids if target_is_statement else (target.id,),
        clip_score(sum(r.points for r in reasons)),
        tuple(reasons),
        same_day=days == 0,
    )


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
                words = PAYER_WORDS.get(kinds[account], ())
                text = norm(s.counterparty + s.memo)
                if any(w in text for w in words):
                    reasons.append(Reason("payer_equal", 15, {"payer": s.counterparty or s.memo}))
                bill_fee = options.bill_fees.get(key)
                if bill_fee is not None:
                    if bill_fee == fee:
                        reasons.append(Reason("fee_equal", 15))
                    else:
                        reasons.append(Reason("fee_differs", -20, {"bill_fee_fen": bill_fee}))
                score = clip_score(sum(r.points for r in reasons))
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
    known_refs = frozenset(norm(r) for s in stmts for r in s.references if r)
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
