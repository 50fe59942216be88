"""One idempotency for every write, from every door (DESIGN §3): a retried request never writes twice.

A write names its *keyspace* — the org (or store) whose books the key belongs to — and its key. The caller
has already checked the actor's scope over that keyspace (``ledger.access.service.perform`` does it in that
order), so a key of another org is simply never looked at: its owner's answer cannot leak, and its
existence is not told by a 409. Within the keyspace:

* a new key runs the write and stores its answer (JSON) beside a hash of the request;
* the same key with the same request answers the stored answer again, and writes nothing;
* the same key with another request (another action, path or body) is a 409.

**Keys stored before an upgrade.** The HTTP door once fingerprinted a request as its path, query and parsed
body (``ledger.api.writes.fingerprint``); the services now name their own request, door-independent, so
the same retry hashes differently. A door that can still say what the older scheme would have hashed for
this very request passes it as ``former``: a stored row whose hash is that one is the same request, and is
replayed, as the older version would have done. Only that scheme is known: a row stored by the
reconciliation routes' own idempotency before the one write path (their fingerprint strings) or by a door
that never hashed its path (a page's form, the CLI's ``--key``) still answers 409 to a retry, as does a row
whose action or request body has since changed shape (a new field with a default; a statement upload with
an account override, which that version did not take) — a 409 writes nothing,
and the client retries under a new key once it has checked the first request's effect.

The record is written in the write's own transaction, so a crash leaves either both or neither. Journal
entries keep their own per-org key (``ledger.books.posting``): a write that posts under the request's key
is answered here first, and the entry's key is the last line of defence for requests that reach the
books from elsewhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from ledger.books.errors import IdempotencyConflict, ValidationError
from ledger.books.orgs import now
from ledger.db.models import IdempotencyRecord
from ledger.db.rows import driver_rows

record_t = IdempotencyRecord.__table__

MAX_KEY = 128


@dataclass(frozen=True)
class Answer:
    """What a write answered: its JSON, its status, and whether it is a replay of an earlier answer."""

    body: Any
    status: int
    replayed: bool


def check_key(key: str | None, field: str = "Idempotency-Key") -> str | None:
    """A key is 1 to 128 printable characters, or absent."""
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY:
        raise ValidationError("an idempotency key has 1 to 128 characters", field=field)
    if not key.isprintable():
        raise ValidationError("an idempotency key has no control characters", field=field)
    return key


def request_hash(action: str, request: Any) -> str:
    """The fingerprint a retry must repeat: the action and the request's canonical JSON."""
    doc = json.dumps(
        [action, request], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256(doc.encode()).hexdigest()


def once(
    conn: Connection,
    *,
    keyspace: str,
    key: str | None,
    action: str,
    request: Any,
    run: Callable[[], tuple[Any, int]],
    keep: Callable[[Any], Any] | None = None,
    key_field: str = "Idempotency-Key",
    former: Sequence[Any] = (),
) -> Answer:
    """Run ``run`` (→ JSON answer, status) once per ``key`` in ``keyspace``; see the module docstring.

    The caller must have checked the actor's scope over ``keyspace`` before calling this. ``keep`` is what
    is stored for replays when it must differ from the first answer (a secret is shown once, never kept);
    ``key_field`` is how the door names the key in an error (the header, a form field, ``--key``);
    ``former`` is this same request as the older fingerprint scheme saw it (see the module docstring)."""
    if key is None:
        body, status = run()
        return Answer(body, status, replayed=False)
    check_key(key, key_field)
    digest = request_hash(action, request)
    if conn.dialect.name == "postgresql":
        # Two copies of one request racing: the second waits here, then finds the first's answer.
        driver_sql(conn, "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (f"{keyspace}\x1f{key}",))
    found = driver_sql(conn, _FIND, (keyspace, key))
    if found:
        stored_hash, stored_body = found[0]
        if stored_hash != digest and all(stored_hash != request_hash(action, f) for f in former):
            raise IdempotencyConflict(
                f"idempotency key {key!r} was used for a different request", field=key_field
            )
        return Answer(json.loads(stored_body), 200, replayed=True)
    body, status = run()
    driver_sql(
        conn,
        _KEEP,
        (
            keyspace,
            key,
            digest,
            status,
            json.dumps(keep(body) if keep else body, ensure_ascii=False, default=str),
            driver_time(conn, now()),
        ),
    )
    return Answer(body, status, replayed=False)


# Every write passes here: its two statements go straight to the driver (as ``pos.fastsql`` does for the
# till's sale), without building a SQLAlchemy statement and its cache key each time.
_FIND = "SELECT request_hash, response_body FROM idempotency_record WHERE scope = ? AND key = ?"
_KEEP = (
    "INSERT INTO idempotency_record (scope, key, request_hash, status_code, response_body, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def driver_sql(conn: Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """``sql`` (``?`` placeholders) with ``params`` on the driver's cursor, in the caller's transaction;
    a refusal raised as SQLAlchemy raises it (IntegrityError …). Returns the rows it read (none for a
    write), its cursor closed (``ledger.db.rows.driver_rows``)."""
    return driver_rows(conn, sql, params)


def driver_time(conn: Connection, value: datetime) -> Any:
    """An aware instant as a ``datetime`` column stores it (SQLite: SQLAlchemy's naive-UTC text)."""
    utc = value.astimezone(UTC)
    return utc if conn.dialect.name == "postgresql" else utc.strftime("%Y-%m-%d %H:%M:%S.%f")
