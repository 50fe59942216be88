"""The FastAPI app factory: one place that mounts every router (finance, POS, reports, web pages)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from ledger import workflows
from ledger.access.secrets import load_secret
from ledger.api import errors
from ledger.api.body_limit import BodyLimit
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

# The whole API, mounted in this order (a request is matched against the routes in turn).
ROUTERS: tuple[APIRouter, ...] = (
    orgs.router,
    entries.router,
    users.router,
    user_admin.router,
    audit.router,
    pos_api.router,
    till_api.router,
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
        title="cunshe-ledger 村社联营账本",
        version="0.1.0",
        description="Books of community collective economies and village–community joint supermarkets.",
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.login_limits = LoginLimits.from_settings(settings)
    errors.install(app)
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
