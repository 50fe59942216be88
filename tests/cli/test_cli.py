"""The ``cunshe`` command line on a real SQLite file: init, orgs, users, bulk post, verify, export."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.cli.main import app

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    for args in (
        ["org", "add", "yanhe", "沿河县", "--kind", "county"],
        ["org", "add", "heping", "和平街道", "--kind", "street", "--parent", "yanhe"],
        ["org", "add", "dingzikou", "丁字口社区", "--kind", "community", "--parent", "heping"],
    ):
        result = runner.invoke(app, [*args, "--db", url])
        assert result.exit_code == 0, result.output
    return url


def test_user_add_prints_a_token_once(db: str) -> None:
    result = runner.invoke(
        app, ["user", "add", "zhangsan", "--role", "officer", "--scope", "heping", "--db", db]
    )
    assert result.exit_code == 0 and result.output.strip().startswith("cs_")
    bad = runner.invoke(app, ["user", "add", "lisi", "--role", "officer", "--scope", "dingzikou", "--db", db])
    assert bad.exit_code == 2 and "street or the county" in bad.output


def test_org_and_user_add_are_services_a_rerun_under_its_key_writes_nothing_and_shows_no_token(
    db: str,
) -> None:
    org = [
        "org",
        "add",
        "shazi",
        "沙子街道",
        "--kind",
        "street",
        "--parent",
        "yanhe",
        "--key",
        "o1",
        "--db",
        db,
    ]
    first, again = runner.invoke(app, org), runner.invoke(app, org)
    assert first.exit_code == 0 and again.exit_code == 0, again.output
    assert (
        first.output == again.output and first.output.startswith("org ") and "shazi created" in first.output
    )
    other = runner.invoke(
        app,
        [
            "org",
            "add",
            "youxi",
            "游溪街道",
            "--kind",
            "street",
            "--parent",
            "yanhe",
            "--key",
            "o1",
            "--db",
            db,
        ],
    )
    assert other.exit_code == 2 and "o1" in other.output

    user = ["user", "add", "wangwu", "--role", "officer", "--scope", "shazi", "--password", "pw-wangwu-1"]
    made = runner.invoke(app, [*user, "--key", "u1", "--db", db])
    rerun = runner.invoke(app, [*user, "--key", "u1", "--db", db])
    assert made.exit_code == 0 and made.output.strip().startswith("cs_"), made.output
    assert rerun.exit_code == 0 and "cs_" not in rerun.output and "earlier run" in rerun.output

    path = db.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        users = conn.execute("SELECT count(*) FROM user_account WHERE username = 'wangwu'").fetchone()[0]
        audit = conn.execute(
            "SELECT action, detail FROM audit_log WHERE action IN ('org.create', 'user.create') ORDER BY id"
        ).fetchall()
    assert users == 1
    assert [a for a, _ in audit].count("user.create") == 1
    assert all(detail.endswith("(cli)") for _, detail in audit), audit


def test_bulk_post_from_json_and_csv_then_verify_and_export(db: str, tmp_path: Path) -> None:
    entries = [
        {
            "org": "dingzikou",
            "date": "2025-02-01",
            "memo": "工作经费",
            "idempotency_key": "subsidy-2025",
            "lines": [{"account": "102", "debit": "100000.00"}, {"account": "503", "credit": "100000.00"}],
        }
    ]
    path = tmp_path / "entries.json"
    path.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    first = runner.invoke(app, ["post", str(path), "--db", db])
    again = runner.invoke(app, ["post", str(path), "--db", db])
    assert "posted 1 entries" in first.output and "posted 0 entries (1 already there)" in again.output
    csv_path = tmp_path / "entries.csv"
    csv_path.write_text(
        "org,entry,date,memo,account,debit,credit\n"
        "dingzikou,a,2025-03-01,买办公用品,513,120.50,\n"
        "dingzikou,a,2025-03-01,买办公用品,101,,120.50\n",
        encoding="utf-8",
    )
    assert "posted 1 entries" in runner.invoke(app, ["post", str(csv_path), "--db", db]).output
    # the same file again posts nothing (keyed by file name and label); an edited entry is a 409
    assert (
        "posted 0 entries (1 already there)" in runner.invoke(app, ["post", str(csv_path), "--db", db]).output
    )
    csv_path.write_text(csv_path.read_text(encoding="utf-8").replace("120.50", "121.50"), encoding="utf-8")
    edited = runner.invoke(app, ["post", str(csv_path), "--db", db])
    assert edited.exit_code == 2 and "entries.csv#a" in edited.output, edited.output
    workflow = tmp_path / "lease.json"
    workflow.write_text(
        json.dumps([{**entries[0], "source": "lease", "idempotency_key": "x"}]), encoding="utf-8"
    )
    refused = runner.invoke(app, ["post", str(workflow), "--db", db])
    assert refused.exit_code == 2 and "entries[0].source" in refused.output, refused.output
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        bulk = conn.execute("SELECT detail FROM audit_log WHERE action = 'entry.bulk' ORDER BY id").fetchall()
    assert bulk == [("1 of 1 entries (cli)",), ("1 of 1 entries (cli)",)]
    unbalanced = tmp_path / "bad.csv"
    unbalanced.write_text(
        "org,entry,date,memo,account,debit,credit\ndingzikou,b,2025-03-02,x,513,1.00,\ndingzikou,b,2025-03-02,x,101,,2.00\n",
        encoding="utf-8",
    )
    bad = runner.invoke(app, ["post", str(unbalanced), "--db", db])
    assert bad.exit_code == 2 and "unbalanced_entry" in bad.output
    for name, data in (("torn.json", b'[{"org": '), ("gbk.csv", "org,entry\n丁字口".encode("gb18030"))):
        (tmp_path / name).write_bytes(data)
        torn = runner.invoke(app, ["post", str(tmp_path / name), "--db", db])
        assert torn.exit_code == 2 and name in torn.output, torn.output
    ok = runner.invoke(app, ["verify", "--db", db])
    assert ok.exit_code == 0, ok.output
    out = tmp_path / "books.beancount"
    assert (
        runner.invoke(app, ["export", "--format", "beancount", "--out", str(out), "--db", db]).exit_code == 0
    )
    assert "100000.00 CNY" in out.read_text(encoding="utf-8")
    tb = runner.invoke(app, ["trial-balance", "dingzikou", "2025-03", "--db", db])
    assert "513" in tb.output and "120.50" in tb.output


def test_verify_exits_non_zero_on_a_tampered_amount(db: str, tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text(
        json.dumps(
            [
                {
                    "org": "dingzikou",
                    "date": "2025-02-01",
                    "memo": "x",
                    "lines": [{"account": "102", "debit": "5.00"}, {"account": "503", "credit": "5.00"}],
                }
            ]
        ),
        encoding="utf-8",
    )
    runner.invoke(app, ["post", str(path), "--db", db])
    raw = sqlite3.connect(db.removeprefix("sqlite:///"))
    raw.execute("DROP TRIGGER journal_line_no_update")
    raw.execute("UPDATE journal_line SET debit_fen = 500000 WHERE debit_fen = 500")
    raw.execute("UPDATE journal_line SET credit_fen = 500000 WHERE credit_fen = 500")
    raw.commit()
    raw.close()
    result = runner.invoke(app, ["verify", "--db", db])
    assert result.exit_code == 1 and "记-2025-02-0001" in result.output


def test_demo_on_books_that_exist_loads_nothing_and_prints_the_links_of_the_given_url(db: str) -> None:
    result = runner.invoke(app, ["demo", "--if-empty", "--url", "http://127.0.0.1:8011/", "--db", db])
    assert result.exit_code == 0, result.output
    assert "demo not loaded again" in result.output
    assert "API docs:        http://127.0.0.1:8011/docs" in result.output
    assert "Officer's pages: http://127.0.0.1:8011/\n" in result.output
