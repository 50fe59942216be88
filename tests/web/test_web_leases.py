"""The rent page (租金) of the web workbench over HTTP: the rent roll and its aging to the fen after an
accrual run, the accrual form (a rerun posts nothing), the rent-received form (oldest charge first; the
same form sent twice posts once; a bad amount writes nothing), the street's roll-up, scope and CSRF.

Runs on a real SQLite file and a real PostgreSQL database.
"""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledger.books import county_time
from ledger.community.models import LeaseCharge
from ledger.db.engine import read_tx
from ledger.db.models import AuditLog, JournalEntry
from tests.factories.county import County
from tests.factories.leases import AS_OF, count, receipt_t, receivable, seed_leases
from tests.factories.web import csrf_of, log_in

charge_t = LeaseCharge.__table__
entry_t = JournalEntry.__table__
audit_t = AuditLog.__table__


def row_text(html: str, table: str, key: str) -> str:
    """The text of the row of ``<table class="grid … {table}">`` that contains ``key``, spaces collapsed."""
    found = re.search(rf'<table class="grid[^"]* {table}">(.*?)</table>', html, re.S)
    assert found, f"no {table} table on the page"
    for row in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S):
        text = " ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split())
        if key in text:
            return text
    raise AssertionError(f"no row with {key!r} in the {table} table")


def page(client: TestClient, county: County, org: str, as_of: str = AS_OF) -> str:
    response = client.get(f"/web/orgs/{county.ids[org]}/leases", params={"as_of": as_of})
    assert response.status_code == 200, response.text
    return response.text


def accrue(client: TestClient, county: County, org: str, through: str, html: str) -> str:
    response = client.post(
        f"/web/orgs/{county.ids[org]}/leases/accrue",
        data={"through": through, "as_of": AS_OF, "csrf_token": csrf_of(html)},
    )
    assert response.status_code == 200, response.text
    return response.text


