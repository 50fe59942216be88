"""The posting rules (rules.toml): which statement lines a rule takes, and the accounts it posts to."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    pattern: re.Pattern[str]
    direction: str
    accounts: dict[str, str]
    sub_account: str

    def applies(self, line: Any) -> bool:
        if self.direction == "out" and line.amount_fen >= 0:
            return False
        if self.direction == "in" and line.amount_fen <= 0:
            return False
        return bool(self.pattern.search(f"{line.memo} {line.kind} {line.counterparty}"))


@cache
def _rules_doc() -> dict[str, Any]:
    return tomllib.loads((files("ledger.reconcile") / "rules.toml").read_text(encoding="utf-8"))


def rules() -> tuple[Rule, ...]:
    return tuple(
        Rule(
            r["name"],
            r["label"],
            re.compile(r["memo"]),
            r.get("direction", "any"),
            dict(r["account"]),
            r.get("sub_account", ""),
        )
        for r in _rules_doc()["rule"]
    )


def fee_account_code(standard: str) -> tuple[str, str]:
    doc = _rules_doc()["fee_account"]
    return doc[standard], doc.get("sub_account", "")
