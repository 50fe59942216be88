"""What every ``cunshe`` command shares: the ``--db`` option, the engine it names, and how a refusal is
told (one line on stderr naming the field, exit 2; an import's problems one per line)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from ledger.books.errors import LedgerError

# The write path and the database layer are imported where they are used: ``cunshe --help`` and every
# command's start-up import this module, and they need none of it.
if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from ledger.access.auth import Principal
    from ledger.access.idempotency import Answer
    from ledger.access.service import Write

DbOption = Annotated[
    str | None, typer.Option("--db", help="database URL (default: DATABASE_URL or ./cunshe.db)")
]
KeyOption = Annotated[
    str | None, typer.Option("--key", help="idempotency key: a rerun with the same key writes nothing again")
]


def engine_for(db: str | None) -> Engine:
    from ledger.db.engine import make_engine
    from ledger.settings import get_settings

    return make_engine(db or get_settings().database_url)


def org_of(conn: Connection, org: str) -> Any:
    """An org given by its code or its id (a code is looked up first: a code may be all digits)."""
    from ledger.books.errors import NotFound
    from ledger.books.orgs import get_org, org_by_code

    try:
        return org_by_code(conn, org)
    except NotFound:
        if not org.strip().isdigit():
            raise
    try:
        return get_org(conn, int(org))
    except NotFound:
        raise NotFound(f"no org with code or id {org!r}", field="org") from None


def org_id_of(conn: Connection, org: str) -> int:
    """An org given by its code or its id."""
    return int(org_of(conn, org).id)


def fail(exc: LedgerError, option_names: Mapping[str, str] | None = None) -> NoReturn:
    """Tell the refusal and exit 2; ``option_names`` renames a service's field to the option a user fixes."""
    field = exc.field
    if field and option_names:
        base, bracket, rest = field.partition("[")
        field = option_names.get(base, base) + bracket + rest
    typer.secho(
        f"error [{exc.code}]" + (f" {field}" if field else "") + f": {exc.message}",
        err=True,
        fg="red",
    )
    problems = getattr(exc, "problems", None)
    if problems and len(problems) > 1:
        for p in problems[:PROBLEMS_SHOWN]:  # a junk file has 10⁵: the first ones tell
            where = ", ".join(x for x in (f"line {p['line']}" if p["line"] else "", p["column"] or "") if x)
            typer.secho(f"  {where}: {p['message']}", err=True, fg="red")
        count = getattr(exc, "problem_count", len(problems))
        if count > PROBLEMS_SHOWN:
            typer.secho(f"  … and {count - PROBLEMS_SHOWN} more", err=True, fg="red")
    raise typer.Exit(2)


PROBLEMS_SHOWN = 20


def cli_actor() -> Principal:
    """The command line acts as this named system actor: every right, audited with ``(cli)`` on the detail."""
    from ledger.access.auth import system_actor

    return system_actor("cli")


def _cli(detail: str | None) -> str | None:
    return None if detail is None else f"{detail} (cli)"


def run_service(
    db: str | None,
    org: str | Callable[[Connection], int],
    write_for: Callable[[Principal, int], Write[Any]],
    *,
    key: str | None = None,
    option_names: Mapping[str, str] | None = None,
    on_error: Callable[[LedgerError], object] | None = None,
) -> tuple[bool, Any]:
    """A workflow's own service carried out from the command line: ``write_for(actor, org_id)`` (the org
    given by code or id, or found by ``org(conn)``) builds the same ``Write`` the API and the pages carry
    out (scope → key → write → audit, one transaction), here for the CLI actor; the audit row says
    ``(cli)``. ``on_error`` sees a refusal before it is told (an import's problems file). Returns (a retry
    under ``--key``?, the answer as JSON data)."""

    def build(actor: Principal, conn: Connection) -> Write[Any]:
        return write_for(actor, org(conn) if callable(org) else org_id_of(conn, org))

    return run_built(db, build, key=key, option_names=option_names, on_error=on_error)


def run_built(
    db: str | None,
    build: Callable[[Principal, Connection], Write[Any]],
    *,
    key: str | None = None,
    option_names: Mapping[str, str] | None = None,
    on_error: Callable[[LedgerError], object] | None = None,
) -> tuple[bool, Any]:
    """``run_service`` for a write that names no one org (a new org, a user): ``build(actor, conn)`` reads
    what it needs (a parent given by code) and returns the service's ``Write``."""

    from ledger.access.service import perform
    from ledger.db.engine import run_write as in_transaction

    actor = cli_actor()

    def tx(conn: Connection) -> Answer:
        write = build(actor, conn)
        detail = write.detail
        cli_detail: Callable[[Any], str | None] = lambda result: _cli(  # noqa: E731
            detail(result) if callable(detail) else detail
        )
        return perform(
            conn, actor, replace(write, detail=cli_detail), key=key, remote_addr=None, key_field="key"
        )

    try:
        done = in_transaction(engine_for(db), tx)
    except LedgerError as exc:
        if on_error is not None:
            on_error(exc)
        fail(exc, option_names)
    return done.replayed, done.body