def form_token(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found, "the page has no rent-received form"
    return found.group(1)


def receive(
    client: TestClient, county: County, html: str, lessee: str, amount: str, token: str | None = None
):  # type: ignore[no-untyped-def]
    return client.post(
        f"/web/orgs/{county.ids['dingzikou']}/leases/receipts",
        data={
            "lessee": lessee,
            "amount": amount,
            "date": AS_OF,
            "token": token or form_token(html),
            "as_of": AS_OF,
            "csrf_token": csrf_of(html),
        },
    )


def test_the_rent_roll_shows_each_contract_and_its_aging_to_the_fen_after_the_accrual(
    county: County, client: TestClient
) -> None:
    seed_leases(county)
    log_in(client, "officer")
    before = page(client, county, "dingzikou")
    assert "累计应收" in before and "沿河路12号门面" in before
    assert row_text(before, "leases", "HT-1") == (
        "HT-1 张三 2025-07-01 – 2027-06-30 1,000.00 0.00 0.00 0.00 0.00 0.00 0.00 0.00 0.00"
    )

    done = accrue(client, county, "dingzikou", "2026-04", before)
    # 张三 July 2025 – April 2026: 10 months; 李四 October – April: 7 months.
    assert "计提 17 个合同月，¥27,500.00" in done
    assert receivable(county, "dingzikou") == 2_750_000
    # As of 30 April: April is 29 days past due; March and February 31–90; January to November 91–180;
    # the months before 180+ (due on the first of each month).
    #        monthly   billed     received outstanding current 0-30   31-90     91-180     >180
    assert row_text(done, "leases", "HT-1") == (
        "HT-1 张三 2025-07-01 – 2027-06-30 1,000.00 10,000.00 0.00 10,000.00 0.00 1,000.00 2,000.00 "
        "3,000.00 4,000.00"
    )
    assert row_text(done, "leases", "HT-2") == (
        "HT-2 李四 2025-10-01 – 2026-05-31 2,500.00 17,500.00 0.00 17,500.00 0.00 2,500.00 5,000.00 "
        "7,500.00 2,500.00"
    )
    assert row_text(done, "leases", "合计") == (
        "合计 3,500.00 27,500.00 0.00 27,500.00 0.00 3,500.00 7,000.00 10,500.00 6,500.00"
    )
    assert row_text(done, "aging", "91–180天") == "91–180天 10,500.00"
    assert row_text(done, "aging", "180天以上") == "180天以上 6,500.00"
    assert row_text(done, "expiring", "HT-2") == "HT-2 李四 2025-10-01 – 2026-05-31 2,500.00 17,500.00"
    assert "HT-1" not in done.split("天内到期的合同")[1].split("</section>")[0]  # ends in 2027
    assert row_text(done, "idle", "沿河路12号门面") == "沿河路12号门面 门面 沿河路12号 45.5"
    ding = county.ids["dingzikou"]
    for name in ("rent-roll", "arrears"):
        assert f'href="/web/orgs/{ding}/reports/{name}.pdf?period=2026-04"' in done
    assert "王五" not in done  # another community's contract

    english = client.get(f"/web/orgs/{ding}/leases", params={"as_of": AS_OF, "lang": "en"}).text
    assert "Rent roll" in english and "Over 180 days" in english
    assert row_text(english, "leases", "HT-1").endswith("3,000.00 4,000.00")


def test_the_accrual_form_posts_once_and_a_second_run_posts_nothing(
    county: County, client: TestClient
) -> None:
    seed_leases(county)
    log_in(client, "officer")
    html = page(client, county, "dingzikou")
    first = accrue(client, county, "dingzikou", "2026-04", html)
    assert "计提 17 个合同月" in first
    charges, entries = count(county, charge_t), count(county, entry_t)
    assert charges == 17

    again = accrue(client, county, "dingzikou", "2026-04", first)
    assert "计提 0 个合同月，¥0.00" in again
    assert (count(county, charge_t), count(county, entry_t)) == (charges, entries)
    assert receivable(county, "dingzikou") == 2_750_000
    with read_tx(county.engine) as conn:
        runs = (
            conn.execute(select(audit_t.c.detail).where(audit_t.c.action == "lease.accrue")).scalars().all()
        )
    assert runs == ["through 2026-04: 17 months"]  # the empty rerun is not audited, as in the API

    bad = client.post(
        f"/web/orgs/{county.ids['dingzikou']}/leases/accrue",
        data={"through": "2026-4", "csrf_token": csrf_of(again)},
    )
    assert bad.status_code == 422 and "YYYY-MM" in bad.text
    assert count(county, charge_t) == charges


def test_a_receipt_pays_the_oldest_charge_and_the_same_form_sent_again_posts_nothing(
    county: County, client: TestClient
) -> None:
    seed_leases(county)
    log_in(client, "officer")
    html = accrue(client, county, "dingzikou", "2026-04", page(client, county, "dingzikou"))
    assert '<option value="张三">张三</option>' in html and '<option value="李四">李四</option>' in html
    assert "王五" not in html
    token = form_token(html)
    entries = count(county, entry_t)

    paid = receive(client, county, html, "张三", "1500.00")
    assert paid.status_code == 200, paid.text
    voucher = re.search(r"已生成收款凭证 (\S+)：核销 ¥1,500.00，预收 ¥0.00", paid.text)
    assert voucher, paid.text
    assert count(county, entry_t) == entries + 1 and count(county, receipt_t) == 1
    assert receivable(county, "dingzikou") == 2_750_000 - 150_000
    # July 2025 (1,000.00) is paid in full and 500.00 of August: the >180 bucket drops by 1,500.00.
    assert row_text(paid.text, "leases", "HT-1") == (
        "HT-1 张三 2025-07-01 – 2027-06-30 1,000.00 10,000.00 1,500.00 8,500.00 0.00 1,000.00 2,000.00 "
        "3,000.00 2,500.00"
    )
    assert form_token(paid.text) != token  # the next form gets a fresh token

    # The same form sent a second time (a double click, the browser's resubmit): nothing more is posted.
    twice = receive(client, county, html, "张三", "1500.00", token=token)
    assert twice.status_code == 200
    assert f"这张表单已经提交过，未重复入账：凭证 {voucher.group(1)}" in twice.text
    assert count(county, entry_t) == entries + 1 and count(county, receipt_t) == 1
    assert receivable(county, "dingzikou") == 2_600_000

    # More than is owed: the rest is rent paid ahead, a credit on the contract.
    ahead = receive(client, county, twice.text, "李四", "18000.00")
    assert "核销 ¥17,500.00，预收 ¥500.00" in ahead.text
    assert row_text(ahead.text, "leases", "HT-2").startswith(
        "HT-2 李四 2025-10-01 – 2026-05-31 2,500.00 17,500.00 18,000.00 -500.00 0.00 0.00"
    )
    assert receivable(county, "dingzikou") == 2_600_000 - 1_800_000
    with read_tx(county.engine) as conn:
        audited = conn.execute(select(func.count()).where(audit_t.c.action == "lease.receipt")).scalar_one()
    assert audited == 2


def test_a_bad_amount_shows_the_error_by_the_field_and_writes_nothing(
    county: County, client: TestClient
) -> None:
    seed_leases(county)
    log_in(client, "officer")
    html = accrue(client, county, "dingzikou", "2026-04", page(client, county, "dingzikou"))
    entries = count(county, entry_t)
    for amount in ("12.345", "abc", "0"):
        response = receive(client, county, html, "张三", amount)
        assert response.status_code == 422, amount
        # beside the amount field, in the page's language
        words = '<p class="error" role="alert" id="error-receipt-amount">金额须为大于零的数字，最多两位小数'
        assert words in unescape(response.text), amount
        assert f'name="amount" value="{amount}"' in response.text  # the form keeps what was typed
        assert count(county, entry_t) == entries and count(county, receipt_t) == 0
    fixed = receive(client, county, html, "张三", "10.00")
    assert fixed.status_code == 200  # the same token, now with a good amount: posted once
    assert count(county, receipt_t) == 1
    nobody = client.post(
        f"/web/orgs/{county.ids['dingzikou']}/leases/receipts",
        data={
            "lessee": "赵六",
            "amount": "10.00",
            "date": AS_OF,
            "token": "x" * 32,
            "csrf_token": csrf_of(html),
        },
    )
    assert nobody.status_code == 422 and 'id="error-receipt-lessee"' in nobody.text
    assert count(county, receipt_t) == 1


def test_the_street_page_rolls_up_its_communities_and_accrues_them_all(
    county: County, client: TestClient
) -> None:
    seed_leases(county)
    dashboard = log_in(client, "officer")
    heping = county.ids["heping"]
    assert f'href="/web/orgs/{heping}/leases"' in dashboard
    assert f'href="/web/orgs/{county.ids["dingzikou"]}/leases"' in dashboard
    assert f'href="/web/orgs/{county.ids["company"]}/leases"' not in dashboard
    org_page = client.get(f"/web/orgs/{county.ids['dingzikou']}").text
    assert f'href="/web/orgs/{county.ids["dingzikou"]}/leases"' in org_page

    html = page(client, county, "heping")
    done = accrue(client, county, "heping", "2026-04", html)
    # 丁字口 17 contract-months (27,500.00) and 花花桥 王五 January – April: 4 × 800.00.
    assert "计提 21 个合同月，¥30,700.00" in done
    assert receivable(county, "huahuaqiao") == 320_000
    assert row_text(done, "leases", "HT-9") == (
        "花花桥社区 HT-9 王五 2026-01-01 – 2027-12-31 800.00 3,200.00 0.00 3,200.00 0.00 800.00 1,600.00 "
        "800.00 0.00"
    )
    assert row_text(done, "leases", "HT-1").startswith("丁字口社区 HT-1 张三")
    assert row_text(done, "leases", "合计") == (
        "合计 4,300.00 30,700.00 0.00 30,700.00 0.00 4,300.00 8,600.00 11,300.00 6,500.00"
    )
    assert 'action="/web/orgs/' + str(heping) + '/leases/receipts"' not in done  # rent comes to a community
    rollup = f"/web/orgs/{heping}/reports/arrears.pdf?period=2026-04"
    assert f'href="{rollup}"' in done
    assert f'href="/web/orgs/{county.ids["huahuaqiao"]}/reports/rent-roll.pdf?period=2026-04"' in done
    pdf = client.get(rollup)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # Rent received at the street: refused, nothing written.
    refused = client.post(
        f"/web/orgs/{heping}/leases/receipts",
        data={
            "lessee": "王五",
            "amount": "10.00",
            "date": AS_OF,
            "token": "y" * 32,
            "csrf_token": csrf_of(done),
        },
    )
    assert refused.status_code == 404 and count(county, receipt_t) == 0


def test_a_company_has_no_rent_page(county: County, client: TestClient) -> None:
    html = log_in(client, "officer")
    company = county.ids["company"]
    assert client.get(f"/web/orgs/{company}/leases").status_code == 404
    response = client.post(
        f"/web/orgs/{company}/leases/accrue", data={"through": "2026-04", "csrf_token": csrf_of(html)}
    )
    assert response.status_code == 404 and "页面不存在" in response.text


def test_a_community_user_reads_its_own_rent_page_and_cannot_write(
    county: County, client: TestClient
) -> None:
    seed_leases(county)
    log_in(client, "community")
    html = page(client, county, "dingzikou")
    assert "HT-1" in html and "只读：社区账户可以查看租金台账" in html
    assert "/leases/accrue" not in html and "/leases/receipts" not in html and 'name="token"' not in html
    for path, data in (
        ("accrue", {"through": "2026-04"}),
        ("receipts", {"lessee": "张三", "amount": "10.00", "date": AS_OF, "token": "z" * 32}),
    ):
        response = client.post(
            f"/web/orgs/{county.ids['dingzikou']}/leases/{path}", data={**data, "csrf_token": csrf_of(html)}
        )
        assert response.status_code == 403, path
    assert (count(county, charge_t), count(county, receipt_t)) == (0, 0)
    for other in ("huahuaqiao", "heping", "hongxingqiao"):
        assert client.get(f"/web/orgs/{county.ids[other]}/leases").status_code == 404, other


def test_an_officer_of_another_street_gets_404(county: County, client: TestClient) -> None:
    seed_leases(county)
    html = log_in(client, "officer_tuanjie")
    ding = county.ids["dingzikou"]
    assert client.get(f"/web/orgs/{ding}/leases").status_code == 404
    response = client.post(
        f"/web/orgs/{ding}/leases/accrue", data={"through": "2026-04", "csrf_token": csrf_of(html)}
    )
    assert response.status_code == 404 and "丁字口" not in response.text
    street = page(client, county, "tuanjie")  # their own street: its community has no contracts
    assert "没有租赁合同。" in street and "张三" not in street
    assert count(county, charge_t) == 0


def test_the_rent_forms_are_refused_without_the_csrf_token(county: County, client: TestClient) -> None:
    seed_leases(county)
    log_in(client, "officer")
    html = page(client, county, "dingzikou")
    ding = county.ids["dingzikou"]
    for path, data in (
        ("accrue", {"through": "2026-04"}),
        ("receipts", {"lessee": "张三", "amount": "10.00", "date": AS_OF, "token": form_token(html)}),
    ):
        for token in ({}, {"csrf_token": "not-the-token"}):
            response = client.post(f"/web/orgs/{ding}/leases/{path}", data={**data, **token})
            assert response.status_code == 403 and "表单已失效" in response.text, path
    assert (count(county, charge_t), count(county, receipt_t), count(county, entry_t)) == (0, 0, 0)


def test_the_page_opens_on_the_last_month_with_entries_when_that_is_before_today(
    county: County, client: TestClient
) -> None:
    """Books kept up to April 2026 open as of 30 April 2026 (the demo's books end a year before today),
    for the community and its street; no day asked and no entries: today."""
    seed_leases(county)
    log_in(client, "officer")
    accrue(client, county, "dingzikou", "2026-04", page(client, county, "dingzikou"))
    for org in ("dingzikou", "heping"):
        html = client.get(f"/web/orgs/{county.ids[org]}/leases").text
        assert 'name="as_of" value="2026-04-30"' in html, org
    empty = client.get(f"/web/orgs/{county.ids['village1']}/leases").text
    assert f'name="as_of" value="{county_time.today().isoformat()}"' in empty
