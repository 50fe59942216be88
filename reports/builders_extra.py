"""Builders of the reports people read beside the books: 财务公开榜, 六进 channel sales, and the workflow
reports (rent roll and arrears aging, brokerage income, public-welfare funds).

Each registers itself in ``reports.registry``. Figures come from the books (``reports.queries``,
``ledger.books.trial_balance``) or from the workflow's own service functions
(``ledger.community.leases.rentroll``, ``ledger.community.brokerage``,
``ledger.distribution.welfare_funds``); nothing here repeats their queries. Every chart is drawn from a
table the report also prints.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from ledger.books.errors import ValidationError
from ledger.books.periods import period_bounds
from ledger.books.trial_balance import trial_balance
from ledger.community import brokerage
from ledger.community.leases import rentroll
from ledger.community.leases.schedule import AGING_BUCKETS
from ledger.db.models import CHANNELS
from ledger.distribution.welfare_funds import funds_report
from reports.builders import rollup_chain_head
from reports.builders_base import BuildContext, ChartedReport, ReportPeriod
from reports.charts import bar_chart
from reports.queries import (
    ChannelSales,
    account_names,
    chain_head,
    channel_sales,
    monthly_movement,
    movement,
    orgs_below,
    sales_by_origin,
)
from reports.registry import ReportSpec, register
from reports.report import Column, Report, Table, Total

if TYPE_CHECKING:
    import pandas as pd


CHANNEL_NAMES = {
    "zh": {
        "counter": "门店零售",
        "agency": "进机关",
        "school": "进校园",
        "enterprise": "进企业",
        "village": "进农村",
        "community": "进社区",
        "resettlement": "进安置点",
        None: "未标渠道",
    },
    "en": {
        "counter": "Counter",
        "agency": "Agencies",
        "school": "Schools",
        "enterprise": "Enterprises",
        "village": "Villages",
        "community": "Communities",
        "resettlement": "Resettlement sites",
        None: "No channel",
    },
}
MONEY_ACCOUNTS = {"collective": ("101", "102"), "small_enterprise": ("1001", "1002", "1012")}


def _int64(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    import pandas as pd

    for column in columns:
        frame[column] = pd.array(frame[column], dtype="Int64")
    return frame


def _month_label(period: str, lang: str) -> str:
    return f"{int(period[5:])}月" if lang == "zh" else period


# --- 财务公开榜 ----------------------------------------------------------------------------------------


def _category(code: str, first_level: str) -> str:
    """The line a figure shows on: the second level (经营收入—租赁收入) or the first-level leaf."""
    return code[: len(first_level) + 2] if len(code) > len(first_level) else code


def build_disclosure(ctx: BuildContext) -> Report:
    """财务公开榜: the quarter's income and spending by category in large type, for the notice board.

    Income is the credit turnover of the income accounts and spending the debit turnover of the expense
    accounts (both net, closing entries left out), for the period and for the year to date; then the
    balance of the period and the money on hand (库存现金 + 银行存款) at its end. A chart shows the year's
    months; the same figures are in the tables.
    """
    import pandas as pd

    t, p, lang = ctx.t, ctx.period, ctx.lang
    names = account_names(ctx.conn, ctx.org.id)
    period_turnover = movement(ctx.conn, ctx.org.id, p.from_period, p.to_period, prefixes=("5",))
    ytd_turnover = movement(ctx.conn, ctx.org.id, p.year_start, p.to_period, prefixes=("5",))

    def by_category(turnover: dict[str, tuple[int, int]], account_class: str) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for code, (debit, credit) in turnover.items():
            account = names[code]
            if account.account_class != account_class:
                continue
            amount = credit - debit if account_class == "income" else debit - credit
            out[_category(code, account.first_level)] += amount
        return out

    tables = []
    totals: dict[str, int] = {}
    for account_class, caption in (
        ("income", t("一、收入", "I. Income")),
        ("expense", t("二、支出", "II. Spending")),
    ):
        now = by_category(period_turnover, account_class)
        ytd = by_category(ytd_turnover, account_class)
        codes = sorted(set(now) | set(ytd))
        total_label = (
            t("收入合计", "Total income") if account_class == "income" else t("支出合计", "Total spending")
        )
        frame = _int64(
            pd.DataFrame(
                {
                    "item": [names[c].full_name for c in codes] + [total_label],
                    "period": [now.get(c, 0) for c in codes] + [sum(now.values())],
                    "ytd": [ytd.get(c, 0) for c in codes] + [sum(ytd.values())],
                    "style": [""] * len(codes) + ["total"],
                }
            ),
            "period",
            "ytd",
        )
        totals[account_class] = sum(now.values())
        totals[account_class + "_ytd"] = sum(ytd.values())
        tables.append(
            Table(
                frame,
                (
                    Column("item", t("项目", "Item"), "label"),
                    Column("period", p.label(lang), "amount"),
                    Column("ytd", t("本年累计", "Year to date"), "amount"),
                ),
                caption=caption,
            )
        )
    money_codes = MONEY_ACCOUNTS[ctx.org.standard]
    money = sum(
        r.closing_fen for r in trial_balance(ctx.conn, ctx.org.id, p.to_period) if r.code in money_codes
    )
    summary = _int64(
        pd.DataFrame(
            {
                "item": [
                    t("本期收支结余", "Income less spending"),
                    t("期末货币资金（库存现金、银行存款）", "Cash and bank at the end"),
                ],
                "period": [totals["income"] - totals["expense"], money],
                "ytd": [totals["income_ytd"] - totals["expense_ytd"], None],
                "style": ["subtotal", "subtotal"],
            }
        ),
        "period",
        "ytd",
    )
    tables.append(
        Table(
            summary,
            (
                Column("item", t("项目", "Item"), "label"),
                Column("period", p.label(lang), "amount"),
                Column("ytd", t("本年累计", "Year to date"), "amount"),
            ),
            caption=t("三、结余", "III. Balance"),
        )
    )
    months = [f"{p.year:04d}-{m:02d}" for m in range(1, int(p.to_period[5:]) + 1)]
    monthly = monthly_movement(ctx.conn, ctx.org.id, months[0], months[-1], prefixes=("5",))
    income = [0] * len(months)
    spending = [0] * len(months)
    for (month, code), (debit, credit) in monthly.items():
        index = months.index(month)
        if names[code].account_class == "income":
            income[index] += credit - debit
        elif names[code].account_class == "expense":
            spending[index] += debit - credit
    chart = bar_chart(
        [_month_label(m, lang) for m in months],
        {t("收入", "Income"): income, t("支出", "Spending"): spending},
        caption=t(f"{p.year}年各月收入与支出", f"Income and spending by month, {p.year}"),
        lang=lang,
        size=(6.8, 2.0),
    )
    monthly_frame = _int64(
        pd.DataFrame(
            {
                "month": [_month_label(m, lang) for m in months] + [t("合计", "Total")],
                "income": [*income, sum(income)],
                "spending": [*spending, sum(spending)],
                "style": [""] * len(months) + ["total"],
            }
        ),
        "income",
        "spending",
    )
    tables.append(
        Table(
            monthly_frame,
            (
                Column("month", t("月份", "Month"), "text"),
                Column("income", t("收入", "Income"), "amount"),
                Column("spending", t("支出", "Spending"), "amount"),
            ),
            caption=t("四、本年各月收支", "IV. Income and spending by month"),
        )
    )
    return ChartedReport(
        title=t("财务公开榜", "Financial Disclosure"),
        org_name=ctx.org.name,
        period=p.label(lang),
        tables=tuple(tables),
        chain_head=chain_head(ctx.conn, ctx.org.id, ctx.period.to_period),
        totals=(
            Total(t("本期收入合计", "Income this period"), totals["income"]),
            Total(t("本期支出合计", "Spending this period"), totals["expense"]),
        ),
        signatures=(
            ("编制人", "审核人", "负责人", "村（居）务监督委员会")
            if lang == "zh"
            else ("Prepared by", "Reviewed by", "Approved by", "Supervisory committee")
        ),
        lang=lang,
        template="report_disclosure.html",
        charts=(chart,),
        **ctx.stamp(),
    )


register(
    ReportSpec(
        "disclosure",
        "财务公开榜",
        "Financial Disclosure",
        build_disclosure,
        standards=frozenset({"collective"}),
    )
)


# --- 六进 channel sales -------------------------------------------------------------------------------


def build_channel_sales(ctx: BuildContext) -> Report:
    """六进 sales: by month × channel, by store × channel (from the revenue lines' dimensions in the books),
    and by origin village (from the POS sale lines, net of tax), with the channel mix by month drawn."""
    import pandas as pd

    t, p, lang = ctx.t, ctx.period, ctx.lang
    rows = channel_sales(ctx.conn, ctx.org.id, p.from_period, p.to_period)
    present_channels = [c for c in (*CHANNELS, None) if any(r.channel == c for r in rows)] or list(
        CHANNELS[:1]
    )
    labels = CHANNEL_NAMES[lang]
    keys = [c or "none" for c in present_channels]

    def pivot(
        row_keys: list[str],
        row_labels: list[str],
        key_of: Callable[[ChannelSales], str],
        first_header: str,
        caption: str,
    ) -> Table:
        cells: dict[tuple[str, str], int] = defaultdict(int)
        for r in rows:
            cells[(key_of(r), r.channel or "none")] += r.net_fen
        data: dict[str, list[Any]] = {"item": [*row_labels, t("合计", "Total")]}
        for key in keys:
            column = [cells[(rk, key)] for rk in row_keys]
            data[key] = [*column, sum(column)]
        data["total"] = [sum(cells[(rk, k)] for k in keys) for rk in row_keys]
        data["total"].append(sum(data["total"]))
        data["style"] = [""] * len(row_keys) + ["total"]
        frame = _int64(pd.DataFrame(data), *keys, "total")
        return Table(
            frame,
            (
                Column("item", first_header, "label"),
                *(Column(k, labels[c], "amount") for k, c in zip(keys, present_channels, strict=True)),
                Column("total", t("合计", "Total"), "amount"),
            ),
            caption=caption,
        )

    months = p.months
    by_month = pivot(
        months,
        [_month_label(m, lang) if p.from_period[:4] == p.to_period[:4] else m for m in months],
        lambda r: r.period,
        t("月份", "Month"),
        t("一、按月份、渠道", "I. By month and channel"),
    )
    stores = sorted({(r.store_id or 0, r.store_name or t("未标门店", "No store")) for r in rows})
    by_store = pivot(
        [str(s) for s, _ in stores],
        [name for _, name in stores],
        lambda r: str(r.store_id or 0),
        t("门店", "Store"),
        t("二、按门店、渠道", "II. By store and channel"),
    )
    first_day, last_day = period_bounds(p.from_period)[0], period_bounds(p.to_period)[1]
    origins = sales_by_origin(ctx.conn, ctx.org.id, first_day, last_day)
    origin_frame = _int64(
        pd.DataFrame(
            {
                "origin": [name or t("其他来源", "Other sources") for name, _ in origins]
                + [t("合计", "Total")],
                "net": [fen for _, fen in origins] + [sum(fen for _, fen in origins)],
                "style": [""] * len(origins) + ["total"],
            }
        ),
        "net",
    )
    by_origin = Table(
        origin_frame,
        (
            Column("origin", t("产地（供货村）", "Origin village"), "label"),
            Column("net", t("不含税销售额", "Net sales"), "amount"),
        ),
        caption=t("三、按产地（收银系统，不含税）", "III. By origin village (POS, net of tax)"),
    )
    month_totals = by_month.frame
    chart = bar_chart(
        [_month_label(m, lang) for m in months],
        {
            labels[c]: [int(v) for v in month_totals[k].iloc[:-1]]
            for k, c in zip(keys, present_channels, strict=True)
        },
        caption=t("六进渠道销售构成（按月）", "Channel mix by month"),
        lang=lang,
        stacked=True,
    )
    total = int(by_month.frame["total"].iloc[-1])
    return ChartedReport(
        title=t("六进渠道销售统计表", "Sales by Channel (六进)"),
        org_name=ctx.org.name,
        period=p.label(lang),
        tables=(by_month, by_store, by_origin),
        chain_head=chain_head(ctx.conn, ctx.org.id, ctx.period.to_period),
        totals=(Total(t("销售收入合计", "Total sales revenue"), total),),
        lang=lang,
        template="report_charted.html",
        charts=(chart,),
        **ctx.stamp(),
    )


register(
    ReportSpec(
        "channel-sales",
        "六进渠道销售统计表",
        "Sales by Channel",
        build_channel_sales,
        standards=frozenset({"small_enterprise"}),
    )
)


# --- workflow reports ------------------------------------------------------------------------------------


def _year_to_date(ctx: BuildContext) -> str:
    return ReportPeriod(ctx.period.year_start, ctx.period.to_period).label(ctx.lang)


def _as_of(ctx: BuildContext) -> date:
    return period_bounds(ctx.period.to_period)[1]


BUCKET_NAMES = {
    "zh": {
        "current": "未到期",
        "0-30": "逾期30天以内",
        "31-90": "31–90天",
        "91-180": "91–180天",
        ">180": "180天以上",
    },
    "en": {
        "current": "Not yet due",
        "0-30": "0–30 days",
        "31-90": "31–90 days",
        "91-180": "91–180 days",
        ">180": "Over 180 days",
    },
}


def build_rent_roll(ctx: BuildContext) -> Report:
    """租金台账: every lease contract, its rent this month, billed, received, and what is owed (欠租) or paid
    ahead (预收) — in two columns, so a tenant's credit never nets against another's arrears."""
    import pandas as pd

    t = ctx.t
    rows = rentroll.rent_roll(ctx.conn, [ctx.org.id], _as_of(ctx))
    totals = rentroll.roll_totals(rows)
    frame = _int64(
        pd.DataFrame(
            {
                "code": [r.code for r in rows] + [""],
                "lessee": [r.lessee for r in rows] + [t("合计", "Total")],
                "term": [f"{r.start.isoformat()} – {(r.terminated_on or r.end).isoformat()}" for r in rows]
                + [""],
                "monthly": [r.monthly_rent_fen for r in rows] + [sum(r.monthly_rent_fen for r in rows)],
                "billed": [r.billed_fen for r in rows] + [sum(r.billed_fen for r in rows)],
                "received": [r.received_fen for r in rows] + [sum(r.received_fen for r in rows)],
                "arrears": [r.arrears_fen for r in rows] + [totals["outstanding"]],
                "prepaid": [r.prepaid_fen for r in rows] + [totals["prepaid"]],
                "style": [""] * len(rows) + ["total"],
            }
        ),
        "monthly",
        "billed",
        "received",
        "arrears",
        "prepaid",
    )
    return Report(
        title=t("租金台账", "Rent Roll"),
        org_name=ctx.org.name,
        period=ctx.period.as_of_label(ctx.lang),
        tables=(
            Table(
                frame,
                (
                    Column("code", t("合同号", "Contract"), "text"),
                    Column("lessee", t("承租人", "Lessee"), "label"),
                    Column("term", t("租期", "Term"), "text"),
                    Column("monthly", t("本月租金", "Rent this month"), "amount"),
                    Column("billed", t("累计应收", "Billed"), "amount"),
                    Column("received", t("累计已收", "Received"), "amount"),
                    Column("arrears", t("欠租", "Arrears"), "amount"),
                    Column("prepaid", t("预收租金", "Paid ahead"), "amount"),
                ),
            ),
        ),
        chain_head=chain_head(ctx.conn, ctx.org.id, ctx.period.to_period),
        totals=(
            Total(t("欠租合计", "Total arrears"), totals["outstanding"]),
            Total(t("预收租金合计", "Total paid ahead"), totals["prepaid"]),
        ),
        lang=ctx.lang,
        landscape=True,
        template="report_charted.html",
        **ctx.stamp(),
    )


def _arrears(
    ctx: BuildContext, org_names: dict[int, str], org_name: str, head: str, *, by_org: bool
) -> Report:
    """The aging table of the orgs in ``org_names`` (id → the name shown in the 单位 column)."""
    import pandas as pd

    t = ctx.t
    rows = [r for r in rentroll.rent_roll(ctx.conn, list(org_names), _as_of(ctx)) if any(r.aging.values())]
    totals = rentroll.aging_totals(rows)
    names = BUCKET_NAMES[ctx.lang]
    data: dict[str, list[Any]] = {
        "org": [org_names[r.org_id] for r in rows] + [""],
        "code": [r.code for r in rows] + [""],
        "lessee": [r.lessee for r in rows] + [t("合计", "Total")],
    }
    for bucket in AGING_BUCKETS:
        data[bucket] = [r.aging[bucket] for r in rows] + [totals[bucket]]
    data["open"] = [sum(r.aging.values()) for r in rows] + [sum(totals.values())]
    data["style"] = [""] * len(rows) + ["total"]
    frame = _int64(pd.DataFrame(data), *AGING_BUCKETS, "open")
    chart = bar_chart(
        [names[b] for b in AGING_BUCKETS],
        {t("未收租金", "Open rent"): [totals[b] for b in AGING_BUCKETS]},
        caption=t("欠租账龄分布", "Arrears by age"),
        lang=ctx.lang,
        size=(6.0, 2.2),
    )
    return ChartedReport(
        title=t("欠租账龄分析表", "Rent Arrears Aging"),
        org_name=org_name,
        period=ctx.period.as_of_label(ctx.lang),
        tables=(
            Table(
                frame,
                (
                    *((Column("org", t("单位", "Org"), "label"),) if by_org else ()),
                    Column("code", t("合同号", "Contract"), "text"),
                    Column("lessee", t("承租人", "Lessee"), "label"),
                    *(Column(b, names[b], "amount") for b in AGING_BUCKETS),
                    Column("open", t("未收合计", "Open"), "amount"),
                ),
            ),
        ),
        chain_head=head,
        totals=(Total(t("未收租金合计", "Total open rent"), int(frame["open"].iloc[-1])),),
        lang=ctx.lang,
        landscape=True,
        template="report_charted.html",
        charts=(chart,),
        **ctx.stamp(),
    )


def build_arrears(ctx: BuildContext) -> Report:
    """欠租账龄: open rent charges by contract and age of their due date, with the buckets drawn."""
    return _arrears(
        ctx,
        {ctx.org.id: ctx.org.name},
        ctx.org.name,
        chain_head(ctx.conn, ctx.org.id, ctx.period.to_period),
        by_org=False,
    )


def build_arrears_rollup(ctx: BuildContext, standard: str) -> Report:
    """A street's (or the county's) arrears: every collective's contracts below it, one table."""
    orgs = orgs_below(ctx.conn, ctx.org.id, standard="collective")
    if not orgs:
        raise ValidationError(f"no collective orgs under {ctx.org.name}", field="org")
    head = rollup_chain_head([(o.code, chain_head(ctx.conn, o.id, ctx.period.to_period)) for o in orgs])
    count = len(orgs)
    name = ctx.t(f"{ctx.org.name}（{count} 个单位汇总）", f"{ctx.org.name} ({count} orgs combined)")
    return _arrears(ctx, {o.id: o.name for o in orgs}, name, head, by_org=True)


