"""Vouchers in the web workbench over HTTP: 填制凭证 (a form sent twice posts once; every refusal comes back
as the form, in the page's language, with what was typed and nothing written), 凭证查询 with its filters,
the voucher page with its 红字冲销, the 明细账 from the 科目余额表, the account suggestions, and each org
seeing only its own vouchers. Runs on a real SQLite file and a real PostgreSQL database.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import date, datetime
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledger.books import county_time
from ledger.books.money import amount_in_words
from ledger.books.periods import close_period
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import AuditLog, JournalEntry
from tests.factories.county import County
from tests.factories.documents import flat, pdf_pages
from tests.factories.vouchers import entries, entry_form, post_form, seed, text_of, voucher_data
from tests.factories.web import csrf_of, log_in

entry_t = JournalEntry.__table__
audit_t = AuditLog.__table__
JS = Path(__file__).resolve().parents[2] / "templates" / "web" / "voucher.js"


def rent_lines(cp: int, amount: str = "500.00") -> list[dict[str, str]]:
    return [
        {"memo": "收张三租金", "account": "10201 银行存款—农商行", "debit": amount},
        {"memo": "收张三租金", "account": "112", "credit": amount, "counterparty": str(cp)},
    ]


# -- 填制凭证 ----------------------------------------------------------------------------------------------


def test_officer_enters_a_voucher_with_a_counterparty_and_a_resent_form_posts_once(
    county: County, client: TestClient
) -> None:
    ids = seed(county)
    log_in(client, "officer")
    html, csrf, key = entry_form(client, county)
    assert "填制凭证" in html and 'src="/web/static/voucher.js"' in html
    assert 'name="date" value="' in html
    before = entries(county)
    first = post_form(client, county, voucher_data(csrf, key, rent_lines(ids["zhangsan"])))
    assert first.status_code == 303, first.text
    assert entries(county) == before + 1
    again = post_form(client, county, voucher_data(csrf, key, rent_lines(ids["zhangsan"])))
    assert (again.status_code, again.headers["location"]) == (303, first.headers["location"])
    assert entries(county) == before + 1  # a double click posts once
    page = client.get(first.headers["location"])
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "记-2026-01-0003" in shown and "这张表单已经提交过" in shown
    assert "112 应收款" in shown and "往来单位: 张三" in shown and "10201 银行存款—农商行" in shown
    assert amount_in_words(50_000) in shown and "制单 officer" in shown
    # 附单据数 is its own field, stored with the entry (and hashed with it), not appended to the 摘要
    assert "附单据数: 2" in shown and "附单据2张" not in shown
    with read_tx(county.engine) as conn:
        stored = conn.execute(
            select(entry_t.c.memo, entry_t.c.attachments).where(entry_t.c.voucher_no == "记-2026-01-0003")
        ).one()
    assert tuple(stored) == ("收张三租金", 2)
    with read_tx(county.engine) as conn:
        audit = conn.execute(select(audit_t.c.action, audit_t.c.detail).order_by(audit_t.c.id.desc())).first()
    assert tuple(audit) == ("entry.post", "记-2026-01-0003")
    # A changed form under the same key is refused inline and writes nothing.
    changed = post_form(client, county, voucher_data(csrf, key, rent_lines(ids["zhangsan"], "600.00")))
    assert changed.status_code == 409
    assert "这张表单已经用于另一张凭证" in text_of(changed.text)
    assert entries(county) == before + 1


BAD = {
    "unbalanced": (
        [
            {"memo": "付款", "account": "513", "debit": "10.00"},
            {"memo": "付款", "account": "101", "credit": "9.99"},
        ],
        "2026-01-25",
        422,
        "借贷不平：借方合计 10.00，贷方合计 9.99，差额 0.01（贷方金额少 0.01，见第2行）",
    ),
    "no amount": (
        [
            {"memo": "付款", "account": "513", "debit": "10.00"},
            {"memo": "付款", "account": "101"},
            {"memo": "付款", "account": "101", "credit": "10.00"},
        ],
        "2026-01-25",
        422,
        "第2行：请在借方或贷方填写金额",
    ),
    "no account": (
        [
            {"memo": "付款", "debit": "10.00"},
            {"memo": "付款", "account": "101", "credit": "10.00"},
        ],
        "2026-01-25",
        422,
        "第1行：请填写会计科目",
    ),
    "counterparty missing": (
        [
            {"memo": "收租", "account": "101", "debit": "10.00"},
            {"memo": "收租", "account": "112", "credit": "10.00"},
        ],
        "2026-01-25",
        422,
        "第2行：科目 112 须选择往来单位",
    ),
    "malformed date": (
        [
            {"memo": "付款", "account": "513", "debit": "10.00"},
            {"memo": "付款", "account": "101", "credit": "10.00"},
        ],
        "2026-02-30",
        422,
        "日期无效，请按 年-月-日 填写",
    ),
    "unknown account": (
        [
            {"memo": "付款", "account": "999", "debit": "10.00"},
            {"memo": "付款", "account": "101", "credit": "10.00"},
        ],
        "2026-01-25",
        422,
        "第1行：科目 999 不是本单位可以记账的明细科目",
    ),
    "parent account": (
        [
            {"memo": "付款", "account": "513", "debit": "10.00"},
            {"memo": "付款", "account": "102", "credit": "10.00"},
        ],
        "2026-01-25",
        422,
        "第2行：科目 102 不是本单位可以记账的明细科目",
    ),
    "closed period": (
        [
            {"memo": "付款", "account": "513", "debit": "10.00"},
            {"memo": "付款", "account": "101", "credit": "10.00"},
        ],
        "2025-12-31",
        409,
        "该日期所在月份已结账（已结账至 2025-12）",
    ),
    "third decimal": (
        [
            {"memo": "付款", "account": "513", "debit": "10.005"},
            {"memo": "付款", "account": "101", "credit": "10.00"},
        ],
        "2026-01-25",
        422,
        "第1行借方金额：金额应为最多两位小数的正数",
    ),
    "one line both sides": (
        [
            {"memo": "付款", "account": "513", "debit": "10.00", "credit": "10.00"},
            {"memo": "付款", "account": "101", "credit": "10.00"},
        ],
        "2026-01-25",
        422,
        "第1行：借方、贷方只填一个",
    ),
    "another org's account": (
        [
            {"memo": "付款", "account": "51301", "debit": "10.00"},
            {"memo": "付款", "account": "101", "credit": "10.00"},
        ],
        "2026-01-25",
        422,
        "第1行：科目 51301 不是本单位可以记账的明细科目",
    ),
    "another org's counterparty": (
        [
            {"memo": "付款", "account": "513", "debit": "10.00"},
            {"memo": "付款", "account": "112", "credit": "10.00", "counterparty": "OUTSIDER"},
        ],
        "2026-01-25",
        422,
        "第2行：所选往来单位不是本单位的",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_refused_voucher_comes_back_inline_keeping_what_was_typed_and_writes_nothing(
    county: County, client: TestClient, case: str
) -> None:
    ids = seed(county)
    with write_tx(county.engine) as conn:
        close_period(conn, county.ids["dingzikou"], "2025-12")
    lines, day, status, message = BAD[case]
    lines = [{k: (str(ids["outsider"]) if v == "OUTSIDER" else v) for k, v in ln.items()} for ln in lines]
    log_in(client, "officer")
    _html, csrf, key = entry_form(client, county)
    before = entries(county)
    response = post_form(client, county, voucher_data(csrf, key, lines, day))
    assert response.status_code == status, response.text
    assert message in text_of(response.text)
    assert 'role="alert"' in response.text  # beside its field (aria-invalid) or below the totals
    assert 'aria-invalid="true"' in response.text or 'id="error-voucher-totals"' in response.text
    for ln in lines:
        for side in ("debit", "credit"):
            if side in ln:
                assert f'value="{ln[side]}"' in response.text  # kept as typed
    assert f'value="{day}"' in response.text and f'value="{key}"' in response.text
    assert entries(county) == before
    # English too: the same refusal in the page's language
    client.get("/web/?lang=en")
    english = post_form(client, county, voucher_data(csrf, key, lines, day))
    assert english.status_code == status
    assert "填制凭证" not in english.text and "New voucher" in english.text
    assert entries(county) == before


def errors_of(html: str) -> dict[str, str]:
    """The refusals on a page by the field they stand beside (``common.FormRefused``'s one markup)."""
    found = re.findall(
        r'<(?:p|span) class="error" role="alert" id="error-([^"]+)">([^<]*)</(?:p|span)>', html
    )
    return {field: unescape(message) for field, message in found}


def test_every_fault_of_a_voucher_is_shown_at_once_beside_its_line(
    county: County, client: TestClient
) -> None:
    ids = seed(county)
    log_in(client, "officer")
    _html, csrf, key = entry_form(client, county)
    lines = [
        {"memo": "付款", "account": "513", "debit": "1.005"},
        {"memo": "付款", "account": "101", "debit": "5.00", "credit": "5.00"},
        {"memo": "收租", "account": "112", "credit": "10.00"},  # 应收款 without its 往来单位
        {"memo": "收租", "account": "112", "credit": "1.00", "counterparty": str(ids["zhangsan"])},
    ]
    data = voucher_data(csrf, key, lines)
    data[3] = ("attachments", "x")
    before = entries(county)
    response = post_form(client, county, data)
    assert response.status_code == 422
    assert errors_of(response.text) == {
        "voucher-attachments": "附单据数应为整数",
        "voucher-line-0-debit": "第1行借方金额：金额应为最多两位小数的正数，如 12.30",
        "voucher-line-1-debit": "第2行：借方、贷方只填一个，且不能为零",
        "voucher-line-2-counterparty": "第3行：科目 112 须选择往来单位",
    }
    assert 'aria-describedby="error-voucher-line-2-counterparty"' in response.text
    assert 'value="1.005"' in response.text and 'value="x"' in response.text  # kept as typed
    assert entries(county) == before
    # Out of balance on several lines of the short side: the totals say by how much and which lines.
    _html, csrf, key = entry_form(client, county)
    uneven = [
        {"memo": "付款", "account": "513", "debit": "10.00"},
        {"memo": "付款", "account": "101", "credit": "4.00"},
        {"memo": "付款", "account": "10201 银行存款—农商行", "credit": "5.00"},
    ]
    response = post_form(client, county, voucher_data(csrf, key, uneven))
    assert response.status_code == 422
    assert errors_of(response.text) == {
        "voucher-line-1-credit": "第2行贷方金额：凭证差额 1.00",
        "voucher-line-2-credit": "第3行贷方金额：凭证差额 1.00",
        "voucher-totals": "借贷不平：借方合计 10.00，贷方合计 9.00，差额 1.00（贷方金额少 1.00，见第2、3行）",
    }
    client.get("/web/?lang=en")
    english = errors_of(post_form(client, county, voucher_data(csrf, key, uneven)).text)
    assert english["voucher-totals"] == (
        "Out of balance: debits 10.00, credits 9.00, difference 1.00 (Credit short by 1.00: line 2, 3)"
    )
    assert entries(county) == before


def test_an_account_that_needs_a_dimension_is_refused_without_it(county: County, client: TestClient) -> None:
    """应收款 needs its 往来单位 (but no contract: a contract's receivable is the lease sub-ledger's)."""
    ids = seed(county)
    log_in(client, "officer")
    _html, csrf, key = entry_form(client, county)
    without = [
        {"memo": "收张三租金", "account": "10201", "debit": "10.00"},
        {"memo": "收张三租金", "account": "112", "credit": "10.00"},
    ]
    refused = post_form(client, county, voucher_data(csrf, key, without))
    assert refused.status_code == 422
    assert errors_of(refused.text) == {"voucher-line-1-counterparty": "第2行：科目 112 须选择往来单位"}
    with_it = [without[0], {**without[1], "counterparty": str(ids["zhangsan"])}]
    assert post_form(client, county, voucher_data(csrf, key, with_it)).status_code == 303


def test_a_voucher_can_be_copied_as_a_template(county: County, client: TestClient) -> None:
    ids = seed(county)
    log_in(client, "officer")
    page = client.get(f"/web/orgs/{county.ids['dingzikou']}/vouchers/new", params={"copy": ids["cleaning"]})
    assert page.status_code == 200
    assert "已按凭证 记-2026-01-0002 填好分录" in page.text
    assert 'value="513 管理费用"' in page.text and 'value="10201 银行存款—农商行"' in page.text
    assert 'value="800.00"' in page.text and 'value="支付保洁服务费"' not in page.text  # lines carry the memo
    other = client.get(f"/web/orgs/{county.ids['dingzikou']}/vouchers/new", params={"copy": ids["hong"]})
    assert other.status_code == 404  # another org's voucher is not a template here


def test_account_suggestions_by_code_name_and_pinyin_initials_are_this_orgs_leaf_accounts(
    county: County, client: TestClient
) -> None:
    seed(county)
    log_in(client, "officer")
    url = f"/web/orgs/{county.ids['dingzikou']}/accounts/suggest"
    by_initials = client.get(url, params={"q": "yhck"}).json()
    assert [a["code"] for a in by_initials] == ["10201"]  # 102 has a sub-account now: not postable
    assert by_initials[0]["name"] == "银行存款—农商行"
    assert client.get(url, params={"q": "112"}).json()[0] == {
        "code": "112",
        "name": "应收款",
        "dims": ["counterparty", "contract"],
    }
    assert [a["code"] for a in client.get(url, params={"q": "管理"}).json()] == ["513"]
    assert client.get(url, params={"q": "51301"}).json() == []  # 红星桥's own sub-account
    outsider = TestClient(client.app)
    log_in(outsider, "officer_tuanjie")
    assert outsider.get(url, params={"q": "1"}).status_code == 404


# -- 凭证查询 ----------------------------------------------------------------------------------------------


def test_the_journal_filters_by_amount_account_counterparty_text_source_and_reversal(
    county: County, client: TestClient
) -> None:
    ids = seed(county)
    log_in(client, "officer")
    _html, csrf, key = entry_form(client, county)
    assert (
        post_form(client, county, voucher_data(csrf, key, rent_lines(ids["zhangsan"], "271.86"))).status_code
        == 303
    )
    url = f"/web/orgs/{county.ids['dingzikou']}/journal"

    def found(**params: str) -> list[str]:
        page = client.get(url, params={"from": "2026-01", "to": "2026-01", **params})
        assert page.status_code == 200, page.text
        return re.findall(r">(记-\d{4}-\d{2}-\d{4})</a>", page.text)

    assert found() == ["记-2026-01-0001", "记-2026-01-0002", "记-2026-01-0003"]
    assert found(min="271.86", max="271.86") == ["记-2026-01-0003"]
    assert found(min="800.00") == ["记-2026-01-0001", "记-2026-01-0002"]
    assert found(account="102") == [
        "记-2026-01-0001",
        "记-2026-01-0002",
        "记-2026-01-0003",
    ]  # sub-accounts too
    assert found(account="513") == ["记-2026-01-0002"]
    assert found(counterparty=str(ids["zhangsan"])) == ["记-2026-01-0003"]
    assert found(text="保洁") == ["记-2026-01-0002"]
    assert found(source="manual", voucher="记-2026-01-0002") == ["记-2026-01-0002"]
    assert found(reversed="yes") == []
    assert found(**{"from": "2026-02", "to": "2026-03"}) == []
    bad = client.get(url, params={"min": "1.005"})
    assert bad.status_code == 422 and "金额应为最多两位小数的数字" in text_of(bad.text)
    page = client.get(url, params={"min": "271.86", "max": "271.86"}).text
    assert f'href="/web/orgs/{county.ids["dingzikou"]}/vouchers/' in page  # each row opens its voucher


def test_the_journal_text_filter_reads_line_memos_and_counterparty_names(
    county: County, client: TestClient
) -> None:
    ids = seed(county)
    log_in(client, "officer")
    _html, csrf, key = entry_form(client, county)
    lines = [
        {"memo": "收到押金", "account": "10201", "debit": "300.00"},
        {"memo": "退还多收水费", "account": "112", "credit": "300.00", "counterparty": str(ids["zhangsan"])},
    ]
    assert post_form(client, county, voucher_data(csrf, key, lines)).status_code == 303
    url = f"/web/orgs/{county.ids['dingzikou']}/journal"

    def found(text: str) -> list[str]:
        page = client.get(url, params={"from": "2026-01", "to": "2026-01", "text": text})
        assert page.status_code == 200, page.text
        return re.findall(r">(记-\d{4}-\d{2}-\d{4})</a>", page.text)

    assert found("押金") == ["记-2026-01-0003"]  # the entry's 摘要 (its first line's)
    assert found("水费") == ["记-2026-01-0003"]  # only a line's 摘要
    assert found("张三") == ["记-2026-01-0003"]  # the counterparty a line names
    assert found("保洁") == ["记-2026-01-0002"]
    assert found("王五") == []  # another org's counterparty names nothing here
    assert found("100%_") == []  # LIKE's wildcards are text


def test_malformed_input_in_an_address_or_a_form_is_a_4xx_in_the_users_language(
    county: County, client: TestClient
) -> None:
    ids = seed(county)
    org = county.ids["dingzikou"]
    log_in(client, "officer")
    journal = f"/web/orgs/{org}/journal"
    bad_month = client.get(journal, params={"from": "2026-13", "min": "abc"})
    assert bad_month.status_code == 422
    assert errors_of(bad_month.text) == {
        "journal-from": "期间应为 年-月，如 2026-01",
        "journal-min": "金额应为最多两位小数的数字，如 12.30",
    }
    assert 'value="2026-13"' in bad_month.text  # kept as typed
    for path, params in (
        (journal, {"page": "abc"}),
        (f"/web/orgs/{org}/vouchers/new", {"copy": "x"}),
        (f"/web/orgs/{org}/vouchers/{'9' * 30}", {}),
        (f"/web/orgs/{'9' * 30}/journal", {}),
        (f"/web/orgs/{'9' * 19}/journal", {}),  # past 64 bits, as the database refuses it
    ):
        page = client.get(path, params=params)
        assert 400 <= page.status_code < 500, (path, page.status_code)
        assert "请求无法完成" in page.text or "页面不存在" in page.text, path
        assert "Input should" not in page.text and "系统错误" not in page.text
    client.get("/web/?lang=en")
    english = client.get(journal, params={"page": "abc"})
    assert english.status_code == 422 and "could not be read" in english.text
    unknown = client.get(f"/web/orgs/{org}/vouchers/{ids['hong']}")  # another org's: not found, as ever
    assert unknown.status_code == 404


# -- the voucher page and 红字冲销 -----------------------------------------------------------------------


def test_reversal_from_the_voucher_page_asks_to_confirm_and_posts_once(
    county: County, client: TestClient
) -> None:
    ids = seed(county)
    org = county.ids["dingzikou"]
    log_in(client, "officer")
    confirm = client.get(f"/web/orgs/{org}/vouchers/{ids['cleaning']}/reverse")
    assert confirm.status_code == 200 and "红字冲销" in confirm.text
    assert 'name="date" value="2026-01-20"' in confirm.text  # its own day while January is open
    key = re.search(r'name="form_key" value="([0-9a-f]+)"', confirm.text).group(1)  # type: ignore[union-attr]
    csrf = csrf_of(confirm.text)
    path = f"/web/orgs/{org}/vouchers/{ids['cleaning']}/reverse"
    form = {"csrf_token": csrf, "form_key": key, "date": "2026-01-31", "reason": "重复付款"}
    before = entries(county)
    unconfirmed = client.post(path, data=form, follow_redirects=False)
    assert unconfirmed.status_code == 422
    assert errors_of(unconfirmed.text) == {"reverse-confirm": "请勾选确认后再冲销"}
    assert 'value="重复付款"' in unconfirmed.text and entries(county) == before
    no_reason = client.post(path, data={**form, "reason": " ", "confirm": "yes"}, follow_redirects=False)
    assert no_reason.status_code == 422 and errors_of(no_reason.text) == {"reverse-reason": "请填写冲销原因"}
    assert 'value="2026-01-31"' in no_reason.text and entries(county) == before
    done = client.post(path, data={**form, "confirm": "yes"}, follow_redirects=False)
    assert done.status_code == 303, done.text
    again = client.post(path, data={**form, "confirm": "yes"}, follow_redirects=False)
    assert again.headers["location"] == done.headers["location"]
    assert entries(county) == before + 1
    red = text_of(client.get(done.headers["location"]).text)
    assert "冲销 记-2026-01-0002 重复付款" in red and "-800.00" in red and "冲销的凭证 记-2026-01-0002" in red
    original = text_of(client.get(f"/web/orgs/{org}/vouchers/{ids['cleaning']}").text)
    assert "已被冲销 记-2026-01-0003 · 冲销 记-2026-01-0002 重复付款" in original  # the link says why
    assert "红字冲销" not in original.split("已被冲销")[1]
    journal = client.get(f"/web/orgs/{org}/journal", params={"from": "2026-01", "reversed": "yes"}).text
    assert re.findall(r">(记-\d{4}-\d{2}-\d{4})</a>", journal) == ["记-2026-01-0002"]
    # Reversing it twice, or into a closed month, is refused on the page and writes nothing.
    twice = client.post(path, data={**form, "form_key": "f" * 32, "confirm": "yes"}, follow_redirects=False)
    assert twice.status_code == 409 and "已冲销过" in text_of(twice.text)
    with write_tx(county.engine) as conn:
        close_period(conn, org, "2025-12")
    closed = client.post(
        f"/web/orgs/{org}/vouchers/{ids['rent']}/reverse",
        data={**form, "form_key": "e" * 32, "confirm": "yes", "date": "2025-12-31"},
        follow_redirects=False,
    )
    assert closed.status_code == 409 and "已结账至 2025-12" in text_of(closed.text)
    assert entries(county) == before + 1


def test_the_voucher_prints_as_a_pdf(county: County, client: TestClient) -> None:
    ids = seed(county)
    log_in(client, "officer")
    pdf = client.get(f"/web/orgs/{county.ids['dingzikou']}/vouchers/{ids['rent']}/voucher.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]
    assert "附单据张" in flat(pdf_pages(pdf.content)[0])  # none stated: the blank stays blank
    _html, csrf, key = entry_form(client, county)
    saved = post_form(client, county, voucher_data(csrf, key, rent_lines(ids["zhangsan"])))  # 附单据数 2
    printed = client.get(saved.headers["location"] + "/voucher.pdf")
    assert "附单据2张" in flat(pdf_pages(printed.content)[0])


# -- 明细账 from the 科目余额表 -----------------------------------------------------------------------------


def test_each_trial_balance_row_opens_its_ledger_and_each_line_its_voucher(
    county: County, client: TestClient
) -> None:
    ids = seed(county)
    org = county.ids["dingzikou"]
    log_in(client, "officer")
    tb = client.get(f"/web/orgs/{org}", params={"period": "2026-01"}).text
    link = f"/web/orgs/{org}/ledger?account=10201&amp;period=2026-01"
    assert link in tb
    ledger = client.get(unescape(link))
    assert ledger.status_code == 200
    shown = text_of(ledger.text)
    assert "明细账" in shown and "10201 银行存款—农商行" in shown
    assert "12,000.00" in shown and "800.00" in shown and "11,200.00" in shown and "本月合计" in shown
    opened = client.get(
        f"/web/orgs/{org}/vouchers/by-number", params={"no": "记-2026-01-0002"}, follow_redirects=False
    )
    assert opened.headers["location"] == f"/web/orgs/{org}/vouchers/{ids['cleaning']}"
    assert "vouchers/by-number?no=%E8%AE%B0-2026-01-0002" in ledger.text


# -- each org sees only its own vouchers -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["officer_tuanjie", "community2"])
def test_another_orgs_voucher_journal_and_ledger_pages_are_404(
    county: County, client: TestClient, who: str
) -> None:
    ids = seed(county)
    if who == "community2":
        from ledger.access.auth import create_user

        with write_tx(county.engine) as conn:
            create_user(
                conn,
                username="community2",
                password="correct horse battery",
                role="community",
                scope_org_id=county.ids["hongxingqiao"],
            )
    org = county.ids["dingzikou"]
    log_in(client, who)
    for path in (
        f"/web/orgs/{org}/vouchers/{ids['rent']}",
        f"/web/orgs/{org}/vouchers/{ids['rent']}/voucher.pdf",
        f"/web/orgs/{org}/vouchers/{ids['rent']}/reverse",
        f"/web/orgs/{org}/vouchers/new",
        f"/web/orgs/{org}/journal",
        f"/web/orgs/{org}/ledger?account=102&period=2026-01",
        f"/web/orgs/{org}/vouchers/by-number?no=记-2026-01-0001",
    ):
        assert client.get(path, follow_redirects=False).status_code == 404, path
    # and another org's voucher under one's own org is not found either
    hong = county.ids["hongxingqiao"]
    mine = client.get(f"/web/orgs/{hong}/vouchers/{ids['rent']}")
    assert mine.status_code == 404


def test_a_community_user_reads_its_vouchers_but_cannot_enter_or_reverse(
    county: County, client: TestClient
) -> None:
    ids = seed(county)
    org = county.ids["dingzikou"]
    log_in(client, "community")
    page = client.get(f"/web/orgs/{org}/vouchers/{ids['rent']}")
    assert page.status_code == 200 and "红字冲销" not in page.text and "复制为模板" not in page.text
    assert client.get(f"/web/orgs/{org}/journal").status_code == 200
    assert client.get(f"/web/orgs/{org}/vouchers/new").status_code == 403


# -- the page's 大写 is the books' 大写 --------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_entry_pages_daxie_matches_the_books() -> None:
    amounts = [
        0,
        1,
        10,
        100,
        1_000,
        5,
        50,
        105,
        1_005,
        100_005,
        140_950,
        600_714,
        32_504,
        168_032,
        10_000_000,
    ]
    amounts += [
        1_000_000_001,
        10_000_000_000,
        10_000_100_000,
        99_999_999_999,
        100_100_000_000 // 10,
        7_000_007_00,
    ]
    amounts += [int(line.split(",")[0].replace(".", "")) for line in _cases()]
    script = (
        "global.window={};global.document={getElementById(){return null}};"
        + JS.read_text(encoding="utf-8")
        + f";console.log(JSON.stringify({json.dumps(amounts)}.map(window.cunsheAmountInWords)))"
    )
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True, timeout=30)
    assert json.loads(out.stdout) == [amount_in_words(a) for a in amounts]


def _cases() -> list[str]:
    path = Path(__file__).resolve().parents[1] / "data" / "daxie-cases.csv"
    return [ln for ln in path.read_text(encoding="utf-8").splitlines()[1:] if ln and ln[0].isdigit()]


@pytest.fixture
def clock_zone_a_day_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's clock zone set so that, at this moment, its calendar day is not Beijing's: UTC-12 is on
    yesterday until 20:00 Beijing time, UTC+14 on tomorrow from 18:00. A server kept on UTC is the same
    case from 16:00 to 24:00 UTC; the fixture makes it every hour."""
    # POSIX signs: Etc/GMT+12 is UTC-12
    zone = "Etc/GMT+12" if datetime.now(county_time.CHINA).hour < 20 else "Etc/GMT-14"
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    assert date.today() != county_time.today(), zone  # else this test could not fail
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_county_s_day_dates_a_form_whatever_the_server_s_clock_zone(
    county: County, client: TestClient, clock_zone_a_day_off: None
) -> None:
    """A new voucher is dated by Beijing's day, as the till dates its sales, not by the server's zone: a
    county server on UTC used to offer yesterday's date every morning before 08:00."""
    seed(county)
    log_in(client, "officer")
    html, _, _ = entry_form(client, county)
    assert f'name="date" value="{county_time.today().isoformat()}"' in html
    assert county_time.today() == county_time.business_date(datetime.now(county_time.CHINA))
