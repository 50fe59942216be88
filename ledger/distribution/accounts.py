"""The accounts of year-end close and distribution, per standard (see the package docstring).

Only codes live here, with the sub-accounts opened on first use. A sub-account cannot be opened under an
account that already has postings, so ``ensure_for`` runs before anything of this package posts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from ledger.books.orgs import ensure_sub_account, get_org, require_books


@dataclass(frozen=True)
class Chart:
    """Where each part of the year-end lands in one standard's chart."""

    current_year: str  # 321 本年收益 / 3103 本年利润
    undistributed: str  # 32202 未分配收益 / 310404 未分配利润
    distributions: dict[str, str]  # step kind -> the 分配 sub-account debited
    credits: dict[str, str]  # step kind -> the account credited
    other_transfers: str | None  # 32203 其他转入 (collective only)
    bank: str
    receivable: str
    vat_payable: str
    vat_income: str  # where exempted VAT goes: 5301 营业外收入 / 504 其他收入
    sales_accounts: tuple[str, ...]  # revenue prefixes counted as sales for the VAT threshold
    sub_accounts: tuple[tuple[str, str, str], ...]  # (parent, code, name)


SMALL_ENTERPRISE = Chart(
    current_year="3103",
    undistributed="310404",
    distributions={
        "statutory_reserve": "310401",
        "discretionary_reserve": "310402",
        "shareholders": "310403",
    },
    credits={
        "statutory_reserve": "310101",
        "discretionary_reserve": "310102",
        "shareholders": "2232",
    },
    other_transfers=None,
    bank="1002",
    receivable="1122",
    vat_payable="222101",
    vat_income="5301",
    sales_accounts=("5001", "5051"),
    sub_accounts=(
        ("3104", "310401", "提取法定盈余公积"),
        ("3104", "310402", "提取任意盈余公积"),
        ("3104", "310403", "应付利润"),
        ("3104", "310404", "未分配利润"),
        ("3101", "310101", "法定盈余公积"),
        ("3101", "310102", "任意盈余公积"),
    ),
)

COLLECTIVE = Chart(
    current_year="321",
    undistributed="32202",
    distributions={
        "public_reserve": "32201",
        "welfare_post_earmark": "32201",
        "facility_earmark": "32201",
        "members": "32201",
    },
    credits={
        "public_reserve": "31101",
        "welfare_post_earmark": "31102",
        "facility_earmark": "31103",
        "members": "21102",
    },
    other_transfers="32203",
    bank="102",
    receivable="112",
    vat_payable="214",
    vat_income="504",
    sales_accounts=("501",),
    sub_accounts=(
        ("322", "32201", "各项分配"),
        ("322", "32202", "未分配收益"),
        ("322", "32203", "其他转入"),
        ("311", "31101", "公积金"),
        ("311", "31102", "公益性岗位"),
        ("311", "31103", "公益设施"),
        ("211", "21102", "应付收益分配"),
    ),
)

CHARTS = {"small_enterprise": SMALL_ENTERPRISE, "collective": COLLECTIVE}


def chart_for(conn: Connection, org_id: int) -> Chart:
    return CHARTS[require_books(get_org(conn, org_id))]


def ensure_for(conn: Connection, org_id: int) -> Chart:
    """Open this package's sub-accounts in the org's chart (those it has not yet) and return the chart."""
    chart = chart_for(conn, org_id)
    for parent, code, name in chart.sub_accounts:
        ensure_sub_account(conn, org_id, parent, code, name)
    return chart
