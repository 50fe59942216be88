"""Leases: the rent roll, the accrual run and rent received (ledger.community)."""

import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from types import SimpleNamespace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Request
from sqlalchemy import Connection, Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ledger.access.auth import Principal
from ledger.access.service import carry_out
from ledger.books import county_time, periods
from ledger.books.errors import LedgerError, ValidationError
from ledger.books.journal import latest_period
from ledger.books.money import format_money, format_quantity, parse_amount
from ledger.books.orgs import get_org
from ledger.community import assets as lease_assets
from ledger.community import services as community_services
from ledger.community.leases import contracts as leases
from ledger.community.leases import rentroll
from ledger.community.leases.schedule import AGING_BUCKETS
from ledger.db.engine import read_tx
from ledger.http import EngineDep, client_addr
from ledger.params import day_range_params
from ledger.web.i18n import N_
from ledger.web.pages.common import (
    LOCALES,
    FormKey,
    FormRefused,
    WebUser,
    carry,
    current_period,
    default_day,
    first_open_period,
    flash,
    refused,
    render,
    router,
    session_of,
)

LEASE_REPORTS = (("rent-roll", N_("pdf_rent_roll"), False), ("arrears", N_("pdf_arrears"), True))
RECEIPT_TOKEN_RE = r"^[A-Za-z0-9_-]{16,64}$"
EXPIRING_DAYS = 90  # the rent page lists contracts ending within this many days, as the API's default
# Which form field a service's error names, for the message beside the field.
RECEIPT_FIELDS = {
    "amount": "amount",
    "amount_fen": "amount",
    "date": "date",
    "received_on": "date",
    "entry_date": "date",
    "period": "date",
    "lessee": "lessee",
    "lessee_id": "lessee",
}


def _collective_scope(
    conn: Any, user: Principal, org_id: int, *, write: bool = False
) -> tuple[Any, list[int]]:
    """The org and the collective orgs its rent page covers: itself (a community or village), or those of
    its street (or the county) that the user may see — as the API's rent roll and accrual run. 404 outside
    the user's scope and for a company (it keeps no collective books); 403 for a write without rights."""
    org = user.require_org(conn, org_id, write=write)
    if org.standard != "collective" and org.kind not in ("street", "county"):
        raise StarletteHTTPException(404)
    return org, leases.collective_orgs_for(conn, user, org_id, write=write)


def _back_to_leases(org_id: int, as_of: str) -> str:
    """The rent page again, on the day it showed (the form's hidden ``as_of``; dropped unless a date)."""
    try:
        day = periods.parse_date(as_of, "as_of") if as_of else None
    except ValidationError:
        day = None
    return f"/web/orgs/{org_id}/leases" + (f"?{urlencode({'as_of': day.isoformat()})}" if day else "")


def _lease_row(r: rentroll.RentRollRow, names: dict[int, str]) -> dict[str, Any]:
    return {
        "org_id": r.org_id,
        "org": names[r.org_id],
        "code": r.code,
        "lessee": r.lessee,
        "start": r.start.isoformat(),
        "end": r.end.isoformat(),
        "terminated_on": r.terminated_on.isoformat() if r.terminated_on else None,
        "monthly_rent": r.monthly_rent_fen,
        "billed": r.billed_fen,
        "received": r.received_fen,
        "outstanding": r.outstanding_fen,
        "aging": r.aging,
    }


def _open_lessees(rows: Iterable[rentroll.RentRollRow], as_of: date) -> list[str]:
    """Lessees a receipt can come from: a contract still running on ``as_of``, or rent still owed."""
    return sorted(
        {r.lessee for r in rows if r.outstanding_fen > 0 or min(r.end, r.terminated_on or r.end) >= as_of}
    )


