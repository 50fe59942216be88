"""``cunshe reconcile …`` and ``import-statement`` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from ledger.cli.reconcile import app, import_statement_cmd
from tests.factories.county import County
from tests.factories.statement_files import sample_bank_txns, write_bank_csv

runner = CliRunner()


def add_bank_account(db: str) -> Result:
    """``cunshe reconcile account-add``: heping-co's 建行 account on 1002."""
    args = ["account-add", "heping-co", "--ledger-account", "1002", "--kind", "bank", "--name", "建行"]
    return runner.invoke(app, [*args, "--db", db])


def test_import_propose_and_statement_from_the_command_line(county: County, tmp_path: Path) -> None:
    db = county.engine.url.render_as_string(hide_password=False)
    path = write_bank_csv(tmp_path / "m.csv", sample_bank_txns(range(1, 4)))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(path.read_bytes().replace(b"2,011.01", b"2,011.0x"))
    top = typer.Typer()
    top.command()(import_statement_cmd)

    added = add_bank_account(db)
    first = runner.invoke(top, ["heping-co", "1", str(path), "--db", db])
    broken = runner.invoke(top, ["heping-co", "1", str(bad), "--db", db])
    proposed = runner.invoke(app, ["propose", "heping-co", "1", "2024-03", "--db", db])
    statement = runner.invoke(
        app, ["statement", "heping-co", "1", "2024-03", "--out", str(tmp_path / "r.xlsx"), "--db", db]
    )

    assert added.exit_code == 0, added.output
    assert first.exit_code == 0 and "7 lines, 7 new" in first.output
    assert broken.exit_code == 2 and "line 4" in broken.output
    assert proposed.exit_code == 0 and "7 statement lines" in proposed.output
    # No opening entry in these books: the bank's 50,000.00 opening is the listed difference.
    assert statement.exit_code == 1 and "差额 -50000.00" in statement.output
    assert (tmp_path / "r.xlsx").read_bytes()[:2] == b"PK"


def test_the_cli_writes_through_the_services_with_a_key_and_says_cli_in_the_audit(
    county: County, tmp_path: Path
) -> None:
    """The CLI carries out the same services as the API: ``--key`` makes a rerun write nothing again (the same
    answer, no second audit row), and another request under the key is refused."""
    from sqlalchemy import text

    db = county.engine.url.render_as_string(hide_password=False)
    path = write_bank_csv(tmp_path / "m.csv", sample_bank_txns(range(1, 4)))
    add = ["account-add", "heping-co", "--ledger-account", "1002", "--kind", "bank", "--name", "建行"]
    first = runner.invoke(app, [*add, "--key", "acct-1", "--db", db])
    again = runner.invoke(app, [*add, "--key", "acct-1", "--db", db])
    other = runner.invoke(app, [*add[:-1], "农行", "--key", "acct-1", "--db", db])
    imported = runner.invoke(app, ["import", "heping-co", "1", str(path), "--key", "imp-1", "--db", db])
    replayed = runner.invoke(app, ["import", "heping-co", "1", str(path), "--key", "imp-1", "--db", db])

    assert first.exit_code == 0 and first.output == again.output == "statement account 1\n", first.output
    assert other.exit_code == 2 and "key" in other.output
    assert imported.exit_code == 0 and "7 lines, 7 new" in imported.output, imported.output
    assert replayed.output == imported.output
    with county.engine.connect() as conn:
        accounts = conn.execute(text("SELECT count(*) FROM statement_account")).scalar()
        imports = conn.execute(text("SELECT count(*) FROM statement_import")).scalar()
        details = conn.execute(
            text("SELECT action, detail FROM audit_log WHERE action LIKE 'reconcile.%' ORDER BY id")
        ).all()
    assert (accounts, imports) == (1, 1)
    assert [a for a, _ in details] == ["reconcile.account", "reconcile.import"]
    assert all(d.endswith("(cli)") for _, d in details), details


def test_a_statement_file_over_the_limit_is_refused_before_it_is_read(
    county: County, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI keeps the API's and the pages' limit (``max_upload_bytes``): a larger file is refused
    naming it, before it is read (50 MB of junk once took the CLI to 0.9 GB), and nothing is written."""
    from sqlalchemy import text

    import ledger.cli.reconcile as cli_reconcile
    from ledger.settings import Settings

    db = county.engine.url.render_as_string(hide_password=False)
    monkeypatch.setattr(
        cli_reconcile, "get_settings", lambda: Settings(database_url=db, max_upload_bytes=4096)
    )
    added = add_bank_account(db)
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x92junk, junk\n" * 1000)
    fits = write_bank_csv(tmp_path / "m.csv", sample_bank_txns(range(1, 3)))

    refused = runner.invoke(app, ["import", "heping-co", "1", str(junk), "--db", db])
    imported = runner.invoke(app, ["import", "heping-co", "1", str(fits), "--db", db])

    assert added.exit_code == 0, added.output
    assert (
        refused.exit_code == 2
        and "file" in refused.output
        and "junk.csv is larger than 4096 bytes" in refused.output
    )
    assert fits.stat().st_size <= 4096 and imported.exit_code == 0, imported.output
    with county.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM statement_import")).scalar() == 1