register(
    ReportSpec("rent-roll", "租金台账", "Rent Roll", build_rent_roll, standards=frozenset({"collective"}))
)
register(
    ReportSpec(
        "arrears",
        "欠租账龄分析表",
        "Rent Arrears Aging",
        build_arrears,
        standards=frozenset({"collective"}),
        rollup=build_arrears_rollup,
    )
)


def build_brokerage(ctx: BuildContext) -> Report:
    """居间服务收入: 50103 by month from the books, and the fees still to collect (from the register)."""
    import pandas as pd

    t, p = ctx.t, ctx.period
    monthly = monthly_movement(ctx.conn, ctx.org.id, p.from_period, p.to_period, prefixes=("50103",))
    income = [sum(c - d for (m, _), (d, c) in monthly.items() if m == month) for month in p.months]
    by_month = _int64(
        pd.DataFrame(
            {
                "month": [_month_label(m, ctx.lang) for m in p.months] + [t("合计", "Total")],
                "income": [*income, sum(income)],
                "style": [""] * len(p.months) + ["total"],
            }
        ),
        "income",
    )
    open_deals = brokerage.outstanding(ctx.conn, [ctx.org.id], _as_of(ctx))
    deals = _int64(
        pd.DataFrame(
            {
                "earned_on": [d["earned_on"].isoformat() for d in open_deals] + [""],
                "client": [d["client"] for d in open_deals] + [t("合计", "Total")],
                "commission": [d["commission_fen"] for d in open_deals]
                + [sum(d["commission_fen"] for d in open_deals)],
                "received": [d["received_fen"] for d in open_deals]
                + [sum(d["received_fen"] for d in open_deals)],
                "outstanding": [d["outstanding_fen"] for d in open_deals]
                + [sum(d["outstanding_fen"] for d in open_deals)],
                "style": [""] * len(open_deals) + ["total"],
            }
        ),
        "commission",
        "received",
        "outstanding",
    )
    return Report(
        title=t("居间服务收入明细表", "Brokerage Income"),
        org_name=ctx.org.name,
        period=p.label(ctx.lang),
        tables=(
            Table(
                by_month,
                (
                    Column("month", t("月份", "Month"), "text"),
                    Column("income", t("居间服务收入", "Brokerage income"), "amount"),
                ),
                caption=t("一、各月收入（经营收入—居间服务收入）", "I. Income by month (50103)"),
            ),
            Table(
                deals,
                (
                    Column("earned_on", t("成交日期", "Earned on"), "text"),
                    Column("client", t("委托方", "Client"), "label"),
                    Column("commission", t("佣金", "Commission"), "amount"),
                    Column("received", t("已收", "Received"), "amount"),
                    Column("outstanding", t("未收", "Outstanding"), "amount"),
                ),
                caption=t("二、尚未收齐的佣金", "II. Fees still to collect"),
            ),
        ),
        chain_head=chain_head(ctx.conn, ctx.org.id, ctx.period.to_period),
        totals=(Total(t("居间服务收入合计", "Total brokerage income"), sum(income)),),
        lang=ctx.lang,
        template="report_charted.html",
        **ctx.stamp(),
    )