def _leases_page(
    request: Request,
    user: Principal,
    engine: Engine,
    org_id: int,
    as_of_text: str | None,
    *,
    error: FormRefused | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    as_of = periods.parse_date(as_of_text, "as_of") if as_of_text else None
    with read_tx(engine) as conn:
        org, org_ids = _collective_scope(conn, user, org_id)
        day_range_params(conn, org_id, as_of, None, from_field="as_of")  # in the org's years (ledger.params)
        if as_of is None:  # today, or the end of the last month the books were kept in if that is earlier
            latest = latest_period(conn, org_ids, not_after=current_period())
            as_of = (
                min(county_time.today(), periods.period_bounds(latest)[1]) if latest else county_time.today()
            )
        names = {i: get_org(conn, i).name for i in org_ids}
        rows = rentroll.rent_roll(conn, org_ids, as_of)
        # The forms start in the month shown when it is open, else in the first open month (the earliest
        # of the orgs the page covers): never in a closed month, where they could post nothing.
        closed = [c for c in (periods.closed_through(conn, i) for i in org_ids) if c is not None]
        shown_open = not closed or f"{as_of:%Y-%m}" > min(closed)
        work_period = (
            f"{as_of:%Y-%m}"
            if shown_open
            else min((first_open_period(conn, i) for i in org_ids), default=current_period())
        )
        idle = lease_assets.list_assets(conn, org_ids, status="idle")
    period = f"{as_of:%Y-%m}"
    reports = [
        {"org_id": i, "name": names[i], "links": [(name, key) for name, key, _rollup in LEASE_REPORTS]}
        for i in org_ids
    ]
    if org.standard is None:
        reports.insert(
            0,
            {
                "org_id": org.id,
                "name": org.name,
                "links": [(n, k) for n, k, rollup in LEASE_REPORTS if rollup],
            },
        )
    is_collective = org.standard == "collective"
    return render(
        request,
        "leases.html",
        error.status_code if error else 200,
        user=user,
        org=org,
        as_of=as_of.isoformat(),
        period=period,
        by_org=not is_collective,
        rows=[_lease_row(r, names) for r in rows],
        totals=rentroll.roll_totals(rows),
        buckets=AGING_BUCKETS,
        aging=rentroll.aging_totals(rows),
        horizon_days=EXPIRING_DAYS,
        expiring=[_lease_row(r, names) for r in rentroll.expiring(rows, as_of, EXPIRING_DAYS)],
        idle=[
            {
                "org": a["org_name"],
                "kind": a["kind"],
                "name": a["name"],
                "location": a["location"],
                "area": format_quantity(a["area_milli_m2"]),
            }
            for a in idle
        ],
        reports=reports,
        can_write=user.role in ("admin", "officer"),
        takes_receipts=is_collective,
        lessees=_open_lessees(rows, as_of) if is_collective else [],
        error=error.view() if error else None,
        work_period=work_period,
        form={
            "lessee": "",
            "amount": "",
            "date": (as_of if shown_open else default_day(work_period)).isoformat(),
            "through": work_period,
            "token": uuid.uuid4().hex,
            **(form or {}),
        },
    )


@router.get("/web/orgs/{org_id}/leases")
def leases_page(
    request: Request, org_id: int, user: WebUser, engine: EngineDep, as_of: str | None = None
) -> Response:
    """租金: the rent roll with its aging, contracts expiring soon, idle assets, and (for an officer) the
    accrual run and the rent-received form."""
    return _leases_page(request, user, engine, org_id, as_of)


@router.post("/web/orgs/{org_id}/leases/accrue")
def accrue_leases_form(
    request: Request,
    org_id: int,
    user: WebUser,
    engine: EngineDep,
    through: Annotated[str, Form(max_length=40)],
    as_of: Annotated[str, Form(max_length=10)] = "",
    form_key: FormKey = None,
) -> Response:
    """The accrual run (租金计提) of the org or of its street's collective orgs, as ``POST …/leases/accrue``
    of the API: every contract-month through ``through`` not charged yet; a rerun posts nothing."""
    try:
        return _accrue(request, org_id, user, engine, through, as_of, form_key)
    except LedgerError as exc:
        error = refused(request, exc, "accrue", {"through": "through", "period": "through"})
        return _leases_page(
            request, user, engine, org_id, _as_of_or_none(as_of), error=error, form={"through": through}
        )


def _as_of_or_none(as_of: str) -> str | None:
    try:
        return periods.parse_date(as_of, "as_of").isoformat() if as_of else None
    except ValidationError:
        return None


def _accrue(
    request: Request,
    org_id: int,
    user: Principal,
    engine: Engine,
    through: str,
    as_of: str,
    form_key: str | None,
) -> Response:
    service = community_services.accrue(user, org_id, through)  # the API's and the CLI's accrual run

    def scope(conn: Connection) -> object:
        _collective_scope(conn, user, org_id, write=True)  # 404 for a company: it keeps no collective books
        return service.scope(conn)

    result = carry(request, user, engine, replace(service, scope=scope), form_key)
    lang = session_of(request).lang
    amount = format_money(parse_amount(result["amount"]), LOCALES[lang])
    flash(request, "accrued", count=result["posted"], amount=amount)
    return RedirectResponse(_back_to_leases(org_id, as_of), status_code=303)


@router.post("/web/orgs/{org_id}/leases/receipts")
def receive_rent_form(
    request: Request,
    org_id: int,
    user: WebUser,
    engine: EngineDep,
    lessee: Annotated[str, Form(max_length=200)],
    amount: Annotated[str, Form(max_length=40)],
    received_on: Annotated[str, Form(alias="date", max_length=10)],
    token: Annotated[str, Form(pattern=RECEIPT_TOKEN_RE)],
    as_of: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Rent received (收租) from a lessee of a community or village, as ``POST …/lease-receipts``: it pays
    the oldest open charges, the rest stays as a credit. The form's one-time token is the idempotency key,
    so a form sent twice (a double click, a resubmit) posts once."""
    try:
        fen = parse_amount(amount.strip(), "amount")
        day = periods.parse_date(received_on, "date")

        key = f"web-receipt:{token}"
        service = community_services.receive_rent(  # the API's and the CLI's rent received
            user, org_id, amount_fen=fen, received_on=day, lessee=lessee, idempotency_key=key
        )

        def scope(conn: Connection) -> object:
            org, _org_ids = _collective_scope(conn, user, org_id, write=True)
            if org.standard != "collective":
                raise StarletteHTTPException(404)  # rent is received by a community, not by its street
            return service.scope(conn)

        write = replace(service, scope=scope)
        done = carry_out(engine, user, write, key=key, remote_addr=client_addr(request))
        receipt = SimpleNamespace(**done.body, created=not done.replayed)
    except LedgerError as exc:
        error = refused(request, exc, "receipt", RECEIPT_FIELDS)
        form = {"lessee": lessee, "amount": amount, "date": received_on, "token": token}
        return _leases_page(request, user, engine, org_id, _as_of_or_none(as_of), error=error, form=form)
    locale = LOCALES[session_of(request).lang]
    flash(
        request,
        N_("receipt_posted") if receipt.created else N_("receipt_replayed"),
        voucher=receipt.voucher_no,
        applied=format_money(parse_amount(receipt.applied), locale),
        credit=format_money(parse_amount(receipt.credit), locale),
    )
    return RedirectResponse(_back_to_leases(org_id, as_of), status_code=303)
