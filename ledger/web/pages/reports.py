"""Report downloads (reports.registry, the same pipeline as the API)."""

from fastapi import Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ledger.db.engine import read_tx
from ledger.http import EngineDep, report_download
from ledger.params import report_period_params
from ledger.web.pages.common import (
    WebUser,
    period_param,
    render,
    router,
    session_of,
)
from reports import registry
from reports.builders_base import parse_report_period
from reports.report import Lang

# ---- report downloads (reports.registry, the same pipeline as the API) ---------------------------

REPORT_FORMATS = ("pdf", "xlsx")


@router.get("/web/orgs/{org_id}/reports")
def reports_page(
    request: Request, org_id: int, user: WebUser, engine: EngineDep, period: str | None = None
) -> Response:
    with read_tx(engine) as conn:
        org = user.require_org(conn, org_id)  # 404 outside the user's scope
    shown = period_param(period, engine, org_id)
    lang = session_of(request).lang
    rollup = org.kind in registry.ROLLUP_KINDS
    standards = ("collective", "small_enterprise") if org.standard is None else (org.standard,)
    return render(
        request,
        "reports.html",
        user=user,
        org=org,
        period=shown,
        reports=[
            {
                "name": spec.name,
                "title": spec.title_en if lang == "en" else spec.file_title(org.standard, "zh"),
                "options": list(spec.options),
                "rollup": rollup,
            }
            for spec in registry.reports_for(org)
        ],
        standards=standards,
        formats=REPORT_FORMATS,
    )


@router.get("/web/orgs/{org_id}/reports/{name}.{fmt}")
def download_report(
    request: Request,
    org_id: int,
    name: str,
    fmt: str,
    user: WebUser,
    engine: EngineDep,
    period: str | None = None,
    standard: str | None = None,
) -> Response:
    """The same download as ``GET /api/v1/orgs/{org}/reports/{name}.{fmt}``, for the logged-in person."""
    if fmt not in REPORT_FORMATS:
        raise StarletteHTTPException(404)
    registry.spec_for(name)  # an unknown report is refused before anything is read
    # a month, or a quarter (YYYY-Qn) or a year (YYYY) as the 财务公开榜 form offers, in the org's years;
    # else the latest month
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)  # 404 outside the user's scope
        if period:
            report_period = report_period_params(conn, org_id, period, None, None)
    if not period:
        report_period = parse_report_period(period_param(None, engine, org_id))
    lang: Lang = "en" if session_of(request).lang == "en" else "zh"
    return report_download(
        request, engine, name, org_id, report_period, fmt, lang=lang, standard=standard or None
    )


# ---- leases: rent roll, accrual run, rent received (ledger.community) ---------------------------------

# The PDF reports linked from the rent page: (report name, label key, has a street roll-up).
