"""Issue 20: statement imports an officer can trust.

The file's own balance and account are checked, a line printed twice is caught, a re-export with an added
column dedupes, a NUL is a 422, WeChat's older bill nets its 代金券, and a wrong import can be voided and
imported again (but not once its lines are matched). The files are written by ``write_trust_case``; each
refused one is tried through the API and the CLI on SQLite and PostgreSQL, and must leave the counts of
lines, imports and audit rows as they were.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from ledger.books.errors import ValidationError
from ledger.books.orgs import ensure_sub_account
from ledger.cli.reconcile import app as reconcile_cli
from ledger.cli.reconcile import import_statement_cmd
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import AuditLog
from ledger.reconcile import importers, store
from ledger.reconcile.importers import StatementParseError, legacy_keys, parse_statement
from ledger.reconcile.models import StatementImport, StatementLineRow
from tests.factories.county import County
from tests.factories.statement_files import (
    BOC_ACCOUNT_NO,
    MERCHANT_ID,
    RCB_ACCOUNT_NO,
    sample_bank_txns,
    write_bank_csv,
    write_trust_case,
)
from tests.factories.web import log_in

runner = CliRunner()


def counts(county: County) -> tuple[int, int, int]:
    with read_tx(county.engine) as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (StatementLineRow.__table__, StatementImport.__table__, AuditLog.__table__)
        )


def make_account(client: TestClient, county: County, kind: str, account_no: str, code: str) -> int:
    if code == "101201":
        with write_tx(county.engine) as conn:
            ensure_sub_account(conn, county.ids["company"], "1012", "101201", "微信")
    response = client.post(
        f"/api/v1/orgs/{county.ids['company']}/statement-accounts",
        json={"ledger_account": code, "kind": kind, "name": f"{kind} {account_no}", "account_no": account_no},
        headers=county.auth("officer"),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def upload(client: TestClient, county: County, account: int, path: Path, **form: str):  # type: ignore[no-untyped-def]
    with path.open("rb") as f:
        return client.post(
            f"/api/v1/orgs/{county.ids['company']}/statements",
            files={"file": (path.name, f, "text/csv")},
            data={"account": str(account), **form},
            headers=county.auth("officer"),
        )


# --------------------------------------------------------------------------------------------------------
# The files themselves (no database)

REFUSED = [
    # case, line, column, words of the message
    (
        "rcb_amount_changed",
        5,
        "余额",
        "does not follow from line 4 (余额 101,229.56) and this line's +30,000.00",
    ),
    ("rcb_negative_credit", 6, "借贷标志", "says 贷 (money in) but 交易金额 is -5.00"),
    ("rcb_flag_flipped", 6, "借贷标志", "the flag says 贷 (money in) 5.00 but 余额 moves by -5.00"),
    ("rcb_repeated_row", 6, "流水号", "repeats line 5 (流水号 B20250305001 and the same 余额 104,229.56)"),
    ("rcb_nul", 7, "用途", "control character (U+0000)"),
    ("rcb_header_only", 3, None, "the file has a header but no lines"),
    ("rcb_gbk_cut", 7, None, "the file ends in the middle of a character; it looks truncated"),
]


@pytest.mark.parametrize(("case", "line", "column", "words"), REFUSED)
def test_a_damaged_file_is_refused_naming_line_and_column(
    tmp_path: Path, case: str, line: int, column: str | None, words: str
) -> None:
    path = write_trust_case(case, tmp_path)

    with pytest.raises(StatementParseError) as caught:
        parse_statement(path, file_name="三月流水.csv")

    error = caught.value
    assert error.field == "file"
    assert error.message.startswith("三月流水.csv: ")  # the upload's own name, not its temporary copy's
    first = error.problems[0]
    assert (first["line"], first["column"]) == (line, column)
    assert words in first["message"]


def test_the_good_bank_file_reads_exactly_with_its_account_and_balance(tmp_path: Path) -> None:
    parsed = parse_statement(write_trust_case("rcb_good", tmp_path))

    assert parsed.encoding == "utf-16" and parsed.account_numbers == (RCB_ACCOUNT_NO,)
    assert [(ln.line_no, ln.amount_fen, ln.balance_fen) for ln in parsed.lines] == [
        (4, 22956, 10122956),
        (5, 300000, 10422956),
        (6, -500, 10422456),
        (7, 120000, 10542456),
    ]
    assert parsed.balance_column == "余额" and parsed.opening_line is parsed.lines[0]


def test_a_newest_first_file_runs_its_balances_backwards(tmp_path: Path) -> None:
    path = write_trust_case("rcb_good", tmp_path)
    text = path.read_bytes().decode("utf-16").split("\r\n")
    path.write_bytes("\r\n".join(text[:3] + text[3:7][::-1] + text[7:]).encode("utf-16"))

    parsed = parse_statement(path)

    assert parsed.opening_line is not None and parsed.opening_line.line_no == 7  # 08:30, printed last


def test_a_line_without_a_balance_breaks_no_run(tmp_path: Path) -> None:
    path = write_trust_case("rcb_good", tmp_path)
    path.write_bytes(path.read_bytes().decode("utf-16").replace("104,224.56", "").encode("utf-16"))

    parsed = parse_statement(path)

    assert [ln.balance_fen for ln in parsed.lines] == [10122956, 10422956, None, 10542456]


def test_a_re_export_with_a_time_column_keys_its_lines_the_same(tmp_path: Path) -> None:
    first = parse_statement(write_trust_case("rcb_good", tmp_path))
    again = parse_statement(write_trust_case("rcb_with_time", tmp_path))

    assert [ln.key for ln in first.lines] == [ln.key for ln in again.lines]
    assert again.lines[1].occurred_at.time().isoformat() == "09:12:01"


def test_legacy_wechat_bill_takes_the_voucher_off_what_was_received(tmp_path: Path) -> None:
    parsed = parse_statement(write_trust_case("wechat_legacy_voucher", tmp_path))

    first = parsed.lines[0]
    assert (first.amount_fen, first.voucher_fen) == (1037, 200)  # 总金额 12.37, 代金券 2.00
    assert "代金券 2.00" in first.memo
    assert parsed.summary["settled_total_fen"] == sum(
        ln.amount_fen + ln.voucher_fen for ln in parsed.lines if ln.kind == "sale"
    )


def test_a_junk_file_keeps_the_first_problems_and_counts_them_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importers.records, "_KEPT_PROBLEMS", 30)
    path = tmp_path / "junk.csv"
    path.write_text("交易日期,交易金额,摘要\n" + "2024-03-01,x,y\n" * 100, encoding="utf-8")

    with pytest.raises(StatementParseError) as caught:
        parse_statement(path)

    assert caught.value.problem_count == 100 and len(caught.value.problems) == 30
    assert "and 95 more problems" in caught.value.message


# --------------------------------------------------------------------------------------------------------
# Through the API and the CLI, on both databases


def test_refused_files_write_nothing_and_good_ones_import_exactly(
    client: TestClient, county: County, tmp_path: Path
) -> None:
    bank = make_account(client, county, "bank", RCB_ACCOUNT_NO, "1002")
    wechat = make_account(client, county, "wechat", MERCHANT_ID, "101201")
    before = counts(county)

    refused = {case: upload(client, county, bank, write_trust_case(case, tmp_path)) for case, *_ in REFUSED}
    other_bank = upload(client, county, bank, write_trust_case("rcb_other_account", tmp_path))
    other_merchant = upload(client, county, wechat, write_trust_case("wechat_other_merchant", tmp_path))

    assert counts(county) == before
    for (case, line, column, words), response in zip(REFUSED, refused.values(), strict=True):
        assert response.status_code == 422, (case, response.text)
        error = response.json()["error"]
        assert error["field"] == "file" and error["message"].startswith(f"{case}.csv: ")
        assert error["problem_count"] >= 1
        assert (error["problems"][0]["line"], error["problems"][0]["column"]) == (line, column)
        assert words in error["problems"][0]["message"]
    assert other_bank.status_code == 422 and other_bank.json()["error"]["field"] == "account"
    assert BOC_ACCOUNT_NO in other_bank.json()["error"]["message"]
    assert RCB_ACCOUNT_NO in other_bank.json()["error"]["message"]
    assert "商户号 10000100" in other_merchant.json()["error"]["message"]

    good = upload(client, county, bank, write_trust_case("rcb_good", tmp_path))
    with_time = upload(client, county, bank, write_trust_case("rcb_with_time", tmp_path))
    gap = upload(client, county, bank, write_trust_case("rcb_next_day_gap", tmp_path))
    next_day = upload(client, county, bank, write_trust_case("rcb_next_day", tmp_path))
    voucher = upload(client, county, wechat, write_trust_case("wechat_legacy_voucher", tmp_path))
    overridden = upload(
        client,
        county,
        wechat,
        write_trust_case("wechat_other_merchant", tmp_path),
        account_override="总店商户号的账单, 经主任同意",
    )

    assert good.status_code == 201 and good.json()["new_count"] == 4
    assert good.json()["file_account_no"] == RCB_ACCOUNT_NO
    assert with_time.status_code == 200 and with_time.json()["duplicate_count"] == 4
    assert gap.status_code == 422
    gap_problem = gap.json()["error"]["problems"][0]
    assert (gap_problem["line"], gap_problem["column"]) == (4, "余额")
    assert "does not follow from the account's last imported line" in gap_problem["message"]
    assert next_day.status_code == 201 and next_day.json()["new_count"] == 4
    assert voucher.status_code == 201
    assert overridden.status_code == 200  # the same orders: nothing new, but the override is recorded
    assert overridden.json()["account_override"] == "总店商户号的账单, 经主任同意"
    imports = client.get(
        f"/api/v1/orgs/{county.ids['company']}/statement-accounts/{wechat}/imports",
        headers=county.auth("officer"),
    ).json()
    assert [i["account_override"] for i in imports] == ["", "总店商户号的账单, 经主任同意"]
    assert imports[1]["file_account_no"] == "10000100"
    lines = client.get(
        f"/api/v1/orgs/{county.ids['company']}/statement-accounts/{wechat}/lines",
        headers=county.auth("officer"),
    ).json()
    assert lines[0]["amount"] == "10.37"
    with read_tx(county.engine) as conn:
        audited = conn.execute(
            select(AuditLog.__table__.c.detail).where(AuditLog.__table__.c.action == "reconcile.import")
        ).scalars()
        assert any("overridden: 总店商户号的账单" in detail for detail in audited)


def test_the_cli_refuses_lists_the_problems_and_voids(county: County, tmp_path: Path) -> None:
    db = county.engine.url.render_as_string(hide_password=False)
    with write_tx(county.engine) as conn:
        account = store.create_statement_account(
            conn,
            county.ids["company"],
            ledger_account="1002",
            kind="bank",
            name="农商",
            account_no=RCB_ACCOUNT_NO,
        )
    top = typer.Typer()
    top.command()(import_statement_cmd)
    junk = tmp_path / "junk.csv"
    junk.write_text("交易日期,交易金额,摘要\n" + "2024-03-01,x,y\n" * 30, encoding="utf-8")
    before = counts(county)

    refused = runner.invoke(
        top, ["heping-co", str(account), str(write_trust_case("rcb_flag_flipped", tmp_path)), "--db", db]
    )
    other = runner.invoke(
        top, ["heping-co", str(account), str(write_trust_case("rcb_other_account", tmp_path)), "--db", db]
    )
    nul = runner.invoke(
        top, ["heping-co", str(account), str(write_trust_case("rcb_nul", tmp_path)), "--db", db]
    )
    many = runner.invoke(top, ["heping-co", str(account), str(junk), "--db", db])

    assert counts(county) == before
    assert refused.exit_code == 2 and "line 6, column 借贷标志" in refused.output
    assert other.exit_code == 2 and BOC_ACCOUNT_NO in other.output and "Traceback" not in other.output
    assert nul.exit_code == 2 and "U+0000" in nul.output
    assert many.exit_code == 2 and "30 problems in all" in many.output
    assert sum(1 for out in many.output.splitlines() if out.startswith("  line ")) == 20
    listed = (tmp_path / "junk.csv.problems.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(listed) == 31 and listed[0] == "line,column,message"

    good = runner.invoke(
        top, ["heping-co", str(account), str(write_trust_case("rcb_good", tmp_path)), "--db", db]
    )
    import_id = int(good.output.rsplit("(import ", 1)[1].split(")")[0])
    voided = runner.invoke(
        reconcile_cli, ["void-import", "heping-co", str(import_id), "--reason", "导错账户", "--db", db]
    )
    listed_imports = runner.invoke(reconcile_cli, ["imports", "heping-co", str(account), "--db", db])
    again = runner.invoke(
        top, ["heping-co", str(account), str(write_trust_case("rcb_good", tmp_path)), "--db", db]
    )

    assert good.exit_code == 0 and "4 lines, 4 new" in good.output
    assert voided.exit_code == 0 and "4 lines no longer count" in voided.output, voided.output
    assert "VOID (导错账户)" in listed_imports.output
    assert again.exit_code == 0 and "4 lines, 4 new" in again.output


def test_void_and_import_again(client: TestClient, county: County, tmp_path: Path) -> None:
    org = county.ids["company"]
    bank = make_account(client, county, "bank", RCB_ACCOUNT_NO, "1002")
    auth = county.auth("officer")
    first = upload(client, county, bank, write_trust_case("rcb_good", tmp_path)).json()
    void_url = f"/api/v1/orgs/{org}/statement-imports/{first['import_id']}/void"
    audit_before = counts(county)[2]

    no_reason = client.post(void_url, json={"reason": ""}, headers=auth)
    by_community = client.post(void_url, json={"reason": "x"}, headers=county.auth("community"))
    keyed = {**auth, "Idempotency-Key": "void-1"}
    voided = client.post(void_url, json={"reason": "导入了中国银行的流水"}, headers=keyed)
    retried = client.post(void_url, json={"reason": "导入了中国银行的流水"}, headers=keyed)
    twice = client.post(void_url, json={"reason": "再来一次"}, headers=auth)
    live = client.get(f"/api/v1/orgs/{org}/statement-accounts/{bank}/lines", headers=auth).json()
    kept = client.get(f"/api/v1/orgs/{org}/statement-imports/{first['import_id']}/lines", headers=auth).json()
    again = upload(client, county, bank, write_trust_case("rcb_good", tmp_path))
    after = client.get(f"/api/v1/orgs/{org}/statement-accounts/{bank}/lines", headers=auth).json()
    once_more = upload(client, county, bank, write_trust_case("rcb_with_time", tmp_path))
    imports = client.get(f"/api/v1/orgs/{org}/statement-accounts/{bank}/imports", headers=auth).json()

    assert no_reason.status_code == 422
    assert by_community.status_code in (403, 404)
    assert voided.status_code == 201 and voided.json()["line_count"] == 4
    assert retried.status_code == 200 and retried.json() == voided.json()
    assert twice.status_code == 409
    assert live == [] and len(kept) == 4  # the voided lines stay, visible on their import
    assert again.status_code == 201 and again.json()["new_count"] == 4
    assert [ln["amount"] for ln in after] == ["229.56", "3000.00", "-5.00", "1200.00"]
    assert once_more.status_code == 200 and once_more.json()["new_count"] == 0
    assert [(i["voided"], i["void_reason"]) for i in imports][:2] == [
        (True, "导入了中国银行的流水"),
        (False, None),
    ]
    assert counts(county)[2] == audit_before + 3  # the void, and the two imports after it
    log_in(client, "officer")
    page = client.get(f"/web/orgs/{org}/statements")
    assert page.status_code == 200 and "<s>rcb_good.csv</s> (已作废)" in page.text


def test_a_matched_import_cannot_be_voided_until_the_match_is_undone(
    client: TestClient, county: County, tmp_path: Path
) -> None:
    org = county.ids["company"]
    bank = make_account(client, county, "bank", "43050163610800000123", "1002")
    auth = county.auth("officer")
    imported = upload(client, county, bank, write_bank_csv(tmp_path / "m.csv", sample_bank_txns([1]))).json()
    fee = next(
        ln
        for ln in client.get(f"/api/v1/orgs/{org}/statement-accounts/{bank}/lines", headers=auth).json()
        if ln["memo"] == "汇划手续费"
    )
    posted = client.post(f"/api/v1/orgs/{org}/statement-lines/{fee['id']}/post-by-rule", headers=auth)
    void_url = f"/api/v1/orgs/{org}/statement-imports/{imported['import_id']}/void"
    before = counts(county)

    refused = client.post(void_url, json={"reason": "错了"}, headers=auth)

    assert posted.status_code == 201
    assert refused.status_code == 409
    assert f"line {fee['line_no']} (match {posted.json()['match_id']})" in refused.json()["error"]["message"]
    assert counts(county) == before
    undone = client.post(
        f"/api/v1/orgs/{org}/reconcile/matches/{posted.json()['match_id']}/reject",
        json={"note": "导错了文件"},
        headers=auth,
    )
    voided = client.post(void_url, json={"reason": "错了"}, headers=auth)
    assert undone.status_code == 201 and voided.status_code == 201, voided.text
    entries = client.get(f"/api/v1/orgs/{org}/entries/{posted.json()['entry_id']}", headers=auth)
    assert entries.status_code == 200  # the posted entry stays in the books


def test_lines_imported_before_serial_keys_do_not_import_again(
    county: County, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_trust_case("rcb_good", tmp_path)
    parsed = parse_statement(path)
    old = replace(
        parsed,
        opening_line=None,
        lines=[replace(ln, key=k) for ln, k in zip(parsed.lines, legacy_keys(parsed.lines), strict=True)],
    )
    with write_tx(county.engine) as conn:
        account = store.create_statement_account(
            conn,
            county.ids["company"],
            ledger_account="1002",
            kind="bank",
            name="农商",
            account_no=RCB_ACCOUNT_NO,
        )
    monkeypatch.setattr(store, "KEY_SCHEME", 1)  # as an import before 0302_reconcile stored them
    with write_tx(county.engine) as conn:
        store.store_statement(conn, county.ids["company"], account, old, file_name="old.csv", sha256="0")
    monkeypatch.setattr(store, "KEY_SCHEME", 2)

    with write_tx(county.engine) as conn:
        again = store.import_statement(conn, county.ids["company"], account, path)
        re_export = store.import_statement(
            conn, county.ids["company"], account, write_trust_case("rcb_with_time", tmp_path)
        )

    assert parsed.lines[0].key != old.lines[0].key
    assert (again.line_count, again.new_count) == (4, 0)
    assert re_export.new_count == 0


def test_a_refused_upload_counts_its_problems_and_lists_the_first_20(
    client: TestClient, county: County, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_text("交易日期,交易金额,摘要\n" + "2024-03-01,x,y\n" * 30, encoding="utf-8")
    account = make_account(client, county, "bank", RCB_ACCOUNT_NO, "1002")

    before = counts(county)
    few = tmp_path / "few.csv"
    few.write_text("交易日期,交易金额,摘要\n" + "2024-03-01,x,y\n" * 3, encoding="utf-8")

    refused = upload(client, county, account, junk)
    short = upload(client, county, account, few)

    error = refused.json()["error"]
    assert error["problem_count"] == 30 and len(error["problems"]) == 20
    assert error["problems"][0] == {"line": 2, "column": "交易金额", "message": "'x' is not an amount"}
    assert "problems_url" not in short.json()["error"]  # its answer shows them all already
    assert counts(county) == before  # nothing of the file, and no audit row
    # every problem, as CSV, for whoever may read the org's books — and for no one else
    link = error["problems_url"]
    listed = client.get(link, headers=county.auth("officer"))
    assert listed.status_code == 200 and listed.headers["content-type"].startswith("text/csv")
    rows = listed.content.decode("utf-8-sig").splitlines()
    assert rows[0] == "line,column,message" and len(rows) == 31
    assert rows[30] == "31,交易金额,'x' is not an amount"
    assert client.get(link, headers=county.auth("officer_tuanjie")).status_code == 404
    assert client.get(link, headers=county.auth("community")).status_code == 404
    other_org = link.replace(f"/orgs/{county.ids['company']}/", f"/orgs/{county.ids['company2']}/")
    assert client.get(other_org, headers=county.auth("admin")).status_code == 404


def test_an_account_without_a_number_takes_only_files_of_the_first_files_number(
    county: County, tmp_path: Path
) -> None:
    with write_tx(county.engine) as conn:
        account = store.create_statement_account(
            conn, county.ids["company"], ledger_account="1002", kind="bank", name="未登记账号"
        )
        first = store.import_statement(
            conn, county.ids["company"], account, write_trust_case("rcb_good", tmp_path)
        )
    with pytest.raises(ValidationError) as caught, write_tx(county.engine) as conn:
        store.import_statement(
            conn, county.ids["company"], account, write_trust_case("rcb_other_account", tmp_path)
        )

    assert first.file_account_no == RCB_ACCOUNT_NO
    assert caught.value.field == "account"
    assert (
        f"the earlier files of statement account '未登记账号' are of {RCB_ACCOUNT_NO}" in caught.value.message
    )


def _form_of(html: str) -> dict[str, str]:
    """The upload form's hidden fields as the page rendered them (its CSRF token and one-time key)."""
    start = html.index('/statements/upload" enctype')
    upload_form = html[start : html.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', upload_form))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_refuses_another_accounts_file_and_imports_it_with_a_reason(
    client: TestClient, county: County, tmp_path: Path, lang: str
) -> None:
    """The statements page shows the two numbers beside the refusal and offers the override (a tick and its
    reason), through the same service as the API's ``account_override``: kept on the import and audited."""
    org = county.ids["company"]
    bank = make_account(client, county, "bank", RCB_ACCOUNT_NO, "1002")
    other = write_trust_case("rcb_other_account", tmp_path)
    log_in(client, "officer")
    page = client.get(f"/web/orgs/{org}/statements", params={"lang": "en"} if lang == "en" else {}).text
    assert 'id="account-override"' not in page  # offered only beside the refusal
    before = counts(county)

    def send(html: str, **extra: str):  # type: ignore[no-untyped-def]
        return client.post(
            f"/web/orgs/{org}/statements/upload",
            data={**_form_of(html), "statement_account_id": str(bank), **extra},
            files={"file": (other.name, other.read_bytes(), "text/csv")},
        )

    refused = send(page)
    no_reason = send(refused.text, override="1", account_override="  ")
    untick = send(no_reason.text, account_override="总行代收的流水")  # no tick: no override
    assert counts(county) == before
    assert refused.status_code == no_reason.status_code == untick.status_code == 422
    assert 'id="account-override"' in refused.text and 'name="override"' in refused.text
    assert BOC_ACCOUNT_NO in refused.text and RCB_ACCOUNT_NO in refused.text
    words = {
        "zh": ("文件是账号 133000000000001 的对账单", "请写明为什么把这个文件导入这个对账账户"),
        "en": ("The file is of 账号 133000000000001", "Say why this file belongs in this statement account"),
    }[lang]
    assert words[0] in refused.text
    assert words[1] in no_reason.text and 'value="1" checked' in no_reason.text
    assert 'value="总行代收的流水"' in untick.text  # what was typed is kept

    done = send(untick.text, override="1", account_override="总行代收的流水，经主任同意")
    again = send(untick.text, override="1", account_override="总行代收的流水，经主任同意")  # the same key

    assert done.status_code == 200 and again.status_code == 200, done.text
    assert counts(county)[:2] == (before[0] + 4, before[1] + 1)
    imports = client.get(
        f"/api/v1/orgs/{org}/statement-accounts/{bank}/imports", headers=county.auth("officer")
    ).json()
    assert [(i["file_account_no"], i["account_override"]) for i in imports] == [
        (BOC_ACCOUNT_NO, "总行代收的流水，经主任同意")
    ]
    with read_tx(county.engine) as conn:
        audited = list(
            conn.execute(
                select(AuditLog.__table__.c.detail).where(AuditLog.__table__.c.action == "reconcile.import")
            ).scalars()
        )
    assert len(audited) == 1 and f"account {BOC_ACCOUNT_NO} overridden: 总行代收的流水" in audited[0]


