"""The per-org hash chain over journal entries: ``hash = sha256(prev_hash ‖ canonical bytes)``.

The canonical bytes are compact, key-sorted JSON of the entry's fields and its lines in line order, with
the account *code* (not its row id), so changing an amount, an account, a date or a memo anywhere breaks
the chain from that entry on. Never change this encoding: every stored hash depends on it.

One field was added since, without changing it: ``attachments`` (附单据数, 0009_core) is in the document
only when it is not 0, so every entry posted before it existed (all 0) hashes to the bytes it always did,
and a count changed after posting breaks the chain like any other field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

GENESIS = "0" * 64


# One encoder, built once: the same compact, key-sorted JSON as ``json.dumps(doc, ensure_ascii=False,
# sort_keys=True, separators=(",", ":"))`` (byte for byte, tests/books/test_chain.py pins it), without
# building an encoder per entry. No circular check: the document is flat lists and scalars.
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False)

#: The fields of a line in its canonical list, in order.
LINE_FIELDS = (
    "line_no",
    "account_code",
    "debit_fen",
    "credit_fen",
    "memo",
    "counterparty_id",
    "store_id",
    "channel",
    "contract_id",
    "welfare_post_id",
    "product_category",
)


def canonical_bytes(entry: dict[str, Any], lines: Sequence[dict[str, Any]]) -> bytes:
    """``entry`` and ``lines`` hold the stored column values; lines carry ``account_code``."""
    return entry_bytes(entry, [[line[f] for f in LINE_FIELDS] for line in lines])


def entry_bytes(entry: dict[str, Any], lines: Sequence[Sequence[Any]]) -> bytes:
    """The canonical bytes from ``entry`` and each line already as its canonical list (``LINE_FIELDS``).

    The posting code calls this directly with ``created_at`` and ``entry_date`` already as ISO strings."""
    created_at = entry["created_at"]
    if isinstance(created_at, datetime):
        created_at = created_at.astimezone(UTC).isoformat()
    entry_date = entry["entry_date"]
    if isinstance(entry_date, date):
        entry_date = entry_date.isoformat()
    doc = {
        "id": entry["id"],
        "org": entry["org_id"],
        "seq": entry["seq"],
        "date": entry_date,
        "period": entry["period"],
        "voucher": entry["voucher_no"],
        "memo": entry["memo"],
        "source": entry["source"],
        "source_ref": entry["source_ref"],
        "created_by": entry["created_by"],
        "created_at": created_at,
        "idempotency_key": entry["idempotency_key"],
        "link": entry["link_id"],
        "reverses": entry["reverses_id"],
        "lines": lines,
    }
    if entry.get("attachments"):
        doc["attachments"] = entry["attachments"]
    return _JSON.encode(doc).encode("utf-8")


def chain_hash(prev_hash: str, entry: dict[str, Any], lines: Sequence[dict[str, Any]]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_bytes(entry, lines)).hexdigest()


def entry_hash(prev_hash: str, entry: dict[str, Any], lines: Sequence[Sequence[Any]]) -> str:
    """``chain_hash`` for lines given as canonical lists (see ``entry_bytes``)."""
    return hashlib.sha256(prev_hash.encode("ascii") + entry_bytes(entry, lines)).hexdigest()


# The document's keys in sorted order, written so: this encoder need not sort them (the bytes are the same).
_JSON_IN_ORDER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def _in_order_chunks() -> Callable[[Any, int], list[str]] | None:
    """The C encoder ``_JSON_IN_ORDER.encode`` builds on every call (``JSONEncoder.iterencode``), built once:
    half the cost of a call. The same arguments as the standard library passes it; ``None`` where the C
    accelerator is missing (then ``encode`` itself)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    e = _JSON_IN_ORDER
    chunks: Callable[[Any, int], list[str]] = make(
        None, e.default, json.encoder.encode_basestring, None, e.key_separator, e.item_separator,
        False, False, True,
    )  # fmt: skip
    return chunks


_CHUNKS = _in_order_chunks()


def posted_hash(
    prev_hash: str,
    *,
    entry_id: int,
    org_id: int,
    seq: int,
    entry_date: str,
    period: str,
    voucher_no: str,
    memo: str,
    source: str,
    source_ref: str | None,
    created_by: int | None,
    created_at: str,
    idempotency_key: str | None,
    link_id: str | None,
    reverses_id: int | None,
    attachments: int,
    lines: Sequence[Sequence[Any]],
) -> str:
    """``entry_hash`` for the posting code's own values, ``entry_date`` and ``created_at`` already ISO
    strings: the same bytes (tests/books/test_chain.py), the document built once with its keys in order."""
    doc = {
        "created_at": created_at,
        "created_by": created_by,
        "date": entry_date,
        "id": entry_id,
        "idempotency_key": idempotency_key,
        "lines": lines,
        "link": link_id,
        "memo": memo,
        "org": org_id,
        "period": period,
        "reverses": reverses_id,
        "seq": seq,
        "source": source,
        "source_ref": source_ref,
        "voucher": voucher_no,
    }
    if attachments:  # "attachments" sorts first
        doc = {"attachments": attachments, **doc}
    text = "".join(_CHUNKS(doc, 0)) if _CHUNKS is not None else _JSON_IN_ORDER.encode(doc)
    return hashlib.sha256(prev_hash.encode("ascii") + text.encode("utf-8")).hexdigest()


def short_code(head_hash: str) -> str:
    """An eight-character code a person can read aloud to check a printed report against the books."""
    return head_hash[:8].upper()
