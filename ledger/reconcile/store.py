"""Statement accounts and statement imports: parsed lines into the database, all or nothing.

``import_statement`` parses a whole file first (``importers.parse_statement``: one error listing every
problem, with line and column, and nothing written), then, in the caller's transaction, records the import
and inserts the lines whose ``key`` the account does not hold yet. So re-importing an overlapping export
adds only the new lines, and a file that fails anywhere adds none. Imports into one account are
serialised (a row lock on PostgreSQL; SQLite's write transactions are serial anyway), and the insert also
says ``ON CONFLICT DO NOTHING`` as a last defence against a concurrent writer.

This module never matches lines to postings and never writes journal entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, func, select

from ledger.books.errors import Conflict, NotFound, ValidationError
from ledger.books.orgs import get_org, now, require_books
from ledger.db.engine import locking
from ledger.db.models import Account
from ledger.db.rows import gc_paused, insert_id, insert_rows
from ledger.reconcile.importers import (
    ParsedStatement,
    StatementLine,
    StatementParseError,
    account_matches,
    legacy_keys,
    parse_statement,
)
from ledger.reconcile.models import (
    SOURCES_BY_KIND,
    STATEMENT_ACCOUNT_KINDS,
    StatementAccount,
    StatementImport,
    StatementImportVoid,
    StatementLineRow,
)

account_t = StatementAccount.__table__
import_t = StatementImport.__table__
void_t = StatementImportVoid.__table__
sline_t = StatementLineRow.__table__
chart_t = Account.__table__

#: How new imports key their lines (``statement_import.key_scheme``): 2 = by the source's serial.
KEY_SCHEME = 2

_LINE_COLUMNS = (
    "org_id",
    "statement_account_id",
    "import_id",
    "key",
    "source",
    "line_no",
    "occurred_at",
    "amount_fen",
    "fee_fen",
    "balance_fen",
    "reference",
    "merchant_ref",
    "counterparty",
    "counterparty_account",
    "memo",
    "kind",
    "voucher_fen",
)
_KEY_CHUNK = 5000


@dataclass(frozen=True)
class ImportResult:
    """What one import did: ``line_count`` lines in the file, ``new_count`` of them added."""

    import_id: int
    statement_account_id: int
    source: str
    encoding: str
    file_name: str
    sha256: str
    line_count: int
    new_count: int
    file_account_no: str = ""
    account_override: str = ""

    @property
    def duplicate_count(self) -> int:
        return self.line_count - self.new_count


def create_statement_account(
    conn: Connection,
    org_id: int,
    *,
    ledger_account: str,
    kind: str,
    name: str,
    account_no: str = "",
) -> int:
    """Register a bank / WeChat Pay / Alipay account whose money is booked on ``ledger_account``."""
    require_books(get_org(conn, org_id))
    if kind not in STATEMENT_ACCOUNT_KINDS:
        raise ValidationError(f"kind is one of {', '.join(STATEMENT_ACCOUNT_KINDS)}", field="kind")
    if not name.strip():
        raise ValidationError("a statement account needs a name", field="name")
    chart = conn.execute(
        select(chart_t.c.id, chart_t.c.account_class).where(
            chart_t.c.org_id == org_id, chart_t.c.code == ledger_account
        )
    ).first()
    if chart is None:
        raise NotFound(f"no account {ledger_account} in this org's chart", field="ledger_account")
    if chart.account_class != "asset":
        raise ValidationError(
            f"account {ledger_account} is not an asset account (银行存款 / 其他货币资金)",
            field="ledger_account",
        )
    if conn.execute(
        select(account_t.c.id).where(account_t.c.org_id == org_id, account_t.c.name == name)
    ).first():
        raise Conflict(f"a statement account named {name!r} already exists", field="name")
    return insert_id(
        conn,
        account_t,
        org_id=org_id,
        ledger_account=ledger_account,
        kind=kind,
        name=name.strip(),
        account_no=account_no.strip(),
        created_at=now(),
    )


def get_statement_account(
    conn: Connection, org_id: int, statement_account_id: int, *, lock: bool = False
) -> Row[Any]:
    """The statement account row, if it is this org's (404 otherwise); ``lock`` takes a row lock (PG)."""
    stmt = select(account_t).where(account_t.c.id == statement_account_id, account_t.c.org_id == org_id)
    row = conn.execute(locking(conn, stmt, lock)).first()
    if row is None:
        raise NotFound(f"statement account {statement_account_id} does not exist", field="account")
    return row


