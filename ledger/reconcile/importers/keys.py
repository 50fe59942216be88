"""Keys: each line's identity, so that a file imported twice adds nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from ledger.reconcile.importers.balances import format_yuan
from ledger.reconcile.importers.drafts import ParseContext
from ledger.reconcile.importers.layouts import norm_name
from ledger.reconcile.importers.records import Draft, StatementLine

_json_text = json.encoder.encode_basestring  # a JSON string literal, non-ASCII kept (ensure_ascii=False)


def _identity(head: str, d: Draft) -> str:
    """``json.dumps([source, reference, occurred_at, amount, merchant_ref, fee, balance, *identity],
    ensure_ascii=False)``, byte for byte (keys of earlier imports depend on it), without the encoder's
    per-call set-up."""
    balance = "null" if d.balance_fen is None else str(d.balance_fen)
    extra = "".join(f", {_json_text(part)}" for part in d.identity)
    return (
        f"{head}{_json_text(d.reference)}, {_json_text(d.occurred_at.isoformat(sep=' '))}, {d.amount_fen}, "
        f"{_json_text(d.merchant_ref)}, {d.fee_fen}, {balance}{extra}]"
    )


def _serial_column(ctx: ParseContext) -> str | None:
    """The header of the reference column when it is the source's own unique serial (流水号, 微信订单号,
    资金流水单号, 支付宝交易号, 账务流水号), else None (凭证号, 日志号 … repeat; ABC prints none)."""
    roles = ctx.header.roles
    if "reference" not in roles:
        return None
    name = ctx.header.name(roles["reference"][0])
    return name if norm_name(name) in ctx.layout.serials else None


def keyed(ctx: ParseContext, drafts: Sequence[Draft]) -> tuple[list[StatementLine], set[int]]:
    """Key each line by what identifies it in any export of the same account, never by its line number.

    Where the file has the source's serial, a line is its serial (``_serial_key``), and two lines of one
    serial are refused: a statement that prints a line twice has been damaged or edited, and which copy
    the bank meant cannot be told (with a balance column the copy also breaks the running balance).
    Without a serial, two lines identical in every identifying field (two same-amount same-minute bank
    rows with no serial and no balance) are told apart by their order of occurrence within the file.
    Returns the lines and the line numbers refused as repeats.
    """
    source, problems = ctx.layout.source, ctx.problems
    serial_column = _serial_column(ctx)
    seen: dict[str, int] = {}
    by_serial: dict[str, Draft] = {}
    repeated: set[int] = set()
    lines = []
    head = f"[{_json_text(source)}, "
    serial_head = f'[{_json_text(source)}, "serial", '
    for d in drafts:
        if serial_column is not None and d.reference:
            identity = serial_head + _json_text(d.reference) + _serial_extra(source, d)
            first = by_serial.get(identity)
            if first is not None:
                repeated.add(d.line_no)
                problems.add(d.line_no, serial_column, _repeat_message(serial_column, first, d, ctx))
                continue
            by_serial[identity] = d
            key = hashlib.sha256(identity.encode()).hexdigest()
        else:
            identity = _identity(head, d)
            occurrence = seen.get(identity, 0)
            seen[identity] = occurrence + 1
            key = hashlib.sha256(f"{identity}#{occurrence}".encode()).hexdigest()
        lines.append(StatementLine(source=source, key=key, **d._asdict()))  # the draft, keyed
    return lines, repeated


def _serial_extra(source: str, d: Draft) -> str:
    if source == "bank":
        return f", {_json_text(d.occurred_at.date().isoformat())}, {d.amount_fen}]"
    if source in ("wechat_trade", "alipay_detail"):
        return f", {_json_text(d.kind)}, {_json_text(d.identity[0] if d.identity else '')}]"
    return "]"


def _repeat_message(column: str, first: Draft, d: Draft, ctx: ParseContext) -> str:
    same = first._replace(line_no=d.line_no) == d
    if same:
        balance = ""
        if d.balance_fen is not None and "balance" in ctx.header.roles:
            balance_name = ctx.header.name(ctx.header.roles["balance"][0])
            balance = f" and the same {balance_name} {format_yuan(d.balance_fen)}"
        return (
            f"repeats line {first.line_no} ({column} {d.reference}{balance}): a statement never prints a "
            "line twice, so the file has been damaged or edited; export it again"
        )
    return (
        f"has the {column} {d.reference} of line {first.line_no} but differs from it "
        f"({format_yuan(first.amount_fen)} / {format_yuan(d.amount_fen)}); one serial is one line"
    )


def legacy_keys(lines: Sequence[StatementLine]) -> list[str]:
    """The keys the lines had before serial identity (imports of ``key_scheme`` 1), in file order: so a
    file imported before then is still known when imported again."""
    seen: dict[str, int] = {}
    keys = []
    for line in lines:
        head = f"[{_json_text(line.source)}, "
        # the line as drafted, but with WeChat's 总金额 (what they stored) and without the 代金券 apart
        d = Draft._make(getattr(line, field) for field in Draft._fields)._replace(
            amount_fen=line.amount_fen + line.voucher_fen, voucher_fen=0
        )
        identity = _identity(head, d)
        occurrence = seen.get(identity, 0)
        seen[identity] = occurrence + 1
        keys.append(hashlib.sha256(f"{identity}#{occurrence}".encode()).hexdigest())
    return keys
