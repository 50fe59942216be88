"""WeChat Pay and Alipay rows → drafts (trade and fund bills, detail and account statements)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from ledger.reconcile.importers.body import short_row
from ledger.reconcile.importers.cells import Cells, direction_sign, format_total, join_memo, line_kind, to_fen
from ledger.reconcile.importers.drafts import ParseContext, read_balance_fen
from ledger.reconcile.importers.layouts import norm_name
from ledger.reconcile.importers.reading import Row
from ledger.reconcile.importers.records import Draft
from ledger.reconcile.importers.totals import SummaryBlock, check_trailer


def _rows(ctx: ParseContext) -> Iterator[tuple[Row, Cells]]:
    """The body's rows with their cells; a row cut short (fewer fields than the mapped columns need) is told
    as a problem and passed over."""
    for row in ctx.body.data:
        if not short_row(row, ctx.header, ctx.table, ctx.problems):
            yield row, Cells(row, ctx.header, ctx.problems)


def _balance_move(
    ctx: ParseContext,
    row: Row,
    cells: Cells,
    occurred_at: datetime,
    amount_fen: int,
    balance_fen: int | None,
    *,
    merchant_ref: str = "",
    counterparty_account: str = "",
) -> Draft:
    """A move of the account's balance (a fund bill's or an account bill's row): no fee of its own, its kind
    read from the layout's kind columns, told apart from its twin by the business number."""
    kind_text = " ".join(cells.text(role) for role in ctx.layout.kind_from)
    return Draft(
        row.line_no,
        occurred_at,
        amount_fen,
        0,
        balance_fen,
        cells.text("reference"),
        merchant_ref,
        "",
        counterparty_account,
        join_memo(*cells.texts("memo")),
        line_kind(ctx.layout, kind_text, amount_fen) or "other",
        identity=(cells.text("business_ref"),),
    )


def parse_wechat_trade(ctx: ParseContext) -> tuple[list[Draft], dict[str, int]]:
    """A WeChat Pay trade bill's drafts (sales, refunds, their fees) and its summary counts."""
    layout, problems = ctx.layout, ctx.problems
    drafts = []
    settled_all = settled_sales = refunds = fees = Decimal(0)
    # The older 24-column layout prints 总金额 with the 代金券或立减优惠金额 inside it: the merchant received
    # the difference. The current layout's 应结订单金额 is already net of it.
    roles = ctx.header.roles
    gross = norm_name(ctx.header.name(roles["settled_amount"][0])) == norm_name("总金额")
    vouchers = gross and "voucher" in roles
    for row, cells in _rows(ctx):
        before = len(problems)
        occurred_at = cells.occurred_at()
        status = cells.text("status")
        kind = line_kind(layout, status, None)
        if kind is None:
            cells.add_problem("status", f"{status!r} is neither SUCCESS nor REFUND")
        settled = cells.decimal("settled_amount", required=kind == "sale")
        refund = cells.decimal("refund_amount", required=kind == "refund")
        fee = cells.decimal("fee", required=False, sub_fen=True) or Decimal(0)
        voucher = Decimal(0)
        if vouchers:
            role = "voucher" if kind == "sale" else "voucher_refund"
            voucher = abs(cells.decimal(role, required=False) or Decimal(0))
        if len(problems) > before or occurred_at is None or kind is None:
            continue
        settled = settled or Decimal(0)
        refund = refund or Decimal(0)
        settled_all += settled
        refunds += refund
        fees += fee
        refund_ref = cells.text("refund_ref") if kind == "refund" else ""
        voucher_fen = to_fen(voucher)
        if kind == "sale":
            settled_sales += settled
            amount_fen, fee_fen = to_fen(settled) - voucher_fen, to_fen(fee)
        else:
            amount_fen, fee_fen = -(abs(to_fen(refund)) - voucher_fen), -abs(to_fen(fee))
            voucher_fen = -voucher_fen
        if (amount_fen < 0) if kind == "sale" else (amount_fen > 0):
            cells.add_problem("voucher", f"the 代金券 {format_total(voucher)} is more than the amount")
            continue
        voucher_memo = f"代金券 {format_total(voucher)}" if voucher else ""
        drafts.append(
            Draft(
                row.line_no,
                occurred_at,
                amount_fen,
                fee_fen,
                None,
                cells.text("reference"),
                cells.text("merchant_ref"),
                "",
                cells.text("counterparty_account"),
                join_memo(
                    *cells.texts("memo"), f"微信退款单号 {refund_ref}" if refund_ref else "", voucher_memo
                ),
                kind,
                identity=(refund_ref,),
                voucher_fen=voucher_fen,
            )
        )
    summary = SummaryBlock(ctx)
    if summary.values is not None and not len(problems):
        summary.count("row_count", len(drafts))
        summary.money("settled_total", settled_all, alternative=settled_sales)
        summary.money("refund_total", refunds)
        summary.money("fee_total", fees)
    return drafts, summary.result


