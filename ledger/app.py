"""The FastAPI app factory: one place that mounts every router (finance, POS, reports, web pages)."""

import gc
import logging
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from ledger import workflows
from ledger.access.secrets import load_secret
from ledger.api import errors, links
from ledger.api.body_limit import BodyLimit
from ledger.api.docs import install_docs
from ledger.api.routes import audit, entries, orgs, statement_imports, user_admin, users
from ledger.api.routes import community as community_api
from ledger.api.routes import distribution as distribution_api
from ledger.api.routes import pos as pos_api
from ledger.api.routes import reconcile as reconcile_api
from ledger.api.routes import reports as reports_api
from ledger.api.routes import till as till_api
from ledger.api.text_guard import TextGuard
from ledger.db.engine import make_engine
from ledger.settings import Settings, get_settings
from ledger.web import till, verify_page
from ledger.web.login_limits import LoginGate, LoginLimits
from ledger.web.pages import views as pages

# The whole API, mounted in this order (a request is matched against the routes in turn). The till's
# sales come first: they are the hot path, and every route walked before theirs costs each sale (FastAPI
# tries the routes of each router in order).
ROUTERS: tuple[APIRouter, ...] = (
    pos_api.router,
    till_api.router,
    orgs.router,
    entries.router,
    users.router,
    user_admin.router,
    audit.router,
    community_api.router,
    distribution_api.router,
    reconcile_api.router,
    statement_imports.router,
    reports_api.router,
    pages.router,
    till.router,
    verify_page.router,
)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    workflows.start()
    # Refuse to build an app whose sessions anyone could forge (SecretMissing names the file to create).
    secret = load_secret(
        settings.secret_key, settings.secret_file, settings.database_url, dev_mode=settings.dev_mode
    )
    settings = settings.model_copy(update={"secret_key": secret})
    app = FastAPI(
        docs_url=None,  # ledger.api.docs serves Swagger UI and ReDoc offline
        redoc_url=None,
        lifespan=_warm_reports if settings.warm_reports else None,
        title="cunshe-ledger 村社联营账本",
        version="0.1.0",
        description="Books of community collective economies and village–community joint supermarkets.",
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.login_limits = LoginLimits.from_settings(settings)
    errors.install(app)
    links.document_links(app)  # after the errors: both amend the one built schema
    install_docs(app)
    # Inside the body limit: the text guard reads only bodies the limit let through.
    app.add_middleware(TextGuard)
    # Outside the router: a body over its route's limit is refused before it is read, parsed or authenticated.
    app.add_middleware(BodyLimit, upload_bytes=settings.max_upload_bytes)
    # Outermost: a login over the rate limits is refused (after a tarpit delay) before anything reads it.
    app.add_middleware(LoginGate)
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve_app() -> FastAPI:
    """``create_app`` as ``cunshe serve``'s uvicorn factory: the app, then the heap its start-up built is
    frozen out of the garbage collector (``gc.freeze``) and the collector is on again.

    ``cunshe serve`` pauses the collector before it imports anything (``gc.disable``): an import builds
    ~250,000 long-lived objects (tables, routes, schemas) and little garbage, yet every few hundred
    allocations the collector walked the young ones and now and then all of them again, ~0.18 s of the
    server's ~1.5 s of CPU before it listens (measured). A collection at the end would cost ~0.2 s more to
    find ~700 unreachable objects, so they stay, frozen with the rest; later collections never walk the frozen
    heap either. A process that did not pause the collector (a worker of ``--workers N``) only freezes."""
    app = create_app()
    gc.freeze()
    gc.enable()
    return app


log = logging.getLogger("uvicorn.error")  # where `cunshe serve` logs


@asynccontextmanager
async def _warm_reports(app: FastAPI) -> AsyncIterator[None]:
    """Start warming the report stack in a thread and serve at once (the server listens meanwhile)."""
    threading.Thread(target=warm_reports, name="cunshe-warm-reports", daemon=True).start()
    yield
    if "reports.builders_batch" in sys.modules:  # the pool's processes end with the server
        sys.modules["reports.builders_batch"].shutdown_pool()


def warm_reports() -> None:
    """Start the report worker pool: its fork server imports the report stack once and each worker renders
    one small statement before its first task (WeasyPrint's first layout, fontconfig, the CJK font's two
    weights, the templates: ``reports.builders_batch.warm_process``). Every download renders in that pool,
    and nothing imports pandas, matplotlib or WeasyPrint at start-up, so a server is ready quickly and its
    first statement need not pay for the warm-up, without anyone waiting for it."""
    try:
        from reports.builders_batch import pool, worker_pids

        pool()
        log.info("report pool warm: %d worker(s)", len(worker_pids()))
    except Exception:  # a warm-up that fails must not take the server down; the first download retries
        log.exception("warming the report pool failed")
