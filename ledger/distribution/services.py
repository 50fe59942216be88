"""The year end's state changes as services: each returns the ``Write`` a door (the API, the CLI) carries out
with ``ledger.access.service.perform`` — scope, key, write, audit, in that order.

A service names what was asked (its ``request``: the same from every door, so a retry under one key is
answered once whichever door it comes through), whose books it touches and who may do it. The default answer
is JSON-able data; a door may show more (``dataclasses.replace(write, view=…, answer=…)``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy import Connection

from ledger.access.auth import Principal
from ledger.access.service import Write, org_keys
from ledger.books.money import format_amount
from ledger.distribution import execute as ex
from ledger.distribution import vat
from ledger.distribution.yearend import YearClose, close_year


def _writer(actor: Principal, org_id: int) -> Any:
    return lambda conn: actor.require_org(conn, org_id, write=True)


def _posted(entries: Any) -> list[dict[str, Any]]:
    return [{"id": e.id, "voucher_no": e.voucher_no, "created": e.created} for e in entries]


def year_close(actor: Principal, org_id: int, year: int) -> Write[YearClose]:
    """年终结账: income and expenses into 321/3103, then 322/3104; refused while a month has unposted
    sources."""
    return Write(
        action="year.close",
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=_writer(actor, org_id),
        run=lambda conn: close_year(conn, org_id, year, user_id=actor.recorded_id),
        answer=lambda done: {
            "org_id": org_id,
            "year": year,
            "profit": format_amount(done.profit_fen),
            "entries": _posted(done.entries),
        },
        request={"close_year": [org_id, year]},
        detail=lambda done: f"{year}: net income {format_amount(done.profit_fen)}",
        status=200,
    )


def execute_plan(actor: Principal, org_id: int, plan_id: int, *, entry_date: date | None) -> Write[Any]:
    """执行分配方案: the org's entries and each shareholder's, linked, all or nothing; the actor must be
    allowed to change every book the plan reaches."""

    def run(conn: Connection) -> ex.Execution:
        done = ex.execute_plan(conn, plan_id, entry_date=entry_date, user_id=actor.recorded_id)
        for p in done.entries:
            actor.require_org(conn, p.org_id, write=True)  # the link reaches the shareholders' books
        return done

    def scope(conn: Connection) -> None:
        actor.require_org(conn, org_id, write=True)
        ex.get_plan(conn, plan_id, org_id)

    return Write(
        action="plan.execute",
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=scope,
        run=run,
        answer=lambda done: {"plan_id": plan_id, "link_id": done.link_id, "entries": _posted(done.entries)},
        request={"execute_plan": [org_id, plan_id, entry_date.isoformat() if entry_date else None]},
        detail=lambda done: f"plan {plan_id}: {len(done.entries)} entries on link {done.link_id}",
        status=200,
    )


def reverse_plan(actor: Principal, org_id: int, plan_id: int, *, entry_date: date) -> Write[Any]:
    """红字冲销 every entry the plan posted, in every org, as one linked reversal."""

    def run(conn: Connection) -> list[Any]:
        posted = ex.reverse_plan(conn, plan_id, entry_date=entry_date, user_id=actor.recorded_id)
        for p in posted:
            actor.require_org(conn, p.org_id, write=True)
        return posted

    def scope(conn: Connection) -> None:
        actor.require_org(conn, org_id, write=True)
        ex.get_plan(conn, plan_id, org_id)

    return Write(
        action="plan.reverse",
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=scope,
        run=run,
        answer=lambda posted: {"plan_id": plan_id, "entries": _posted(posted)},
        request={"reverse_plan": [org_id, plan_id, entry_date.isoformat()]},
        detail=lambda posted: f"plan {plan_id}: " + ", ".join(p.voucher_no for p in posted),
        status=200,
    )


def fen_strings(value: Any) -> Any:
    """Dataclass dicts with ``*_fen`` ints → the same keys without ``_fen``, as decimal strings."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if isinstance(k, str) and k.endswith("_fen") and isinstance(v, int):
                out[k[:-4]] = format_amount(v)
            elif k == "funded_from":
                out[k] = {str(y): format_amount(f) for y, f in v.items()}
            else:
                out[k] = fen_strings(v)
        return out
    if isinstance(value, list | tuple):
        return [fen_strings(v) for v in value]
    return value


def vat_exemption(actor: Principal, org_id: int, year: int, quarter: int) -> Write[vat.VatQuarter]:
    """小规模纳税人免征: within the quarterly threshold, the quarter's output VAT moves to income."""
    return Write(
        action="vat.exemption",
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=_writer(actor, org_id),
        run=lambda conn: vat.post_vat_exemption(conn, org_id, year, quarter, user_id=actor.recorded_id),
        answer=lambda q: fen_strings(asdict(q)),
        request={"vat_exemption": [org_id, year, quarter]},
        detail=lambda q: f"{year}Q{quarter}: " + ("exempt" if q.exempt else "over the threshold"),
        status=200,
    )
