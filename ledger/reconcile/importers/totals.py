"""Footer totals: a summary block's or ``#`` trailer's figures checked against the rows."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from ledger.reconcile.importers.cells import format_total, parse_decimal, to_fen
from ledger.reconcile.importers.drafts import ParseContext
from ledger.reconcile.importers.layouts import TRAILER_SELECTORS, norm_name
from ledger.reconcile.importers.records import Draft


class SummaryBlock:
    """The WeChat summary block: a header row of names and one row of values, checked against the rows.
    WeChat always writes it, so a file without it has been cut short."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.result: dict[str, int] = {}
        self.values: dict[str, tuple[str, str]] | None = None  # role → (printed name, value)
        body, problems = ctx.body, ctx.problems
        if body.summary_header is None or body.summary_values is None:
            last = ctx.table.rows[-1].line_no if ctx.table.rows else None
            first_name = next(iter(ctx.layout.summary.values()))[0]
            what = "summary row" if body.summary_header is not None else f"summary block ({first_name} …)"
            problems.add(last, None, f"the file ends without the {what}; it looks truncated")
            return
        self.line = body.summary_values.line_no
        names = body.summary_header.cells
        values = body.summary_values.cells
        self.values = {}
        for role, synonyms in ctx.layout.summary.items():
            wanted = {norm_name(s) for s in synonyms}
            for index, name in enumerate(names):
                if name and norm_name(name) in wanted and index < len(values):
                    self.values[role] = (name, values[index])
                    break

    def _read(self, role: str) -> tuple[str, Decimal] | None:
        assert self.values is not None
        if role not in self.values:
            return None
        name, raw = self.values[role]
        value = parse_decimal(raw)
        if value is None:
            self.ctx.problems.add(self.line, name, f"{raw!r} is not a number")
            return None
        return name, value

    def count(self, role: str, rows: int) -> None:
        read = self._read(role)
        if read is None:
            return
        name, value = read
        if value != value.to_integral_value():
            self.ctx.problems.add(self.line, name, f"{format_total(value)} is not a count")
            return
        self.result[role] = int(value)
        if int(value) != rows:
            self.ctx.problems.add(
                self.line, name, f"summary says {name} {int(value)} but the file has {rows} rows"
            )

    def money(self, role: str, total: Decimal, *, alternative: Decimal | None = None) -> None:
        """Compare exactly (fees have five decimals); ``alternative`` is a second reading that also holds."""
        read = self._read(role)
        if read is None:
            return
        name, value = read
        self.result[f"{role}_fen"] = to_fen(value)
        if value != total and (alternative is None or value != alternative):
            self.ctx.problems.add(
                self.line,
                name,
                f"summary says {name} {format_total(value)} but the rows add to {format_total(total)}",
            )


def check_trailer(ctx: ParseContext, drafts: list[Draft]) -> dict[str, int]:
    """Alipay's `#` trailer: it must be there when the preamble is, and its 合计 lines must add up."""
    body, problems = ctx.body, ctx.problems
    if body.preamble_comments and not body.trailer:
        last = ctx.table.rows[-1].line_no if ctx.table.rows else None
        problems.add(last, None, "the file ends without its closing # lines (…合计); it looks truncated")
        return {}
    rows_failed = len(problems) > 0  # then the totals would only repeat the news
    result: dict[str, int] = {}
    for row in body.trailer:
        text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", ",".join(row.cells)))
        for name, pattern in ctx.layout.trailer.items():
            match = pattern.search(text)
            if not match:
                continue
            count, printed = int(match.group(1)), parse_decimal(match.group(2))
            if printed is None:
                problems.add(row.line_no, None, f"{match.group(2)!r} is not an amount")
                continue
            result[f"{name}_count"] = count
            result[f"{name}_total_fen"] = abs(to_fen(printed))  # Alipay prints 退款/支出 totals negative
            if rows_failed:
                continue
            chosen = [d for d in drafts if TRAILER_SELECTORS[name](d)]
            total = sum(abs(d.amount_fen) for d in chosen)
            label = match.group(0).split(":")[0]
            if count != len(chosen):
                problems.add(row.line_no, None, f"{label} says {count} rows but the file has {len(chosen)}")
            if abs(to_fen(printed)) != total:
                said, added = format_total(abs(printed)), format_total(Decimal(total) / 100)
                problems.add(row.line_no, None, f"{label} says {said} but the rows add to {added}")
    return result
