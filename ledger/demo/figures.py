"""The published figures against what the reports compute from the built books (not the generator's sums).

``cunshe demo`` prints the table: each published figure, the report and line it is, our value, a match.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, Engine

from ledger.books.money import format_money
from ledger.db.engine import read_tx
from ledger.demo.targets import (
    BROKERAGE_FEN,
    COLLECTIVE_INCOME_FEN,
    SUPERMARKET_PROFIT_FEN,
    SUPERMARKET_TURNOVER_FEN,
)
from ledger.demo.tree import DemoTree
from reports.builders_base import ReportPeriod
from reports.registry import build_report
from reports.render import to_json


def _fen(value: str) -> int:
    return int(Decimal(value) * 100)


def _lines(
    conn: Connection, name: str, org: int, period: ReportPeriod, standard: str | None = None
) -> dict[str, dict]:
    doc = to_json(build_report(conn, name, org, period, standard=standard))
    return {row["key"]: row for table in doc["tables"] for row in table["rows"] if "key" in row}


def _brokerage(conn: Connection, org: int, period: ReportPeriod) -> int:
    doc = to_json(build_report(conn, "brokerage", org, period))
    return _fen(next(r for r in doc["tables"][0]["rows"] if r.get("style") == "total")["income"])


def figure_rows(engine: Engine, tree: DemoTree, year: int) -> list[tuple[str, int, str, int]]:
    """(figure, published fen, report and line, our fen) for the four published figures."""
    period = ReportPeriod(f"{year}-01", f"{year}-12")
    with read_tx(engine) as conn:
        county = _lines(conn, "income-statement", tree.county, period, standard="small_enterprise")
        income = brokerage = 0
        for org in tree.all_communities:
            lines = _lines(conn, "income-statement", org, period)
            income += _fen(lines["operating_revenue"]["本年数"]) + _fen(lines["investment_income"]["本年数"])
            brokerage += _brokerage(conn, org, period)
    return [
        (
            "collective income",
            COLLECTIVE_INCOME_FEN,
            f"收益及收益分配表 lines 1 + 5, sum of the {len(tree.all_communities)} communities",
            income,
        ),
        (
            "supermarket turnover",
            SUPERMARKET_TURNOVER_FEN,
            "利润表 (county roll-up, small_enterprise) line 1 营业收入",
            _fen(county["revenue"]["本年累计金额"]),
        ),
        (
            "supermarket profit",
            SUPERMARKET_PROFIT_FEN,
            "利润表 (county roll-up, small_enterprise) line 32 净利润",
            _fen(county["net_profit"]["本年累计金额"]),
        ),
        (
            "brokerage income",
            BROKERAGE_FEN,
            "居间服务收入明细表 total, sum of the communities",
            brokerage,
        ),
    ]


def figures_table(rows: list[tuple[str, int, str, int]]) -> list[str]:
    out = ["published figure → report and line → our value → match"]
    for figure, published, where, ours in rows:
        mark = "✓" if ours == published else "✗ MISMATCH"
        out.append(f"  {figure}: {format_money(published)} → {where} → {format_money(ours)} {mark}")
    return out
