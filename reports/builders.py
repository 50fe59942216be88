"""Builders of the core reports: books → DataFrames → ``Report`` (DESIGN §8).

科目余额表 (trial balance), 资产负债表 and the income statement of each standard (收益及收益分配表 for
collectives, 利润表 会小企02表 for companies), 明细账, 现金日记账 and 银行日记账 with daily balances, and the
记账凭证 print. Each builder reads through ``ledger.books.trial_balance``, ``ledger.books.journal`` and
``reports.queries`` (the only SQL) and never formats: amounts stay integer fen until a template or
writer prints them. Statements go through ``reports.statements.compute_statement``, so a statement that does
not foot raises ``StatementDoesNotFoot`` and no file is produced; a trial balance that does not balance raises
``TrialBalanceDoesNotBalance`` the same way.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from typing import TYPE_CHECKING, Any

from ledger.books.errors import AccountingError, NotFound, ValidationError
from ledger.books.journal import EntryFilter, entry_key, list_entries
from ledger.books.periods import period_bounds, previous_period
from ledger.books.trial_balance import TrialBalanceRow, trial_balance
from reports.builders_base import BuildContext, ReportPeriod
from reports.queries import (
    AccountName,
    PostingKey,
    PostingRow,
    account_names,
    account_postings,
    chain_head,
    counterparty_balances,
    memo_turnover,
    movement,
    orgs_below,
    postings_through,
)
from reports.report import Column, Report, Table, Total
from reports.statements import Layout, compute_statement, load_layout, statement_report

if TYPE_CHECKING:
    import pandas as pd


# Lines a balance sheet splits by the sign of each counterparty's balance: a receivable's credit balance
# (rent paid ahead on 112, 1122 预收) is a liability, a payable's debit balance (211 or 2202 paid ahead) an
# asset, 113 内部往来 and 1221/2241 go both ways — never netted against another counterparty's balance.
SPLIT_BY_SIGN = {
    "collective": ("112", "113", "211"),
    "small_enterprise": ("1122", "1123", "1221", "2202", "2203", "2241"),
}
LAYOUTS = {
    ("collective", "balance-sheet"): "collective_balance_sheet",
    ("collective", "income-statement"): "collective_income_distribution",
    ("small_enterprise", "balance-sheet"): "small_enterprise_balance_sheet",
    ("small_enterprise", "income-statement"): "small_enterprise_income_statement",
}
CASH_ACCOUNTS = {"collective": "101", "small_enterprise": "1001"}
BANK_ACCOUNTS = {"collective": "102", "small_enterprise": "1002"}
VOUCHER_SIGNATURES = {
    "zh": ("制单", "审核", "记账", "出纳"),
    "en": ("Prepared", "Reviewed", "Posted", "Cashier"),
}
MAX_VOUCHERS = 2000  # one print job; more is a batch, not a print


class TrialBalanceDoesNotBalance(AccountingError):
    """Σ 借 ≠ Σ 贷 in a trial balance column: the books are broken and `cunshe verify` will say where."""

    code = "trial_balance_does_not_balance"


# --- balances for the statements -------------------------------------------------------------------------


def _collapse(standard: str, amounts: Mapping[str, int]) -> dict[str, int]:
    """Sum sub-account amounts into their first-level account (every layout formula names first levels)."""
    chart = load_layout(LAYOUTS[(standard, "balance-sheet")]).chart
    out: dict[str, int] = defaultdict(int)
    for key, amount in amounts.items():
        code, sep, detail = key.partition(":")
        first = chart.first_level(code)
        if first is None:
            raise ValidationError(f"account {code} is not in the {standard} chart", field="account")
        out[f"{first}{sep}{detail}"] += amount
    return dict(out)


def _split_details(
    ctx: BuildContext, standard: str, through: str, level_one: dict[str, int], tag: str = ""
) -> dict[str, int]:
    """Replace each split-by-sign account's balance with one balance per counterparty (``1122:7``)."""
    prefixes = SPLIT_BY_SIGN[standard]
    details = counterparty_balances(ctx.conn, ctx.org.id, through, prefixes)
    out = {code: amount for code, amount in level_one.items() if code not in prefixes}
    by_key: dict[str, int] = defaultdict(int)
    for (code, cp), amount in details.items():
        first = next(p for p in prefixes if code.startswith(p))
        by_key[f"{first}:{tag}{cp if cp is not None else '-'}"] += amount
    for prefix in prefixes:
        detail_sum = sum(v for k, v in by_key.items() if k.startswith(prefix + ":"))
        if detail_sum != level_one.get(prefix, 0):
            raise AccountingError(
                f"{prefix}: counterparty balances {detail_sum} ≠ account {level_one.get(prefix, 0)}"
            )
    out.update({k: v for k, v in by_key.items() if v})
    return out


