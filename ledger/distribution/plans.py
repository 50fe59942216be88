"""Distribution plans (收益分配方案 / 利润分配方案): validation and the dry run, as pure functions.

A plan is an ordered list of ``Step``s, each a rate (``rate_bp`` of its base) or a fixed ``amount_fen``.
Given the year's ``Facts`` (net income, undistributed balance brought forward, the statutory reserve so
far, the registered capital) and the ``Recipient``s of the shareholders' or members' step, ``dry_run``
returns every amount to the fen, or raises ``PlanRefused`` listing *all* the reasons at once.

The statutory order (DESIGN §6):

* ``small_enterprise`` (Company Law 2023 art. 210): cover prior losses → statutory reserve, 10 % of the
  year's profit after covering losses, until the reserve reaches 50 % of registered capital (the step is
  cut at the cap, so it can stop part-way through a year) → discretionary reserve, if resolved →
  shareholders, pro rata → the rest stays as 未分配利润.
* ``collective`` (财农〔2021〕121号 art. 28): cover prior losses → 公积公益金 at the articles' rate →
  earmark for 公益性岗位 → earmark for 公益设施 → members, pro rata → the rest stays as 未分配收益.

Definitions, to the fen:

* losses covered = min(prior losses, the year's net income) — no entry: closing the year's profit into
  未分配利润 / 未分配收益 already nets it against the debit balance brought forward;
* base = the year's net income after covering prior losses (never negative); reserve and earmark rates
  apply to it, rounded half up;
* distributable income = the year's net income + the undistributed balance brought forward;
* a shareholders' or members' rate applies to what is still distributable after the steps before it
  (可供投资者分配的利润), so 100 % gives out everything left; the split is by largest remainder over the
  recipients in their stated order (shareholders by org id), ties to the earlier one;
* remaining undistributed = distributable − every step; it is never negative, or the plan is refused.

Every step kind appears at most once; a fixed statutory reserve, or a rate other than 10 %, is refused
(the law fixes it); while the reserve is under its cap and the base is positive, a company's plan must
take it, and a collective's plan that gives anything out must first take 公积公益金.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ledger.books.errors import AccountingError
from ledger.books.money import allocate_largest_remainder, round_half_up

ORDER = {
    "small_enterprise": ("cover_losses", "statutory_reserve", "discretionary_reserve", "shareholders"),
    "collective": (
        "cover_losses",
        "public_reserve",
        "welfare_post_earmark",
        "facility_earmark",
        "members",
    ),
}
LABELS = {
    "cover_losses": "弥补以前年度亏损",
    "statutory_reserve": "提取法定盈余公积",
    "discretionary_reserve": "提取任意盈余公积",
    "shareholders": "向股东分配利润",
    "public_reserve": "提取公积公益金",
    "welfare_post_earmark": "提取公益性岗位资金",
    "facility_earmark": "提取公益设施资金",
    "members": "向成员分配",
}
SPLIT_KINDS = ("shareholders", "members")
STATUTORY_RATE_BP = 1_000
RESERVE_CAP_BP = 5_000


class PlanRefused(AccountingError):
    """The plan breaks the statutory order, gives out more than the distributable income, or is malformed."""

    code = "plan_refused"

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("the plan is refused: " + "; ".join(reasons), field="steps")
        self.reasons = list(reasons)


@dataclass(frozen=True)
class Step:
    kind: str
    rate_bp: int | None = None
    amount_fen: int | None = None
    target: str = ""


@dataclass(frozen=True)
class Facts:
    """What the books say about the year, in fen; credit balances positive."""

    standard: str
    profit_fen: int  # the year's net income (negative: a loss)
    brought_forward_fen: int  # 未分配利润 / 未分配收益 at the start of the year (negative: losses)
    reserve_fen: int = 0  # statutory reserve (310101) before this plan
    registered_capital_fen: int = 0


@dataclass(frozen=True)
class Recipient:
    """A shareholder org or a member, with its weight (paid-in fen, agreed bp, or shares)."""

    key: int  # shareholder org id, or member-share id
    counterparty_id: int
    weight: int
    name: str = ""


@dataclass(frozen=True)
class Share:
    recipient: Recipient
    amount_fen: int


@dataclass(frozen=True)
class PlanLine:
    order: int
    kind: str
    label: str
    amount_fen: int
    basis: str
    posts: bool = True
    shares: tuple[Share, ...] = field(default=())


@dataclass(frozen=True)
class DryRun:
    facts: Facts
    losses_covered_fen: int
    base_fen: int
    distributable_fen: int
    lines: tuple[PlanLine, ...]
    distributed_fen: int
    undistributed_fen: int

    def amount_of(self, kind: str) -> int:
        return sum(line.amount_fen for line in self.lines if line.kind == kind)


def _pct(bp: int) -> str:
    whole, part = divmod(bp, 100)
    return f"{whole}.{part:02d}%".replace(".00%", "%")


def check_steps(facts: Facts, steps: Sequence[Step], recipients: Sequence[Recipient]) -> list[str]:
    """Every reason the plan's shape is refused (order, kinds, values); empty when it is well formed."""
    problems: list[str] = []
    order = ORDER.get(facts.standard)
    if order is None:
        return [f"no distribution order for the standard {facts.standard!r}"]
    last_rank = -1
    last_kind = ""
    seen: set[str] = set()
    for n, step in enumerate(steps, start=1):
        where = f"step {n} ({step.kind})"
        if step.kind not in order:
            problems.append(
                f"{where}: not a step of a {facts.standard} plan; the order is {' → '.join(order)}"
            )
            continue
        if step.kind in seen:
            problems.append(f"{where}: appears twice")
        seen.add(step.kind)
        rank = order.index(step.kind)
        if rank <= last_rank:
            problems.append(f"{where} comes after {last_kind}; the statutory order is {' → '.join(order)}")
        else:
            last_rank, last_kind = rank, step.kind
        if step.kind == "cover_losses":
            continue  # always the full coverage; a rate or amount on it is ignored
        if (step.rate_bp is None) == (step.amount_fen is None):
            problems.append(f"{where}: give either a rate or a fixed amount")
        elif step.rate_bp is not None and not 0 < step.rate_bp <= 10_000:
            problems.append(f"{where}: a rate is between 0.01% and 100%")
        elif step.amount_fen is not None and step.amount_fen <= 0:
            problems.append(f"{where}: a fixed amount is more than zero")
        if step.kind == "statutory_reserve" and step.rate_bp != STATUTORY_RATE_BP:
            problems.append(f"{where}: the statutory reserve is 10% of the profit (Company Law art. 210)")
        if step.kind in SPLIT_KINDS and sum(r.weight for r in recipients) <= 0:
            who = (
                "shareholders with paid-in capital" if step.kind == "shareholders" else "members with shares"
            )
            problems.append(f"{where}: there are no {who} to share it")
    return problems


