"""``cunshe checkpoints export FILE`` and ``cunshe verify --checkpoints FILE``: the signed month-close
checkpoints (``ledger.books.checkpoints``) taken out of the database, and the books checked against them.

The exported file (JSON lines: the signed payload, the signature, the key's id and public half) is meant to
be kept elsewhere — by the street, the county, an auditor — where whoever can rewrite the database cannot
reach it. Checking it needs no private key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.options import DbOption, engine_for, fail

app = typer.Typer(no_args_is_help=True, help="Signed month-close checkpoints (封账码).")


@app.command("export")
def export_cmd(
    file: Annotated[Path, typer.Argument(help="where to write the checkpoints, JSON lines ('-': stdout)")],
    org: Annotated[
        str | None, typer.Option("--org", help="only this org (code) and the orgs under it")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write every stored checkpoint (of an org's subtree with --org), one JSON object per line."""
    from ledger.books import checkpoints
    from ledger.books.errors import LedgerError
    from ledger.books.orgs import org_by_code, subtree_ids
    from ledger.db.engine import read_tx

    try:
        with read_tx(engine_for(db)) as conn:
            org_ids = subtree_ids(conn, org_by_code(conn, org).id) if org else None
            found = checkpoints.stored(conn, org_ids)
    except LedgerError as exc:
        fail(exc)
    text = "".join(c.export_line() + "\n" for c in found)
    if str(file) == "-":
        typer.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")
        typer.echo(f"{len(found)} checkpoint(s) written to {file}")


def verify_against(conn, file: Path) -> int:  # type: ignore[no-untyped-def]
    """Check the books against every checkpoint in ``file``; print each that differs, the first by org and
    month named last; the number that differ (or an unreadable file: exit 2)."""
    from ledger.books import checkpoints
    from ledger.books.errors import LedgerError

    try:
        lines = file.read_text(encoding="utf-8").splitlines()
        read = [
            checkpoints.Checkpoint.from_export_line(line, f"{file}:{n}")
            for n, line in enumerate(lines, start=1)
            if line.strip()
        ]
    except OSError as exc:
        typer.secho(f"verify: cannot read {file}: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    except LedgerError as exc:
        fail(exc)
    compared = checkpoints.compare_all(conn, read)
    differing = [c for c in compared if not c.agrees]
    for c in differing:
        p = c.checkpoint.payload
        typer.secho(
            f"[checkpoint] org {p.get('org')} {p.get('period')} ({c.checkpoint.code}): "
            + "; ".join(c.differences),
            err=True,
            fg="red",
        )
    first_changed = checkpoints.first_differing(compared)
    if first_changed is not None:
        first = first_changed.checkpoint.payload
        typer.secho(
            f"verify: {len(differing)} of {len(compared)} checkpoint(s) differ from the books; "
            f"the first period that differs: {first.get('org')} {first.get('period')}",
            err=True,
            fg="red",
        )
    else:
        keys = sorted({c.checkpoint.key_id for c in compared})
        typer.echo(
            f"verify: the books hold all {len(compared)} checkpoint(s) of {file} "
            f"(signed by key {', '.join(keys) or '-'})"
        )
    return len(differing)