register(
    ReportSpec(
        "brokerage",
        "居间服务收入明细表",
        "Brokerage Income",
        build_brokerage,
        standards=frozenset({"collective"}),
    )
)


def build_welfare_funds(ctx: BuildContext) -> Report:
    """公益金使用情况: the 公益性岗位 and 公益设施 earmarks of each distribution year (提取, 已使用,
    结余), each post's stipends, payments and earmark funding in the year, and the facilities' spending,
    all from ``ledger.distribution.welfare_funds.funds_report``; the chart draws the earmark table."""
    import pandas as pd

    t, year = ctx.t, ctx.period.year
    funds = funds_report(ctx.conn, ctx.org.id, year, ctx.period.to_period)
    kinds = {
        "post": t("公益性岗位", "Public-welfare posts"),
        "facility": t("公益设施", "Public facilities"),
    }
    marks = [e for e in funds.earmarks if e.earmarked_fen or e.applied_fen]
    earmarks = _int64(
        pd.DataFrame(
            {
                "year": [str(e.year) for e in marks] + [""],
                "kind": [kinds[e.kind] for e in marks] + [t("合计", "Total")],
                "earmarked": [e.earmarked_fen for e in marks] + [sum(e.earmarked_fen for e in marks)],
                "applied": [e.applied_fen for e in marks] + [sum(e.applied_fen for e in marks)],
                "remaining": [e.remaining_fen for e in marks] + [sum(e.remaining_fen for e in marks)],
                "style": [""] * len(marks) + ["total"],
            }
        ),
        "earmarked",
        "applied",
        "remaining",
    )
    posts = _int64(
        pd.DataFrame(
            {
                "post": [f"{p.post}（{p.holder}）" for p in funds.posts] + [t("合计", "Total")],
                "stipends": [p.stipends_fen for p in funds.posts]
                + [sum(p.stipends_fen for p in funds.posts)],
                "paid": [p.paid_fen for p in funds.posts] + [sum(p.paid_fen for p in funds.posts)],
                "funded": [p.funded_fen for p in funds.posts] + [sum(p.funded_fen for p in funds.posts)],
                "style": [""] * len(funds.posts) + ["total"],
            }
        ),
        "stipends",
        "paid",
        "funded",
    )
    facilities = _int64(
        pd.DataFrame(
            {
                "item": [t("公益设施支出", "Facility spending")],
                "spent": [funds.facilities_spent_fen],
                "funded": [funds.facilities_funded_fen],
                "style": [""],
            }
        ),
        "spent",
        "funded",
    )
    chart = bar_chart(
        list(kinds.values()),
        {
            t("累计提取", "Earmarked"): [sum(e.earmarked_fen for e in marks if e.kind == k) for k in kinds],
            t("累计使用", "Applied"): [sum(e.applied_fen for e in marks if e.kind == k) for k in kinds],
        },
        caption=t("公益金提取与使用", "Welfare funds: earmarked vs applied"),
        lang=ctx.lang,
        size=(5.5, 2.2),
    )
    return ChartedReport(
        title=t("公益金使用情况表", "Public-Welfare Funds"),
        org_name=ctx.org.name,
        period=_year_to_date(ctx),
        tables=(
            Table(
                earmarks,
                (
                    Column("year", t("提取年度", "Earmark year"), "text"),
                    Column("kind", t("项目", "Fund"), "label"),
                    Column("earmarked", t("提取", "Earmarked"), "amount"),
                    Column("applied", t("已使用", "Applied"), "amount"),
                    Column("remaining", t("结余", "Remaining"), "amount"),
                ),
                caption=t("一、专款提取与使用（收益分配）", "I. Earmarks from the distribution"),
            ),
            Table(
                posts,
                (
                    Column("post", t("岗位（在岗人员）", "Post (holder)"), "label"),
                    Column("stipends", t("本年补贴", "Stipends"), "amount"),
                    Column("paid", t("本年实发", "Paid"), "amount"),
                    Column("funded", t("专款列支", "From earmarks"), "amount"),
                ),
                caption=t("二、公益性岗位", "II. Public-welfare posts"),
            ),
            Table(
                facilities,
                (
                    Column("item", t("项目", "Item"), "label"),
                    Column("spent", t("本年支出", "Spent"), "amount"),
                    Column("funded", t("专款列支", "From earmarks"), "amount"),
                ),
                caption=t("三、公益设施", "III. Public facilities"),
            ),
        ),
        chain_head=chain_head(ctx.conn, ctx.org.id, ctx.period.to_period),
        totals=(Total(t("专款结余", "Earmarks remaining"), int(earmarks["remaining"].iloc[-1])),),
        lang=ctx.lang,
        template="report_charted.html",
        charts=(chart,),
        **ctx.stamp(),
    )


register(
    ReportSpec(
        "welfare-funds",
        "公益金使用情况表",
        "Public-Welfare Funds",
        build_welfare_funds,
        standards=frozenset({"collective"}),
    )
)
