"""The web workbench over HTTP (TestClient): login and logout, the signed session cookie, CSRF on every form,
security headers, login throttling, the scope rules, the dashboard, the trial balance and closing a month."""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ledger.books import county_time
from ledger.books.periods import closed_through
from ledger.books.posting import Draft, Line, post_entry
from ledger.db.engine import write_tx
from ledger.reconcile.matching import list_matches, statement_lines
from ledger.reconcile.store import create_statement_account
from ledger.web.security import LoginThrottle, TooManyAttempts
from ledger.web.session import COOKIE_NAME, sign, signing_key, unsign
from tests.factories.county import County
from tests.factories.statement_files import write_wechat_trade_bill
from tests.factories.web import PASSWORD, company_with_bank, csrf_of, log_in, upload


def post_rent(county: County, org: str, day: date, fen: int) -> None:
    with write_tx(county.engine) as conn:
        post_entry(
            conn,
            Draft(
                org_id=county.ids[org],
                entry_date=day,
                memo="收到门面租金",
                lines=[Line("102", debit_fen=fen), Line("501", credit_fen=fen)],
            ),
        )


def test_a_page_without_a_session_sends_the_browser_to_the_login_page(
    county: County, client: TestClient
) -> None:
    response = client.get("/web/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/web/login?next=%2Fweb%2F"
    assert client.get("/", follow_redirects=False).headers["location"] == "/web/"
    deep = client.get("/web/orgs/4?period=2026-01", follow_redirects=False)
    assert deep.headers["location"] == "/web/login?next=%2Fweb%2Forgs%2F4%3Fperiod%3D2026-01"


def test_officer_logs_in_and_sees_every_org_of_the_street_with_books(
    county: County, client: TestClient
) -> None:
    page = log_in(client, "officer")
    assert "街道总览" in page
    for name in ("丁字口社区", "花花桥社区", "示范村一", "和平街道村社合股联营集体经济公司"):
        assert name in page
    assert "红星桥社区" not in page  # another street's community
    cookie = client.cookies[COOKIE_NAME]
    assert (
        unsign(cookie, signing_key(client.app.state.settings.secret_key))["u"] == county.user_ids["officer"]
    )


def test_the_session_cookie_is_httponly_samesite_lax_and_signed(county: County, client: TestClient) -> None:
    token = csrf_of(client.get("/web/login").text)
    response = client.post(
        "/web/login",
        data={"username": "officer", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    header = response.headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=lax" in header and "Max-Age=28800" in header
    assert "Secure" not in header  # plain http in the test; https requests get Secure

    # A cookie re-signed with another key, or with its payload edited, is no session at all.
    real = client.cookies[COOKIE_NAME]
    key = signing_key(client.app.state.settings.secret_key)
    assert unsign(real, key) is not None
    body, mac = real.split(".")
    assert unsign(f"{body}x.{mac}", key) is None
    forged = sign({"s": "x", "c": "y", "l": "zh", "e": int(time.time()) + 600, "u": 1}, signing_key("guess"))
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, forged)
    assert client.get("/web/", follow_redirects=False).status_code == 303


def test_secure_cookie_over_https(county: County, engine) -> None:  # type: ignore[no-untyped-def]
    from ledger.app import create_app
    from ledger.settings import Settings

    app = create_app(Settings(database_url=str(engine.url)), engine=engine)
    with TestClient(app, base_url="https://testserver") as tc:
        assert "Secure" in tc.get("/web/login").headers["set-cookie"]


def test_an_expired_session_is_ignored() -> None:
    key = signing_key("k")
    cookie = sign({"s": "a", "c": "b", "l": "zh", "e": 1000}, key)
    assert unsign(cookie, key, now=999) is not None
    assert unsign(cookie, key, now=1000) is None


def test_wrong_password_shows_the_form_again_and_logs_nobody_in(county: County, client: TestClient) -> None:
    token = csrf_of(client.get("/web/login").text)
    response = client.post(
        "/web/login", data={"username": "officer", "password": "nope", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert client.get("/web/", follow_redirects=False).status_code == 303


def test_logout_ends_the_session_and_the_old_cookie_stops_working(county: County, client: TestClient) -> None:
    page = log_in(client, "officer")
    old_cookie = client.cookies[COOKIE_NAME]
    response = client.post("/web/logout", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 200 and "已退出登录" in response.text
    assert client.get("/web/", follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, old_cookie)  # a copy kept from before the logout
    assert client.get("/web/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/web/login", {"username": "officer", "password": PASSWORD}),
        ("/web/logout", {}),
        ("/web/orgs/0/close", {}),
    ],
)
def test_a_form_posted_without_the_csrf_token_is_refused(
    county: County, client: TestClient, path: str, data: dict[str, str]
) -> None:
    if path != "/web/login":
        log_in(client, "officer")
    if path.startswith("/web/orgs"):
        path = f"/web/orgs/{county.ids['dingzikou']}/close"
        data = {"period": "2026-01"}
    response = client.post(path, data=data)
    assert response.status_code == 403
    assert "表单已失效" in response.text
    wrong = client.post(path, data={**data, "csrf_token": "not-the-token"})
    assert wrong.status_code == 403
    with write_tx(county.engine) as conn:
        assert closed_through(conn, county.ids["dingzikou"]) is None


def test_a_login_csrf_token_from_before_login_is_worthless_after(county: County, client: TestClient) -> None:
    before = csrf_of(client.get("/web/login").text)
    log_in(client, "officer")
    response = client.post(
        f"/web/orgs/{county.ids['dingzikou']}/close", data={"period": "2026-01", "csrf_token": before}
    )
    assert response.status_code == 403


def test_pages_carry_the_security_headers(county: County, client: TestClient) -> None:
    for response in (client.get("/web/login"), client.get("/web/static/web.css"), client.get("/web/orgs/1")):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
    assert "<script" not in client.get("/web/login").text


def test_five_failed_logins_lock_that_username_from_that_address(county: County, client: TestClient) -> None:
    token = csrf_of(client.get("/web/login").text)
    for _ in range(5):
        response = client.post(
            "/web/login", data={"username": "officer", "password": "x", "csrf_token": token}
        )
        assert response.status_code == 401
    locked = client.post(
        "/web/login", data={"username": "officer", "password": PASSWORD, "csrf_token": token}
    )
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "尝试次数过多" in locked.text
    # Another username from the same address is not locked out by someone guessing at "officer".
    other = client.post(
        "/web/login", data={"username": "community", "password": PASSWORD, "csrf_token": token}
    )
    assert other.status_code == 200


def test_the_throttle_forgets_failures_older_than_its_window(engine: Engine) -> None:
    throttle = LoginThrottle(engine, max_failures=5, window=900)
    for i in range(5):
        throttle.failed("Officer", "10.0.0.1", now=1000 + i)
    with pytest.raises(TooManyAttempts):
        throttle.check("officer", "10.0.0.1", now=1010)
    throttle.check("officer", "10.0.0.2", now=1010)  # another address
    throttle.check("officer", "10.0.0.1", now=1000 + 900 + 1)  # the first failure left the window


def test_community_user_sees_only_its_own_org_and_gets_404_for_another(
    county: County, client: TestClient
) -> None:
    page = log_in(client, "community")
    assert "丁字口社区" in page and "花花桥社区" not in page
    assert client.get(f"/web/orgs/{county.ids['dingzikou']}").status_code == 200
    for other in ("huahuaqiao", "company", "hongxingqiao", "heping"):
        response = client.get(f"/web/orgs/{county.ids[other]}")
        assert response.status_code == 404, other
        assert "页面不存在" in response.text
        assert "花花桥" not in response.text


def test_community_user_cannot_close_a_period(county: County, client: TestClient) -> None:
    page = log_in(client, "community")
    org_page = client.get(f"/web/orgs/{county.ids['dingzikou']}").text
    assert "只读" in org_page and 'action="/web/orgs' not in org_page.split("期末结账")[1]
    response = client.post(
        f"/web/orgs/{county.ids['dingzikou']}/close", data={"period": "2026-01", "csrf_token": csrf_of(page)}
    )
    assert response.status_code == 403


def test_officer_of_another_street_gets_404(county: County, client: TestClient) -> None:
    log_in(client, "officer_tuanjie")
    assert client.get(f"/web/orgs/{county.ids['dingzikou']}").status_code == 404
    assert client.get(f"/web/orgs/{county.ids['hongxingqiao']}").status_code == 200


def test_trial_balance_page_shows_the_month_and_the_officer_closes_it(
    county: County, client: TestClient
) -> None:
    post_rent(county, "dingzikou", date(2026, 1, 15), 123_450)
    log_in(client, "officer")
    org = county.ids["dingzikou"]
    assert "2026-01" in client.get("/web/").text  # the first month with entries is the one to close
    page = client.get(f"/web/orgs/{org}").text
    assert "科目余额表" in page and "银行存款" in page and "经营收入" in page
    assert "1,234.50" in page
    assert 'name="period" value="2026-01"' in page
    response = client.post(f"/web/orgs/{org}/close", data={"period": "2026-01", "csrf_token": csrf_of(page)})
    assert response.status_code == 200
    assert "2026-01 已结账" in response.text
    with write_tx(county.engine) as conn:
        assert closed_through(conn, org) == "2026-01"
    dashboard = client.get("/web/").text
    assert "2026-01" in dashboard and "2026-02" in dashboard


def test_closing_out_of_order_shows_the_reason_on_an_error_page(county: County, client: TestClient) -> None:
    post_rent(county, "dingzikou", date(2026, 1, 15), 10_000)
    page = log_in(client, "officer")
    response = client.post(
        f"/web/orgs/{county.ids['dingzikou']}/close", data={"period": "2026-02", "csrf_token": csrf_of(page)}
    )
    assert response.status_code == 409
    assert "close 2026-01 first" in response.text


def test_english_switch_is_remembered_in_the_session(county: County, client: TestClient) -> None:
    log_in(client, "officer")
    assert "Street dashboard" in client.get("/web/?lang=en").text
    page = client.get(f"/web/orgs/{county.ids['dingzikou']}").text
    assert "Trial balance" in page and "Close the period" in page
    assert "街道总览" in client.get("/web/?lang=zh").text


def test_login_redirects_only_to_pages_of_this_site(county: County, client: TestClient) -> None:
    token = csrf_of(client.get("/web/login").text)
    for target in ("https://evil.example/", "//evil.example/web/", "/web/\\evil"):
        response = client.post(
            "/web/login",
            data={"username": "officer", "password": PASSWORD, "csrf_token": token, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/web/"
        client.cookies.clear()
        token = csrf_of(client.get("/web/login").text)


# ---- statements, matches and reports -------------------------------------------------------------------


def statement_lines_of(county: County, org: int, bank: int) -> list[dict]:
    with write_tx(county.engine) as conn:
        return statement_lines(conn, org, bank, unmatched=True)


def test_officer_uploads_a_statement_proposes_and_confirms_a_match(
    county: County, client: TestClient, tmp_path: Path
) -> None:
    org, bank, path = company_with_bank(county, tmp_path)
    page = log_in(client, "officer")
    assert upload(client, org, bank, path, None).status_code == 403  # a multipart form needs the token too
    with write_tx(county.engine) as conn:
        assert statement_lines(conn, org, bank) == []
    response = upload(client, org, bank, path, csrf_of(page))
    assert response.status_code == 200
    assert "bank.csv：共 25 行，新增 25 行，重复 0 行" in response.text
    again = upload(client, org, bank, path, csrf_of(response.text))
    assert "新增 0 行，重复 25 行" in again.text

    proposed = client.post(
        f"/web/orgs/{org}/statements/{bank}/propose",
        data={"period": "2024-03", "csrf_token": csrf_of(again.text)},
    )
    assert "条匹配建议" in proposed.text
    assert "金额一致" in proposed.text and "参考号一致 030100771420" in proposed.text
    with write_tx(county.engine) as conn:
        (match,) = list_matches(conn, org, bank, status="proposed")
    review = f"/web/orgs/{org}/statements/{bank}?period=2024-03"
    confirmed = client.post(
        f"/web/orgs/{org}/matches/{match['id']}/confirm",
        data={"csrf_token": csrf_of(proposed.text), "back": review},
    )
    assert confirmed.status_code == 200 and f"匹配 #{match['id']} 已确认" in confirmed.text
    assert "已确认的匹配" in confirmed.text
    with write_tx(county.engine) as conn:
        assert len(list_matches(conn, org, bank, status="confirmed")) == 1
    fee_line = next(line for line in statement_lines_of(county, org, bank) if "手续费" in line["memo"])
    assert "生成凭证: 银行手续费" in confirmed.text
    posted = client.post(
        f"/web/orgs/{org}/statement-lines/{fee_line['id']}/post-by-rule",
        data={"csrf_token": csrf_of(confirmed.text), "rule": "bank_fee", "back": review},
    )
    assert posted.status_code == 200 and "已生成凭证 记-2024-03-" in posted.text
    dashboard = client.get("/web/").text
    assert "未勾对流水" in dashboard and ">23<" in dashboard.replace("\n", "").replace(" ", "")

    pdf = client.get(f"/web/orgs/{org}/statements/{bank}/reconciliation.pdf?period=2024-03")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]
    assert pdf.headers["x-content-type-options"] == "nosniff"


def test_a_statement_that_does_not_parse_shows_why_and_imports_nothing(
    county: County, client: TestClient, tmp_path: Path
) -> None:
    org, bank, _path = company_with_bank(county, tmp_path)
    page = log_in(client, "officer")
    bad = tmp_path / "bad.csv"
    bad.write_text("这不是银行流水\n1,2,3\n", encoding="utf-8")
    response = upload(client, org, bank, bad, csrf_of(page))
    assert response.status_code == 422
    # shown beside the file field of the upload form, on the statements page itself
    assert 'id="error-upload-file"' in response.text and "请求未能完成" in response.text
    exe = tmp_path / "statement.exe"
    exe.write_bytes(b"MZ")
    refused = upload(client, org, bank, exe, csrf_of(page))
    assert refused.status_code == 422
    assert "请上传 CSV、TXT 或 Excel 格式的对账单文件" in refused.text
    wechat = write_wechat_trade_bill(tmp_path / "wechat.csv")
    wrong_kind = upload(client, org, bank, wechat, csrf_of(page))  # a WeChat bill into a bank account
    assert wrong_kind.status_code in (409, 422), wrong_kind.status_code
    with write_tx(county.engine) as conn:
        assert statement_lines(conn, org, bank) == []


def test_community_user_reads_its_statements_but_cannot_upload_or_see_another_orgs(
    county: County, client: TestClient, tmp_path: Path
) -> None:
    org, bank, path = company_with_bank(county, tmp_path)
    own = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        own_bank = create_statement_account(conn, own, ledger_account="102", kind="bank", name="社区基本户")
    page = log_in(client, "community")
    mine = client.get(f"/web/orgs/{own}/statements")
    assert mine.status_code == 200 and "社区基本户" in mine.text
    assert "上传对账单" not in mine.text and "添加对账账户" not in mine.text
    assert upload(client, own, own_bank, path, csrf_of(page)).status_code == 403
    for url in (
        f"/web/orgs/{org}/statements",
        f"/web/orgs/{org}/statements/{bank}",
        f"/web/orgs/{org}/statements/{bank}/reconciliation.pdf?period=2024-03",
        f"/web/orgs/{org}/reports",
        f"/web/orgs/{org}/reports/trial-balance.pdf?period=2024-03",
        f"/web/orgs/{county.ids['heping']}/reports",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "建行" not in response.text and "合股联营" not in response.text
    assert upload(client, org, bank, path, csrf_of(page)).status_code == 404


def test_reports_page_lists_the_reports_and_downloads_a_trial_balance_pdf(
    county: County, client: TestClient, tmp_path: Path
) -> None:
    post_rent(county, "dingzikou", date(2026, 1, 15), 123_450)
    log_in(client, "officer")
    org = county.ids["dingzikou"]
    page = client.get(f"/web/orgs/{org}/reports?period=2026-01")
    assert page.status_code == 200 and "科目余额表" in page.text and "资产负债表" in page.text
    link = re.search(
        r'href="(/web/orgs/\d+/reports/[^".]+\.pdf\?period=2026-01)"[^>]*aria-label="科目余额表', page.text
    )
    assert link, "no PDF link for 科目余额表"
    pdf = client.get(link.group(1).replace("&amp;", "&"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:300]
    street = client.get(f"/web/orgs/{county.ids['heping']}/reports?period=2026-01")
    assert street.status_code == 200 and "standard=collective" in street.text


def test_the_reports_page_opens_on_the_last_month_with_entries_not_a_month_without_books(
    county: County, client: TestClient
) -> None:
    """Books kept up to January 2026 open on January, for the org and for its street's roll-up; books with
    no entries open on the current month."""
    post_rent(county, "dingzikou", date(2026, 1, 15), 123_450)
    log_in(client, "officer")
    jan = 'href="/web/orgs/{}/reports/trial-balance.pdf?period=2026-01'
    for org in (county.ids["dingzikou"], county.ids["heping"]):
        page = client.get(f"/web/orgs/{org}/reports")
        assert page.status_code == 200 and jan.format(org) in page.text, org
    today = county_time.today()  # the county's day, not the test machine's
    empty = client.get(f"/web/orgs/{county.ids['huahuaqiao']}/reports")
    assert f"period={today.year}-{today.month:02d}" in empty.text
