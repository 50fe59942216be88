"""Reading entries for bulk loads (``cunshe post``) from JSON or CSV; posting goes through ``post_entries``.

JSON: a list of ``{"org": "<code>", "date": "2025-03-05", "memo": "...", "idempotency_key": "...",
"lines": [{"account": "102", "debit": "105.00"}, {"account": "50102", "credit": "105.00"}]}``.
CSV (UTF-8): columns ``org, entry, date, memo, account, debit, credit``; rows with the same ``entry`` label
form one entry (``docs/post-sample.csv``). Amounts are decimal strings, as everywhere. An org is named by
its code or its id. A line names its 辅助核算 by id — ``counterparty_id``, ``contract_id``,
``welfare_post_id``, ``store_id`` (JSON keys, or CSV columns that may be left out) — and must name those
its account requires (``ledger/data/account_dimensions.toml``), as on the entry form.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from ledger.books.errors import ValidationError
from ledger.books.money import parse_amount
from ledger.books.periods import parse_date
from ledger.books.posting import Draft, Line
from ledger.db.models import Org

org_t = Org.__table__
CSV_COLUMNS = ("org", "entry", "date", "memo", "account", "debit", "credit")
DIMENSION_COLUMNS = ("counterparty_id", "contract_id", "welfare_post_id", "store_id")  # optional


def _dimension(value: Any, field: str) -> int | None:
    """A line's dimension id: a whole number, or nothing (absent, null, blank)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or len(text) > 18:
        raise ValidationError(f"{field.rsplit('.', 1)[-1]} is an id (a whole number)", field=field)
    return int(text)


def drafts_from_json(conn: Connection, docs: list[dict[str, Any]], *, keys: str | None = None) -> list[Draft]:
    """Entries from JSON documents. ``keys``: an entry without its own ``idempotency_key`` gets
    ``{keys}#{label}`` (its ``entry`` label, else its place in the list), so posting the same file again
    posts nothing twice. A bulk file posts manual entries only: a workflow's source is its own."""
    codes: dict[str, int] = {code: org_id for code, org_id in conn.execute(select(org_t.c.code, org_t.c.id))}
    codes |= {str(org_id): org_id for org_id in codes.values() if str(org_id) not in codes}  # or its id
    drafts = []
    for i, doc in enumerate(docs):
        p = f"entries[{i}]"
        org = str(doc.get("org"))
        if org not in codes:
            raise ValidationError(f"unknown org {doc.get('org')!r} (a code or an id)", field=f"{p}.org")
        lines = []
        for j, ln in enumerate(doc.get("lines") or []):
            debit = ln.get("debit")
            credit = ln.get("credit")
            lines.append(
                Line(
                    account=str(ln.get("account", "")),
                    debit_fen=parse_amount(debit, f"{p}.lines[{j}].debit") if debit not in (None, "") else 0,
                    credit_fen=parse_amount(credit, f"{p}.lines[{j}].credit")
                    if credit not in (None, "")
                    else 0,
                    memo=str(ln.get("memo", "")),
                    counterparty_id=_dimension(ln.get("counterparty_id"), f"{p}.lines[{j}].counterparty_id"),
                    contract_id=_dimension(ln.get("contract_id"), f"{p}.lines[{j}].contract_id"),
                    welfare_post_id=_dimension(ln.get("welfare_post_id"), f"{p}.lines[{j}].welfare_post_id"),
                    store_id=_dimension(ln.get("store_id"), f"{p}.lines[{j}].store_id"),
                )
            )
        if doc.get("source", "manual") != "manual":
            raise ValidationError(
                "a bulk file posts manual entries only (a workflow posts its own)", field=f"{p}.source"
            )
        key = doc.get("idempotency_key")
        if key is None and keys is not None:
            key = f"{keys}#{doc.get('entry') or i + 1}"
        drafts.append(
            Draft(
                org_id=codes[org],
                entry_date=parse_date(doc.get("date"), f"{p}.date"),
                memo=str(doc.get("memo", "")),
                lines=lines,
                idempotency_key=key,
            )
        )
    return drafts


def read_entries_file(conn: Connection, path: Path) -> list[Draft]:
    """Entries from a CSV or JSON file; a file that is not UTF-8, not CSV or not JSON is a ValidationError."""
    try:
        return _read_entries_file(conn, path)
    except (UnicodeDecodeError, csv.Error, json.JSONDecodeError) as exc:
        raise ValidationError(f"{path.name} cannot be read: {exc}", field="file") from None


def _read_entries_file(conn: Connection, path: Path) -> list[Draft]:
    if path.suffix.lower() == ".json":
        docs = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(docs, list):
            raise ValidationError("the JSON file holds a list of entries", field="file")
        return drafts_from_json(conn, docs, keys=path.name)
    grouped: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValidationError(
                f"the CSV has no {', '.join(missing)} column: its header is {','.join(CSV_COLUMNS)}"
                " (rows with the same entry label form one entry)",
                field=missing[0],
            )
        for n, row in enumerate(reader, start=2):
            label = row.get("entry") or f"line{n}"
            doc = grouped.setdefault(
                label,
                {
                    "org": row.get("org"),
                    "entry": label,
                    "date": row.get("date"),
                    "memo": row.get("memo", ""),
                    "lines": [],
                },
            )
            doc["lines"].append(
                {
                    "account": row.get("account"),
                    "debit": row.get("debit"),
                    "credit": row.get("credit"),
                    **{d: row.get(d) for d in DIMENSION_COLUMNS},
                }
            )
    return drafts_from_json(conn, list(grouped.values()), keys=path.name)
