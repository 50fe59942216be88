"""The voucher pages' books and forms: 丁字口's January 2026 (``seed``), the 填制凭证 form read and sent as a
browser would, and the page's text without its tags."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledger.books.orgs import counterparty, ensure_sub_account
from ledger.books.posting import Draft, Line, post_entry
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import JournalEntry
from tests.factories.county import County
from tests.factories.web import csrf_of

entry_t = JournalEntry.__table__


def entries(county: County, org: str = "dingzikou") -> int:
    with read_tx(county.engine) as conn:
        return conn.execute(
            select(func.count()).select_from(entry_t).where(entry_t.c.org_id == county.ids[org])
        ).scalar_one()


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def seed(county: County) -> dict[str, int]:
    """丁字口: 张三 (a lessee), a bank sub-account 10201 农商行, January 2026 with rent received; 红星桥
    (another street) has a counterparty and a sub-account of its own."""
    with write_tx(county.engine) as conn:
        ding, hong = county.ids["dingzikou"], county.ids["hongxingqiao"]
        ids = {
            "zhangsan": counterparty(conn, ding, "lessee", "张三"),
            "outsider": counterparty(conn, hong, "lessee", "王五"),
        }
        ensure_sub_account(conn, ding, "102", "10201", "农商行")
        ensure_sub_account(conn, hong, "513", "51301", "红星桥办公费")
        ids["rent"] = post_entry(
            conn,
            Draft(
                ding,
                date(2026, 1, 10),
                "收到门面租金",
                [Line("10201", debit_fen=1_200_000), Line("501", credit_fen=1_200_000)],
            ),
        ).id
        ids["cleaning"] = post_entry(
            conn,
            Draft(
                ding,
                date(2026, 1, 20),
                "支付保洁服务费",
                [Line("513", debit_fen=80_000), Line("10201", credit_fen=80_000)],
            ),
        ).id
        ids["hong"] = post_entry(
            conn,
            Draft(
                hong,
                date(2026, 1, 5),
                "红星桥办公用品",
                [Line("51301", debit_fen=5_000), Line("101", credit_fen=5_000)],
            ),
        ).id
    return ids


def entry_form(client: TestClient, county: County, org: str = "dingzikou") -> tuple[str, str, str]:
    page = client.get(f"/web/orgs/{county.ids[org]}/vouchers/new")
    assert page.status_code == 200, page.text
    key = re.search(r'name="form_key" value="([0-9a-f]+)"', page.text)
    assert key
    return page.text, csrf_of(page.text), key.group(1)


def voucher_data(csrf: str, key: str, lines: list[dict[str, str]], day: str = "2026-01-25") -> list:
    data: list[tuple[str, str]] = [
        ("csrf_token", csrf),
        ("form_key", key),
        ("date", day),
        ("attachments", "2"),
    ]
    for ln in lines:
        for name in (
            "memo",
            "account",
            "debit",
            "credit",
            "counterparty",
            "contract",
            "welfare_post",
            "store",
        ):
            data.append((name, ln.get(name, "")))
    data += [(name, "") for name in ("memo", "account", "debit", "credit")]  # a blank row, as the form has
    return data


def post_form(client: TestClient, county: County, data: list, org: str = "dingzikou"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/web/orgs/{county.ids[org]}/vouchers",
        content="&".join(f"{k}={v}" for k, v in _quoted(data)),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def _quoted(data: list) -> list[tuple[str, str]]:
    from urllib.parse import quote

    return [(quote(k), quote(v)) for k, v in data]