def parse_wechat_fund(ctx: ParseContext) -> tuple[list[Draft], dict[str, int]]:
    """A WeChat Pay fund flow bill's drafts (money in and out of the merchant account)."""
    layout, problems = ctx.layout, ctx.problems
    drafts = []
    for row, cells in _rows(ctx):
        before = len(problems)
        occurred_at = cells.occurred_at()
        direction = cells.text("direction")
        sign = direction_sign(layout, direction)
        if sign is None:
            cells.add_problem("direction", f"{direction!r} is neither 收入 nor 支出")
        amount = cells.decimal("amount")
        balance_fen = read_balance_fen(cells)
        if len(problems) > before or occurred_at is None or amount is None or sign is None:
            continue
        drafts.append(_balance_move(ctx, row, cells, occurred_at, sign * abs(to_fen(amount)), balance_fen))
    summary = SummaryBlock(ctx)
    if summary.values is not None and not len(problems):
        income = [d.amount_fen for d in drafts if d.amount_fen > 0]
        expense = [-d.amount_fen for d in drafts if d.amount_fen < 0]
        summary.count("row_count", len(drafts))
        summary.count("income_count", len(income))
        summary.money("income_total", Decimal(sum(income)) / 100)
        summary.count("expense_count", len(expense))
        summary.money("expense_total", Decimal(sum(expense)) / 100)
    return drafts, summary.result


def parse_alipay_detail(ctx: ParseContext) -> tuple[list[Draft], dict[str, int]]:
    """An Alipay business detail bill's drafts (sales, refunds, their service fees)."""
    layout, problems = ctx.layout, ctx.problems
    drafts = []
    for row, cells in _rows(ctx):
        before = len(problems)
        occurred_at = cells.occurred_at()
        business_type = cells.text("business_type")
        kind = line_kind(layout, business_type, None)
        if kind is None:
            cells.add_problem("business_type", f"{business_type!r} is neither 交易 nor 退款")
        amount = cells.decimal("amount")
        fee = cells.decimal("fee", required=False, sub_fen=True) or Decimal(0)
        if len(problems) > before or occurred_at is None or amount is None or kind is None:
            continue
        # 服务费 is printed with either sign; what the merchant paid is positive on a sale and given
        # back (negative) on a refund.
        sign = 1 if kind == "sale" else -1
        refund_ref = cells.text("refund_ref") if kind == "refund" else ""
        drafts.append(
            Draft(
                row.line_no,
                occurred_at,
                sign * abs(to_fen(amount)),
                sign * abs(to_fen(fee)),
                None,
                cells.text("reference"),
                cells.text("merchant_ref"),
                "",
                cells.text("counterparty_account"),
                join_memo(*cells.texts("memo"), f"退款请求号 {refund_ref}" if refund_ref else ""),
                kind,
                identity=(refund_ref,),
            )
        )
    result = check_trailer(ctx, drafts)
    return drafts, result


def parse_alipay_account(ctx: ParseContext) -> tuple[list[Draft], dict[str, int]]:
    """An Alipay account detail bill's drafts (every move of the account's balance)."""
    problems = ctx.problems
    drafts = []
    for row, cells in _rows(ctx):
        before = len(problems)
        occurred_at = cells.occurred_at()
        credit = cells.decimal("credit", required=False)
        debit = cells.decimal("debit", required=False)
        balance_fen = read_balance_fen(cells)
        if len(problems) > before or occurred_at is None:
            continue
        credit_fen = abs(to_fen(credit)) if credit is not None else 0
        debit_fen = abs(to_fen(debit)) if debit is not None else 0
        if credit_fen and debit_fen:
            sides = f"{cells.column('credit')} and {cells.column('debit')}"
            cells.add_problem(None, f"both {sides} carry an amount")
            continue
        if credit is None and debit is None:
            cells.add_problem(None, f"no amount in {cells.column('credit')} or {cells.column('debit')}")
            continue
        move = _balance_move(
            ctx,
            row,
            cells,
            occurred_at,
            credit_fen - debit_fen,
            balance_fen,
            merchant_ref=cells.text("merchant_ref"),
            counterparty_account=cells.text("counterparty_account"),
        )
        drafts.append(move)
    result = check_trailer(ctx, drafts)
    return drafts, result
