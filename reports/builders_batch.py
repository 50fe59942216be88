"""Render a registered report to bytes in one format, and a street's worth of them into a zip on all cores.

``render_report`` is what the download route and ``cunshe report`` call: build (``reports.registry``),
then JSON, XLSX, HTML or PDF (``reports.render``), with a file name built from the org's code, the
report's name and the period — never from user input. ``render_batch`` renders one report for every org
below a street or the county in a ``ProcessPoolExecutor`` and zips the files in org order. An org whose
report cannot be built (books that do not foot) is named in ``errors.txt`` inside the zip instead of
aborting the rest.

The pool (one worker per core) starts once and stays up across requests. Workers fork from a fork server
(``reports.forkserver``) that has imported WeasyPrint and the reports once and rendered a warm-up statement
(``warm_process``), so a worker starts warm in milliseconds instead of paying ~2.4 s of imports and ~0.5 s
of warm-up (and no threaded server process is ever forked); each fetches its org's books itself through
its own engine: the parent only submits org ids and stores the files, ~1 ms of CPU a statement.

``render_limited`` renders one report in the same pool with a time limit (the server's downloads): its
reads stop by the database's own limit (``read_tx(seconds=…)``), its layout and encoding by an interval
timer in the worker, whose tasks run on the worker's main thread where a signal can interrupt WeasyPrint;
the worker answers ``TimeLimit`` (503) and takes the next task. A request thread can be interrupted by
nothing, which is why a download is not rendered there.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import queue
import signal
import threading
import time
import zipfile
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeGuard

from sqlalchemy import Connection, Engine

from ledger.books.errors import LedgerError, TimeLimit, ValidationError
from ledger.books.orgs import get_org
from ledger.db.engine import make_engine, read_tx
from reports import forkserver
from reports.builders_base import ReportPeriod
from reports.queries import orgs_below
from reports.registry import build_report, spec_for
from reports.render import RenderError, environment, render_html, render_pdf, render_xlsx, to_json
from reports.report import Column, Lang, Report, Table, Total

if TYPE_CHECKING:
    pass


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


def _is_format(fmt: str) -> TypeGuard[Format]:
    return fmt in FORMATS


def check_format(fmt: str) -> Format:
    if not _is_format(fmt):
        raise ValidationError(f"a report downloads as {', '.join(FORMATS)}, not {fmt!r}", field="format")
    return fmt


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


def _time_limit_message(seconds: float) -> str:
    return f"the report took more than {seconds:g} s; ask for a shorter period or fewer orgs"


class _Expired(BaseException):
    """Raised by the timer inside the work: a ``BaseException``, so no ``except Exception`` in a library
    (WeasyPrint catches broadly in places) swallows it; ``_stopped_after`` turns it into ``TimeLimit``."""


_AGAIN = 0.05  # seconds between a limit's repeated alarms (see _stopped_after)


@contextlib.contextmanager
def _stopped_after(seconds: float | None) -> Any:
    """Interrupt this process's main thread with ``TimeLimit`` once ``seconds`` have passed (a worker's)."""
    if seconds is None:
        yield
        return
    armed = True

    def expire(_signum: int, _frame: Any) -> None:
        if armed:
            raise _Expired

    previous = signal.signal(signal.SIGALRM, expire)
    try:
        # The alarm repeats every _AGAIN s until disarmed: one that lands where Python only reports an
        # exception (a weakref callback or ``__del__`` run by the garbage collector) is swallowed, and the
        # next one stops the work. The timer is armed and disarmed inside the ``try``: an alarm that lands
        # between the two, even before the work starts or while it is being disarmed, is still a
        # ``TimeLimit``, never a stray ``_Expired`` (a limit of a microsecond lands there).
        signal.setitimer(signal.ITIMER_REAL, seconds, _AGAIN)
        try:
            yield
        finally:
            armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Expired:
        armed = False
        raise TimeLimit(_time_limit_message(seconds)) from None
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class _Job:
    """The report a worker renders for an org it is handed, as plain data a task can carry to it."""

    url: str
    name: str
    period: ReportPeriod
    fmt: str
    lang: Lang
    options: dict[str, str]
    standard: str | None
    seconds: float | None


def _render_in_pool(job: _Job, org_id: int) -> RenderedFile | tuple[type[LedgerError], str, str | None, str]:
    """One org's report in a worker process, within ``job.seconds``; a refusal comes back as its parts (a
    domain error's keyword arguments do not survive pickling)."""
    try:
        with _stopped_after(job.seconds), read_tx(_worker_engine(job.url), seconds=job.seconds) as conn:
            return render_report(
                conn,
                job.name,
                org_id,
                job.period,
                job.fmt,
                lang=job.lang,
                options=job.options,
                standard=job.standard,
            )
    except LedgerError as exc:
        return type(exc), exc.message, exc.field, exc.code