def balance_sheet_columns(ctx: BuildContext, tag: str = "") -> tuple[dict[str, int], dict[str, int]]:
    """(closing at the period's end, opening at the start of its year), first-level and split details."""
    standard = ctx.org.standard
    rows = trial_balance(ctx.conn, ctx.org.id, ctx.period.year_start, ctx.period.to_period)
    closing = {r.code: r.closing_fen for r in rows if r.level == 1}
    opening = {r.code: r.opening_fen for r in rows if r.level == 1}
    closing = _split_details(ctx, standard, ctx.period.to_period, closing, tag)
    opening = _split_details(ctx, standard, previous_period(ctx.period.year_start), opening, tag)
    return closing, opening


def _pnl(ctx: BuildContext, from_period: str, to_period: str) -> dict[str, int]:
    """Income and expense turnover (debit positive) before the closing entries, by first-level account."""
    turnover = movement(ctx.conn, ctx.org.id, from_period, to_period, prefixes=("5",))
    return _collapse(ctx.org.standard, {code: d - c for code, (d, c) in turnover.items()})


def _distribution_inputs(ctx: BuildContext, year: int, through: str | None = None) -> dict[str, int]:
    """The collective's distribution lines for a year, read from the books (``ledger.distribution`` posts
    them; DESIGN §6).

    年初未分配收益 is 322's credit balance at the start of the year; the appropriations are the credits the
    year's ``distribution`` entries (and their red-ink reversals) made to 31101 公积金 (or a leaf 311),
    31102 公益性岗位, 31103 公益设施 and 21102 应付收益分配 (members); 其他转入 is the credit to 32203, where
    an earmark applied to a post or facility returns (Dr 311xx / Cr 32203). Credits only: applying an
    earmark debits 311xx, and must not net against the year's new earmark.
    """
    start, end = f"{year:04d}-01", through or f"{year:04d}-12"  # a month's print reaches only that far
    opening = next(
        (r.opening_fen for r in trial_balance(ctx.conn, ctx.org.id, start, start) if r.code == "322"), 0
    )
    posted = movement(
        ctx.conn,
        ctx.org.id,
        start,
        end,
        prefixes=("311", "21102", "32203"),
        only_sources=("distribution", "reversal"),
    )

    def credits(*prefixes: str) -> int:
        return sum(c for code, (_, c) in posted.items() if code.startswith(prefixes))

    inputs = {
        "opening_undistributed": -opening,
        "other_transfers_in": credits("32203"),
        "reserve": credits("31101") + sum(c for code, (_, c) in posted.items() if code == "311"),
        "welfare_posts_earmark": credits("31102"),
        "facilities_earmark": credits("31103"),
        "to_members": credits("21102"),
    }
    return {k: v for k, v in inputs.items() if v}


def _of_which_inputs(ctx: BuildContext, layout: Layout, from_period: str, to_period: str) -> dict[str, int]:
    """The 其中 lines of a statement from the books (the layout's ``[of_which]``; 利润表 会小企02表).

    A sub-account's turnover goes to the first input whose words its name, or a name above it below the
    first-level account, contains; lines posted to the first-level account itself go by their 摘要. Shown on
    the first-level account's normal side, as ``acct()`` shows the parent line, so a 利息收入 is negative.
    Closing entries are left out, as for the parent lines.
    """
    if not layout.of_which:
        return {}
    parents = {source.account for source in layout.of_which.values()}
    names = account_names(ctx.conn, ctx.org.id)

    def kind(account: str, texts: Sequence[str]) -> str | None:
        return next(
            (
                name
                for name, source in layout.of_which.items()
                if source.account == account and any(w in t for w in source.words for t in texts)
            ),
            None,
        )

    def signed(account: str, debit: int, credit: int) -> int:
        return debit - credit if layout.chart.normal_side[account] == "debit" else credit - debit

    inputs: dict[str, int] = defaultdict(int)
    turnover = movement(ctx.conn, ctx.org.id, from_period, to_period, prefixes=tuple(parents))
    for code, (debit, credit) in turnover.items():
        parent = layout.chart.first_level(code)
        if parent not in parents or code == parent:
            continue
        path = names[code].full_name.split("—")[1:]  # the sub-account's names below the first level
        if (found := kind(parent, path)) is not None:
            inputs[found] += signed(parent, debit, credit)
    leaves = [code for code in parents if code in turnover]
    for code, memo, debit, credit in memo_turnover(ctx.conn, ctx.org.id, leaves, from_period, to_period):
        if (found := kind(code, [memo])) is not None:
            inputs[found] += signed(code, debit, credit)
    return {name: amount for name, amount in inputs.items() if amount}


