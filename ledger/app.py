"""The FastAPI app factory: one place that mounts every router (finance, POS, reports, web pages)."""

from __future__ import annotations

from importlib import import_module

from fastapi import FastAPI
from sqlalchemy import Engine

from ledger.api import errors
from ledger.db.engine import make_engine
from ledger.modules import present
from ledger.settings import Settings, get_settings

# Each module that serves HTTP exposes ``router``. The list is the whole API; a module not yet written
# (a workflow still being built) is skipped, anything else that fails to import fails loudly.
ROUTERS = (
    "ledger.api.orgs",
    "ledger.api.entries",
    "ledger.api.users",
    "ledger.api.audit",
    "pos.api",
    "ledger.community.api",
    "ledger.distribution.api",
    "ledger.reconcile.api",
    "reports.api",
    "ledger.web.pages",
)


def mounted_routers() -> list[str]:
    return [name for name in ROUTERS if present(name)]


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="cunshe-ledger 村社联营账本",
        version="0.1.0",
        description="Books of community collective economies and village–community joint supermarkets.",
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    errors.install(app)
    for name in mounted_routers():
        app.include_router(import_module(name).router)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
