"""How the app is put together where it costs every request."""

from __future__ import annotations

from fastapi.routing import APIRoute

from ledger.api.routes import pos as pos_api
from ledger.app import ROUTERS


def test_a_sale_is_matched_before_any_other_route_of_the_api() -> None:
    """FastAPI tries each router's routes in turn: every route mounted before the till's sale was paid for
    by every sale (two routers mounted before it cost the served till ~10 %, bench/README.md, the POS)."""
    assert ROUTERS[0] is pos_api.router
    first = pos_api.router.routes[0]
    assert isinstance(first, APIRoute) and first.path == "/api/v1/pos/sales" and first.methods == {"POST"}
