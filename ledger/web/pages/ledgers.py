"""明细账 in the browser: from a 科目余额表 row (the org page) to the account's ledger for the month, each
line opening its voucher. The figures are the ``ledger-detail`` report's
(``reports.builders.build_ledger_detail``, what the PDF prints), a page of ``PAGE_SIZE`` postings at a
time (``reports.builders.ledger_detail_page``): a busy account has tens of thousands of lines a month."""

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request
from starlette.responses import Response

from ledger.books import periods
from ledger.books.errors import ValidationError
from ledger.db.engine import read_tx
from ledger.http import EngineDep
from ledger.web.pages.common import WebUser, books_org, period_param, render, router, session_of
from reports.builders import ledger_detail_page
from reports.builders_base import BuildContext, parse_report_period
from reports.queries import PostingKey

PAGE_SIZE = 100  # postings a page
KEY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\.[0-9]{1,18}\.[0-9]{1,9}$"  # a posting: its date, chain seq and line


def _key(text: str, name: str) -> PostingKey | None:
    if not text:
        return None
    day, seq, line_no = text.split(".")
    try:
        return (date.fromisoformat(day), int(seq), int(line_no))
    except ValueError:
        raise ValidationError(f"{text} is no posting's place in the book", field=name) from None


def _key_text(key: PostingKey) -> str:
    return f"{key[0].isoformat()}.{key[1]}.{key[2]}"


@router.get("/web/orgs/{org_id}/ledger")
def ledger_detail(
    request: Request,
    org_id: int,
    user: WebUser,
    engine: EngineDep,
    account: Annotated[str, Query(max_length=32, pattern=r"^[0-9]+$")],
    period: str | None = None,
    after: Annotated[str, Query(max_length=40, pattern=KEY)] = "",
    before: Annotated[str, Query(max_length=40, pattern=KEY)] = "",
) -> Response:
    """明细账 of ``account`` (its sub-accounts included) for the month: 期初, each posting with the balance
    after it, 本月合计 and 本年累计; each voucher number opens its voucher. A page of 100 postings, the next
    one after the last posting shown (``after``), the previous one before the first (``before``)."""
    org = books_org(user, engine, org_id)
    shown = period_param(period, engine, org_id)
    lang = session_of(request).lang
    with read_tx(engine) as conn:
        ctx = BuildContext(conn, org, parse_report_period(shown, None, None), lang, {"account": account})
        page = ledger_detail_page(
            ctx, account, after=_key(after, "after"), before=_key(before, "before"), limit=PAGE_SIZE
        )
    here = f"/web/orgs/{org_id}/ledger?"
    return render(
        request,
        "ledger_detail.html",
        user=user,
        org=org,
        period=shown,
        previous=periods.previous_period(shown),
        following=periods.next_period(shown),
        account=account,
        caption=page.caption,
        rows=page.rows,
        prev_url=here + urlencode({"account": account, "period": shown, "before": _key_text(page.first_key)})
        if page.first_key
        else None,
        next_url=here + urlencode({"account": account, "period": shown, "after": _key_text(page.next_key)})
        if page.next_key
        else None,
    )
