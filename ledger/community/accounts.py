"""The conventional sub-accounts of a collective's own business (DESIGN §5b), opened on first use.

Only codes live here; postings say ``LEASE_INCOME`` rather than ``"50102"`` so that a reader sees the
account's meaning, and every workflow opens its sub-accounts the same way.
"""

from __future__ import annotations

from sqlalchemy import Connection

from ledger.books.orgs import ensure_sub_account

RECEIVABLE = "112"  # 应收款
BANK = "102"  # 银行存款
CASH = "101"  # 库存现金
LEASE_INCOME = "50102"  # 经营收入—租赁收入
BROKERAGE_INCOME = "50103"  # 经营收入—居间服务收入
INVESTMENT_INCOME = "502"  # 投资收益
SUBSIDY_INCOME = "503"  # 补助收入 (a leaf: the source is kept in the subsidy register)
TAX_PAYABLE = "214"  # 应交税费
DEPOSITS = "21101"  # 应付款—押金
WAGES_PAYABLE = "212"  # 应付工资
WELFARE_POSTS = "51401"  # 公益支出—公益性岗位
WELFARE_FACILITIES = "51402"  # 公益支出—公益设施
LONG_TERM_INVESTMENT = "141"  # 长期投资

CASH_ACCOUNTS = (BANK, CASH)

_SUB_ACCOUNTS = {
    LEASE_INCOME: ("501", "租赁收入"),
    BROKERAGE_INCOME: ("501", "居间服务收入"),
    DEPOSITS: ("211", "押金"),
    WELFARE_POSTS: ("514", "公益性岗位"),
    WELFARE_FACILITIES: ("514", "公益设施"),
}


def ensure(conn: Connection, org_id: int, *codes: str) -> None:
    """Open the conventional sub-accounts ``codes`` in the org's chart if it does not have them yet."""
    for code in codes:
        if code in _SUB_ACCOUNTS:
            parent, name = _SUB_ACCOUNTS[code]
            ensure_sub_account(conn, org_id, parent, code, name)
