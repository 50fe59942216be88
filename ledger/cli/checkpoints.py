"""``cunshe checkpoints export FILE`` and ``cunshe verify --checkpoints FILE``: the signed month-close
checkpoints (``ledger.books.checkpoints``) taken out of the database, and the books checked against them.

The exported file (JSON lines: the signed payload, the signature, the key's id and public half) is meant to
be kept elsewhere — by the street, the county, an auditor — where whoever can rewrite the database cannot
reach it. Checking it needs no private key.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.options import DbOption, engine_for, fail, org_of

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ledger.books.checkpoints import Trust

app = typer.Typer(no_args_is_help=True, help="Signed month-close checkpoints (封账码).")


@app.command("export")
def export_cmd(
    file: Annotated[Path, typer.Argument(help="where to write the checkpoints, JSON lines ('-': stdout)")],
    org: Annotated[
        str | None, typer.Option("--org", help="only this org (code or id) and the orgs under it")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write every stored checkpoint (of an org's subtree with --org), one JSON object per line."""
    from ledger.books import checkpoints
    from ledger.books.errors import LedgerError
    from ledger.books.orgs import subtree_ids
    from ledger.db.engine import read_tx

    try:
        with read_tx(engine_for(db)) as conn:
            org_ids = subtree_ids(conn, org_of(conn, org).id) if org else None
            found = checkpoints.stored(conn, org_ids)
    except LedgerError as exc:
        fail(exc)
    text = "".join(c.export_line() + "\n" for c in found)
    if str(file) == "-":
        typer.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")
        typer.echo(f"{len(found)} checkpoint(s) written to {file}")


def trust_from(values: list[str], database_url: str) -> Trust:
    """The keys a check believes: those given (``--key``), else the installation's (``installation_trust``);
    with neither, exit 2 saying so."""
    import base64
    import binascii
    import re

    from ledger.access.signing_key import installation_trust, keyring_path, read_keyring
    from ledger.books.checkpoints import Trust, TrustedKey, key_id_of
    from ledger.books.errors import LedgerError

    if not values:
        try:
            trust = installation_trust(database_url)
        except LedgerError as exc:
            fail(exc)
        if not trust.keys:
            typer.secho(
                f"verify: this installation knows no checkpoint key (no {keyring_path(database_url)}, "
                "no signing key): give the key to check against with --key",
                err=True,
                fg="red",
            )
            raise typer.Exit(2)
        return trust
    keys: list[TrustedKey] = []
    fingerprints: list[str] = []
    for value in values:
        given = value.strip()
        if re.fullmatch(r"[0-9a-fA-F]{16,64}", given):
            fingerprints.append(given.lower())
            continue
        if Path(given).is_file():
            try:
                keys += read_keyring(Path(given), f"keyring {given} given")
            except LedgerError as exc:
                fail(exc)
            continue
        try:
            public = base64.b64decode(given, validate=True)
        except (binascii.Error, ValueError):
            public = b""
        if len(public) != 32:
            typer.secho(
                f"--key {given!r} is neither a fingerprint, a base64 public key nor a keyring file",
                err=True,
                fg="red",
            )
            raise typer.Exit(2)
        keys.append(TrustedKey(key_id_of(public), public, "a key given with --key"))
    return Trust(keys, fingerprints)


def verify_against(conn: Connection, file: Path, keys: list[str] | None = None) -> int:
    """Check the books against every checkpoint in ``file``, each signature under a key believed here (the
    installation's, or those given as ``keys``), never the key the file carries; print each that differs,
    the first by org and month named last; the number that differ (or an unreadable file: exit 2)."""
    from ledger.books import checkpoints
    from ledger.books.errors import LedgerError

    trust = trust_from(keys or [], conn.engine.url.render_as_string(hide_password=False))
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
    compared = checkpoints.compare_all(conn, read, trust)
    differing = [c for c in compared if not c.agrees]
    for c in differing:
        p = c.checkpoint.payload
        typer.secho(
            f"[checkpoint] org {p.get('org')} {p.get('period')} ({c.checkpoint.code}): "
            + "; ".join(str(d) for d in c.differences),
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
        used = sorted({f"{c.key.key_id} ({c.key.source})" for c in compared if c.key is not None})
        typer.echo(
            f"verify: the books hold all {len(compared)} checkpoint(s) of {file}; "
            f"signatures checked against key {', '.join(used) or '-'}"
        )
    return len(differing)


@app.command("rotate-key")
def rotate_key_cmd(db: DbOption = None) -> None:
    """A new signing key signs the month closes from now on; the old key's public half stays in the
    keyring (retired), so the checkpoints it signed still verify. Hand the keyring on afterwards."""
    from ledger.access.signing_key import rotate_key
    from ledger.books.errors import LedgerError

    try:
        done = rotate_key(str(engine_for(db).url.render_as_string(hide_password=False)))
    except LedgerError as exc:
        fail(exc)
    typer.echo(f"signing key {done.old_id} retired; key {done.new_id} signs from now on ({done.key_file})")
    typer.echo(f"keyring: {done.keyring} (give it to whoever keeps the exported checkpoints)")
