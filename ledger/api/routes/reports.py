"""Report downloads over HTTP (DESIGN §8, §9).

``GET /api/v1/orgs/{org}/reports`` lists the reports the org's books keep; ``GET
/api/v1/orgs/{org}/reports/{name}.{json|xlsx|pdf|html}?period=…`` (or ``?from=&to=``) downloads one. A
street or the county gets its roll-up with ``?standard=collective|small_enterprise`` (never both mixed).
``GET /api/v1/orgs/{street}/reports:batch?name=&period=&format=`` zips one report for every org below,
rendered on all cores. Scope: a community token sees its own org only (anything else, roll-ups included,
is a 404 so that other books do not leak); an officer sees its street's orgs and roll-ups. Names are
registry keys, never paths. Figures and files come from ``reports.builders_batch``; nothing here queries.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ledger.api.deps import CurrentUser, EngineDep
from ledger.api.periods import report_period_params
from ledger.books.errors import ValidationError
from ledger.db.engine import read_tx
from ledger.http import content_disposition, report_download
from reports.builders_batch import batch_orgs, check_format, render_batch
from reports.registry import ROLLUP_KINDS, reports_for, spec_for
from reports.report import LANGS, Lang

router = APIRouter(prefix="/api/v1", tags=["reports"])

# Query parameters the reports read besides the period (each registered report names its own).
OPTION_NAMES = ("account", "voucher")


class ReportInfo(BaseModel):
    name: str
    title: str
    formats: list[str]
    options: list[str]
    rollup: bool


def _lang(lang: str | None) -> Lang:
    if lang is None:
        return "zh"
    if lang not in LANGS:
        raise ValidationError(f"lang is one of {', '.join(LANGS)}", field="lang")
    return lang


@router.get("/orgs/{org_id}/reports", response_model=list[ReportInfo])
def list_reports(org_id: int, user: CurrentUser, engine: EngineDep) -> list[ReportInfo]:
    with read_tx(engine) as conn:
        org = user.require_org(conn, org_id)
    rollup = org.kind in ROLLUP_KINDS
    return [
        ReportInfo(
            name=spec.name,
            title=spec.file_title(org.standard, "zh"),
            formats=["pdf", "xlsx", "json", "html"],
            options=list(spec.options),
            rollup=rollup,
        )
        for spec in reports_for(org)
    ]


@router.get("/orgs/{org_id}/reports:batch")
def download_batch(
    org_id: int,
    request: Request,
    user: CurrentUser,
    engine: EngineDep,
    name: str,
    period: str | None = None,
    from_period: Annotated[str | None, Query(alias="from")] = None,
    to_period: Annotated[str | None, Query(alias="to")] = None,
    format: str = "pdf",
    lang: str | None = None,
    standard: str | None = None,
) -> Response:
    """One report for every org below a street (or the county), zipped; rendered across all cores."""
    spec = spec_for(name)
    fmt = check_format(format)
    with read_tx(engine) as conn:
        root = user.require_org(conn, org_id)
        report_period = report_period_params(conn, org_id, period, from_period, to_period)
        org_ids = batch_orgs(conn, name, org_id, standard)
    if not org_ids:
        raise ValidationError(
            f"no org below {root.name} keeps the books {spec.title} is made from", field="name"
        )
    url = engine.url.render_as_string(hide_password=False)
    options = {k: v for k, v in request.query_params.items() if k in spec.options}
    seconds = request.app.state.settings.report_seconds
    result = render_batch(
        url, name, org_ids, report_period, fmt, lang=_lang(lang), options=options, seconds=seconds
    )
    filename = f"{root.code}-{spec.name}-{report_period.slug()}-{fmt}.zip"
    display = f"{root.name}-{spec.file_title(standard, _lang(lang))}-{report_period.slug()}.zip"
    return Response(
        result.zip_bytes,
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition(filename, display),
            "X-Report-Files": str(len(result.files)),
            "X-Report-Errors": str(len(result.errors)),
        },
    )


@router.get("/orgs/{org_id}/reports/{name}.{fmt}")
def download_report(
    org_id: int,
    name: str,
    fmt: str,
    request: Request,
    user: CurrentUser,
    engine: EngineDep,
    period: str | None = None,
    from_period: Annotated[str | None, Query(alias="from")] = None,
    to_period: Annotated[str | None, Query(alias="to")] = None,
    lang: str | None = None,
    standard: str | None = None,
) -> Response:
    """Download one report; the org must be within the caller's scope (404 otherwise)."""
    spec_for(name)  # an unknown report is refused before anything is read
    check_format(fmt)
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        report_period = report_period_params(conn, org_id, period, from_period, to_period)
    return report_download(
        request, engine, name, org_id, report_period, fmt, lang=_lang(lang), standard=standard
    )