def _render_in_worker(job: _Job, org_id: int) -> tuple[str, bytes | None, str, str]:
    """(file name, content or None, error message, error code) for one org of a batch, in a worker process."""
    done = _render_in_pool(job, org_id)
    if isinstance(done, RenderedFile):
        return done.filename, done.content, "", ""
    _cls, message, _field, code = done
    return f"org-{org_id}", None, f"[{code}] {message}", code


def render_limited(
    url: str,
    name: str,
    org_id: int,
    period: ReportPeriod,
    fmt: str,
    *,
    seconds: float,
    lang: Lang = "zh",
    options: Mapping[str, str] | None = None,
    standard: str | None = None,
) -> RenderedFile:
    """``render_report`` in the worker pool, refused with ``TimeLimit`` (503) past ``seconds``."""
    fmt = check_format(fmt)
    spec_for(name)
    job = _Job(url, name, period, fmt, lang, dict(options or {}), standard, seconds)
    future = pool().submit(_render_in_pool, job, org_id)
    try:
        done = future.result(timeout=seconds + 5)  # the worker's own timer answers first
    except (FutureTimeout, _Expired):  # _Expired: the timer fired as the work was ending
        future.cancel()
        raise TimeLimit(_time_limit_message(seconds)) from None
    if isinstance(done, RenderedFile):
        return done
    cls, message, field, code = done
    raise cls(message, field=field, code=code)


