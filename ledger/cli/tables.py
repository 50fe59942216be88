"""How read commands print: an aligned table through rich (a header, CJK names measured at their real
width, a total row where the figures add up), or ``--json`` for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


@dataclass(frozen=True)
class Col:
    header: str
    justify: Literal["left", "right"] = "left"


def print_json(data: Any) -> None:
    """Data as JSON: dataclasses and database rows as objects, dates as ISO text, amounts as integer fen."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=1, default=_plain))


def _plain(value: Any) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "_asdict"):
        return value._asdict()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def print_table(
    columns: Sequence[Col],
    rows: Sequence[Sequence[Any]],
    *,
    total: Sequence[Any] | None = None,
    title: str | None = None,
) -> None:
    """Rows under a header; ``total`` (if given) under a rule, in bold. Piped, nothing wraps or is cut."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False)
    for col in columns:
        table.add_column(col.header, justify=col.justify, no_wrap=True)
    for index, row in enumerate(rows):
        table.add_row(*map(_cell, row), end_section=total is not None and index == len(rows) - 1)
    if total is not None:
        table.add_row(*map(_cell, total), style="bold")
    tty = sys.stdout.isatty()
    console = Console(width=None if tty else 10_000, no_color=not tty, highlight=False, soft_wrap=not tty)
    console.print(table)


def _cell(value: Any) -> str:
    from rich.markup import escape

    return "" if value is None else escape(str(value))
