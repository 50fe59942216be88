"""Financial statements computed from account balances given as plain data.

The four statutory statements — collective 资产负债表 and 收益及收益分配表 (财会〔2023〕14号),
small-enterprise 资产负债表 会小企01表 and 利润表 会小企02表 (财会〔2011〕17号) — are layouts in
``reports/layouts``: a CSV of lines (行次, key, label, label_en, section, indent, style, formula) and a
TOML of the rest (title, chart, column names, headline totals, inputs, checks). A province's variant is
an edit of those files. An input is a figure the balances of first-level accounts cannot give; the TOML's
``[of_which]`` says where the books carry it (the 利润表's 其中 lines: sub-accounts by name, else the 摘要
of lines on the first-level account itself; the layout file explains the accountant's choices), and
``reports.builders`` reads them from the books.

``compute_statement`` evaluates every line's formula (``reports.formula``) against one balances mapping per
column and then every check; a statement that does not foot raises ``StatementDoesNotFoot`` naming each
failing check and its two amounts, and is never returned. ``statement_report`` wraps the result for
``reports.render``.

Balances: account code → signed balance in integer fen, debit positive (credit balances negative). A code
is a first-level code of the layout's chart or a sub-account under it (``"101"``, ``"50102"``); it may carry
a detail after a colon (``"1122:school-canteen"``) so that split-by-sign lines (113 内部往来, 1122 应收账款)
see each counterparty's balance on its own. No key may sit under another (a summary account beside its own
sub-accounts would count twice). This module never reads the database.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from itertools import pairwise
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.books.errors import AccountingError, NotFound, ValidationError
from ledger.books.money import format_amount
from reports.formula import (
    Account,
    AccountFunction,
    Check,
    Formula,
    FormulaError,
    Input,
    parse_check,
    parse_formula,
)
from reports.report import Column, Lang, Report, Table, Total

if TYPE_CHECKING:
    import pandas as pd


LAYOUTS_DIR = Path(__file__).resolve().parent / "layouts"
META_COLUMNS = ("line_no", "key", "label", "indent", "style", "section")
STYLES = frozenset({"", "heading", "subtotal", "total"})

_LAYOUT_NAME = re.compile(r"[a-z][a-z0-9_]*")
_BALANCE_KEY = re.compile(r"(?P<code>\d+)(?::(?P<detail>.+))?")


class StatementDoesNotFoot(AccountingError):
    """A computed statement breaks one of its layout's checks (资产总计 ≠ 负债和所有者权益总计, …).

    ``failures`` lists every failing check in every column, so one look shows everything that is off.
    """

    code = "statement_does_not_foot"

    def __init__(self, title: str, failures: tuple[CheckFailure, ...]) -> None:
        self.failures = failures
        details = "; ".join(
            f"{f.name} [{f.rule}] fails in {f.column}: "
            f"{format_amount(f.left_fen)} vs {format_amount(f.right_fen)}"
            for f in failures
        )
        super().__init__(f"{title} does not foot: {details}")


@dataclass(frozen=True)
class CheckFailure:
    name: str
    rule: str
    column: str
    left_fen: int
    right_fen: int


@dataclass(frozen=True)
class NamedCheck:
    name: str
    check: Check


@dataclass(frozen=True)
class LayoutLine:
    """One row of a statement. Headings have no 行次 and no formula."""

    line_no: int | None
    key: str
    label: str
    label_en: str
    section: str
    indent: int
    style: str
    formula: Formula | None


@dataclass(frozen=True)
class HeadlineTotal:
    """A line printed again below the statement with ¥ and 人民币大写, under a short label."""

    key: str
    label: str
    label_en: str


@dataclass(frozen=True)
class OfWhich:
    """Where the books carry a 其中 input: under first-level ``account``, the sub-accounts whose names
    (at any level) contain one of ``words``, and, for lines posted to ``account`` itself, the lines whose
    摘要 contains one (``reports.builders`` reads them; this module never reads the database)."""

    account: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Chart:
    """A statutory chart's first-level codes and each one's normal side (``debit`` or ``credit``)."""

    normal_side: Mapping[str, str]

    def first_level(self, code: str) -> str | None:
        """The first-level account a code is or extends by whole two-digit levels, if any."""
        for length in {len(c) for c in self.normal_side}:
            head = code[:length]
            if head in self.normal_side and (len(code) - length) % 2 == 0:
                return head
        return None

    def covers_prefix(self, prefix: str) -> bool:
        return self.first_level(prefix) is not None or any(c.startswith(prefix) for c in self.normal_side)


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    title_en: str
    form_no: str
    standard: str
    chart: Chart
    columns: tuple[str, ...]
    columns_en: tuple[str, ...]
    current_column: int
    totals: tuple[HeadlineTotal, ...]
    left_sections: frozenset[str]
    side_headings: tuple[str, str]
    side_headings_en: tuple[str, str]
    inputs: Mapping[str, str]
    of_which: Mapping[str, OfWhich]  # input name -> where the books carry it, in layout order
    lines: tuple[LayoutLine, ...]
    checks: tuple[NamedCheck, ...]
    order: tuple[int, ...]  # 行次 in an order where every line comes after the lines its formula uses

    def formula(self, line_no: int) -> Formula:
        return next(line.formula for line in self.lines if line.line_no == line_no and line.formula)

    def title_in(self, lang: Lang) -> str:
        return self.title_en if lang == "en" else self.title


# --- loading and validating layouts ------------------------------------------------------------------


def available_layouts() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in LAYOUTS_DIR.glob("*.toml")))


@cache
def load_chart(filename: str) -> Chart:
    with (files("ledger") / "data" / filename).open(encoding="utf-8") as handle:
        return Chart({row["code"]: row["normal_side"] for row in csv.DictReader(handle)})


@cache
def load_layout(name: str) -> Layout:
    """Read, parse and validate a layout; a broken layout file raises ``FormulaError`` at first use."""
    if not _LAYOUT_NAME.fullmatch(name) or not (LAYOUTS_DIR / f"{name}.toml").is_file():
        raise NotFound(f"no statement layout {name!r}; there are: {', '.join(available_layouts())}")
    meta = tomllib.loads((LAYOUTS_DIR / f"{name}.toml").read_text(encoding="utf-8"))
    with (LAYOUTS_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        lines = tuple(_layout_line(name, row) for row in csv.DictReader(handle))
    two_sided = meta.get("two_sided", {})
    layout = Layout(
        name=name,
        title=meta["title"],
        title_en=meta["title_en"],
        form_no=meta.get("form_no", ""),
        standard=meta["standard"],
        chart=load_chart(meta["chart"]),
        columns=tuple(meta["columns"]),
        columns_en=tuple(meta["columns_en"]),
        current_column=meta.get("current_column", 0),
        totals=tuple(HeadlineTotal(t["key"], t["label"], t["label_en"]) for t in meta.get("totals", ())),
        left_sections=frozenset(two_sided.get("left", ())),
        side_headings=tuple(two_sided.get("headings", ("", ""))),
        side_headings_en=tuple(two_sided.get("headings_en", ("", ""))),
        inputs=dict(meta.get("inputs", {})),
        of_which={
            name: OfWhich(str(source["account"]), tuple(source["words"]))
            for name, source in meta.get("of_which", {}).items()
        },
        lines=lines,
        checks=tuple(NamedCheck(c["name"], parse_check(c["rule"])) for c in meta.get("checks", ())),
        order=(),
    )
    _validate(layout)
    return _with_order(layout)


def _layout_line(layout: str, row: dict[str, str]) -> LayoutLine:
    where = f"{layout}.csv line {row['key']!r}"
    line_no = int(row["line_no"]) if row["line_no"].strip() else None
    formula = parse_formula(row["formula"]) if row["formula"].strip() else None
    style = row["style"].strip()
    if style not in STYLES:
        raise FormulaError(f"{where}: unknown style {style!r}")
    if (line_no is None) != (formula is None) or (line_no is None) != (style == "heading"):
        raise FormulaError(f"{where}: a line has a 行次 and a formula, a heading has neither")
    return LayoutLine(
        line_no=line_no,
        key=row["key"],
        label=row["label"],
        label_en=row["label_en"] or row["label"],
        section=row["section"],
        indent=int(row["indent"] or 0),
        style=style,
        formula=formula,
    )


def _validate(layout: Layout) -> None:
    numbered = {line.line_no for line in layout.lines if line.line_no is not None}
    keys = [line.key for line in layout.lines]
    if len(set(keys)) != len(keys):
        raise FormulaError(f"{layout.name}: duplicate keys")
    if len(numbered) != sum(line.line_no is not None for line in layout.lines):
        raise FormulaError(f"{layout.name}: duplicate 行次")
    for total in layout.totals:
        if total.key not in keys:
            raise FormulaError(f"{layout.name}: total {total.key!r} is not a line")
    formulas = [(line.key, line.formula) for line in layout.lines if line.formula is not None]
    formulas += [(c.name, f) for c in layout.checks for f in (c.check.left, c.check.right)]
    for where, formula in formulas:
        missing = formula.line_refs() - numbered
        if missing:
            raise FormulaError(f"{layout.name} {where}: no line {sorted(missing)} in {formula.text!r}")
        for node in formula.nodes():
            if isinstance(node, Account):
                known = (
                    layout.chart.covers_prefix(node.code)
                    if node.function == "bal"
                    else layout.chart.first_level(node.code) is not None
                )
                if not known:
                    raise FormulaError(
                        f"{layout.name} {where}: {node.function}({node.code}) is not in the chart"
                    )
            elif isinstance(node, Input) and node.name not in layout.inputs:
                raise FormulaError(f"{layout.name} {where}: input {node.name!r} is not declared in [inputs]")
    for name, source in layout.of_which.items():
        if name not in layout.inputs:
            raise FormulaError(f"{layout.name} [of_which.{name}]: not an input declared in [inputs]")
        if source.account not in layout.chart.normal_side or not source.words or not all(source.words):
            raise FormulaError(f"{layout.name} [of_which.{name}]: a first-level account and non-empty words")


def _with_order(layout: Layout) -> Layout:
    """Order the lines so each comes after the lines it uses; a cycle is a broken layout."""
    depends = {
        line.line_no: line.formula.line_refs()
        for line in layout.lines
        if line.formula is not None and line.line_no is not None  # a line with a formula has a 行次
    }
    order: list[int] = []
    state: dict[int, str] = {}

    def visit(line_no: int, path: tuple[int, ...]) -> None:
        if state.get(line_no) == "done":
            return
        if state.get(line_no) == "visiting":
            raise FormulaError(f"{layout.name}: lines refer to each other in a circle: {[*path, line_no]}")
        state[line_no] = "visiting"
        for ref in sorted(depends[line_no]):
            visit(ref, (*path, line_no))
        state[line_no] = "done"
        order.append(line_no)

    for line_no in depends:
        visit(line_no, ())
    return replace(layout, order=tuple(order))


# --- computing ---------------------------------------------------------------------------------------


class _Column:
    """Evaluation context for one column: its balances, its inputs, and the lines computed so far."""

    def __init__(self, chart: Chart, balances: Mapping[str, int], inputs: Mapping[str, int]) -> None:
        self.chart = chart
        self.balances = [(key.partition(":")[0], amount) for key, amount in balances.items()]
        self.inputs = inputs
        self.lines: dict[int, int] = {}

    def account(self, function: AccountFunction, code: str) -> int:
        amounts = [amount for key, amount in self.balances if key.startswith(code)]
        if function == "bal":
            return sum(amounts)
        if function == "acct_debit":
            return sum(a for a in amounts if a > 0)
        if function == "acct_credit":
            return -sum(a for a in amounts if a < 0)
        first_level = self.chart.first_level(code)
        assert first_level is not None  # the layout was validated against the chart
        total = sum(amounts)
        return total if self.chart.normal_side[first_level] == "debit" else -total

    def line(self, line_no: int) -> int:
        return self.lines[line_no]

    def input(self, name: str) -> int:
        return self.inputs.get(name, 0)


def _require_fen(where: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{where} must be int fen, not {type(value).__name__}")
    return int(value)


def _checked_balances(layout: Layout, column: str, balances: Mapping[str, int]) -> dict[str, int]:
    checked: dict[str, int] = {}
    for key, amount in balances.items():
        match = _BALANCE_KEY.fullmatch(key)
        if match is None or layout.chart.first_level(match["code"]) is None:
            raise ValidationError(
                f"{key!r} is not an account of the {layout.standard} chart", field=f"{column}.{key}"
            )
        checked[key] = _require_fen(f"balance {key!r} in {column}", amount)
    # Sorted, a key that another key sits under comes right before one such key.
    codes = sorted((key.partition(":")[0], key) for key in checked)
    for (code, key), (next_code, next_key) in pairwise(codes):
        summary_beside_detail = code == next_code and ":" not in key
        if next_code.startswith(code) and (code != next_code or summary_beside_detail):
            raise ValidationError(
                f"{key!r} and {next_key!r} both given: a summary account beside its own sub-accounts or"
                " details would count twice",
                field=f"{column}.{next_key}",
            )
    return checked


def _checked_inputs(layout: Layout, column: str, inputs: Mapping[str, int]) -> dict[str, int]:
    unknown = sorted(set(inputs) - set(layout.inputs))
    if unknown:
        known = ", ".join(layout.inputs) or "none"
        raise ValidationError(
            f"{layout.title} takes no input {unknown[0]!r}; it takes: {known}", field=f"{column}.{unknown[0]}"
        )
    return {name: _require_fen(f"input {name!r} in {column}", value) for name, value in inputs.items()}


def compute_statement(
    layout_name: str,
    balances: Mapping[str, int] | None = None,
    *,
    columns: Mapping[str, Mapping[str, int]] | None = None,
    inputs: Mapping[str, int] | None = None,
    column_inputs: Mapping[str, Mapping[str, int]] | None = None,
    lang: Lang = "zh",
) -> pd.DataFrame:
    """Compute a statement: one row per layout line, one integer-fen column per balances mapping.

    Give either ``balances`` (one column, named after the layout's current column, e.g. 期末余额) or
    ``columns`` ({column name: balances}, e.g. {"期末余额": closing, "年初余额": opening}). ``inputs`` feed
    every column's ``input(name)`` terms; ``column_inputs`` ({column name: inputs}) add to or override them
    per column (the distribution of this year and of last year). Income statements want the period's
    income and expense balances before the closing entries.

    Returns columns ``line_no, key, label, indent, style, section`` and then the value columns, as pandas
    ``Int64`` (headings have ``<NA>``). Raises ``StatementDoesNotFoot`` if any check fails in any column.
    """
    import pandas as pd

    layout = load_layout(layout_name)
    if (balances is None) == (columns is None):
        raise TypeError("give either balances or columns, not both or neither")
    if columns is None:
        names = layout.columns_en if lang == "en" else layout.columns
        columns = {names[layout.current_column]: balances or {}}
    clash = set(columns) & set(META_COLUMNS)
    if clash:
        raise ValueError(f"column names {sorted(clash)} are taken by the statement's own columns")
    unknown_columns = set(column_inputs or {}) - set(columns)
    if unknown_columns:
        raise ValueError(f"column_inputs for columns that are not computed: {sorted(unknown_columns)}")

    values: dict[str, dict[int, int]] = {}
    failures: list[CheckFailure] = []
    for name, column_balances in columns.items():
        merged_inputs = {**(inputs or {}), **((column_inputs or {}).get(name, {}))}
        context = _Column(
            layout.chart,
            _checked_balances(layout, name, column_balances),
            _checked_inputs(layout, name, merged_inputs),
        )
        for line_no in layout.order:
            context.lines[line_no] = layout.formula(line_no).evaluate(context)
        values[name] = context.lines
        for named in layout.checks:
            left = named.check.left.evaluate(context)
            right = named.check.right.evaluate(context)
            if not named.check.holds(left, right):
                failures.append(CheckFailure(named.name, named.check.text, name, left, right))
    if failures:
        raise StatementDoesNotFoot(layout.title_in(lang), tuple(failures))

    frame = pd.DataFrame(
        {
            "line_no": pd.array([line.line_no for line in layout.lines], dtype="Int64"),
            "key": [line.key for line in layout.lines],
            "label": [line.label_en if lang == "en" else line.label for line in layout.lines],
            "indent": [line.indent for line in layout.lines],
            "style": [line.style for line in layout.lines],
            "section": [line.section for line in layout.lines],
        }
    )
    for name, lines in values.items():
        column = [None if line.line_no is None else lines.get(line.line_no) for line in layout.lines]
        frame[name] = pd.array(column, dtype="Int64")  # a heading (no 行次) has no figure: <NA>
    return frame


def statement_report(
    layout_name: str,
    frame: pd.DataFrame,
    *,
    org_name: str,
    period: str,
    chain_head: str,
    lang: Lang = "zh",
    generated_at: datetime | None = None,
    signatures: tuple[str, ...] | None = None,
    landscape: bool = False,
) -> Report:
    """Wrap a computed statement for ``reports.render``: 行次 and 项目 columns, the layout's two-sided
    print where it has one, and its headline totals taken from the current period's column."""
    layout = load_layout(layout_name)
    if list(frame["key"]) != [line.key for line in layout.lines]:
        raise ValueError(f"the frame is not a {layout_name} statement")
    value_columns = [str(c) for c in frame.columns if c not in META_COLUMNS]
    en = lang == "en"
    # The layout's own column names print in the report's language; a caller's own names print as given.
    translate = dict(zip(layout.columns, layout.columns_en if en else layout.columns, strict=True))
    table = Table(
        frame=frame,
        columns=(
            Column("label", "Item" if en else "项目", "label"),
            Column("line_no", "Line" if en else "行次", "line_no"),
            *(Column(name, translate.get(name, name), "amount") for name in value_columns),
        ),
        left_sections=layout.left_sections,
        side_headings=layout.side_headings_en if en else layout.side_headings,
    )
    # The current period's column: its place in the layout when all the layout's columns are there.
    current = value_columns[layout.current_column if len(value_columns) == len(layout.columns) else 0]
    current_header = translate.get(current, current)
    amounts = frame.set_index("key")[current]
    totals = tuple(
        Total(
            f"{total.label_en} ({current_header})" if en else f"{total.label}（{current_header}）",
            int(amounts[total.key]),
        )
        for total in layout.totals
    )
    return Report(
        title=layout.title_in(lang),
        org_name=org_name,
        period=period,
        tables=(table,),
        chain_head=chain_head,
        totals=totals,
        signatures=signatures,
        form_no=layout.form_no,
        lang=lang,
        landscape=landscape,
        template="statement.html",
        generated_at=generated_at or datetime.now(UTC),
    )
