"""The command line as a new user meets it (issue 22), on SQLite and PostgreSQL: an org by code or id,
a refusal in one line (exit 2, no traceback), tables with a header and a total row whose Chinese columns
line up, ``--json`` on the read commands, ``post`` documented with a sample file that posts, ``user add``
making a password that logs in, and help that shows no ``<bool>`` and cuts no description."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.cells import cell_len
from sqlalchemy import Engine
from typer.main import get_group
from typer.testing import CliRunner

from ledger.cli.lazy import first_line
from ledger.cli.main import app
from tests.conftest import County
from tests.servers import url_of
from tests.test_web import csrf_of

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def cunshe(*args: str, db: str | None = None) -> object:
    return runner.invoke(app, [*args, *(("--db", db) if db else ())])


def assert_one_line_refusal(result: object, *words: str) -> None:
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    err = result.stderr.strip()  # type: ignore[attr-defined]
    assert len(err.splitlines()) == 1 and "Traceback" not in result.output, err  # type: ignore[attr-defined]
    for word in words:
        assert word in err


def test_an_unknown_org_is_one_line_and_exit_2(county: County, engine: Engine) -> None:
    db = url_of(engine)
    assert_one_line_refusal(cunshe("trial-balance", "nosuch", "2025-12", db=db), "nosuch", "org")
    assert_one_line_refusal(cunshe("trial-balance", "987654", "2025-12", db=db), "987654")
    assert_one_line_refusal(cunshe("trial-balance", "dingzikou", "2025-13", db=db), "2025-13")
    assert_one_line_refusal(cunshe("close-period", "nosuch", "2025-01", db=db), "nosuch")
    assert_one_line_refusal(cunshe("leases", "list", "--org", "nosuch", db=db), "nosuch")


def test_a_missing_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/absent/cunshe.db"
    assert_one_line_refusal(cunshe("org", "list", db=db), "database")


def test_an_org_is_named_by_code_or_id_alike(county: County, engine: Engine, tmp_path: Path) -> None:
    db = url_of(engine)
    org_id = str(county.ids["dingzikou"])
    by_code = cunshe("trial-balance", "dingzikou", "2025-01", "--to", "2025-12", "--json", db=db)
    by_id = cunshe("trial-balance", org_id, "2025-01", "--to", "2025-12", "--json", db=db)
    assert by_code.exit_code == 0, by_code.output
    assert by_code.output == by_id.output
    heping = str(county.ids["heping"])
    made = cunshe("org", "add", "newcomm", "新社区", "--kind", "community", "--parent", heping, db=db)
    assert made.exit_code == 0, made.output
    orgs = json.loads(cunshe("org", "list", "--json", db=db).output)
    assert {o["code"]: o["parent"] for o in orgs}["newcomm"] == "heping"


def test_the_trial_balance_is_a_table_with_a_header_a_total_and_aligned_chinese(
    county: County, engine: Engine
) -> None:
    db = url_of(engine)
    posted = cunshe("post", str(ROOT / "docs" / "post-sample.csv"), db=db)
    assert posted.exit_code == 0 and "posted 2 entries" in posted.output, posted.output
    result = cunshe("trial-balance", "dingzikou", "2025-03", db=db)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    header = next(i for i, line in enumerate(lines) if "科目编码" in line)
    assert "科目名称" in lines[header] and "本期借方" in lines[header] and "期末贷方" in lines[header]
    table = lines[header:]
    assert table[-1].split()[0] == "合计"
    assert "3120.50" in table[-1].replace(",", "")  # 3,000.00 rent + 120.50 office supplies, each side
    assert len({cell_len(line) for line in table}) == 1, table  # every row as wide: the columns line up
    bank = next(line for line in table if line.split()[0] == "102")
    assert cell_len(bank[: bank.index("银行存款")]) == cell_len(
        lines[header][: lines[header].index("科目名称")]
    )


def test_every_read_command_here_answers_json(county: County, engine: Engine) -> None:
    db = url_of(engine)
    for args in (
        ["org", "list"],
        ["user", "list"],
        ["trial-balance", "dingzikou", "2025-01"],
        ["reconcile", "accounts", "dingzikou"],
        ["community", "asset", "list", "--org", "dingzikou"],
        ["community", "idle-assets", "--street", "heping"],
        ["leases", "list", "--street", "heping"],
    ):
        result = cunshe(*args, "--json", db=db)
        assert result.exit_code == 0, (args, result.output)
        assert isinstance(json.loads(result.output), list), args
    roll = cunshe("leases", "rent-roll", "--as-of", "2025-12-31", "--org", "dingzikou", "--json", db=db)
    assert roll.exit_code == 0 and json.loads(roll.output)["as_of"] == "2025-12-31", roll.output
    users = json.loads(cunshe("user", "list", "--json", db=db).output)
    assert {"username": "cashier", "role": "cashier"}.items() <= next(
        u for u in users if u["username"] == "cashier"
    ).items()


def test_post_documents_the_csv_it_reads_and_refuses_one_without_an_entry_column(
    county: County, engine: Engine, tmp_path: Path
) -> None:
    text = re.sub(r"[\s│]+", "", cunshe("post", "--help").output)
    assert "org,entry,date,memo,account,debit,credit" in text and "docs/post-sample.csv" in text
    sample = (ROOT / "docs" / "post-sample.csv").read_text(encoding="utf-8")
    assert sample.splitlines()[0] == "org,entry,date,memo,account,debit,credit"
    no_entry = tmp_path / "no-entry.csv"
    no_entry.write_text(
        "org,date,memo,account,debit,credit\ndingzikou,2025-03-01,x,513,1.00,\ndingzikou,2025-03-01,x,101,,1.00\n",
        encoding="utf-8",
    )
    assert_one_line_refusal(cunshe("post", str(no_entry), db=url_of(engine)), "entry")


def test_user_add_without_a_password_makes_one_that_logs_in(
    county: County, engine: Engine, client: TestClient
) -> None:
    result = cunshe("user", "add", "wangwu", "--role", "officer", "--scope", "heping", db=url_of(engine))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("cs_") and len(result.stdout.strip().splitlines()) == 1
    password = re.search(r"shown once.*: (\S+)$", result.stderr.strip())
    assert password, result.stderr
    login = {"username": "wangwu", "password": password.group(1), "next": "/web/"}
    page = client.post("/web/login", data=login | {"csrf_token": csrf_of(client.get("/web/login").text)})
    assert page.status_code == 200 and "街道总览" in page.text


def _groups() -> list[tuple[list[str], object]]:
    root = get_group(app)
    root.load_all()  # type: ignore[attr-defined]
    found: list[tuple[list[str], object]] = []

    def walk(path: list[str], group: object) -> None:
        found.append((path, group))
        for name, command in getattr(group, "commands", {}).items():
            if hasattr(command, "commands"):
                walk([*path, name], command)
            else:
                found.append(([*path, name], command))

    walk([], root)
    return found


@pytest.mark.parametrize("width", ["80", "120"])
def test_help_shows_no_bool_and_cuts_no_description(width: str) -> None:
    wide = CliRunner(env={"COLUMNS": width})
    for path, command in _groups():
        shown = wide.invoke(app, [*path, "--help"])
        assert shown.exit_code == 0, (path, shown.output)
        assert "<bool>" not in shown.output, path
        squeezed = re.sub(r"[\s│]+", "", shown.output)
        for sub in getattr(command, "commands", {}).values():
            line = re.sub(r"\s+", "", first_line(sub.help))
            assert line in squeezed, (path, sub.name, line)


def test_org_list_says_what_it_lists() -> None:
    assert "Every org" in re.sub(r"[\s│]+", " ", runner.invoke(app, ["org", "--help"]).output)
