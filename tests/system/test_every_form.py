"""Every web form that changes the books, walked like the API's doors (tests/system/test_every_write.py), with
a session and its CSRF token instead of a bearer token: the pages call the same services, so the same rules
hold. For each form:

(a) another street's officer, another community's user and 丁字口's own read-only user get 403/404 — without a
    key, with a fresh one, and replaying the rightful officer's key (never the officer's answer) — and
    nothing is written;
(b) the officer's form sent twice under its one-time key writes once and lands on the same page;
(c) a changed form under that key is a 409, and writes nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.factories.doors import (
    Template,
    World,
    api,
    build_template,
    company_bank,
    lease,
    proposed_match,
    world_of,
    written,
)
from tests.factories.statement_files import sample_bank_txns, write_bank_csv

PASSWORD = "correct horse battery"
OUTSIDERS = ("officer_tuanjie", "community2", "community")


@dataclass
class Form:
    """One POST of a page: its path, its fields (and file), and the field that carries the key."""

    path: str
    data: dict[str, Any]  # a list for a field sent once per line (a voucher's lines)
    files: dict[str, tuple[str, bytes, str]] | None = None
    key_field: str = "form_key"


@dataclass
class Page:
    """A door of the pages: what it is called, and how to build its form and a changed one."""

    name: str
    build: Callable[[World], tuple[Form, Form]]
    outsiders: tuple[str, ...] = OUTSIDERS


@dataclass
class Browser:
    """One logged-in person's browser: its own cookies and the session's CSRF token."""

    client: TestClient
    csrf: str = ""
    sent: list[Any] = field(default_factory=list)

    def post(self, form: Form, key: str | None) -> Any:
        data = {**form.data, "csrf_token": self.csrf}
        if key is not None:
            data[form.key_field] = key
        return self.client.post(form.path, data=data, files=form.files, follow_redirects=False)


def log_in(w: World, who: str) -> Browser:
    client = TestClient(w.client.app, raise_server_exceptions=False)
    page = client.get("/web/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page
    done = client.post(
        "/web/login",
        data={"username": who, "password": PASSWORD, "csrf_token": token.group(1), "next": "/web/"},
    )
    assert done.status_code == 200, done.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', done.text)
    assert csrf, done.text
    return Browser(client, csrf.group(1))


def web(path: str) -> str:
    return f"/web{path}"


# -- the forms --------------------------------------------------------------------------------------------


def close_month(w: World) -> tuple[Form, Form]:
    path = web(f"/orgs/{w.ids['huahuaqiao']}/close")
    return Form(path, {"period": "2025-03"}), Form(path, {"period": "2025-04"})


def statement_account(w: World) -> tuple[Form, Form]:
    path = web(f"/orgs/{w.ids['company']}/statements/accounts")
    data = {"name": "建行基本户", "kind": "bank", "ledger_account": "1002", "account_no": ""}
    return Form(path, data), Form(path, {**data, "name": "农行基本户"})


def statement_upload(w: World) -> tuple[Form, Form]:
    org = w.ids["company"]
    account = w.ok(
        "officer",
        "POST",
        api(f"/orgs/{org}/statement-accounts"),
        json={"ledger_account": "1002", "kind": "bank", "name": "建行基本户"},
    )["id"]
    one = write_bank_csv(w.tmp / "days-1-5.csv", sample_bank_txns(range(1, 6))).read_bytes()
    two = write_bank_csv(w.tmp / "days-6-9.csv", sample_bank_txns(range(6, 10))).read_bytes()
    path = web(f"/orgs/{org}/statements/upload")
    data = {"statement_account_id": str(account), "period": "2024-03"}
    return (
        Form(path, data, files={"file": ("days-1-5.csv", one, "text/csv")}),
        Form(path, data, files={"file": ("days-6-9.csv", two, "text/csv")}),
    )


def propose(w: World) -> tuple[Form, Form]:
    org, account = company_bank(w)
    path = web(f"/orgs/{org}/statements/{account}/propose")
    return Form(path, {"period": "2024-03"}), Form(path, {"period": "2024-04"})


def confirm(w: World) -> tuple[Form, Form]:
    org, match = proposed_match(w)
    path = web(f"/orgs/{org}/matches/{match}/confirm")
    return Form(path, {"note": ""}), Form(path, {"note": "核对无误"})


def post_by_rule(w: World) -> tuple[Form, Form]:
    org, account = company_bank(w)
    lines = w.ok(
        "officer", "GET", api(f"/orgs/{org}/statement-accounts/{account}/lines"), params={"unmatched": "true"}
    )
    fee = next(ln for ln in lines if ln["memo"] == "汇划手续费")
    path = web(f"/orgs/{org}/statement-lines/{fee['id']}/post-by-rule")
    return Form(path, {"rule": "bank_fee"}), Form(path, {"rule": "interest"})  # "back" is not the write


def confirm_all(w: World) -> tuple[Form, Form]:
    org, account = company_bank(w)
    w.ok(
        "officer",
        "POST",
        api(f"/orgs/{org}/reconcile/propose"),
        params={"account": account, "period": "2024-03"},
    )
    proposed = w.ok(
        "officer",
        "GET",
        api(f"/orgs/{org}/reconcile/matches"),
        params={"account": account, "status": "proposed"},
    )
    ids = [str(m["id"]) for m in proposed if not m["conflict"]]
    assert ids
    path = web(f"/orgs/{org}/statements/{account}/confirm-all")
    # a list is sent as one field per value, as the page's hidden inputs are
    data: dict = {"match_ids": ids, "period": "2024-03"}
    return Form(path, data), Form(path, {**data, "note": "核对无误"})


def manual_match(w: World) -> tuple[Form, Form]:
    org, account = company_bank(w)
    lines = w.ok(
        "officer", "GET", api(f"/orgs/{org}/statement-accounts/{account}/lines"), params={"unmatched": "true"}
    )
    payment = next(ln for ln in lines if ln["amount"] == "-12348.67")
    with w.tx() as conn:
        book = conn.execute(
            text(
                "SELECT l.id FROM journal_line l JOIN journal_entry e ON e.id = l.entry_id "
                "JOIN account a ON a.id = l.account_id WHERE e.org_id = :o AND a.code = '1002' "
                "AND l.credit_fen = 1234867"
            ),
            {"o": org},
        ).scalar_one()
    path = web(f"/orgs/{org}/statements/{account}/manual-match")
    data = {"statement_line_ids": str(payment["id"]), "journal_line_ids": str(book), "period": "2024-03"}
    return Form(path, data), Form(path, {**data, "note": "核对无误"})


def accrue(w: World) -> tuple[Form, Form]:
    lease(w)
    path = web(f"/orgs/{w.ids['dingzikou']}/leases/accrue")
    return Form(path, {"through": "2025-03"}), Form(path, {"through": "2025-04"})


def rent_received(w: World) -> tuple[Form, Form]:
    lease(w)  # with 张三 as the lessee
    org = w.ids["dingzikou"]
    w.ok("officer", "POST", api(f"/orgs/{org}/leases/accrue"), params={"through": "2025-03"})
    path = web(f"/orgs/{org}/leases/receipts")
    data = {"lessee": "张三", "amount": "1000.00", "date": "2025-03-10"}
    # the rent form's one-time key is its ``token`` field (a 32-hex-digit value)
    return Form(path, data, key_field="token"), Form(path, {**data, "amount": "1.00"}, key_field="token")


def enter_voucher(w: World) -> tuple[Form, Form]:
    path = web(f"/orgs/{w.ids['huahuaqiao']}/vouchers")
    data: dict[str, Any] = {
        "date": "2025-03-10",
        "attachments": "1",
        "memo": ["付办公费", "付办公费"],
        "account": ["513", "101"],
        "debit": ["10.00", ""],
        "credit": ["", "10.00"],
    }
    changed = {**data, "debit": ["11.00", ""], "credit": ["", "11.00"]}
    return Form(path, data), Form(path, changed)


def reverse_voucher(w: World) -> tuple[Form, Form]:
    org = w.ids["huahuaqiao"]
    entry = w.ok(
        "officer",
        "POST",
        api(f"/orgs/{org}/entries"),
        json={
            "date": "2025-03-10",
            "memo": "付办公费",
            "lines": [{"account": "513", "debit": "10.00"}, {"account": "101", "credit": "10.00"}],
        },
    )
    path = web(f"/orgs/{org}/vouchers/{entry['id']}/reverse")
    data = {"date": "2025-03-31", "reason": "重复记账", "confirm": "yes"}
    return Form(path, data), Form(path, {**data, "reason": "金额有误"})


PAGES = [
    Page("close a month", close_month),
    Page("add a statement account", statement_account),
    Page("upload a statement", statement_upload),
    Page("propose matches", propose),
    Page("confirm a match", confirm),
    Page("post a statement line by rule", post_by_rule),
    Page("confirm every proposed match", confirm_all),
    Page("match lines by hand", manual_match),
    Page("accrue rent", accrue),
    Page("record rent received", rent_received),
    Page("enter a voucher", enter_voucher),
    Page("reverse a voucher", reverse_voucher),
]


def test_every_form_of_the_pages_that_writes_has_a_row() -> None:
    """A new page POST that writes must be added here (login and logout only sign in and out)."""
    from ledger.web.pages import views

    posts = sorted(
        r.path
        for r in views.router.routes
        if "POST" in getattr(r, "methods", set()) and "/web/log" not in r.path
    )
    assert len(posts) == len(PAGES), posts


# -- the walk ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    yield from build_template(request.param, tmp_path_factory.mktemp("forms"), request)


@pytest.fixture
def world(seeded: Template, tmp_path: Path) -> Iterator[World]:
    with world_of(seeded, tmp_path) as w:
        yield w


def new_key() -> str:
    return uuid.uuid4().hex


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_form_refuses_outsiders_and_writes_once_for_the_officer(world: World, page: Page) -> None:
    w = world
    form, changed = page.build(w)
    officer = log_in(w, "officer")
    outsiders = {who: log_in(w, who) for who in page.outsiders}
    problems: list[str] = []
    counts = [w.snapshot()]

    def attempt(browser: Browser, f: Form, key: str | None) -> tuple[int, str, dict[str, int]]:
        response = browser.post(f, key)
        counts.append(w.snapshot())
        return response.status_code, response.headers.get("location", ""), written(counts[-2], counts[-1])

    def outsider(who: str, f: Form, key: str | None, what: str) -> None:
        status, _where, rows = attempt(outsiders[who], f, key)
        if status not in (403, 404):
            problems.append(f"(a) {who} {what}: {status} (want 403/404)")
        if rows:
            problems.append(f"(a) {who} {what}: wrote {rows}")

    for who in page.outsiders:
        outsider(who, form, None if form.key_field == "form_key" else new_key(), "without a key of its own")
        outsider(who, form, new_key(), "with a fresh key")

    key = new_key()
    status, where, rows = attempt(officer, form, key)
    assert status == 303, f"the officer's first form must succeed: {status}"
    assert rows, "the first form wrote nothing: the row cannot prove a second one writes nothing"

    status, again, rows = attempt(officer, form, key)
    if status != 303 or again != where:
        problems.append(f"(b) the same form again: {status} → {again} (want 303 → {where})")
    if rows:
        problems.append(f"(b) the same form again wrote {rows}")

    for who in page.outsiders:
        outsider(who, form, key, "replaying the officer's key")
        outsider(who, changed, key, "with a changed form under the officer's key")

    status, _where, rows = attempt(officer, changed, key)
    if status != 409:
        problems.append(f"(c) a changed form under the key: {status} (want 409)")
    if rows:
        problems.append(f"(c) a changed form under the key wrote {rows}")

    assert not problems, f"{page.name}:\n" + "\n".join(problems)
