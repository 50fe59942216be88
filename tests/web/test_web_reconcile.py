"""Reconciliation in the pages (issue 17, items 5–7): confirm all, manual matching, unmatching, post-by-rule,
the WeChat account's own 对账 view; refused forms shown beside their field, in the page's language, with
nothing written; a community's read-only view; a cashier sent to the till.

The month: the joint company's March 2024 (February closed). WeChat Pay: on the 2nd three lines (64.86 +
225.34 − 18.34 refund = 271.86) against one booked day total of 271.86, which the matcher does not propose;
on the 3rd one sale of 100.00 against its booked 100.00. The bank: a cash deposit of 500.00 (booked) and a
transfer charge of 2.00 (not booked: posted by the bank-fee rule).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from html import unescape
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from ledger.api.routes.reconcile import ImportOut, MatchOut, ProposeOut
from ledger.books.orgs import ensure_sub_account
from ledger.books.periods import close_period
from ledger.books.posting import Draft, Line, post_entry
from ledger.cli.reconcile import app as cli
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import JournalEntry, JournalLine
from ledger.reconcile.matching import statement_lines
from ledger.reconcile.models import ReconcileMatch
from ledger.reconcile.store import create_statement_account, import_statement
from tests.factories.county import County
from tests.factories.statement_files import BankTxn, Order, write_bank_csv, write_wechat_trade_bill
from tests.factories.web import csrf_of, log_in

entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
match_t = ReconcileMatch.__table__
runner = CliRunner()


@dataclass
class Month:
    org: int
    wechat: int
    bank: int
    day_total_line: int  # the 1012 01 journal line of 2024-03-02 (271.86)
    other_org_line: int  # a journal line of 丁字口社区


def seed(county: County, tmp_path: Path) -> Month:
    org = county.ids["company"]
    with write_tx(county.engine) as conn:
        ensure_sub_account(conn, org, "1012", "101201", "微信")
        wechat = create_statement_account(conn, org, ledger_account="101201", kind="wechat", name="微信商户")
        bank = create_statement_account(conn, org, ledger_account="1002", kind="bank", name="建行基本户")

        def post(day: date, memo: str, *lines: Line, org_id: int = org) -> int:
            return post_entry(conn, Draft(org_id, day, memo, list(lines))).id

        post(date(2024, 2, 29), "开户存入", Line("1002", debit_fen=5000000), Line("3001", credit_fen=5000000))
        close_period(conn, org, "2024-02")
        day = post(date(2024, 3, 2), "微信", Line("101201", debit_fen=27186), Line("5001", credit_fen=27186))
        post(date(2024, 3, 3), "微信", Line("101201", debit_fen=10000), Line("5001", credit_fen=10000))
        post(date(2024, 3, 4), "现金存行", Line("1002", debit_fen=50000), Line("1001", credit_fen=50000))
        other = post(
            date(2026, 1, 10),
            "收到门面租金",
            Line("102", debit_fen=27186),
            Line("501", credit_fen=27186),
            org_id=county.ids["dingzikou"],
        )
        day_line, other_line = (
            conn.execute(
                select(line_t.c.id).where(line_t.c.entry_id == entry, line_t.c.line_no == 1)
            ).scalar_one()
            for entry in (day, other)
        )
        orders = [
            Order(datetime(2024, 3, 2, 10, 15), "wx1", "POS-1", Decimal("64.86"), "商品"),
            Order(datetime(2024, 3, 2, 15, 45), "wx2", "POS-2", Decimal("225.34"), "商品"),
            Order(datetime(2024, 3, 2, 15, 55), "wx3", "POS-3", Decimal("18.34"), "商品", True, "wxr3"),
            Order(datetime(2024, 3, 3, 11, 0), "wx4", "POS-4", Decimal("100.00"), "商品"),
        ]
        import_statement(conn, org, wechat, write_wechat_trade_bill(tmp_path / "wechat.csv", orders))
        txns = [
            BankTxn(
                datetime(2024, 3, 4, 10, 30), Decimal("500.00"), Decimal("50500.00"), "", "", "现金存入", "1"
            ),
            BankTxn(
                datetime(2024, 3, 20, 17), Decimal("-2.00"), Decimal("50498.00"), "", "", "汇划手续费", "2"
            ),
        ]
        import_statement(conn, org, bank, write_bank_csv(tmp_path / "bank.csv", txns))
    return Month(org, wechat, bank, day_line, other_line)


def matches(county: County) -> int:
    with read_tx(county.engine) as conn:
        return conn.execute(select(func.count()).select_from(match_t)).scalar_one()


def entries(county: County) -> int:
    with read_tx(county.engine) as conn:
        return conn.execute(select(func.count()).select_from(entry_t)).scalar_one()


def unmatched(county: County, m: Month, account: int) -> list[dict]:
    with read_tx(county.engine) as conn:
        return statement_lines(conn, m.org, account, unmatched=True)


def alerts(html: str) -> dict[str, str]:
    """The refusals a page shows, by the id of the field (or form) they stand beside."""
    return dict(re.findall(r'<p class="error" role="alert" id="error-([^"]+)">([^<]*)</p>', unescape(html)))


def page(client: TestClient, m: Month, account: int) -> str:
    response = client.get(f"/web/orgs/{m.org}/statements/{account}?period=2024-03")
    assert response.status_code == 200, response.text
    return response.text


def manual(client: TestClient, m: Month, html: str, s_ids: list, b_ids: list, **extra: str):  # type: ignore[no-untyped-def]
    data = {
        "csrf_token": csrf_of(html),
        "period": "2024-03",
        "form_key": uuid.uuid4().hex,
        "statement_line_ids": [str(i) for i in s_ids],
        "journal_line_ids": [str(i) for i in b_ids],
        **extra,
    }
    return client.post(f"/web/orgs/{m.org}/statements/{m.wechat}/manual-match", data=data)


def test_the_refund_day_is_matched_by_hand_and_bad_selections_are_refused_beside_their_list(
    county: County, client: TestClient, tmp_path: Path
) -> None:
    m = seed(county, tmp_path)
    log_in(client, "officer")
    html = page(client, m, m.wechat)
    # the WeChat account is reconciled as what it is, not as a bank's 调节表 with a 0.00 book side
    assert "微信支付对账" in html and "银行存款余额调节表" not in html
    day2 = [ln["id"] for ln in unmatched(county, m, m.wechat) if ln["occurred_at"].day == 2]
    assert len(day2) == 3
    assert f'name="journal_line_ids" value="{m.day_total_line}" data-side="book" data-amount="27186"' in html
    before = (matches(county), entries(county))

    differ = manual(client, m, html, day2[:2], [m.day_total_line])  # 290.20 against 271.86
    assert differ.status_code == 422
    assert alerts(differ.text) == {"manual-journal_line_ids": "所选对账单行与账簿行的合计不相等，或没有选择"}
    assert f'value="{day2[0]}" data-side="statement" data-amount="6486" aria-label' in differ.text
    assert re.search(rf'value="{day2[0]}"[^>]*checked', differ.text)  # the ticks are kept

    foreign_book = manual(client, m, html, day2, [m.other_org_line])  # 丁字口's line, forged in
    assert foreign_book.status_code == 404
    assert alerts(foreign_book.text) == {"manual-journal_line_ids": "所选账簿行不是本单位该科目的记录"}
    bank_line = unmatched(county, m, m.bank)[0]["id"]  # a line of the company's other statement account
    other_account = manual(client, m, html, [bank_line], [m.day_total_line])
    assert other_account.status_code == 404
    assert alerts(other_account.text) == {
        "manual-statement_line_ids": "所选对账单行不属于本单位的这个对账账户"
    }
    forged = manual(client, m, html, ["1 OR 1=1"], [m.day_total_line])
    assert forged.status_code == 422 and "manual-statement_line_ids" in alerts(forged.text)
    assert (matches(county), entries(county)) == before

    client.get("/web/orgs/1?lang=en")  # the language is the session's: English pages say it in English
    english = manual(client, m, page(client, m, m.wechat), day2[:2], [m.day_total_line])
    assert (
        "statement lines total 290.20 and journal lines 271.86"
        in alerts(english.text)["manual-journal_line_ids"]
    )
    client.get(f"/web/orgs/{m.org}?lang=zh")

    html = page(client, m, m.wechat)
    done = manual(client, m, html, day2, [m.day_total_line], note="退款当日合并", form_key="m1")
    assert done.status_code == 200 and "已手工匹配" in done.text
    again = manual(client, m, html, day2, [m.day_total_line], note="退款当日合并", form_key="m1")  # resent
    assert again.status_code == 200
    assert matches(county) == before[0] + 1 and entries(county) == before[1]
    assert [ln["occurred_at"].day for ln in unmatched(county, m, m.wechat)] == [3]


def test_confirm_all_shows_count_and_total_then_confirms_only_this_accounts_proposals(
    county: County, client: TestClient, tmp_path: Path
) -> None:
    m = seed(county, tmp_path)
    html = log_in(client, "officer")
    for account in (m.wechat, m.bank):
        proposed = client.post(
            f"/web/orgs/{m.org}/statements/{account}/propose",
            data={"csrf_token": csrf_of(html), "period": "2024-03", "form_key": f"p{account}"},
        )
        assert proposed.status_code == 200
    html = page(client, m, m.wechat)
    assert "确认全部 1 条（对账单合计 100.00）" in html
    wechat_ids = re.findall(r'name="match_ids" value="(\d+)"', html)
    bank_ids = re.findall(r'name="match_ids" value="(\d+)"', page(client, m, m.bank))
    before = matches(county)

    def confirm_all(ids: list[str], key: str):  # type: ignore[no-untyped-def]
        data = {"csrf_token": csrf_of(html), "period": "2024-03", "form_key": key, "match_ids": ids}
        return client.post(f"/web/orgs/{m.org}/statements/{m.wechat}/confirm-all", data=data)

    mixed = confirm_all(wechat_ids + bank_ids, "k1")  # the bank's proposal forged into the WeChat form
    assert mixed.status_code == 404 and alerts(mixed.text) == {"confirm_all": "所选匹配不属于本单位"}
    none = confirm_all([], "k2")
    assert none.status_code == 422 and alerts(none.text) == {"confirm_all": "没有可确认的匹配"}
    assert matches(county) == before
    done = confirm_all(wechat_ids, "k3")
    assert done.status_code == 200 and "已确认 1 条匹配" in done.text
    assert confirm_all(wechat_ids, "k3").status_code == 200  # a resent form replays, writes nothing
    assert matches(county) == before + 1


def test_a_bank_charge_in_a_closed_month_is_refused_beside_its_line_then_posted_once_open(
    county: County, client: TestClient, tmp_path: Path
) -> None:
    m = seed(county, tmp_path)
    html = log_in(client, "officer")
    html = page(client, m, m.bank)
    (fee,) = [ln for ln in unmatched(county, m, m.bank) if ln["memo"] == "汇划手续费"]
    button = "生成凭证: 银行手续费"
    assert button in html
    with write_tx(county.engine) as conn:  # the officer closed March meanwhile (the page still shows it)
        close_period(conn, m.org, "2024-03")
    form = {
        "csrf_token": csrf_of(html),
        "rule": "bank_fee",
        "account": str(m.bank),
        "period": "2024-03",
        "back": f"/web/orgs/{m.org}/statements/{m.bank}?period=2024-03",
        "form_key": "fee1",
    }
    before = (matches(county), entries(county))
    refused = client.post(f"/web/orgs/{m.org}/statement-lines/{fee['id']}/post-by-rule", data=form)
    assert refused.status_code == 409
    assert alerts(refused.text) == {f"rule-{fee['id']}": "该月份已结账，不能再记账；请改为未结账的月份"}
    assert (matches(county), entries(county)) == before


def test_unmatching_needs_a_reason_beside_the_match_then_frees_its_lines(
    county: County, client: TestClient, tmp_path: Path
) -> None:
    m = seed(county, tmp_path)
    log_in(client, "officer")
    html = page(client, m, m.wechat)
    day2 = [ln["id"] for ln in unmatched(county, m, m.wechat) if ln["occurred_at"].day == 2]
    assert manual(client, m, html, day2, [m.day_total_line]).status_code == 200
    html = page(client, m, m.wechat)
    match_id = re.search(r'action="/web/orgs/\d+/matches/(\d+)/reject"', html)[1]  # type: ignore[index]
    form = {
        "csrf_token": csrf_of(html),
        "account": str(m.wechat),
        "period": "2024-03",
        "back": f"/web/orgs/{m.org}/statements/{m.wechat}?period=2024-03",
        "form_key": "u1",
    }
    before = matches(county)
    bare = client.post(f"/web/orgs/{m.org}/matches/{match_id}/reject", data={**form, "note": ""})
    assert bare.status_code == 422 and alerts(bare.text) == {f"reject-{match_id}": "请填写说明"}
    assert matches(county) == before
    undone = client.post(f"/web/orgs/{m.org}/matches/{match_id}/reject", data={**form, "note": "选错了"})
    assert undone.status_code == 200 and len(unmatched(county, m, m.wechat)) == 4
    # another org's match, forged into the path under this org: refused, nothing written
    foreign = client.post(f"/web/orgs/{county.ids['dingzikou']}/matches/{match_id}/reject", data=form)
    assert foreign.status_code == 404 and matches(county) == before + 1, foreign.text[-1500:]


def test_the_close_form_shows_why_beside_the_month_and_keeps_it(
    county: County, client: TestClient, tmp_path: Path
) -> None:
    m = seed(county, tmp_path)
    html = log_in(client, "officer")
    html = client.get(f"/web/orgs/{m.org}").text
    assert 'name="period" value="2024-03"' in html  # the first open month
    closed = client.post(
        f"/web/orgs/{m.org}/close", data={"csrf_token": csrf_of(html), "period": "2024-02", "form_key": "c1"}
    )
    assert closed.status_code == 409 and alerts(closed.text)["close-period"].startswith("不能结账：")
    assert 'name="period" value="2024-02"' in closed.text
    malformed = client.post(
        f"/web/orgs/{m.org}/close", data={"csrf_token": csrf_of(html), "period": "2024-3", "form_key": "c2"}
    )
    assert malformed.status_code == 422 and "close-period" in alerts(malformed.text)


def test_the_community_user_lands_on_its_own_read_only_view_and_writes_nothing(
    county: County, client: TestClient, tmp_path: Path
) -> None:
    m = seed(county, tmp_path)
    own = county.ids["dingzikou"]
    home = log_in(client, "community")
    title = re.search(r"<title>([^<]*)</title>", home)[1]  # type: ignore[index]
    assert title.startswith("丁字口社区") and "街道总览" not in home and "街道财务工作台" not in home
    assert "社区账簿（只读）" in home and "<h1>丁字口社区</h1>" in home
    assert f'href="/web/orgs/{own}/reports/income-statement.pdf?period=2026-01"' in home
    assert "财务公开榜" in home and '<option value="2026-Q1">' in home and "公益性岗位" in home
    assert f'href="/web/orgs/{own}/leases"' in home
    assert "花花桥" not in home and "和平街道村社合股" not in home
    quarter = client.get(f"/web/orgs/{own}/reports/disclosure.pdf?period=2026-Q1")
    assert quarter.status_code == 200 and quarter.content.startswith(b"%PDF")
    assert client.get(f"/web/orgs/{m.org}/statements/{m.wechat}").status_code == 404
    assert client.get(f"/web/orgs/{county.ids['huahuaqiao']}").status_code == 404
    before = (matches(county), entries(county))
    token = csrf_of(home)
    for path, data in (
        (f"/web/orgs/{own}/statements/{m.wechat}/manual-match", {"statement_line_ids": "1"}),
        (f"/web/orgs/{own}/statements/{m.wechat}/confirm-all", {"match_ids": "1"}),
        (f"/web/orgs/{own}/close", {"period": "2026-01"}),
        (f"/web/orgs/{own}/leases/accrue", {"through": "2026-01"}),
        (f"/web/orgs/{m.org}/statements/{m.wechat}/manual-match", {"statement_line_ids": "1"}),
    ):
        refused = client.post(path, data={**data, "csrf_token": token, "form_key": "x1"})
        assert refused.status_code in (403, 404), (path, refused.status_code)
    assert (matches(county), entries(county)) == before


def test_a_cashier_who_logs_in_on_the_web_is_sent_to_the_till(county: County, client: TestClient) -> None:
    token = csrf_of(client.get("/web/login").text)
    done = client.post(
        "/web/login",
        data={
            "username": "cashier",
            "password": "correct horse battery",
            "csrf_token": token,
            "next": "/web/",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    landing = client.get(done.headers["location"], follow_redirects=False)
    assert landing.status_code == 303 and landing.headers["location"] == "/till/"
    assert "没有可查看的单位" not in client.get("/web/").text


def test_the_rent_forms_start_in_the_first_open_month_and_a_closed_date_is_refused_beside_it(
    county: County, client: TestClient
) -> None:
    """丁字口 closed through 2025-12: 计提至 offers 2026-01 (not the closed December), 登记收租 a day of
    January; a receipt dated in December is refused beside the date, keeping the amount, writing nothing."""
    from ledger.books.periods import open_months_before
    from ledger.community.leases.contracts import accrue_leases
    from ledger.web.pages.common import default_day
    from tests.factories.leases import count, receipt_t, seed_leases

    seed_leases(county)
    org = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        accrue_leases(conn, [org], "2025-12")
        close_period(conn, org, "2025-12", including=open_months_before(conn, org, "2025-12"))
    log_in(client, "officer")
    html = client.get(f"/web/orgs/{org}/leases").text
    assert re.search(r'name="through" value="2026-01"', html)
    assert f'name="date" value="{default_day("2026-01").isoformat()}"' in html
    assert default_day("2026-01").strftime("%Y-%m") == "2026-01"
    token = re.search(r'name="token" value="([^"]+)"', html)[1]  # type: ignore[index]
    before = (entries(county), count(county, receipt_t))
    data = {
        "lessee": "张三",
        "amount": "1000.00",
        "date": "2025-12-15",
        "token": token,
        "csrf_token": csrf_of(html),
    }
    refused = client.post(f"/web/orgs/{org}/leases/receipts", data=data)
    assert refused.status_code == 409
    assert alerts(refused.text) == {"receipt-date": "该月份已结账，不能再记账；请改为未结账的月份"}
    assert (
        'name="amount" value="1000.00"' in refused.text and 'name="date" value="2025-12-15"' in refused.text
    )
    client.get(f"/web/orgs/{org}?lang=en")
    english = client.post(f"/web/orgs/{org}/leases/receipts", data=data)
    assert english.status_code == 409 and "is closed" in alerts(english.text)["receipt-date"]
    bad_month = client.post(
        f"/web/orgs/{org}/leases/accrue",
        data={"through": "2026-13", "csrf_token": csrf_of(html), "form_key": "a1"},
    )
    assert bad_month.status_code == 422 and "accrue-through" in alerts(bad_month.text)
    assert 'name="through" value="2026-13"' in bad_month.text
    assert (entries(county), count(county, receipt_t)) == before


def count_of(county: County, table: str, where: str = "") -> int:
    with county.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table} {where}")).scalar_one()


def test_a_key_used_at_one_door_answers_the_same_at_the_others_and_writes_once(
    county: County, client: TestClient, tmp_path: Path
) -> None:
    """Propose, confirm and import are each one service whose answer is the API's JSON: whichever door
    (page, CLI, API) comes first under a key, the others replay that same answer and write nothing. The
    answer read back at the API is the API's own shape (money as decimal strings), not a door's."""
    m = seed(county, tmp_path)
    db = county.engine.url.render_as_string(hide_password=False)
    api = {**county.auth("officer")}
    html = log_in(client, "officer")

    def cunshe(*args: object):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, [*map(str, args), "--db", db])

    # propose: the page first, then the API and the CLI under its key
    page_first = client.post(
        f"/web/orgs/{m.org}/statements/{m.wechat}/propose",
        data={"csrf_token": csrf_of(html), "period": "2024-03", "form_key": "door-propose"},
    )
    assert page_first.status_code == 200 and "生成 1 条匹配建议" in page_first.text, page_first.text
    propose_url = f"/api/v1/orgs/{m.org}/reconcile/propose?account={m.wechat}&period=2024-03"
    api_replay = client.post(propose_url, headers={**api, "Idempotency-Key": "door-propose"})
    cli_replay = runner.invoke(
        cli, ["propose", str(m.org), str(m.wechat), "2024-03", "--key", "door-propose", "--db", db]
    )
    fresh = client.post(propose_url, headers={**api, "Idempotency-Key": "door-propose-2"}).json()
    assert api_replay.status_code == 200, api_replay.text
    assert set(api_replay.json()) == set(ProposeOut.model_fields) == set(fresh)
    assert api_replay.json()["proposed"] == 1
    assert cli_replay.exit_code == 0 and "1 proposals" in cli_replay.output, cli_replay.output
    assert (
        count_of(county, "audit_log", "WHERE action = 'reconcile.propose'") == 2
    )  # the page's, the fresh one

    # confirm: the CLI first, then the API and the page under its key
    (proposal,) = client.get(
        f"/api/v1/orgs/{m.org}/reconcile/matches?account={m.wechat}&status=proposed", headers=api
    ).json()
    cli_first = runner.invoke(
        cli, ["confirm", str(m.org), str(proposal["id"]), "--key", "door-confirm", "--db", db]
    )
    assert cli_first.exit_code == 0, cli_first.output
    confirm_url = f"/api/v1/orgs/{m.org}/reconcile/matches/{proposal['id']}/confirm"
    confirmed = client.post(confirm_url, json={}, headers={**api, "Idempotency-Key": "door-confirm"})
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert set(body) == set(MatchOut.model_fields) and body["status"] == "confirmed"
    assert body["fee"] == "0.00" and [i["amount"] for i in body["items"]] == ["100.00", "100.00"]
    listed = client.get(
        f"/api/v1/orgs/{m.org}/reconcile/matches?account={m.wechat}&status=confirmed", headers=api
    ).json()
    assert [r for r in listed if r["id"] == body["id"]] == [body]  # as the API lists it, to the time's "Z"
    assert f"record {body['id']} supersedes {proposal['id']}" in cli_first.output
    page_replay = client.post(
        f"/web/orgs/{m.org}/matches/{proposal['id']}/confirm",
        data={
            "csrf_token": csrf_of(html),
            "form_key": "door-confirm",
            "account": str(m.wechat),
            "period": "2024-03",
        },
    )
    assert page_replay.status_code == 200
    assert count_of(county, "audit_log", "WHERE action = 'reconcile.confirm'") == 1

    # import: the API first, then the CLI and the page under its key
    txns = [
        BankTxn(datetime(2024, 3, 25, 9), Decimal("-30.00"), Decimal("50468.00"), "", "", "转账", "3"),
        BankTxn(datetime(2024, 3, 26, 9), Decimal("12.00"), Decimal("50480.00"), "", "", "利息", "4"),
    ]
    path = write_bank_csv(tmp_path / "late-march.csv", txns)
    imports = count_of(county, "statement_import")
    api_first = client.post(
        f"/api/v1/orgs/{m.org}/statements",
        data={"account": str(m.bank)},
        files={"file": ("late-march.csv", path.read_bytes(), "text/csv")},
        headers={**api, "Idempotency-Key": "door-import"},
    )
    assert api_first.status_code == 201, api_first.text
    answer = api_first.json()
    assert set(answer) == set(ImportOut.model_fields) and answer["new_count"] == 2
    cli_import = runner.invoke(
        cli, ["import", str(m.org), str(m.bank), str(path), "--key", "door-import", "--db", db]
    )
    assert cli_import.exit_code == 0, cli_import.output
    assert f"2 lines, 2 new, 0 already held (import {answer['import_id']})" in cli_import.output
    page_import = client.post(
        f"/web/orgs/{m.org}/statements/upload",
        data={"csrf_token": csrf_of(html), "statement_account_id": str(m.bank), "form_key": "door-import"},
        files={"file": ("late-march.csv", path.read_bytes(), "text/csv")},
    )
    assert page_import.status_code == 200, page_import.text
    assert count_of(county, "statement_import") == imports + 1
    assert count_of(county, "audit_log", "WHERE action = 'reconcile.import'") == 1


def test_manual_matching_finds_a_book_line_beyond_the_window_by_dates_any_date_amount_or_voucher(
    county: County, client: TestClient, tmp_path: Path
) -> None:
    """Issue 17: the page offers the book lines within 7 days of the month; the officer widens that to a
    date range or any date, or looks one up by amount or voucher number — only the org's own lines of the
    account — and matches it; a refused match keeps the search and the ticks."""
    m = seed(county, tmp_path)
    with write_tx(county.engine) as conn:
        far = post_entry(
            conn,
            Draft(
                m.org,
                date(2024, 5, 20),
                "微信补记",
                [Line("101201", debit_fen=6486), Line("5001", credit_fen=6486)],
            ),
        )
        foreign = post_entry(
            conn,
            Draft(
                county.ids["dingzikou"],
                date(2026, 1, 12),
                "租金",
                [Line("102", debit_fen=6486), Line("501", credit_fen=6486)],
            ),
        )
        far_line, foreign_line = (
            conn.execute(
                select(line_t.c.id).where(line_t.c.entry_id == entry.id, line_t.c.line_no == 1)
            ).scalar_one()
            for entry in (far, foreign)
        )
    log_in(client, "officer")

    def box(line: int) -> str:
        return f'name="journal_line_ids" value="{line}"'

    def search(**asked: str):  # type: ignore[no-untyped-def]
        return client.get(f"/web/orgs/{m.org}/statements/{m.wechat}", params={"period": "2024-03", **asked})

    default = search().text
    assert box(m.day_total_line) in default and box(far_line) not in default
    assert (
        'name="books_from" value="2024-02-23"' in default and 'name="books_to" value="2024-04-07"' in default
    )
    ranged = search(books_from="2024-05-01", books_to="2024-05-31").text
    assert box(far_line) in ranged and box(m.day_total_line) not in ranged
    any_day = search(books_any="1", books_amount="64.86").text
    assert box(far_line) in any_day and box(m.day_total_line) not in any_day
    assert box(foreign_line) not in any_day  # 丁字口's line of the same amount is not this org's
    by_voucher = search(books_voucher=far.voucher_no).text
    assert box(far_line) in by_voucher and box(m.day_total_line) not in by_voucher
    assert box(foreign_line) not in search(books_voucher=foreign.voucher_no, books_any="1").text
    bad = search(books_amount="64.866")
    assert bad.status_code == 422 and "books-books_amount" in alerts(bad.text)
    backwards = search(books_from="2024-05-31", books_to="2024-05-01")
    assert backwards.status_code == 422 and "books-books_to" in alerts(backwards.text)

    lines = unmatched(county, m, m.wechat)
    (first,) = [ln["id"] for ln in lines if ln["amount_fen"] == 6486]
    (second,) = [ln["id"] for ln in lines if ln["amount_fen"] == 22534]
    before = matches(county)
    differ = manual(client, m, any_day, [first, second], [far_line], books_any="1", books_amount="64.86")
    assert (
        differ.status_code == 422 and box(far_line) in differ.text
    )  # the search is kept, the line still offered
    assert re.search(rf'value="{far_line}"[^>]*checked', differ.text)
    assert matches(county) == before
    done = manual(client, m, any_day, [first], [far_line], books_any="1", books_amount="64.86")
    assert done.status_code == 200 and "已手工匹配" in done.text
    assert matches(county) == before + 1
    assert box(far_line) not in search(books_any="1", books_amount="64.86").text  # matched: no longer open