def list_statement_accounts(conn: Connection, org_id: int) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            select(account_t).where(account_t.c.org_id == org_id).order_by(account_t.c.id)
        ).mappings()
    ]


def _db_time(conn: Connection, value: datetime) -> object:
    """Driver-level parameters: on SQLite, SQLAlchemy's own text format (naive stays naive)."""
    if conn.dialect.name == "sqlite":
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(" ", "microseconds")  # = strftime("%Y-%m-%d %H:%M:%S.%f"), 4 × faster
    return value


@contextmanager
def large_page_cache(conn: Connection, kib: int = 65536) -> Iterator[None]:
    """On SQLite, at least a 64 MiB page cache for one bulk step, then the connection's own setting again.

    SQLite's default 2 MiB cache thrashes when 10⁵ rows go into indexes with random keys (statement line
    keys are hashes): measured 5.1 s → 1.0 s CPU for 96,000 match rows. A larger cache (the engine's
    128 MB) is kept. No-op on PostgreSQL.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    previous = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    if previous < 0 and -previous >= kib:  # negative: KiB
        yield
        return
    conn.exec_driver_sql(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")


def voided_imports(conn: Connection, statement_account_id: int) -> Select[tuple[int]]:
    """``SELECT import_id`` of the account's voided imports: lines of them count nowhere."""
    return select(void_t.c.import_id).where(void_t.c.statement_account_id == statement_account_id)


def live_lines(statement_account_id: int) -> ColumnElement[bool]:
    """A WHERE clause: the account's lines that count (not of a voided import)."""
    return (sline_t.c.statement_account_id == statement_account_id) & sline_t.c.import_id.not_in(
        select(void_t.c.import_id).where(void_t.c.statement_account_id == statement_account_id)
    )


def _held_keys(
    conn: Connection, statement_account_id: int, keys: list[str], *, voids: int
) -> dict[str, bool]:
    """Which of ``keys`` the account holds, each with whether it is held by a live line (not voided);
    through the driver, as 10⁵ bound keys are costly to compile."""
    found: dict[str, bool] = {}
    live = (
        "1"
        if not voids
        else "CASE WHEN import_id IN (SELECT import_id FROM statement_import_void "
        f"WHERE statement_account_id = {int(statement_account_id)}) THEN 0 ELSE 1 END"
    )
    for sql, params in _key_queries(conn, f"key, {live}", statement_account_id, keys):
        found.update((key, bool(is_live)) for key, is_live in conn.exec_driver_sql(sql, params))
    return found


