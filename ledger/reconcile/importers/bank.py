"""A bank's rows → drafts: the plain rows a column at a time, every other row cell by cell."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from ledger.reconcile.importers.body import short_row
from ledger.reconcile.importers.cells import (
    EMPTY_AMOUNTS,
    Cells,
    direction_sign,
    join_memo,
    line_kind,
    to_fen,
)
from ledger.reconcile.importers.drafts import ParseContext, read_balance_fen
from ledger.reconcile.importers.layouts import Layout
from ledger.reconcile.importers.records import Draft


def parse_bank(ctx: ParseContext) -> tuple[list[Draft], dict[str, int]]:
    """A bank statement's drafts and its summary counts: plain rows a column at a time, the rest cell by
    cell."""
    layout, problems = ctx.layout, ctx.problems
    roles = ctx.header.roles
    split = "credit" in roles or "debit" in roles
    plain = _plain_bank_drafts(ctx)
    drafts = []
    for index, row in enumerate(ctx.body.data):
        draft = plain.get(index)
        if draft is not None:
            drafts.append(draft)
            continue
        cells = Cells(row, ctx.header, problems)
        occurred_at = cells.occurred_at(report=False)
        if occurred_at is None:
            amount_cells = [cells.text(role) for role in ("credit", "debit", "amount")]
            if any(word in row.text() for word in layout.footer_words) or not any(amount_cells):
                continue  # a 合计 / 以上数据仅供参考 footer, or a decoration row
        if short_row(row, ctx.header, ctx.table, problems):
            continue
        before = len(problems)
        if occurred_at is None:
            cells.occurred_at(report=True)
            continue
        amount_fen = _bank_amount(cells, layout, split)
        balance_fen = read_balance_fen(cells)
        if len(problems) > before or amount_fen is None:
            continue
        memo = join_memo(*cells.texts("memo"))
        counterparty = cells.text("counterparty")
        kind = line_kind(layout, f"{memo} {counterparty}", amount_fen) or "transfer"
        account = cells.text("counterparty_account")
        drafts.append(
            Draft(
                row.line_no,
                occurred_at,
                amount_fen,
                0,
                balance_fen,
                cells.text("reference"),
                "",
                counterparty,
                account,
                memo,
                kind,
                identity=(account,),
            )
        )
    return drafts, {}


# The shapes nearly every bank row is printed in. A cell in one of them reads the same through the
# per-cell path (``Cells``); any other cell (¥, 元, a third decimal, full-width digits, 00:00:00 that a
# time column may refine …) sends its row down that path, which reads it or names the problem.
_PLAIN_AMOUNT = re.compile(r"-?(?:\d{1,3}(?:,\d{3}){0,4}|\d{1,15})\.\d\d", re.ASCII)
_PLAIN_TIME = re.compile(r"(?:199\d|2[01]\d\d|2200)-\d\d-\d\d \d\d:\d\d:\d\d", re.ASCII)
_IRREGULAR: Any = object()  # a cell not in its plain shape


def _plain_fen(values: list[str]) -> list[Any]:
    """A column of plain amounts → fen (exact: the digits without the point), None when empty."""
    plain = _PLAIN_AMOUNT.fullmatch
    return [
        None
        if value in EMPTY_AMOUNTS
        else int(value.replace(",", "").replace(".", ""))
        if plain(value)
        else _IRREGULAR
        for value in values
    ]


def _plain_times(values: list[str]) -> list[Any]:
    plain = _PLAIN_TIME.fullmatch
    out: list[Any] = []
    for value in values:
        if not plain(value) or value.endswith(" 00:00:00"):
            out.append(_IRREGULAR)
            continue
        try:
            out.append(datetime.fromisoformat(value))
        except ValueError:  # 2024-02-30
            out.append(_IRREGULAR)
    return out


def _plain_bank_drafts(ctx: ParseContext) -> dict[int, Draft]:
    """Drafts of the body rows (by index) whose every cell is plain, read one column at a time.

    The other rows are left to the per-cell loop of ``parse_bank``: footers, short rows, bad cells and
    anything unusual, each with its problem named at its line and column.
    """
    layout, header = ctx.layout, ctx.header
    roles = header.roles
    needed = max(index for indexes in roles.values() for index in indexes) + 1
    rows = [(index, row) for index, row in enumerate(ctx.body.data) if len(row.cells) >= needed]
    count = len(rows)

    def column(role: str) -> list[str]:
        if role not in roles:
            return [""] * count
        at = roles[role][0]
        return [row.cells[at] for _, row in rows]

    times = _plain_times(column("occurred_at"))
    if "credit" in roles or "debit" in roles:
        credits = _plain_fen(column("credit"))
        debits = _plain_fen(column("debit"))
        amounts = [
            _IRREGULAR
            if credit is _IRREGULAR or debit is _IRREGULAR or (credit is None) == (debit is None)
            else credit
            if debit is None
            else -abs(debit)
            for credit, debit in zip(credits, debits, strict=True)
        ]
    else:
        amounts = [_IRREGULAR if fen is None else fen for fen in _plain_fen(column("amount"))]
        if "direction" in roles:
            # 0: a flag that is neither side. "-5.00" flagged 贷 is no plain row either: the per-cell path
            # refuses both by name.
            signs = {flag: direction_sign(layout, flag) or 0 for flag in set(column("direction"))}
            amounts = [
                _IRREGULAR
                if fen is _IRREGULAR or not signs[flag] or (fen < 0 and signs[flag] > 0)
                else signs[flag] * abs(fen)
                for fen, flag in zip(amounts, column("direction"), strict=True)
            ]
    balances = _plain_fen(column("balance")) if "balance" in roles else [None] * count
    memo_at = roles.get("memo", [])
    kinds: dict[tuple[str, str, bool, bool], str] = {}
    drafts: dict[int, Draft] = {}
    for (index, row), occurred_at, amount_fen, balance_fen, counterparty, account, reference in zip(
        rows,
        times,
        amounts,
        balances,
        column("counterparty"),
        column("counterparty_account"),
        column("reference"),
        strict=True,
    ):
        if occurred_at is _IRREGULAR or amount_fen is _IRREGULAR or balance_fen is _IRREGULAR:
            continue
        memo = join_memo(*(row.cells[at] for at in memo_at))
        kind_key = (memo, counterparty, amount_fen > 0, amount_fen < 0)
        kind = kinds.get(kind_key)
        if kind is None:
            kind = kinds[kind_key] = line_kind(layout, f"{memo} {counterparty}", amount_fen) or "transfer"
        drafts[index] = Draft(
            row.line_no,
            occurred_at,
            amount_fen,
            0,
            balance_fen,
            reference,
            "",
            counterparty,
            account,
            memo,
            kind,
            (account,),
        )
    return drafts


def _bank_amount(cells: Cells, layout: Layout, split: bool) -> int | None:
    """Signed fen from 借方/贷方 columns, one signed amount, or an amount plus 借贷标志."""
    before = len(cells.problems)
    if split:
        credit = cells.decimal("credit", required=False)
        debit = cells.decimal("debit", required=False)
        if len(cells.problems) > before:
            return None
        sides = " or ".join(cells.column(role) for role in ("debit", "credit") if cells.has(role))
        if credit is None and debit is None:
            cells.add_problem(None, f"no amount in {sides}")
            return None
        credit_fen = to_fen(credit) if credit is not None else 0
        # Banks that print money out as "-500.00" under 支出 mean the same 500.00 out.
        debit_fen = abs(to_fen(debit)) if debit is not None else 0
        if credit_fen and debit_fen:
            cells.add_problem(None, f"both {sides.replace(' or ', ' and ')} carry an amount")
            return None
        return credit_fen - debit_fen
    amount = cells.decimal("amount")
    if amount is None:
        return None
    if not cells.has("direction"):
        return to_fen(amount)
    flag = cells.text("direction")
    sign = direction_sign(layout, flag)
    if sign is None:
        cells.add_problem("direction", f"{flag!r} is neither 借 nor 贷")
        return None
    printed = unicodedata.normalize("NFKC", cells.text("amount")).lstrip("¥ ")
    # A printed sign that contradicts the flag: which one is right cannot be told, so neither is taken.
    if (sign > 0 and amount < 0) or (sign < 0 and printed.startswith("+")):
        side = "贷 (money in)" if sign > 0 else "借 (money out)"
        cells.add_problem(
            "direction",
            f"{flag!r} says {side} but {cells.column('amount')} is {cells.text('amount')}",
        )
        return None
    return sign * abs(to_fen(amount))
