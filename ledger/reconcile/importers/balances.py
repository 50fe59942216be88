"""The running balance: a bank file's balances must run without a break."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from ledger.reconcile.importers.drafts import ParseContext
from ledger.reconcile.importers.records import StatementLine


def format_yuan(fen: int) -> str:
    """Fen as a problem message prints them: grouped yuan with two places (``1,234.50``)."""
    return f"{Decimal(fen) / 100:,.2f}"


def _signed_yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:+,.2f}"


def check_balances(ctx: ParseContext, lines: list[StatementLine]) -> tuple[str | None, StatementLine | None]:
    """Each line's signed amount must carry the previous line's balance to its own.

    Files run oldest first or newest first (Alipay's 账务明细 often does): the order in which the balances
    run without a break is taken, the file's time order deciding a tie. Returns the balance column and
    the line the balances start from (the earliest), for the store to join to the account's last line.
    """
    roles = ctx.header.roles
    if "balance" not in roles:
        return None, None
    column = ctx.header.name(roles["balance"][0])
    # A line without a balance (some banks leave it empty on a pending line) ends a run: the next line is
    # checked against nothing, as the missing balance cannot be told from a wrong one.
    chain = lines
    if all(line.balance_fen is None for line in chain):
        return column, None
    breaks = _breaks(chain)
    order = chain
    if breaks:
        backwards = chain[::-1]
        other = _breaks(backwards)
        if len(other) < len(breaks) or (
            len(other) == len(breaks) and chain[0].occurred_at > chain[-1].occurred_at
        ):
            breaks, order = other, backwards
    elif len(chain) > 1 and chain[0].occurred_at > chain[-1].occurred_at and not _breaks(chain[::-1]):
        order = chain[::-1]
    direction = ctx.header.name(roles["direction"][0]) if "direction" in roles else None
    for before, line in breaks:
        assert before.balance_fen is not None and line.balance_fen is not None  # as _breaks chose them
        expected = before.balance_fen + line.amount_fen
        if direction is not None and before.balance_fen - line.amount_fen == line.balance_fen:
            side = "贷 (money in)" if line.amount_fen > 0 else "借 (money out)"
            ctx.problems.add(
                line.line_no,
                direction,
                f"the flag says {side} {format_yuan(abs(line.amount_fen))} but {column} moves by "
                f"{_signed_yuan(-line.amount_fen)} from line {before.line_no}",
            )
            continue
        ctx.problems.add(
            line.line_no,
            column,
            f"{format_yuan(line.balance_fen)} does not follow from line {before.line_no} ({column} "
            f"{format_yuan(before.balance_fen)}) and this line's {_signed_yuan(line.amount_fen)}: expected "
            f"{format_yuan(expected)}; a line is missing, changed or out of order",
        )
    return column, next(line for line in order if line.balance_fen is not None)


def _breaks(chain: list[StatementLine]) -> list[tuple[StatementLine, StatementLine]]:
    return [
        (before, line)
        for before, line in pairwise(chain)
        if before.balance_fen is not None
        and line.balance_fen is not None
        and before.balance_fen + line.amount_fen != line.balance_fen
    ]
