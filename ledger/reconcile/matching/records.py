"""The matcher's records: statement and book lines, reasons (with their words), proposals, options."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any, NamedTuple

DEFAULT_WINDOW_DAYS = 3
MAX_SUBSET = 12
MAX_SETTLEMENT_LAG = 3
DEFAULT_MAX_FEE_BP = 100  # 1%: WeChat and Alipay charge 0.2–0.6% to small merchants
GROUP_SCAN_LIMIT = 400
"""Leftovers in one window beyond which pass 2 (one to many, many to one) does not search."""


class _Normalised:
    """What a match compares on either side, normalised once per record, not once per candidate pair."""

    references: tuple[str, ...]
    counterparty: str
    memo: str
    norm_refs: tuple[str, ...]
    norm_counterparty: str
    norm_memo: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "norm_refs", tuple(norm(r) for r in self.references if r))
        object.__setattr__(self, "norm_counterparty", norm(self.counterparty))
        object.__setattr__(self, "norm_memo", norm(self.memo))


@dataclass(frozen=True)
class StatementRecord(_Normalised):
    """A statement line as the matcher sees it; ``amount_fen`` signed, + money in."""

    id: int
    on: date
    amount_fen: int
    references: tuple[str, ...] = ()
    counterparty: str = ""
    memo: str = ""
    kind: str = "other"
    fee_fen: int = 0


@dataclass(frozen=True)
class BookRecord(_Normalised):
    """A journal line (分录) on the account; ``amount_fen`` = debit − credit (+ money in)."""

    id: int
    on: date
    amount_fen: int
    entry_id: int = 0
    references: tuple[str, ...] = ()
    counterparty: str = ""
    memo: str = ""
    voucher_no: str = ""
    account: str = ""


class Reason(NamedTuple):
    """One reason a proposal was made, with the points it added (or took away) and what it names
    (``params``: amounts in fen, counts, references). Its words live in ``reasons.toml``, per language."""

    code: str
    points: int
    params: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        """The reason in Chinese (``reason_text`` for another language)."""
        return reason_text(self.code, self.params)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "points": self.points, "params": self.params or {}}


@cache
def _reason_templates() -> dict[str, dict[str, str]]:
    return tomllib.loads((files("ledger.reconcile") / "reasons.toml").read_text(encoding="utf-8"))


def reason_text(code: str, params: dict[str, Any] | None = None, lang: str = "zh") -> str:
    """A stored reason in words: its ``reasons.toml`` entry in ``lang`` (Chinese when missing), filled in
    with its params, ``*_fen`` ones as money. An unknown code is shown as itself."""
    params = params or {}
    variant = params.get("variant")
    entry = _reason_templates().get(f"{code}_{variant}" if variant else code)
    if entry is None:
        return code
    fields = {
        (name[:-4] if name.endswith("_fen") else name): (_money(value) if name.endswith("_fen") else value)
        for name, value in params.items()
    }
    return (entry.get(lang) or entry["zh"]).format(**fields)


def reasons_view(stored: str, lang: str = "zh") -> list[dict[str, Any]]:
    """A match's stored reasons (JSON) as ``{"code", "text", "points", "params"}`` in ``lang``. Records
    written before reasons had params keep the Chinese text they were stored with."""
    out = []
    for r in json.loads(stored):
        params = r.get("params")
        text = reason_text(r["code"], params, lang) if params is not None else r.get("text", r["code"])
        out.append({"code": r["code"], "text": text, "points": r["points"], "params": params or {}})
    return out


@dataclass
class Proposal:
    """A proposed match and why. ``settled_ids`` are clearing-account lines a settlement clears."""

    kind: str
    statement_ids: tuple[int, ...]
    book_ids: tuple[int, ...]
    score: int
    reasons: tuple[Reason, ...]
    conflict: bool = False
    ambiguous: bool = False
    fee_fen: int = 0
    settled_ids: tuple[int, ...] = ()
    clearing_account: str | None = None
    exact_reference: bool = False
    same_day: bool = False

    @property
    def auto_confirmable(self) -> bool:
        """Exact amount, same date, equal reference, nothing competing, no conflict."""
        return (
            self.kind == "one_to_one"
            and self.same_day
            and self.exact_reference
            and not self.conflict
            and not self.ambiguous
        )


@dataclass(frozen=True)
class ClearingRecord:
    """A line on a clearing account (微信/支付宝 其他货币资金) that a bank settlement may clear."""

    id: int
    on: date
    amount_fen: int
    account: str
    kind: str  # "wechat" | "alipay"


@dataclass
class MatchOptions:
    window_days: int = DEFAULT_WINDOW_DAYS
    max_fee_bp: int = DEFAULT_MAX_FEE_BP
    rejected: frozenset[tuple[tuple[int, ...], tuple[int, ...]]] = frozenset()
    #: Fees the payment company's own bill reports per (clearing account, day), to check settlements.
    bill_fees: dict[tuple[str, date], int] = field(default_factory=dict)


def norm(text: str) -> str:
    """A reference as compared: stripped, upper case, without spaces."""
    return text.strip().upper().replace(" ", "")


def _money(fen: int) -> str:
    """``¥12,348.67``; plain arithmetic, as Babel would be the hot spot of 10⁵ proposals."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"
