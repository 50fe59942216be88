"""The layouts: which header names mean which column, per source (``statement_columns.toml``)."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from ledger.reconcile.importers.records import KINDS, SOURCES, Draft


@dataclass(frozen=True)
class _KindRule:
    kind: str
    words: tuple[str, ...]
    direction: str | None  # "in", "out" or None (either)


@dataclass(frozen=True)
class Layout:
    """One source's columns, summary names, kinds and detection words, as ``statement_columns.toml`` says."""

    source: str
    label: str
    detect: tuple[str, ...]
    required: tuple[str, ...]
    required_any: tuple[tuple[str, ...], ...]
    columns: dict[str, tuple[str, ...]]
    summary: dict[str, tuple[str, ...]]
    trailer: dict[str, re.Pattern[str]]
    kinds: tuple[_KindRule, ...]
    kind_from: tuple[str, ...]
    default_kind: str | None
    direction_values: dict[str, frozenset[str]]
    footer_words: tuple[str, ...]
    serials: frozenset[str]  # reference column names that are the source's own unique serial
    account_label: str  # what the file calls the account's own number (账号, 商户号 …)

    def role_label(self, role: str) -> str:
        return self.columns[role][0]

    def looked_for(self, role: str) -> str:
        return ", ".join(self.columns[role])


@cache
def load_layouts() -> dict[str, Layout]:
    """Every source's ``Layout``, read from ``ledger/data/statement_columns.toml``."""
    raw = tomllib.loads((files("ledger") / "data" / "statement_columns.toml").read_text(encoding="utf-8"))
    layouts = {}
    for source in SOURCES:
        spec = raw[source]
        kinds = tuple(
            _KindRule(rule["kind"], tuple(rule["words"]), rule.get("direction"))
            for rule in spec.get("kinds", [])
        )
        for rule in kinds:
            if rule.kind not in KINDS or rule.direction not in (None, "in", "out"):
                raise ValueError(f"statement_columns.toml: bad kind rule {rule} in [{source}]")
        roles = {*spec["required"], *spec.get("kind_from", [])}
        roles.update(role for group in spec.get("required_any", []) for role in group)
        if not roles <= spec["columns"].keys():
            missing = roles - spec["columns"].keys()
            raise ValueError(f"statement_columns.toml: [{source}] names roles without columns: {missing}")
        for name in spec.get("trailer", {}):
            if name not in TRAILER_SELECTORS:
                raise ValueError(f"statement_columns.toml: unknown trailer total {name!r} in [{source}]")
        layouts[source] = Layout(
            source=source,
            label=spec["label"],
            detect=tuple(spec["detect"]),
            required=tuple(spec["required"]),
            required_any=tuple(tuple(group) for group in spec.get("required_any", [])),
            columns={role: tuple(names) for role, names in spec["columns"].items()},
            summary={role: tuple(names) for role, names in spec.get("summary", {}).items()},
            trailer={name: re.compile(pattern) for name, pattern in spec.get("trailer", {}).items()},
            kinds=kinds,
            kind_from=tuple(spec.get("kind_from", [])),
            default_kind=spec.get("default_kind"),
            direction_values={
                side: frozenset(norm_name(v) for v in values)
                for side, values in spec.get("direction_values", {}).items()
            },
            footer_words=tuple(spec.get("footer_words", [])),
            serials=frozenset(norm_name(name) for name in spec.get("serial_columns", [])),
            account_label=spec.get("account_label", "账号"),
        )
    return layouts


def norm_name(text: str) -> str:
    """Header names compare after NFKC (full-width （） → ()), without whitespace, case-folded."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def name_forms(cell: str) -> tuple[str, ...]:
    """The forms a header cell is looked up by: its normalised name, and that name without ``(元)``."""
    name = norm_name(cell)
    bare = name.removesuffix("(元)")
    return (name, bare) if bare != name else (name,)


TRAILER_SELECTORS: dict[str, Callable[[Draft], bool]] = {
    "sale": lambda d: d.kind == "sale",
    "refund": lambda d: d.kind == "refund",
    "income": lambda d: d.amount_fen > 0,
    "expense": lambda d: d.amount_fen < 0,
}
"""Which lines a ``#`` trailer total in statement_columns.toml adds up."""
