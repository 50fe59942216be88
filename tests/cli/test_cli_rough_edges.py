"""The command line as a new user meets it (issue 22), on SQLite and PostgreSQL: an org by code or id,
a refusal in one line (exit 2, no traceback), tables with a header and a total row whose Chinese columns
line up, ``--json`` on the read commands, ``post`` documented with a sample file that posts, ``user add``
making a password that logs in, and help that shows no ``<bool>`` and cuts no description."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.cells import cell_len
from sqlalchemy import Engine
from typer.main import get_group
from typer.testing import CliRunner

from ledger.cli.lazy import first_line
from ledger.cli.main import app
from ledger.db.engine import write_tx
from ledger.distribution import execute as ex
from ledger.distribution.plans import Step
from tests.factories.county import County
from tests.factories.distribution import book
from tests.factories.servers import url_of
from tests.factories.web import csrf_of

ROOT = Path(__file__).resolve().parents[2]
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


def json_out(args: list[str], db: str, exit_codes: tuple[int, ...] = (0,)) -> Any:
    """The one JSON document a read command prints on stdout with ``--json``."""
    result = cunshe(*args, "--json", db=db)
    assert result.exit_code in exit_codes, (args, result.output)  # type: ignore[attr-defined]
    return json.loads(result.stdout)  # type: ignore[attr-defined]


def test_the_other_read_commands_answer_one_json_document(county: County, engine: Engine) -> None:
    """--json on the workflows' read commands, verify and the reconciliation statement: each prints one
    JSON document on stdout, amounts as integer fen, whatever else it says on stderr."""
    db = url_of(engine)
    done = [
        cunshe("community", "post", "add", "--org", "dingzikou", "--post", "护路员", "--holder", "孙七",
               "--stipend", "1500.00", "--start", "2025-03-01", db=db),
        cunshe("community", "deal", "add", "--org", "dingzikou", "--client", "某房产中介", "--other-party",
               "李四", "--kind", "house_lease", "--value", "36000.00", "--rate-bp", "250", "--date",
               "2025-04-02", db=db),
        cunshe("community", "subsidy", "add", "--org", "hongxingqiao", "--source", "工作经费", "--grantor",
               "沿河县财政局", "--amount", "100000.00", "--date", "2025-02-01", db=db),
        cunshe("community", "stake", "add", "--org", "dingzikou", "--company", "heping-co", "--paid-in",
               "200000.00", "--share-bp", "2000", "--date", "2025-01-10", db=db),
        cunshe("leases", "add", "--org", "huahuaqiao", "--code", "ZL-2026-01", "--mode", "lease", "--lessee",
               "王五", "--start", "2026-01-01", "--end", "2026-12-31", "--rent", "1600.00", db=db),
        cunshe("reconcile", "account-add", "heping-co", "--ledger-account", "1002", "--kind", "bank",
               "--name", "建行", db=db),
    ]  # fmt: skip
    for result in done:
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    contract = int(re.findall(r"contract (\d+)", done[4].output)[0])  # type: ignore[attr-defined]

    (post,) = json_out(["community", "post", "list", "--org", "dingzikou"], db)
    assert post["holder"] == "孙七" and post["monthly_stipend_fen"] == 150_000 and post["owed_fen"] == 0
    (deal,) = json_out(["community", "deal", "outstanding", "--street", "heping"], db)
    assert deal["org"] == "dingzikou" and deal["outstanding_fen"] == 90_000
    (subsidy,) = json_out(["community", "subsidy", "totals", "--street", "tuanjie", "--year", "2025"], db)
    assert subsidy == subsidy | {"org": "hongxingqiao", "source": "工作经费", "amount_fen": 10_000_000}
    (stake,) = json_out(["community", "stake", "list", "--org", str(county.ids["dingzikou"])], db)
    assert stake["paid_in_fen"] == 20_000_000 and stake["share_bp"] == 2000
    shown = json_out(["leases", "show", "--org", "huahuaqiao", "--contract", str(contract)], db)
    assert shown["code"] == "ZL-2026-01" and shown["lessee"] == "王五" and len(shown["schedule"]) == 12
    assert shown["schedule"][0] == shown["schedule"][0] | {"period": "2026-01", "amount_fen": 160_000}
    ties = json_out(["reconcile", "ties", "dingzikou"], db, (0, 1))
    assert isinstance(ties["ties"], list) and ties["inter_org"] == []
    rec = json_out(["reconcile", "statement", "heping-co", "1", "2025-03"], db, (0, 1))
    assert rec == rec | {"period": "2025-03"}, rec
    stock = json_out(["pos", "stock", "store1"], db)
    assert stock == []
    verified = json_out(["verify"], db)
    assert verified == {"sound": True, "problems": [], "checkpoints_differing": None}

    with write_tx(engine) as conn:
        book(conn, county.ids["company"], date(2025, 3, 1), "销售", ("1002", "Dr", 1_000_000),
             ("5001", "Cr", 1_000_000))  # fmt: skip
    assert cunshe("distribution", "close-year", "heping-co", "2025", db=db).exit_code == 0
    with write_tx(engine) as conn:
        reserve_10pc = [Step("statutory_reserve", rate_bp=1_000)]
        plan_id = ex.create_plan(conn, county.ids["company"], 2025, reserve_10pc)
    plan = json_out(["distribution", "plan", "dry-run", str(plan_id)], db)
    assert plan["distributable_fen"] == plan["facts"]["profit_fen"] + plan["facts"]["brought_forward_fen"]
    reserve = next(line for line in plan["lines"] if line["kind"] == "statutory_reserve")
    assert reserve["amount_fen"] == 100_000, plan["lines"]  # 10 % of 10,000.00 (the text says 1000.00)


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
