"""What every HTTP door (the API's routes, the web pages, the till) shares: the engine of the app, the
caller's address, and how a report is rendered and named in a download. Holds no rule and no query."""

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from reports.builders_base import ReportPeriod
from reports.builders_batch import render_limited
from reports.registry import spec_for
from reports.report import Lang


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def client_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


def content_disposition(filename: str, display_name: str, *, inline: bool = False) -> str:
    """An ASCII name for old clients and the UTF-8 name (RFC 6266 / 5987) for the rest."""
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{filename}\"; filename*=UTF-8''{quote(display_name, safe='')}"


def report_download(
    request: Request,
    engine: Engine,
    name: str,
    org_id: int,
    period: ReportPeriod,
    fmt: str,
    *,
    lang: Lang,
    standard: str | None,
) -> Response:
    """One report as a download, the same at every door: rendered in the worker pool within the settings'
    ``report_seconds``, with the options its spec reads from the query, named by the registry and the org;
    an HTML report opens in the browser. The caller has checked the actor's scope over ``org_id``."""
    options = {k: v for k, v in request.query_params.items() if k in spec_for(name).options}
    rendered = render_limited(
        engine.url.render_as_string(hide_password=False),
        name,
        org_id,
        period,
        fmt,
        seconds=request.app.state.settings.report_seconds,
        lang=lang,
        options=options,
        standard=standard,
    )
    disposition = content_disposition(rendered.filename, rendered.display_name, inline=fmt == "html")
    return Response(
        rendered.content, media_type=rendered.media_type, headers={"Content-Disposition": disposition}
    )