def _losses_and_base(facts: Facts) -> tuple[int, int]:
    prior_losses = max(-facts.brought_forward_fen, 0)
    covered = min(prior_losses, max(facts.profit_fen, 0))
    return covered, max(facts.profit_fen - covered, 0)


def reserve_room(facts: Facts) -> int:
    """How far the statutory reserve is below 50 % of registered capital."""
    cap = round_half_up(facts.registered_capital_fen * RESERVE_CAP_BP, 10_000)
    return max(cap - facts.reserve_fen, 0)


def dry_run(facts: Facts, steps: Sequence[Step], recipients: Sequence[Recipient] = ()) -> DryRun:
    """The whole plan to the fen, or ``PlanRefused`` with every reason."""
    problems = check_steps(facts, steps, recipients)
    covered, base = _losses_and_base(facts)
    distributable = facts.profit_fen + facts.brought_forward_fen
    kinds = [s.kind for s in steps]
    gives_out = [k for k in kinds if k not in ("cover_losses",)]
    if (
        facts.standard == "small_enterprise"
        and base > 0
        and reserve_room(facts) > 0
        and "statutory_reserve" not in kinds
    ):
        problems.append(
            "the statutory reserve (10% of the profit after covering losses) must be taken while it is "
            "under 50% of registered capital"
        )
    if facts.standard == "collective" and base > 0 and gives_out and "public_reserve" not in kinds:
        problems.append("公积公益金 must be taken (at the articles' rate) before earmarks or members")
    if problems:
        raise PlanRefused(problems)

    lines: list[PlanLine] = [
        PlanLine(0, "cover_losses", LABELS["cover_losses"], covered, "本年利润弥补以前年度亏损", posts=False)
    ]
    running = 0
    for n, step in enumerate(steps, start=1):
        if step.kind == "cover_losses":
            continue
        if step.kind in SPLIT_KINDS:
            left = distributable - running
            if step.rate_bp is not None:
                amount = round_half_up(max(left, 0) * step.rate_bp, 10_000)
                basis = f"{_pct(step.rate_bp)} × 可分配余额 {left}"
            else:
                amount = step.amount_fen or 0
                basis = "fixed"
            parts = allocate_largest_remainder(amount, [r.weight for r in recipients])
            shares = tuple(Share(r, p) for r, p in zip(recipients, parts, strict=True))
            lines.append(PlanLine(n, step.kind, LABELS[step.kind], amount, basis, shares=shares))
        else:
            if step.rate_bp is not None:
                amount = round_half_up(base * step.rate_bp, 10_000)
                basis = f"{_pct(step.rate_bp)} × {base}"
            else:
                amount = step.amount_fen or 0
                basis = "fixed"
            if step.kind == "statutory_reserve":
                room = reserve_room(facts)
                if amount > room:
                    amount = room
                    basis += f", capped at 50% of registered capital ({room} to the cap)"
            lines.append(PlanLine(n, step.kind, LABELS[step.kind], amount, basis))
        running += lines[-1].amount_fen
    remaining = distributable - running
    if running > 0 and remaining < 0:
        raise PlanRefused(
            [
                f"the plan gives out {running} fen but only {max(distributable, 0)} fen is distributable "
                f"(net income {facts.profit_fen} + brought forward {facts.brought_forward_fen})"
            ]
        )
    return DryRun(
        facts=facts,
        losses_covered_fen=covered,
        base_fen=base,
        distributable_fen=distributable,
        lines=tuple(lines),
        distributed_fen=running,
        undistributed_fen=remaining,
    )
