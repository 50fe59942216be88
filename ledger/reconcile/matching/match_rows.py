"""Match records and their items: new ids, rows and items written, items read back."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import Connection, Row, select

from ledger.books.errors import Conflict, NotFound
from ledger.books.orgs import now
from ledger.db.rows import insert_rows
from ledger.reconcile.matching.records import Reason
from ledger.reconcile.matching.tables import item_t, match_t


def _allocate_match_ids(conn: Connection, count: int) -> list[int]:
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('reconcile_match', 'id')) FROM generate_series(1, %s)",
            (count,),
        ).scalars()
        return sorted(rows)
    # SQLite: the write transaction holds the database lock (BEGIN IMMEDIATE), so max+1 is ours alone.
    first = conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) + 1 FROM reconcile_match").scalar_one()
    return list(range(first, first + count))


_NO_PAIR = (None, None, None)
_MATCH_COLUMNS = (
    "id",
    "org_id",
    "statement_account_id",
    "status",
    "kind",
    "score",
    "conflict",
    "reasons",
    "fee_fen",
    "note",
    "entry_id",
    "supersedes_id",
    "created_by",
    "created_at",
    "statement_line_id",
    "journal_line_id",
    "pair_amount_fen",
)
_ITEM_COLUMNS = ("match_id", "org_id", "role", "statement_line_id", "journal_line_id", "amount_fen")


def write_matches(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    matches: list[dict[str, Any]],
    items: list[list[tuple[str, int | None, int | None, int]]],
) -> list[int]:
    """Insert match rows and their items (``ledger.db.rows.insert_rows``); returns the new ids in order.

    A proposed one-to-one match may carry ``"pair": (statement_line_id, journal_line_id, amount_fen)``
    instead of items (``models``: the pair on the row)."""
    if not matches:
        return []
    ids = _allocate_match_ids(conn, len(matches))
    created = now()
    created_db: object = created
    if conn.dialect.name == "sqlite":  # SQLAlchemy's text format for a UTC instant
        created_db = created.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    insert_rows(
        conn,
        "reconcile_match",
        _MATCH_COLUMNS,
        [
            (
                mid,
                org_id,
                statement_account_id,
                m["status"],
                m["kind"],
                m["score"],
                bool(m["conflict"]),
                m["reasons"],
                m.get("fee_fen", 0),
                m.get("note", ""),
                m.get("entry_id"),
                m.get("supersedes_id"),
                m.get("created_by"),
                created_db,
                *m.get("pair", _NO_PAIR),
            )
            for mid, m in zip(ids, matches, strict=True)
        ],
    )
    rows = [
        (mid, org_id, role, s_id, b_id, amount)
        for mid, its in zip(ids, items, strict=True)
        for role, s_id, b_id, amount in its
    ]
    if rows:
        insert_rows(conn, "reconcile_match_item", _ITEM_COLUMNS, rows)
    return ids


_escape = json.encoder.encode_basestring  # a JSON string literal, non-ASCII kept (as ensure_ascii=False)
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json_param(value: Any) -> str:
    if type(value) is int:
        return str(value)
    return _escape(value) if type(value) is str else _encode(value)


def reasons_json(reasons: Iterable[Reason]) -> str:
    """``[{"code", "points", "params"}, …]``: no words, which ``reason_text`` writes per language. Written
    by hand (codes and param names are identifiers) as 10⁵ proposals go through here."""
    parts = []
    for r in reasons:
        params = r.params
        body = ",".join([f'"{k}":{_json_param(v)}' for k, v in params.items()]) if params else ""
        parts.append(f'{{"code":"{r.code}","points":{int(r.points)},"params":{{{body}}}}}')
    return "[" + ",".join(parts) + "]"


def match_row(conn: Connection, org_id: int, match_id: int) -> Row[Any]:
    """The org's match record, or a 404 naming the match."""
    row = conn.execute(select(match_t).where(match_t.c.id == match_id, match_t.c.org_id == org_id)).first()
    if row is None:
        raise NotFound(f"match {match_id} does not exist", field="match")
    return row


def require_current(conn: Connection, match_id: int) -> None:
    """A 409 unless the match is still current (no later record supersedes it)."""
    successor = conn.execute(
        select(match_t.c.id, match_t.c.status).where(match_t.c.supersedes_id == match_id)
    ).first()
    if successor is not None:
        raise Conflict(
            f"match {match_id} was already decided ({successor.status}, record {successor.id})", field="match"
        )


def pair_items(
    statement_line_id: int, journal_line_id: int, amount_fen: int
) -> list[tuple[str, int | None, int | None, int]]:
    """The two items of a one-to-one match: the statement line and the journal line, each for the amount."""
    return [("statement", statement_line_id, None, amount_fen), ("book", None, journal_line_id, amount_fen)]


def match_items(
    conn: Connection, matches: Sequence[Any]
) -> dict[int, list[tuple[str, int | None, int | None, int]]]:
    """The items of these match rows, ``(role, statement_line_id, journal_line_id, amount_fen)`` in order:
    their item rows, or the pair a proposed one-to-one match keeps on its row (``models``)."""
    out: dict[int, list[tuple[str, int | None, int | None, int]]] = {}
    listed: list[int] = []
    for m in matches:
        if m.statement_line_id is not None:
            out[m.id] = pair_items(m.statement_line_id, m.journal_line_id, m.pair_amount_fen)
        else:
            out[m.id] = []
            listed.append(m.id)
    for chunk in in_chunks(listed):
        for r in conn.execute(
            select(
                item_t.c.match_id,
                item_t.c.role,
                item_t.c.statement_line_id,
                item_t.c.journal_line_id,
                item_t.c.amount_fen,
            )
            .where(item_t.c.match_id.in_(chunk))
            .order_by(item_t.c.id)
        ):
            out[r.match_id].append((r.role, r.statement_line_id, r.journal_line_id, r.amount_fen))
    return out


def item_dicts(items: Sequence[tuple[str, int | None, int | None, int]]) -> list[dict[str, Any]]:
    return [
        {"role": role, "statement_line_id": s_id, "journal_line_id": b_id, "amount_fen": amount}
        for role, s_id, b_id, amount in items
    ]


def items_of_match(conn: Connection, match_id: int) -> list[tuple[str, int | None, int | None, int]]:
    """The items (role, statement line, journal line, amount) of one match."""
    row = conn.execute(select(match_t).where(match_t.c.id == match_id)).one()
    return match_items(conn, [row])[match_id]


def in_chunks(ids: Sequence[int], size: int = 5000) -> Iterable[Sequence[int]]:
    """``ids`` in slices of ``size``, to keep an ``IN (…)`` list under the databases' parameter limits."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