def _warm_report() -> Report:
    """A one-table statement in both font weights, with 大写 totals, as the real ones print."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "item": ["一、经营收入", "其中：租赁收入", "本年收益"],
            "line_no": [1, 2, 3],
            "amount": [12345678, 2345678, 12345678],
            "style": ["heading", "", "total"],
            "indent": [0, 1, 0],
        }
    )
    columns = (
        Column("item", "项目", "label"),
        Column("line_no", "行次", "line_no"),
        Column("amount", "金额", "amount"),
    )
    return Report(
        title="收益及收益分配表 warm-up",
        org_name="预热",
        period="2025年度",
        tables=(Table(frame, columns),),
        chain_head="0" * 64,
        totals=(Total("本年收益", 12345678),),
        template="statement.html",
    )


_WARM = False  # set by ``warm_process``; a worker forked from the warmed fork server inherits it


def warm_process() -> None:
    """Make this process's next statement a steady-state one, then take the warm heap out of the GC.

    Renders a small statement PDF through the real template and stylesheet (WeasyPrint's first layout,
    fontconfig, both weights of the CJK font mapped, the environment check), compiles the templates and
    loads the statement layouts. Then ``gc.freeze()``: WeasyPrint, pandas and SQLAlchemy leave a large
    long-lived heap, and without the freeze every full collection walks it again (measured: ~0.09 s of CPU
    per statement, a third of a statement's cost; ~0.02 s after the freeze). The collector is on afterwards:
    the fork server is a fork of ``cunshe serve``, which paused it for its imports, and so imported with it
    off too (``ledger.app.serve_app``); its workers collect as usual.
    """
    from reports.statements import available_layouts, load_layout

    for template in ("statement.html", "report_base.html"):
        environment().get_template(template)
    for layout in available_layouts():
        load_layout(layout)
    with contextlib.suppress(RenderError):  # no CJK font or HarfBuzz: PDFs fail anyway, other formats work
        render_pdf(_warm_report())
    gc.collect()
    gc.freeze()
    gc.enable()
    global _WARM
    _WARM = True


def _start_worker(ready: Any) -> None:  # a multiprocessing queue
    try:
        if not _WARM:  # forked from a fork server whose warm-up failed (or was not preloaded)
            warm_process()
    finally:
        gc.enable()  # off if it was forked from a fork server whose warm-up failed (see ``warm_process``)
        ready.put(os.getpid())  # a failed warm-up surfaces as a broken pool on the first task, not a hang


_POOL: ProcessPoolExecutor | None = None
_POOL_PIDS: tuple[int, ...] = ()
_POOL_LOCK = threading.Lock()


def pool(workers: int | None = None) -> ProcessPoolExecutor:
    """The shared worker pool (one process per core), started on first use and kept warm.

    Each worker is warm before its first task (forked from the warmed fork server, else it runs
    ``warm_process`` itself), and this returns only once every worker is, so a batch never waits for a
    worker's start-up (a server keeps the pool across requests).
    """
    global _POOL, _POOL_PIDS
    with _POOL_LOCK:
        if _POOL is None:
            count = workers or os.cpu_count() or 1
            # The fork server (started early by ``cunshe serve``, else now) is single-threaded, so forking it
            # is safe even from a threaded web server, which forking the server process itself is not.
            context = forkserver.context()
            ready = context.Queue()
            executor = ProcessPoolExecutor(
                max_workers=count, mp_context=context, initializer=_start_worker, initargs=(ready,)
            )
            # Workers start on demand, one per submit while none is idle: ``count`` submits start them all.
            started = [executor.submit(os.getpid) for _ in range(count)]
            _POOL_PIDS = _wait_until_warm(ready, started, count)
            _POOL = executor
        return _POOL


def _wait_until_warm(ready: Any, started: list[Future[int]], count: int) -> tuple[int, ...]:
    """The pids of ``count`` warmed workers; a worker that dies on the way raises ``BrokenProcessPool``."""
    pids: set[int] = set()
    while len(pids) < count:
        try:
            pids.add(ready.get(timeout=0.5))
        except queue.Empty:
            for future in started:
                if future.done():
                    future.result()
    return tuple(sorted(pids))


def worker_pids() -> tuple[int, ...]:
    """The pool's worker processes (empty before the pool starts), for the benchmark's CPU accounting."""
    return _POOL_PIDS


def shutdown_pool() -> None:
    global _POOL, _POOL_PIDS
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.shutdown()
            _POOL = None
            _POOL_PIDS = ()


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
    seconds: float | None = None,
) -> BatchResult:
    """Render one report per org across the worker pool and zip them in the given order; with ``seconds``,
    the whole batch is refused with ``TimeLimit`` (503) once that has passed, and no org's report runs
    longer."""
    fmt = check_format(fmt)
    spec_for(name)
    executor = executor or pool()
    job = _Job(url, name, period, fmt, lang, dict(options or {}), None, seconds)
    futures = [executor.submit(_render_in_worker, job, org_id) for org_id in org_ids]
    deadline = None if seconds is None else time.monotonic() + seconds
    buffer = io.BytesIO()
    files: list[str] = []
    errors: list[str] = []
    # PDF and XLSX are compressed already: deflating them again in this process saves ~9 % of the bytes
    # for ~8 ms of CPU a statement, taken from a core the workers need.
    compression = zipfile.ZIP_STORED if fmt in ("pdf", "xlsx") else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for future in futures:
            try:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                filename, content, error, code = future.result(timeout=left)
            except FutureTimeout:
                code = "time_limit"
            if code == "time_limit":
                # One org out of time is the batch out of time, whether the worker's own limit stopped it
                # first or this wait did: the answer is the same 503, never a zip naming it in errors.txt.
                for pending in futures:
                    pending.cancel()
                raise TimeLimit(_time_limit_message(seconds or 0)) from None
            if content is None:
                errors.append(f"{filename}: {error}")
                continue
            archive.writestr(filename, content, compress_type=compression)
            files.append(filename)
        if errors:
            archive.writestr("errors.txt", "\n".join(errors) + "\n")
    return BatchResult(buffer.getvalue(), tuple(files), tuple(errors))