def _key_queries(
    conn: Connection, columns: str, statement_account_id: int, keys: list[str]
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    sqlite = conn.dialect.name == "sqlite"
    for start in range(0, len(keys), _KEY_CHUNK):
        chunk = keys[start : start + _KEY_CHUNK]
        if sqlite:
            marks = ", ".join("?" * len(chunk))
            where = f"statement_account_id = ? AND key IN ({marks})"
            yield f"SELECT {columns} FROM statement_line WHERE {where}", (statement_account_id, *chunk)
        else:
            where = "statement_account_id = %s AND key = ANY(%s)"
            yield f"SELECT {columns} FROM statement_line WHERE {where}", (statement_account_id, chunk)


def _existing_keys(conn: Connection, statement_account_id: int, keys: list[str]) -> set[str]:
    """Which of ``keys`` the account holds, in an account without voided imports."""
    found: set[str] = set()
    for sql, params in _key_queries(conn, "key", statement_account_id, keys):
        found.update(key for (key,) in conn.exec_driver_sql(sql, params))
    return found


def _reimport_key(key: str, generation: int) -> str:
    """The key a line takes when its earlier copies were all voided: ``statement_line`` keeps every line
    (the voided copy stays, keyed ``key``), and a key is unique per account."""
    return hashlib.sha256(f"{key}#reimport{generation}".encode()).hexdigest()


def _storage_keys(
    conn: Connection, statement_account_id: int, lines: list[StatementLine]
) -> list[str | None]:
    """Per line, the key to store it under, or None when the account already holds it in a line that
    counts (by its key, by a key it was re-imported under after a void, or by its pre-serial key)."""
    voids = conn.execute(
        select(func.count()).select_from(void_t).where(void_t.c.statement_account_id == statement_account_id)
    ).scalar_one()
    legacy = conn.execute(
        select(import_t.c.id)
        .where(
            import_t.c.statement_account_id == statement_account_id,
            import_t.c.key_scheme < KEY_SCHEME,
            import_t.c.id.not_in(voided_imports(conn, statement_account_id)),
        )
        .limit(1)
    ).first()
    keys = [line.key for line in lines]
    if not voids and legacy is None:  # the common case: one look-up per key
        existing = _existing_keys(conn, statement_account_id, keys)
        return [None if key in existing else key for key in keys]
    old: list[str | None] = [None] * len(lines)
    old_serials: set[tuple[str, date, int]] = set()
    if legacy is not None:
        old = list(legacy_keys(lines))
        old_serials = _legacy_serials(conn, statement_account_id, lines, old)
    candidates = [[key, *(_reimport_key(key, n) for n in range(1, voids + 1))] for key in keys]
    wanted = [c for row in candidates for c in row] + [k for k in old if k is not None]
    held = _held_keys(conn, statement_account_id, wanted, voids=voids)
    out: list[str | None] = []
    for row, old_key, line in zip(candidates, old, lines, strict=True):
        if (
            any(held.get(c) for c in row)
            or (old_key is not None and held.get(old_key))
            or (old_serials and _serial_of(line) in old_serials)
        ):
            out.append(None)
            continue
        out.append(next((c for c in row if c not in held), None))
        if out[-1] is None:  # voided more often than the account has voids: cannot be
            raise Conflict("a line was imported and voided more often than recorded", field="file")
    return out


def _serial_of(line: StatementLine) -> tuple[str, date, int]:
    return (line.reference, line.occurred_at.date(), line.amount_fen + line.voucher_fen)


def _legacy_serials(
    conn: Connection, statement_account_id: int, lines: list[StatementLine], old: list[str | None]
) -> set[tuple[str, date, int]]:
    """(serial, day, amount) of the live lines imported before serial keys whose serial a serial-keyed
    line of the file has: an old line's key holds its time of day, which a re-export may add."""
    refs = sorted({ln.reference for ln, k in zip(lines, old, strict=True) if k != ln.key and ln.reference})
    found: set[tuple[str, date, int]] = set()
    legacy_imports = select(import_t.c.id).where(
        import_t.c.statement_account_id == statement_account_id, import_t.c.key_scheme < KEY_SCHEME
    )
    for start in range(0, len(refs), _KEY_CHUNK):
        rows = conn.execute(
            select(
                sline_t.c.reference, sline_t.c.occurred_at, sline_t.c.amount_fen, sline_t.c.voucher_fen
            ).where(
                live_lines(statement_account_id),
                sline_t.c.import_id.in_(legacy_imports),
                sline_t.c.reference.in_(refs[start : start + _KEY_CHUNK]),
            )
        )
        for r in rows:
            at = (
                r.occurred_at
                if isinstance(r.occurred_at, datetime)
                else datetime.fromisoformat(str(r.occurred_at))
            )
            found.add((r.reference, at.date(), r.amount_fen + r.voucher_fen))
    return found


class AccountMismatch(ValidationError):
    """The file prints another account's number than the statement account's (``_check_account``): a 422
    on ``account`` whose parts a page can say in its own language, and offer the override beside."""

    def __init__(
        self,
        message: str,
        *,
        label: str,
        printed: str,
        account_name: str,
        known: str,
        by_earlier_files: bool,
    ) -> None:
        super().__init__(message, field="account")
        self.label, self.printed, self.account_name = label, printed, account_name
        self.known, self.by_earlier_files = known, by_earlier_files


def _check_account(
    conn: Connection, account: Any, parsed: ParsedStatement, account_override: str
) -> tuple[str, str]:
    """The number the file prints must be the statement account's (or, for an account registered without
    one, the number its earlier files printed); importing it into another needs a reason. Returns (the
    file's number, the override reason when one was used)."""
    if not parsed.account_numbers:
        return "", ""
    known = account.account_no
    whose = f"statement account {account.name!r} is"
    if not known:
        earlier = conn.execute(
            select(import_t.c.file_account_no)
            .where(
                import_t.c.statement_account_id == account.id,
                import_t.c.file_account_no != "",
                import_t.c.account_override == "",
                import_t.c.id.not_in(voided_imports(conn, account.id)),
            )
            .order_by(import_t.c.id)
            .limit(1)
        ).scalar()
        if earlier is None:
            return parsed.account_numbers[0], ""
        known, whose = earlier, f"the earlier files of statement account {account.name!r} are of"
    for number in parsed.account_numbers:
        if account_matches([number], known):
            return number, ""
    if account_override.strip():
        return parsed.account_numbers[0], account_override.strip()
    printed = " / ".join(parsed.account_numbers)
    raise AccountMismatch(
        f"the file is of {parsed.account_label} {printed}, but {whose} {known}: choose the right account, "
        "or import it anyway with account_override giving the reason",
        label=parsed.account_label,
        printed=printed,
        account_name=account.name,
        known=known,
        by_earlier_files=known != account.account_no,
    )


def _check_opening_balance(
    conn: Connection, statement_account_id: int, parsed: ParsedStatement, file_name: str, held: bool
) -> None:
    """The file's first line must carry on from the account's last line when the dates join (the same
    or the next day): else a line between the two files is missing, or the file is another account's."""
    opening = parsed.opening_line
    if opening is None or held or opening.balance_fen is None:
        return
    last = conn.execute(
        select(sline_t.c.occurred_at, sline_t.c.balance_fen, sline_t.c.import_id)
        .where(
            live_lines(statement_account_id),
            sline_t.c.balance_fen.is_not(None),
            sline_t.c.occurred_at <= opening.occurred_at,
        )
        .order_by(sline_t.c.occurred_at.desc(), sline_t.c.id.desc())
        .limit(1)
    ).first()
    if last is None:
        return
    held_at = (
        last.occurred_at
        if isinstance(last.occurred_at, datetime)
        else datetime.fromisoformat(str(last.occurred_at))
    )
    if (opening.occurred_at.date() - held_at.date()).days > 1:
        return
    expected = last.balance_fen + opening.amount_fen
    if expected == opening.balance_fen:
        return
    column = parsed.balance_column
    message = (
        f"{_yuan(opening.balance_fen)} does not follow from the account's last imported line "
        f"({held_at:%Y-%m-%d %H:%M:%S}, {column} {_yuan(last.balance_fen)}, import {last.import_id}) and "
        f"this line's {_yuan(opening.amount_fen, sign=True)}: expected {_yuan(expected)}; a line between "
        "the two files is missing, or the file is of another account"
    )
    problem = {"line": opening.line_no, "column": column, "message": message}
    raise StatementParseError(
        f"{file_name}: line {opening.line_no}, column {column}: {message}", problems=[problem]
    )


def _yuan(fen: int, *, sign: bool = False) -> str:
    return f"{Decimal(fen) / 100:{'+' if sign else ''},.2f}"


def store_statement(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    parsed: ParsedStatement,
    *,
    file_name: str,
    sha256: str,
    user_id: int | None = None,
    account_override: str = "",
) -> ImportResult:
    """Record an import of a parsed file and insert the lines the account does not hold yet.

    Refused, with nothing written: a file of another account than the statement account's number (unless
    ``account_override`` says why), a file whose balances do not carry on from the account's last line
    when the dates join, a file of the other format of a merchant account.
    """
    with large_page_cache(conn), gc_paused():
        account = get_statement_account(conn, org_id, statement_account_id, lock=True)
        source, lines = parsed.source, parsed.lines
        allowed = SOURCES_BY_KIND[account.kind]
        if source not in allowed:
            raise ValidationError(
                f"a {account.kind} account takes {' or '.join(allowed)} files, not {source}", field="file"
            )
        earlier = conn.execute(
            select(import_t.c.source)
            .where(
                import_t.c.statement_account_id == statement_account_id,
                import_t.c.source != source,
                import_t.c.id.not_in(voided_imports(conn, statement_account_id)),
            )
            .limit(1)
        ).first()
        if earlier is not None:
            # A trade bill and a fund bill of one merchant account describe the same money twice.
            raise Conflict(
                f"this account holds {earlier.source} lines; "
                f"import {source} files into an account of their own",
                field="file",
            )
        file_account_no, override = _check_account(conn, account, parsed, account_override)
        keys = [line.key for line in lines]
        if len(set(keys)) != len(keys):
            raise ValidationError("the file gives two lines the same key", field="file")
        storage = _storage_keys(conn, statement_account_id, lines)
        opening = parsed.opening_line
        at = next(
            (i for i, ln in enumerate(lines) if opening is not None and ln.line_no == opening.line_no), None
        )
        if at is not None:
            _check_opening_balance(conn, statement_account_id, parsed, file_name, storage[at] is None)
        fresh = [(key, line) for key, line in zip(storage, lines, strict=True) if key is not None]
        import_id = insert_id(
            conn,
            import_t,
            org_id=org_id,
            statement_account_id=statement_account_id,
            file_name=file_name[:255],
            sha256=sha256,
            source=source,
            encoding=parsed.encoding[:16],
            line_count=len(lines),
            new_count=len(fresh),
            imported_by=user_id,
            imported_at=now(),
            file_account_no=file_account_no[:64],
            account_override=override,
            key_scheme=KEY_SCHEME,
        )
        if fresh:
            insert_rows(
                conn,
                "statement_line",
                _LINE_COLUMNS,
                [
                    (
                        org_id,
                        statement_account_id,
                        import_id,
                        key,
                        ln.source,
                        ln.line_no,
                        _db_time(conn, ln.occurred_at),
                        ln.amount_fen,
                        ln.fee_fen,
                        ln.balance_fen,
                        ln.reference,
                        ln.merchant_ref,
                        ln.counterparty,
                        ln.counterparty_account,
                        ln.memo,
                        ln.kind,
                        ln.voucher_fen,
                    )
                    for key, ln in fresh
                ],
                suffix=" ON CONFLICT (statement_account_id, key) DO NOTHING",
            )
            inserted = conn.execute(
                select(func.count()).select_from(sline_t).where(sline_t.c.import_id == import_id)
            ).scalar_one()
            if inserted != len(fresh):
                raise Conflict(
                    "another import into this account ran at the same time; import again", field="file"
                )
        return ImportResult(
            import_id,
            statement_account_id,
            source,
            parsed.encoding,
            file_name,
            sha256,
            len(lines),
            len(fresh),
            file_account_no,
            override,
        )


def store_lines(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    lines: list[StatementLine],
    *,
    source: str,
    encoding: str,
    file_name: str,
    sha256: str,
    user_id: int | None = None,
) -> ImportResult:
    """Record an import of already parsed ``lines`` (no file: no account or opening-balance check)."""
    parsed = ParsedStatement(source, lines, encoding, {})
    return store_statement(
        conn, org_id, statement_account_id, parsed, file_name=file_name, sha256=sha256, user_id=user_id
    )


def import_statement(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    path: str | Path,
    user_id: int | None = None,
    *,
    file_name: str | None = None,
    source: str | None = None,
    encoding: str | None = None,
    account_override: str = "",
) -> ImportResult:
    """Parse ``path`` and store its new lines in the caller's transaction: every line or none.

    A file that does not parse raises ``StatementParseError`` (line and column of each problem) before
    anything is written; any later error leaves the transaction to the caller to roll back.
    """
    path = Path(path)
    get_statement_account(conn, org_id, statement_account_id)  # 404 before the work of parsing
    parsed = parse_statement(path, source, encoding=encoding, file_name=file_name)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return store_statement(
        conn,
        org_id,
        statement_account_id,
        parsed,
        file_name=file_name or path.name,
        sha256=sha256,
        user_id=user_id,
        account_override=account_override,
    )


def list_imports(conn: Connection, org_id: int, statement_account_id: int) -> list[dict[str, Any]]:
    """The account's imports, oldest first; ``voided`` marks those taken back (``ledger.reconcile.voids``)."""
    return [
        {**dict(r), "voided": r["void_id"] is not None}
        for r in conn.execute(
            select(import_t, void_t.c.id.label("void_id"))
            .outerjoin(void_t, void_t.c.import_id == import_t.c.id)
            .where(import_t.c.org_id == org_id, import_t.c.statement_account_id == statement_account_id)
            .order_by(import_t.c.id)
        ).mappings()
    ]
