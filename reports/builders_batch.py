"""Render a registered report to bytes in one format, and a street's worth of them into a zip on all cores.

``render_report`` is what the download route and ``cunshe report`` call: build (``reports.registry``),
then JSON, XLSX, HTML or PDF (``reports.render``), with a file name built from the org's code, the
report's name and the period — never from user input. ``render_batch`` renders one report for every org
below a street or the county in a ``ProcessPoolExecutor`` (one worker per core; each worker keeps its own
database engine and a warm WeasyPrint), and zips the files in org order. An org whose report cannot be
built (books that do not foot) is named in ``errors.txt`` inside the zip instead of aborting the rest.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import threading
import zipfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Literal

from sqlalchemy import Connection, Engine

from ledger.db.engine import make_engine, read_tx
from ledger.errors import LedgerError, ValidationError
from ledger.orgs import get_org
from ledger.reporting_queries import orgs_below
from reports.builders_base import ReportPeriod
from reports.registry import build_report, spec_for
from reports.render import render_html, render_pdf, render_xlsx, to_json
from reports.report import Lang, Report

Format = Literal["json", "xlsx", "pdf", "html"]
FORMATS: dict[str, str] = {
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
}


@dataclass(frozen=True)
class RenderedFile:
    filename: str  # ASCII: org code, report name, period
    display_name: str  # 丁字口社区-收益及收益分配表-2025.pdf, for Content-Disposition's filename*
    media_type: str
    content: bytes


def check_format(fmt: str) -> Format:
    if fmt not in FORMATS:
        raise ValidationError(f"a report downloads as {', '.join(FORMATS)}, not {fmt!r}", field="format")
    return fmt  # type: ignore[return-value]


def encode(report: Report, fmt: Format) -> bytes:
    if fmt == "json":
        return json.dumps(to_json(report), ensure_ascii=False, indent=1).encode("utf-8")
    if fmt == "xlsx":
        return render_xlsx(report)
    if fmt == "html":
        return render_html(report).encode("utf-8")
    return render_pdf(report)


def render_report(
    conn: Connection,
    name: str,
    org_id: int,
    period: ReportPeriod,
    fmt: str,
    *,
    lang: Lang = "zh",
    options: Mapping[str, str] | None = None,
    standard: str | None = None,
    generated_at: datetime | None = None,
) -> RenderedFile:
    """Build and encode one report; the file names come from the registry and the org, never the caller."""
    fmt = check_format(fmt)
    spec = spec_for(name)
    org = get_org(conn, org_id)
    report = build_report(
        conn, name, org_id, period, lang=lang, options=options, standard=standard, generated_at=generated_at
    )
    suffix = f"-{standard}" if standard and org.standard is None else ""
    title = spec.file_title(standard or org.standard, lang)
    return RenderedFile(
        filename=f"{org.code}-{spec.name}{suffix}-{period.slug()}.{fmt}",
        display_name=f"{org.name}-{title}-{period.slug()}.{fmt}",
        media_type=FORMATS[fmt],
        content=encode(report, fmt),
    )


# --- batch ----------------------------------------------------------------------------------------------


@cache
def _worker_engine(url: str) -> Engine:
    return make_engine(url)


def _render_in_worker(
    url: str, name: str, org_id: int, period: tuple[str, str], fmt: str, lang: str, options: dict[str, str]
) -> tuple[str, bytes | None, str]:
    """(file name, content or None, error message) for one org, in a worker process."""
    try:
        with read_tx(_worker_engine(url)) as conn:
            rendered = render_report(
                conn,
                name,
                org_id,
                ReportPeriod(*period),
                fmt,
                lang=lang,
                options=options,  # type: ignore[arg-type]
            )
        return rendered.filename, rendered.content, ""
    except LedgerError as exc:
        return f"org-{org_id}", None, f"[{exc.code}] {exc.message}"


def _warm() -> int:
    """Import WeasyPrint, lay out a page, compile the templates and load the statement layouts once, so
    the first real statement a worker renders is a steady-state one."""
    from weasyprint import HTML

    from reports.render import environment
    from reports.statements import available_layouts, load_layout

    HTML(string="<p style='font-family: Noto Sans CJK SC'>预热 warm</p>").write_pdf()
    for template in ("statement.html", "report_base.html"):
        environment().get_template(template)
    for layout in available_layouts():
        load_layout(layout)
    return os.getpid()


_POOL: ProcessPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def pool(workers: int | None = None) -> ProcessPoolExecutor:
    """The shared worker pool (one process per core), started on first use and warmed."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            count = workers or os.cpu_count() or 1
            _POOL = ProcessPoolExecutor(
                max_workers=count, mp_context=multiprocessing.get_context("forkserver")
            )
            list(_POOL.map(_warm_slowly, range(count)))
        return _POOL


def _warm_slowly(_: int) -> int:
    import time

    pid = _warm()
    time.sleep(0.2)  # hold this worker so the next warm-up lands on another one
    return pid


def shutdown_pool() -> None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.shutdown()
            _POOL = None


@dataclass(frozen=True)
class BatchResult:
    zip_bytes: bytes
    files: tuple[str, ...]
    errors: tuple[str, ...]


def batch_orgs(conn: Connection, name: str, root_id: int, standard: str | None = None) -> list[int]:
    """The orgs below a street or the county that keep the books the report applies to, by code."""
    spec = spec_for(name)
    root = get_org(conn, root_id)
    if root.kind not in ("street", "county"):
        raise ValidationError(f"a batch runs over a street or the county, not a {root.kind}", field="org")
    return [o.id for o in orgs_below(conn, root_id, standard=standard) if o.standard in spec.standards]


def render_batch(
    url: str,
    name: str,
    org_ids: Sequence[int],
    period: ReportPeriod,
    fmt: str,
    *,
    lang: Lang = "zh",
    options: Mapping[str, str] | None = None,
    executor: ProcessPoolExecutor | None = None,
) -> BatchResult:
    """Render one report per org across the worker pool and zip them in the given order."""
    fmt = check_format(fmt)
    spec_for(name)
    executor = executor or pool()
    futures = [
        executor.submit(
            _render_in_worker,
            url,
            name,
            org_id,
            (period.from_period, period.to_period),
            fmt,
            lang,
            dict(options or {}),
        )
        for org_id in org_ids
    ]
    buffer = io.BytesIO()
    files: list[str] = []
    errors: list[str] = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for future in futures:
            filename, content, error = future.result()
            if content is None:
                errors.append(f"{filename}: {error}")
                continue
            archive.writestr(filename, content)
            files.append(filename)
        if errors:
            archive.writestr("errors.txt", "\n".join(errors) + "\n")
    return BatchResult(buffer.getvalue(), tuple(files), tuple(errors))
