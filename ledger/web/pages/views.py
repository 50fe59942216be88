"""The officer's web workbench: server-rendered pages under ``/web`` (Jinja2 templates in ``templates/web``).

Pages present; they never compute and never hold SQL. Every figure comes from a service function of the
books (``ledger.*``, ``pos.*``, ``reports.*``) — often the same function the JSON API calls — and is only
formatted here (``ledger.books.money``).

The pages live in one module per area (``home``, ``statements``, ``reports``, ``leases``) over ``common``
(the route class, rendering, the session, the shared look-ups); importing them here registers their routes
on the one ``router``, in this order.
"""

from ledger.web.pages import home, statements, reports, leases  # noqa: I001 (the routes in this order)
from ledger.web.pages import ledgers, vouchers  # 明细账; 填制凭证, 凭证查询, 红字冲销
from ledger.web.pages.common import router

__all__ = ["home", "leases", "ledgers", "reports", "router", "statements", "vouchers"]