def statement_inputs(
    ctx: BuildContext, name: str
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """({column: balances}, {column: inputs}) of a statement for one org, in the layout's column order."""
    layout = load_layout(LAYOUTS[(ctx.org.standard, name)])
    names = layout.columns_en if ctx.lang == "en" else layout.columns
    p = ctx.period
    if name == "balance-sheet":
        closing, opening = balance_sheet_columns(ctx)
        values = {"collective": (opening, closing), "small_enterprise": (closing, opening)}[ctx.org.standard]
        return dict(zip(names, values, strict=True)), {}
    if ctx.org.standard == "collective":
        last = ReportPeriod(f"{p.year - 1}-01", f"{p.year - 1}-12")
        columns = {names[0]: _pnl(ctx, p.year_start, p.to_period), names[1]: _pnl(ctx, *_bounds(last))}
        inputs = {
            names[0]: _distribution_inputs(ctx, p.year, p.to_period),
            names[1]: _distribution_inputs(ctx, p.year - 1),
        }
        return columns, inputs
    bounds = ((p.year_start, p.to_period), (p.to_period, p.to_period))  # 本年累计金额, 本月金额
    columns = {column: _pnl(ctx, *b) for column, b in zip(names, bounds, strict=True)}
    inputs = {column: _of_which_inputs(ctx, layout, *b) for column, b in zip(names, bounds, strict=True)}
    return columns, inputs


def _bounds(period: ReportPeriod) -> tuple[str, str]:
    return period.from_period, period.to_period


def _statement_period_label(ctx: BuildContext, name: str) -> str:
    if name == "balance-sheet":
        return ctx.period.as_of_label(ctx.lang)
    if ctx.org.standard == "collective":
        # 收益及收益分配表 is a year's statement; a month's print says how far into the year it reaches.
        p = ReportPeriod(ctx.period.year_start, ctx.period.to_period)
        return p.label(ctx.lang)
    # 利润表: its columns are 本年累计金额 and 本月金额, so it is dated by its month.
    return ReportPeriod(ctx.period.to_period, ctx.period.to_period).label(ctx.lang)


def build_statement(ctx: BuildContext, name: str) -> Report:
    """资产负债表 or the standard's income statement for one org, its checks verified."""
    layout_name = LAYOUTS[(ctx.org.standard, name)]
    columns, column_inputs = statement_inputs(ctx, name)
    frame = compute_statement(layout_name, columns=columns, column_inputs=column_inputs, lang=ctx.lang)
    return statement_report(
        layout_name,
        frame,
        org_name=ctx.org.name,
        period=_statement_period_label(ctx, name),
        chain_head=chain_head(ctx.conn, ctx.org.id, ctx.period.to_period),
        lang=ctx.lang,
        **ctx.stamp(),
    )


def build_balance_sheet(ctx: BuildContext) -> Report:
    return build_statement(ctx, "balance-sheet")


def build_income_statement(ctx: BuildContext) -> Report:
    return build_statement(ctx, "income-statement")


# --- roll-ups ------------------------------------------------------------------------------------------


def rollup_chain_head(heads: Sequence[tuple[str, str]]) -> str:
    """One hex digest over the orgs' (code, chain head) pairs: what a roll-up's verification line carries."""
    digest = hashlib.sha256()
    for code, head in sorted(heads):
        digest.update(f"{code}:{head}\n".encode())
    return digest.hexdigest()


def build_statement_rollup(ctx: BuildContext, name: str, standard: str) -> Report:
    """A street's or the county's statement: the orgs below of ONE standard, summed line by line.

    Each org's balances are summed per first-level account; the split-by-sign details stay apart per org
    and counterparty, so a receivable of one org never nets against another org's prepayment. The summed
    statement is checked like any other, and its headline must equal the sum of the orgs' own headlines.
    A second table lists each org's headline figure, so a reader sees what adds up to what.
    """
    import pandas as pd

    orgs = orgs_below(ctx.conn, ctx.org.id, standard=standard)
    if not orgs:
        raise NotFound(f"no {standard} orgs under {ctx.org.name}", field="standard")
    layout_name = LAYOUTS[(standard, name)]
    layout = load_layout(layout_name)
    summed: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    summed_inputs: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_org: list[tuple[str, str, int]] = []
    heads: list[tuple[str, str]] = []
    headline = layout.totals[0].key
    for org in orgs:
        org_ctx = BuildContext(ctx.conn, org, ctx.period, ctx.lang, ctx.options, ctx.generated_at)
        if name == "balance-sheet":
            closing, opening = balance_sheet_columns(org_ctx, tag=f"o{org.id}.")
            names = layout.columns_en if ctx.lang == "en" else layout.columns
            pair = {"collective": (opening, closing), "small_enterprise": (closing, opening)}[standard]
            columns = dict(zip(names, pair, strict=True))
            inputs: dict[str, dict[str, int]] = {}
        else:
            columns, inputs = statement_inputs(org_ctx, name)
        for column, balances in columns.items():
            for key, amount in balances.items():
                summed[column][key] += amount
        for column, values in inputs.items():
            for key, amount in values.items():
                summed_inputs[column][key] += amount
        own = compute_statement(layout_name, columns=columns, column_inputs=inputs, lang=ctx.lang)
        current = [c for c in own.columns if c in columns][layout.current_column]
        per_org.append((org.code, org.name, int(own.set_index("key").at[headline, current])))
        heads.append((org.code, chain_head(ctx.conn, org.id, ctx.period.to_period)))
    frame = compute_statement(
        layout_name,
        columns={c: dict(v) for c, v in summed.items()},
        column_inputs={c: dict(v) for c, v in summed_inputs.items()},
        lang=ctx.lang,
    )
    report = statement_report(
        layout_name,
        frame,
        org_name=ctx.t(
            f"{ctx.org.name}（{len(orgs)} 个单位汇总）", f"{ctx.org.name} ({len(orgs)} orgs combined)"
        ),
        period=_statement_period_label(BuildContext(ctx.conn, orgs[0], ctx.period, ctx.lang), name),
        chain_head=rollup_chain_head(heads),
        lang=ctx.lang,
        **ctx.stamp(),
    )
    total = report.totals[0]
    if sum(fen for _, _, fen in per_org) != total.fen:
        raise AccountingError(f"{report.title} roll-up: the orgs' {total.label} do not add up to the total")
    breakdown = pd.DataFrame(
        {
            "code": [c for c, _, _ in per_org] + [""],
            "name": [n for _, n, _ in per_org] + [ctx.t("合计", "Total")],
            "amount": pd.array([f for _, _, f in per_org] + [total.fen], dtype="Int64"),
            "style": [""] * len(per_org) + ["total"],
        }
    )
    table = Table(
        breakdown,
        (
            Column("name", ctx.t("单位", "Org"), "label"),
            Column("amount", total.label, "amount"),
        ),
        caption=ctx.t("各单位明细", "By org"),
    )
    return Report(
        title=ctx.t(f"{report.title}（汇总）", f"{report.title} (combined)"),
        org_name=report.org_name,
        period=report.period,
        tables=(*report.tables, table),
        chain_head=report.chain_head,
        totals=report.totals,
        form_no=report.form_no,
        lang=ctx.lang,
        template=report.template,
        generated_at=report.generated_at,
    )


# --- 科目余额表 -------------------------------------------------------------------------------------------


def _dr_cr(fen: int) -> tuple[int, int]:
    return (fen, 0) if fen > 0 else (0, -fen)


def trial_balance_frame(rows: Sequence[TrialBalanceRow], lang: str) -> pd.DataFrame:
    """One row per account with any balance or turnover, then 合计 over the first-level accounts."""
    import pandas as pd

    shown = [r for r in rows if r.opening_fen or r.debit_fen or r.credit_fen or r.closing_fen]
    records: list[dict[str, Any]] = []
    for r in shown:
        od, oc = _dr_cr(r.opening_fen)
        cd, cc = _dr_cr(r.closing_fen)
        records.append(
            {
                "code": r.code,
                "name": r.name,
                "indent": r.level - 1,
                "style": "" if r.level > 1 else "subtotal" if not r.is_leaf else "",
                "opening_debit": od,
                "opening_credit": oc,
                "debit": r.debit_fen,
                "credit": r.credit_fen,
                "closing_debit": cd,
                "closing_credit": cc,
            }
        )
    top = [rec for rec, r in zip(records, shown, strict=True) if r.level == 1]
    keys = ("opening_debit", "opening_credit", "debit", "credit", "closing_debit", "closing_credit")
    total = {k: sum(int(rec[k]) for rec in top) for k in keys}
    for left, right in (keys[0:2], keys[2:4], keys[4:6]):
        if total[left] != total[right]:
            raise TrialBalanceDoesNotBalance(
                f"科目余额表 does not balance: {left} {total[left]} ≠ {right} {total[right]}"
            )
    records.append(
        {"code": "", "name": "合计" if lang == "zh" else "Total", "indent": 0, "style": "total", **total}
    )
    frame = pd.DataFrame.from_records(records)
    for k in keys:
        frame[k] = pd.array(frame[k], dtype="Int64")
    return frame


def _trial_balance_report(ctx: BuildContext, frame: pd.DataFrame, org_name: str, head: str) -> Report:
    t = ctx.t
    total = frame.iloc[-1]
    return Report(
        title=t("科目余额表", "Trial Balance"),
        org_name=org_name,
        period=ctx.period.label(ctx.lang),
        tables=(
            Table(
                frame,
                (
                    Column("code", t("科目编码", "Code"), "text"),
                    Column("name", t("科目名称", "Account"), "label"),
                    Column("opening_debit", t("期初借方", "Opening Dr"), "amount"),
                    Column("opening_credit", t("期初贷方", "Opening Cr"), "amount"),
                    Column("debit", t("本期借方", "Period Dr"), "amount"),
                    Column("credit", t("本期贷方", "Period Cr"), "amount"),
                    Column("closing_debit", t("期末借方", "Closing Dr"), "amount"),
                    Column("closing_credit", t("期末贷方", "Closing Cr"), "amount"),
                ),
            ),
        ),
        chain_head=head,
        totals=(
            Total(t("本期借方发生额合计", "Period debits"), int(total["debit"])),
            Total(t("本期贷方发生额合计", "Period credits"), int(total["credit"])),
        ),
        lang=ctx.lang,
        landscape=True,
        template="report_trial_balance.html",
        **ctx.stamp(),
    )


def build_trial_balance(ctx: BuildContext) -> Report:
    rows = trial_balance(ctx.conn, ctx.org.id, ctx.period.from_period, ctx.period.to_period)
    return _trial_balance_report(
        ctx,
        trial_balance_frame(rows, ctx.lang),
        ctx.org.name,
        chain_head(ctx.conn, ctx.org.id, ctx.period.to_period),
    )


def build_trial_balance_rollup(ctx: BuildContext, standard: str) -> Report:
    """The first-level accounts of every org of one standard below a street or the county, summed."""
    orgs = orgs_below(ctx.conn, ctx.org.id, standard=standard)
    if not orgs:
        raise NotFound(f"no {standard} orgs under {ctx.org.name}", field="standard")
    summed: dict[str, list[int]] = {}
    template: dict[str, TrialBalanceRow] = {}
    heads = []
    for org in orgs:
        for r in trial_balance(ctx.conn, org.id, ctx.period.from_period, ctx.period.to_period):
            if r.level != 1:
                continue
            template.setdefault(r.code, r)
            acc = summed.setdefault(r.code, [0, 0, 0, 0])
            for i, v in enumerate((r.opening_fen, r.debit_fen, r.credit_fen, r.closing_fen)):
                acc[i] += v
        heads.append((org.code, chain_head(ctx.conn, org.id, ctx.period.to_period)))
    rows = [
        TrialBalanceRow(
            code=code,
            name=template[code].name,
            level=1,
            parent_code=None,
            account_class=template[code].account_class,
            normal_side=template[code].normal_side,
            is_leaf=True,
            opening_fen=o,
            debit_fen=d,
            credit_fen=c,
            closing_fen=cl,
        )
        for code, (o, d, c, cl) in sorted(summed.items())
    ]
    name = ctx.t(f"{ctx.org.name}（{len(orgs)} 个单位汇总）", f"{ctx.org.name} ({len(orgs)} orgs combined)")
    return _trial_balance_report(ctx, trial_balance_frame(rows, ctx.lang), name, rollup_chain_head(heads))


# --- 明细账 and the 日记账 ---------------------------------------------------------------------------------


def _side(fen: int, lang: str) -> str:
    if lang == "en":
        return "Nil" if fen == 0 else ("Dr" if fen > 0 else "Cr")
    return "平" if fen == 0 else ("借" if fen > 0 else "贷")


class _BookRows:
    """A 三栏式 book's rows as they are added, keyed as ``_book_columns`` names them; the balance a figure
    with 借/贷/平 beside it."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        day: date,
        voucher: str,
        memo: str,
        debit: int | None,
        credit: int | None,
        balance: int,
        style: str,
    ) -> None:
        self.rows.append(
            {
                "date": day.isoformat(),
                "voucher_no": voucher,
                "memo": memo,
                "debit": debit,
                "credit": credit,
                "side": _side(balance, self.lang),
                "balance": abs(balance),
                "style": style,
            }
        )


def book_frame(
    ctx: BuildContext,
    postings: Sequence[PostingRow],
    opening_fen: int,
    ytd_before: tuple[int, int],
    *,
    daily: bool,
) -> pd.DataFrame:
    """三栏式 book: 期初余额, each posting with its running balance, 本日合计 (journals), 本月合计, 本年累计.

    The balance prints as a figure with 借/贷/平 beside it, as on paper.
    """
    import pandas as pd

    t = ctx.t
    book = _BookRows(ctx.lang)
    add = book.add
    first_day = period_bounds(ctx.period.from_period)[0]
    opening_memo = (
        t("上年结转", "Brought forward from last year")
        if ctx.period.from_period.endswith("-01")
        else t("期初余额", "Opening balance")
    )
    balance = opening_fen
    add(first_day, "", opening_memo, None, None, balance, "subtotal")
    ytd_debit, ytd_credit = ytd_before
    by_month = {k: list(v) for k, v in groupby(postings, key=lambda p: p.period)}
    for month in ctx.period.months:
        lines = by_month.get(month, [])
        month_debit = month_credit = 0
        for day, day_lines_iter in groupby(lines, key=lambda p: p.entry_date):
            day_lines = list(day_lines_iter)
            for p in day_lines:
                balance += p.debit_fen - p.credit_fen
                add(
                    day,
                    p.voucher_no,
                    p.memo,
                    p.debit_fen or None,
                    p.credit_fen or None,
                    balance,
                    "",
                )
            if daily:
                add(
                    day,
                    "",
                    t("本日合计", "Day total"),
                    sum(p.debit_fen for p in day_lines),
                    sum(p.credit_fen for p in day_lines),
                    balance,
                    "subtotal",
                )
            month_debit += sum(p.debit_fen for p in day_lines)
            month_credit += sum(p.credit_fen for p in day_lines)
        ytd_debit += month_debit
        ytd_credit += month_credit
        last_day = period_bounds(month)[1]
        add(last_day, "", t("本月合计", "Month total"), month_debit, month_credit, balance, "subtotal")
        add(last_day, "", t("本年累计", "Year to date"), ytd_debit, ytd_credit, balance, "total")
    frame = pd.DataFrame.from_records(book.rows)
    for k in ("debit", "credit", "balance"):
        frame[k] = pd.array(frame[k], dtype="Int64")
    return frame


def _book_columns(ctx: BuildContext) -> tuple[Column, ...]:
    t = ctx.t
    return (
        Column("date", t("日期", "Date"), "text"),
        Column("voucher_no", t("凭证号", "Voucher"), "text"),
        Column("memo", t("摘要", "Memo"), "text"),
        Column("debit", t("借方", "Debit"), "amount"),
        Column("credit", t("贷方", "Credit"), "amount"),
        Column("side", t("借或贷", "Dr/Cr"), "text"),
        Column("balance", t("余额", "Balance"), "amount"),
    )


def _book_account(ctx: BuildContext, code: str) -> tuple[AccountName, TrialBalanceRow, tuple[int, int]]:
    """The account, its trial-balance row over the period (opening, turnover) and its debits and credits
    from the start of the year to the period (本年累计 before it): months × accounts, never the history."""
    account: AccountName | None = account_names(ctx.conn, ctx.org.id).get(code)
    if account is None:
        raise NotFound(f"{ctx.org.name} has no account {code}", field="account")
    p = ctx.period
    tb = trial_balance(ctx.conn, ctx.org.id, p.from_period, p.to_period)
    row = next(r for r in tb if r.code == code)
    ytd_before = (0, 0)
    if p.from_period > p.year_start:  # account_turnover again, not the year's lines
        earlier = trial_balance(ctx.conn, ctx.org.id, p.year_start, previous_period(p.from_period))
        ytd_before = next((r.debit_fen, r.credit_fen) for r in earlier if r.code == code)
    return account, row, ytd_before


def _book(ctx: BuildContext, code: str, title: str, *, daily: bool) -> Report:
    account, tb_row, ytd_before = _book_account(ctx, code)
    p = ctx.period
    postings = account_postings(ctx.conn, ctx.org.id, (code,), p.from_period, p.to_period)
    frame = book_frame(ctx, postings, tb_row.opening_fen, ytd_before, daily=daily)
    closing = int(frame["balance"].iloc[-1])
    side = frame["side"].iloc[-1]
    return Report(
        title=title,
        org_name=ctx.org.name,
        period=p.label(ctx.lang),
        tables=(
            Table(
                frame,
                _book_columns(ctx),
                caption=ctx.t("科目：", "Account: ") + f"{code} {account.full_name}",
            ),
        ),
        chain_head=chain_head(ctx.conn, ctx.org.id, ctx.period.to_period),
        totals=(Total(ctx.t(f"期末余额（{side}）", f"Closing balance ({side})"), closing),),
        lang=ctx.lang,
        template="report_book.html",
        **ctx.stamp(),
    )


@dataclass(frozen=True)
class BookPage:
    """A page of one month's 明细账: its rows as ``book_frame`` makes them (期初余额 on the first page, 承前页
    with the month's debits, credits and balance so far on the others, 本月合计 and 本年累计 on the last),
    and the keys of its first and last postings, when a page comes before or after it."""

    caption: str
    rows: list[dict[str, Any]]
    first_key: PostingKey | None
    next_key: PostingKey | None


def ledger_detail_page(
    ctx: BuildContext,
    code: str,
    *,
    after: PostingKey | None = None,
    before: PostingKey | None = None,
    limit: int,
) -> BookPage:
    """A page of ``limit`` postings of the 明细账 of ``code`` for one month: the first page, the one after the
    posting ``after``, or the one ending just before ``before``. The figures are ``build_ledger_detail``'s;
    the balance a page opens with is the month's opening (from ``account_turnover``) plus the month's
    postings before the page (one account, one month), so no page costs more than its month."""
    p = ctx.period
    if p.from_period != p.to_period:
        raise ValidationError("a ledger page shows one month", field="period")
    if not code.isdigit():
        raise ValidationError("明细账 needs ?account=<account code>", field="account")
    account, tb_row, ytd_before = _book_account(ctx, code)
    month = p.from_period
    if before is not None:  # the page ending before it starts after the posting limit + 1 back
        earlier = account_postings(
            ctx.conn, ctx.org.id, (code,), month, month, before=before, limit=limit + 1
        )
        after = earlier[0].key if len(earlier) > limit else None
    postings = account_postings(ctx.conn, ctx.org.id, (code,), month, month, after=after, limit=limit + 1)
    more = len(postings) > limit
    postings = postings[:limit]
    t = ctx.t
    book = _BookRows(ctx.lang)
    add = book.add
    first_day, last_day = period_bounds(month)
    balance = tb_row.opening_fen
    if after is None:
        memo = (
            t("上年结转", "Brought forward from last year")
            if month.endswith("-01")
            else t("期初余额", "Opening balance")
        )
        add(first_day, "", memo, None, None, balance, "subtotal")
    else:
        debit, credit = postings_through(ctx.conn, ctx.org.id, (code,), month, after)
        balance += debit - credit
        add(
            postings[0].entry_date if postings else last_day,
            "",
            t("承前页", "Brought forward"),
            debit,
            credit,
            balance,
            "subtotal",
        )
    for posting in postings:
        balance += posting.debit_fen - posting.credit_fen
        add(
            posting.entry_date,
            posting.voucher_no,
            posting.memo,
            posting.debit_fen or None,
            posting.credit_fen or None,
            balance,
            "",
        )
    if not more:
        add(
            last_day,
            "",
            t("本月合计", "Month total"),
            tb_row.debit_fen,
            tb_row.credit_fen,
            balance,
            "subtotal",
        )
        ytd = (ytd_before[0] + tb_row.debit_fen, ytd_before[1] + tb_row.credit_fen)
        add(last_day, "", t("本年累计", "Year to date"), ytd[0], ytd[1], balance, "total")
    return BookPage(
        caption=t("科目：", "Account: ") + f"{code} {account.full_name}",
        rows=book.rows,
        first_key=postings[0].key if postings and after is not None else None,
        next_key=postings[-1].key if more else None,
    )


def build_ledger_detail(ctx: BuildContext) -> Report:
    """明细账 of one account (``?account=50102``), its sub-accounts included."""
    code = ctx.options.get("account")
    if not code or not code.isdigit():
        raise ValidationError("明细账 needs ?account=<account code>", field="account")
    return _book(ctx, code, ctx.t("明细账", "Account Ledger"), daily=False)


def build_cash_journal(ctx: BuildContext) -> Report:
    """现金日记账: every cash posting in order, the balance after each, and 本日合计 each day."""
    code = ctx.options.get("account") or CASH_ACCOUNTS[ctx.org.standard]
    return _book(ctx, code, ctx.t("现金日记账", "Cash Journal"), daily=True)


def build_bank_journal(ctx: BuildContext) -> Report:
    """银行日记账: as the cash journal, for 银行存款 (``?account=`` picks one bank sub-account)."""
    code = ctx.options.get("account") or BANK_ACCOUNTS[ctx.org.standard]
    return _book(ctx, code, ctx.t("银行日记账", "Bank Journal"), daily=True)


# --- 记账凭证 -------------------------------------------------------------------------------------------


def _entries(ctx: BuildContext) -> list[dict[str, Any]]:
    wanted = ctx.options.get("voucher")
    out: list[dict[str, Any]] = []
    for month in ctx.period.months:
        after = None
        while True:
            page, _total = list_entries(
                ctx.conn,
                ctx.org.id,
                EntryFilter(period=month, voucher_no=wanted),
                limit=500,
                after=after,
                count_limit=0,  # pages by key, so no need to count
            )
            out.extend(page)
            if len(page) < 500:
                break
            after = entry_key(page[-1])
            if len(out) > MAX_VOUCHERS:
                raise ValidationError(
                    f"more than {MAX_VOUCHERS} vouchers: print a shorter period", field="period"
                )
    out.sort(key=lambda e: (e["period"], e["voucher_no"]))
    if wanted and not out:
        raise NotFound(f"no voucher {wanted} in {ctx.period.label()}", field="voucher")
    return out


def voucher_frame(entry: dict[str, Any], names: Mapping[str, AccountName], lang: str) -> pd.DataFrame:
    """One 记账凭证: 摘要, 会计科目, 借方金额, 贷方金额 per line, then 合计."""
    import pandas as pd

    entry_date = entry["entry_date"]
    if isinstance(entry_date, date):
        entry_date = entry_date.isoformat()
    records = []
    for line in entry["lines"]:
        account = names.get(line["account"])
        records.append(
            {
                "memo": line["memo"] or entry["memo"],
                "account": f"{line['account']} {account.full_name if account else line['account_name']}",
                "debit": line["debit_fen"] or None,
                "credit": line["credit_fen"] or None,
                "style": "",
            }
        )
    records.append(
        {
            "memo": "",
            "account": "合计" if lang == "zh" else "Total",
            "debit": sum(int(line["debit_fen"]) for line in entry["lines"]),
            "credit": sum(int(line["credit_fen"]) for line in entry["lines"]),
            "style": "total",
        }
    )
    frame = pd.DataFrame.from_records(records)
    for k in ("debit", "credit"):
        frame[k] = pd.array(frame[k], dtype="Int64")
    frame["voucher_no"] = entry["voucher_no"]
    frame["entry_date"] = entry_date
    frame["source"] = entry["source"]
    frame["attachments"] = int(entry.get("attachments") or 0)  # 附单据数, stored with the entry
    return frame


def build_vouchers(ctx: BuildContext) -> Report:
    """记账凭证 print: one voucher per page, 大写 total, 制单/审核/记账/出纳 lines (``?voucher=`` for one)."""
    t = ctx.t
    names = account_names(ctx.conn, ctx.org.id)
    columns = (
        Column("memo", t("摘要", "Memo"), "text"),
        Column("account", t("会计科目", "Account"), "text"),
        Column("debit", t("借方金额", "Debit"), "amount"),
        Column("credit", t("贷方金额", "Credit"), "amount"),
    )
    tables = tuple(
        Table(voucher_frame(entry, names, ctx.lang), columns, caption=entry["voucher_no"])
        for entry in _entries(ctx)
    )
    if not tables:
        raise NotFound(f"{ctx.org.name} has no vouchers in {ctx.period.label()}", field="period")
    return Report(
        title=t("记账凭证", "Journal Voucher"),
        org_name=ctx.org.name,
        period=ctx.period.label(ctx.lang),
        tables=tables,
        chain_head=chain_head(ctx.conn, ctx.org.id, ctx.period.to_period),
        signatures=VOUCHER_SIGNATURES[ctx.lang],
        lang=ctx.lang,
        template="report_vouchers.html",
        **ctx.stamp(),
    )
