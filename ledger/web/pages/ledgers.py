"""明细账 in the browser: from a 科目余额表 row (the org page) to the account's ledger for the month, each
line opening its voucher. The figures are the ``ledger-detail`` report's
(``reports.builders.build_ledger_detail``): the page shows the same book the PDF prints, with links."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from starlette.responses import Response

from ledger.books import periods
from ledger.db.engine import read_tx
from ledger.http import EngineDep
from ledger.web.pages.common import WebUser, books_org, period_param, render, router, session_of
from reports.builders_base import parse_report_period
from reports.registry import build_report


def _figure(value: Any) -> int | None:
    """A frame's nullable integer (pandas ``Int64``: NA for an empty cell) as an int or None."""
    try:
        return None if value is None or value != value else int(value)  # NA != NA
    except TypeError:  # pandas.NA refuses comparison
        return None


@router.get("/web/orgs/{org_id}/ledger")
def ledger_detail(
    request: Request,
    org_id: int,
    user: WebUser,
    engine: EngineDep,
    account: Annotated[str, Query(max_length=32, pattern=r"^[0-9]+$")],
    period: str | None = None,
) -> Response:
    """明细账 of ``account`` (its sub-accounts included) for the month: 期初, each posting with the balance
    after it, 本月合计 and 本年累计; each voucher number opens its voucher."""
    org = books_org(user, engine, org_id)
    shown = period_param(period, engine, org_id)
    lang = session_of(request).lang
    with read_tx(engine) as conn:
        report = build_report(
            conn,
            "ledger-detail",
            org_id,
            parse_report_period(shown, None, None),
            lang=lang,
            options={"account": account},
        )
    table = report.tables[0]
    rows = [
        {
            "date": r["date"],
            "voucher_no": r["voucher_no"],
            "memo": r["memo"],
            "debit": _figure(r["debit"]),
            "credit": _figure(r["credit"]),
            "side": r["side"],
            "balance": _figure(r["balance"]),
            "style": r["style"],
        }
        for r in table.frame.to_dict("records")
    ]
    return render(
        request,
        "ledger_detail.html",
        user=user,
        org=org,
        period=shown,
        previous=periods.previous_period(shown),
        following=periods.next_period(shown),
        account=account,
        caption=table.caption,
        rows=rows,
    )
