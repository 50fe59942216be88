"""The report registry: every downloadable report by its stable ASCII name.

``REPORTS[name]`` says what builds the report for one org, which standards it applies to, and what builds
its street or county roll-up (if it has one). The API and the CLI accept only these names, so a name is
never a path. ``build_report`` is the one entry point both use:

    build_report(conn, "income-statement", org_id, ReportPeriod("2025-01", "2025-12"), lang="zh")

Names: ``trial-balance`` 科目余额表; ``balance-sheet`` 资产负债表; ``income-statement`` the standard's income
statement (收益及收益分配表 for a collective, 利润表 会小企02表 for a company: one name, so a roll-up asks for
``income-statement?standard=…`` whatever the standard); ``ledger-detail`` 明细账 (``account=``);
``cash-journal`` 现金日记账; ``bank-journal`` 银行日记账; ``vouchers`` 记账凭证 print (``voucher=`` for one);
``disclosure`` 财务公开榜; ``channel-sales`` 六进 sales; and from the community's sub-ledgers
``rent-roll`` 租金台账, ``arrears`` 欠租账龄 (with a street roll-up), ``brokerage`` 居间服务收入 and
``welfare-funds`` 公益金 (all registered by ``reports.builders_extra``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ledger.books import checkpoints
from ledger.books.errors import NotFound, ValidationError
from ledger.books.orgs import get_org
from reports import builders
from reports.builders_base import BuildContext, ReportPeriod
from reports.queries import orgs_below
from reports.report import Lang, Report

STANDARDS = ("collective", "small_enterprise")
ROLLUP_KINDS = ("street", "county")

Builder = Callable[[BuildContext], Report]
RollupBuilder = Callable[[BuildContext, str], Report]


@dataclass(frozen=True)
class ReportSpec:
    """One downloadable report: how to build it, for which books, and its roll-up if it has one."""

    name: str
    title: str
    title_en: str
    build: Builder
    standards: frozenset[str] = frozenset(STANDARDS)
    rollup: RollupBuilder | None = None
    options: tuple[str, ...] = ()  # query parameters it reads besides the period

    def file_title(self, standard: str | None, lang: Lang) -> str:
        if self.name == "income-statement" and standard == "small_enterprise":
            return "利润表" if lang == "zh" else "Income Statement"
        return self.title_en if lang == "en" else self.title


REPORTS: dict[str, ReportSpec] = {}


def register(spec: ReportSpec) -> ReportSpec:
    if spec.name in REPORTS:
        raise ValueError(f"report {spec.name!r} is registered twice")
    REPORTS[spec.name] = spec
    return spec


def _statement_rollup(name: str) -> RollupBuilder:
    return lambda ctx, standard: builders.build_statement_rollup(ctx, name, standard)


register(
    ReportSpec(
        "trial-balance", "科目余额表", "Trial Balance", builders.build_trial_balance,
        rollup=builders.build_trial_balance_rollup,
    )
)  # fmt: skip
register(
    ReportSpec(
        "balance-sheet", "资产负债表", "Balance Sheet", builders.build_balance_sheet,
        rollup=_statement_rollup("balance-sheet"),
    )
)  # fmt: skip
register(
    ReportSpec(
        "income-statement", "收益及收益分配表", "Income Statement", builders.build_income_statement,
        rollup=_statement_rollup("income-statement"),
    )
)  # fmt: skip
register(
    ReportSpec(
        "ledger-detail", "明细账", "Account Ledger", builders.build_ledger_detail, options=("account",)
    )
)
register(
    ReportSpec(
        "cash-journal", "现金日记账", "Cash Journal", builders.build_cash_journal, options=("account",)
    )
)
register(
    ReportSpec(
        "bank-journal", "银行日记账", "Bank Journal", builders.build_bank_journal, options=("account",)
    )
)
register(
    ReportSpec("vouchers", "记账凭证", "Journal Vouchers", builders.build_vouchers, options=("voucher",))
)


def _register_extra() -> None:
    # Imported here, not at the top: these modules register themselves and import this one.
    from reports import builders_extra  # noqa: F401


def spec_for(name: str) -> ReportSpec:
    """The registered report, or 404 listing the names (a name is a registry key, never a path)."""
    spec = REPORTS.get(name)
    if spec is None:
        raise NotFound(f"no report {name!r}; reports: {', '.join(sorted(REPORTS))}", field="name")
    return spec


def build_report(
    conn: Connection,
    name: str,
    org_id: int,
    period: ReportPeriod,
    *,
    lang: Lang = "zh",
    options: Mapping[str, str] | None = None,
    standard: str | None = None,
    generated_at: datetime | None = None,
) -> Report:
    """Build a report for one org, or the roll-up of a street or the county (``standard`` required)."""
    spec = spec_for(name)
    org = get_org(conn, org_id)
    ctx = BuildContext(conn, org, period, lang, dict(options or {}), generated_at)
    if org.kind in ROLLUP_KINDS:
        if standard is None and len(spec.standards) == 1:
            [standard] = spec.standards  # a report of one standard's books needs no choosing
        if spec.rollup is None:
            raise ValidationError(f"{spec.title} is per org; {org.name} is a {org.kind}", field="name")
        if standard not in STANDARDS:
            raise ValidationError(
                "a roll-up sums one standard: give ?standard=collective or ?standard=small_enterprise"
                " (the two are never mixed)",
                field="standard",
            )
        if standard not in spec.standards:
            raise ValidationError(f"{spec.title} is not kept by {standard} books", field="standard")
        return _with_checkpoints(conn, spec.rollup(ctx, standard), org_id, standard, period)
    if standard is not None and standard != org.standard:
        raise ValidationError(f"{org.name} keeps {org.standard} books, not {standard}", field="standard")
    if org.standard not in spec.standards:
        raise ValidationError(f"{spec.title} is not kept by {org.standard} books", field="name")
    report = spec.build(ctx)
    code = checkpoints.current_code(conn, org_id, period.to_period)
    return replace(report, checkpoint=code) if code else report


def _with_checkpoints(
    conn: Connection, report: Report, org_id: int, standard: str, period: ReportPeriod
) -> Report:
    """A roll-up carries every org's checkpoint code of the period it ends in — only when every org in it
    is closed and signed for that month: a sum over an open org's books is sealed by nobody."""
    sealed = []
    for org in orgs_below(conn, org_id, standard=standard):
        code = checkpoints.current_code(conn, org.id, period.to_period)
        if code is None:
            return report
        sealed.append((org.code, code))
    return replace(report, checkpoints=tuple(sealed))


_register_extra()


def reports_for(org: Any) -> list[ReportSpec]:
    """The reports an org can print: a roll-up org (street, county) the roll-ups, a book-keeping org those of
    its standard."""
    rollup = org.kind in ROLLUP_KINDS
    return [
        spec
        for spec in REPORTS.values()
        if (spec.rollup is not None if rollup else org.standard in spec.standards)
    ]