def test_a_refused_uploads_language_switch_leads_back_to_the_page_it_came_from(
    client: TestClient, county: County, tmp_path: Path
) -> None:
    """The refusal is shown at the upload's POST URL, which no GET serves: its language links go back to
    the statements page the form was on, keeping that page's query, never to the POST URL or another host."""
    org = county.ids["company"]
    bank = make_account(client, county, "bank", RCB_ACCOUNT_NO, "1002")
    other = write_trust_case("rcb_other_account", tmp_path)
    log_in(client, "officer")
    page_url = f"/web/orgs/{org}/statements?account={bank}"
    page = client.get(page_url).text

    def refused(referer: str | None) -> str:
        answer = client.post(
            f"/web/orgs/{org}/statements/upload",
            data={**_form_of(page), "statement_account_id": str(bank)},
            files={"file": (other.name, other.read_bytes(), "text/csv")},
            headers={"referer": referer} if referer else {},
        )
        assert answer.status_code == 422
        return re.findall(r'<a class="lang" href="([^"]+)"', answer.text)[0].replace("&amp;", "&")

    assert refused(f"http://testserver{page_url}&lang=zh") == f"{page_url}&lang=en"
    assert refused(None) == "/web/?lang=en"
    assert refused("http://testserver//evil.example/web/x") == "/web/?lang=en"
    assert client.get(refused(f"http://testserver{page_url}")).status_code == 200
