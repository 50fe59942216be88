"""Every door that changes the books, knocked on by the wrong hand and twice by the right one (issue 15).

One row per state-changing operation of the live OpenAPI document (POST, PUT, PATCH, DELETE under
``/api/v1``): the rightful actor, the outsiders, and a factory that builds a valid request on a fresh copy
of the seeded county (with whatever the route needs first: a contract for a deposit, an open shift for a
sale, an import for a proposal, an approved plan for an execution …) and a *changed* request (another
body, path or query) for the same key. Each row proves, on SQLite and PostgreSQL:

(a) an outsider (an officer of another street, the community user of another community, a cashier of
    another store, or a role that may not write) gets 403 or 404, never a 2xx and never a 409, with no
    key, with a fresh key, with the key the rightful actor used (never its stored answer) and with that key
    on a changed body (a 409 would tell the outsider the key exists); and writes nothing;
(b) the rightful actor's first call succeeds; its retry under the same key is a 200 with the same JSON
    (a secret shown once, like a new user's ``token``, may be null on the replay) and writes nothing;
(c) the rightful actor's changed request under the key is a 409 ``idempotency_conflict`` and writes
    nothing.

"Writes nothing" is: the row count of every table is the same before and after (``tests.factories.doors``).
Every violation of a row is collected and reported together, so one run says what each door does wrong. The
capital pay-in and the reconciliation replay of the issue are regression tests at the end.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from ledger.access.idempotency import request_hash
from ledger.api.routes.distribution import CapitalIn
from ledger.api.writes import as_json
from ledger.app import create_app
from ledger.books.county_time import business_date
from ledger.books.orgs import add_sub_account, ensure_sub_account
from ledger.books.periods import close_period
from ledger.community import welfare
from ledger.db.engine import make_engine
from ledger.db.models import IdempotencyRecord, JournalLine
from ledger.distribution import execute as ex
from ledger.distribution.accounts import ensure_for
from ledger.distribution.execute import add_member
from ledger.distribution.plans import Step
from ledger.distribution.shareholders import add_shareholder
from ledger.distribution.yearend import close_year
from ledger.reconcile.models import StatementLineRow
from ledger.settings import Settings
from tests.factories.distribution import YUAN, approved_company_plan, book, company_with_shareholders
from tests.factories.doors import (
    Req,
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
from tests.factories.servers import entry_body, is_error_shape, new_key, sale_body
from tests.factories.statement_files import sample_bank_txns, write_bank_csv

Build = Callable[[World], tuple[Req, Req]]
# Another street's officer, another street's community user, and 丁字口社区's own user, who may read its
# books (and so passes an org-only scope check) but never writes them: 403 on its own org, 404 elsewhere.
OUTSIDERS = ("officer_tuanjie", "community2", "community")


@dataclass(frozen=True)
class Door:
    method: str
    path: str  # the OpenAPI path template
    build: Build
    actor: str = "officer"
    outsiders: tuple[str, ...] = OUTSIDERS
    secret: str | None = None  # a field shown once, which a replay may answer as null
    key_required: bool = False  # the till's writes: no key is a 422 naming it, for anyone, before scope

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def matches(self, path: str) -> bool:
        pattern = re.sub(r"\\{[a-z_]+\\}", "[^/]+", re.escape(self.path))
        return re.fullmatch(pattern, path) is not None


def today() -> str:
    return business_date(datetime.now(UTC)).isoformat()


# -- prerequisites ---------------------------------------------------------------------------------------


def welfare_post(w: World, **over: Any) -> dict[str, Any]:
    body = {"post": "保洁员", "holder": "王五", "monthly_stipend": "1800.00", "start": "2025-01-01", **over}
    return w.ok("officer", "POST", api(f"/orgs/{w.ids['dingzikou']}/welfare-posts"), json=body)


def sale(w: World, cashier: str = "cashier") -> dict[str, Any]:
    body = {**sale_body(w.shop, cashier, 1), "idempotency_key": new_key("sale")}
    return w.ok(cashier, "POST", api("/pos/sales"), json=body)


def executed_company_plan(w: World) -> int:
    company_with_shareholders(w.county)
    plan_id = approved_company_plan(w.county)
    with w.tx() as conn:
        ex.execute_plan(conn, plan_id)
    return plan_id


# -- the factories: (the request, the same door with another body/path/query) ----------------------------


def create_org(w: World) -> tuple[Req, Req]:
    body = {"code": "xinmin", "name": "新民社区", "kind": "community", "parent_id": w.ids["heping"]}
    return Req("POST", api("/orgs"), json=body), Req("POST", api("/orgs"), json={**body, "name": "新民村"})


def add_account(w: World) -> tuple[Req, Req]:
    path = api(f"/orgs/{w.ids['company']}/accounts")
    body = {"parent_code": "1002", "name": "农商行基本户"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "name": "建行一般户"})


def close_account(w: World) -> tuple[Req, Req]:
    org = w.ids["company"]
    with w.tx() as conn:
        one = add_sub_account(conn, org, "1002", "旧户一")
        two = add_sub_account(conn, org, "1002", "旧户二")
    return (
        Req("POST", api(f"/orgs/{org}/accounts/{one}/close")),
        Req("POST", api(f"/orgs/{org}/accounts/{two}/close")),
    )


def close_month(w: World) -> tuple[Req, Req]:
    org = w.ids["huahuaqiao"]
    return (
        Req("POST", api(f"/orgs/{org}/periods/2025-03/close")),
        Req("POST", api(f"/orgs/{org}/periods/2025-04/close")),
    )


def reopen_month(w: World) -> tuple[Req, Req]:
    org = w.ids["huahuaqiao"]
    with w.tx() as conn:
        close_period(conn, org, "2025-03")
    path = api(f"/orgs/{org}/periods/2025-03/reopen")
    return Req("POST", path, json={"reason": "补记"}), Req("POST", path, json={"reason": "更正"})


def post_entry(w: World) -> tuple[Req, Req]:
    path = api(f"/orgs/{w.ids['company']}/entries")
    body = entry_body(7)
    return Req("POST", path, json=body), Req("POST", path, json={**body, "memo": "另一张凭证"})


def collective_entry(memo: str) -> dict[str, Any]:
    """An entry in the collective chart (2023) of a community: cash in, capital up."""
    lines = [{"account": "102", "debit": "500.00"}, {"account": "301", "credit": "500.00"}]
    return {"date": today(), "memo": memo, "lines": lines}


def post_linked(w: World) -> tuple[Req, Req]:
    one, two = collective_entry("联营投入"), collective_entry("联营投入")
    body = {"entries": [{**one, "org_id": w.ids["dingzikou"]}, {**two, "org_id": w.ids["huahuaqiao"]}]}
    changed = {"entries": [{**e, "memo": "另一组"} for e in body["entries"]]}
    return Req("POST", api("/linked-entries"), json=body), Req("POST", api("/linked-entries"), json=changed)


def reverse_entry(w: World) -> tuple[Req, Req]:
    org = w.ids["company"]
    entry = w.ok("officer", "POST", api(f"/orgs/{org}/entries"), json=entry_body(11))
    path = api(f"/orgs/{org}/entries/{entry['id']}/reverse")
    body = {"date": today()}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "memo": "另一个冲销"})


def add_user(w: World) -> tuple[Req, Req]:
    body = {
        "username": "clerk",
        "role": "community",
        "scope_org_id": w.ids["dingzikou"],
        "password": "a" * 12,
    }
    return Req("POST", api("/users"), json=body), Req(
        "POST", api("/users"), json={**body, "username": "clerk2"}
    )


def pos_sale(w: World) -> tuple[Req, Req]:
    body = sale_body(w.shop, "cashier", 2)
    changed = {**body, "lines": [{"sku": "RICE", "quantity": "5"}]}
    return Req("POST", api("/pos/sales"), json=body), Req("POST", api("/pos/sales"), json=changed)


def pos_batch(w: World) -> tuple[Req, Req]:
    sales = [{**sale_body(w.shop, "cashier", n), "idempotency_key": new_key("batch")} for n in (4, 5)]
    return (
        Req("POST", api("/pos/sales:batch"), json={"sales": sales}),
        Req("POST", api("/pos/sales:batch"), json={"sales": sales[:1]}),
    )


def pos_refund(w: World) -> tuple[Req, Req]:
    sold = sale(w)
    path = api(f"/pos/sales/{sold['id']}/refunds")
    body = {"shift_id": w.shop.shifts["cashier"], "lines": [{"line_no": 1, "quantity": "1"}]}
    changed = {**body, "lines": [{"line_no": 2, "quantity": "1"}]}
    return Req("POST", path, json=body), Req("POST", path, json=changed)


def pos_store(w: World) -> tuple[Req, Req]:
    body = {"company_id": w.ids["company"], "code": "store9", "name": "村社联动超市九号店"}
    return Req("POST", api("/pos/stores"), json=body), Req(
        "POST", api("/pos/stores"), json={**body, "code": "s10"}
    )


def pos_products(w: World) -> tuple[Req, Req]:
    path = api(f"/pos/orgs/{w.ids['company']}/products")
    body = [{"sku": "TEA", "name": "都濡月芽茶", "unit": "盒", "price": "128.00"}]
    return Req("PUT", path, json=body), Req("PUT", path, json=[{**body[0], "price": "98.00"}])


CATALOGUE_CSV = (
    "\ufeffsku,barcode,name,unit,price,tax_category,category,origin,allow_price_override\n"
    "TEA,6902000000010,都濡月芽茶,盒,128.00,goods,茶叶,village1,0\n"
    "HONEY,,土蜂蜜,斤,45.50,goods,蜂产品,,1\n"
)


def pos_import(w: World) -> tuple[Req, Req]:
    path = api(f"/pos/orgs/{w.ids['company']}/products:import")
    one = CATALOGUE_CSV.encode()
    two = CATALOGUE_CSV.replace("45.50", "46.00").encode()
    return (
        Req("POST", path, files={"file": ("catalogue.csv", one, "text/csv")}),
        Req("POST", path, files={"file": ("catalogue.csv", two, "text/csv")}),
    )


def pos_tax_rate(w: World) -> tuple[Req, Req]:
    path = api(f"/pos/orgs/{w.ids['company']}/tax-rates")
    body = {"category": "goods", "rate_bp": 300, "effective_from": today()}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "rate_bp": 100})


def pos_customer(w: World) -> tuple[Req, Req]:
    path = api(f"/pos/orgs/{w.ids['company']}/customers")
    body = {"name": "第一中学食堂", "kind": "school_canteen", "channel": "school", "credit_limit": "500.00"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "name": "第二中学食堂"})


def pos_customer_patch(w: World) -> tuple[Req, Req]:
    org = w.ids["company"]
    _, create = pos_customer(w)
    customer = w.ok("officer", "POST", create.path, json=create.json)
    path = api(f"/pos/orgs/{org}/customers/{customer['id']}")
    return Req("PATCH", path, json={"credit_limit": "800.00"}), Req(
        "PATCH", path, json={"credit_limit": "900.00"}
    )


def pos_purchase(w: World) -> tuple[Req, Req]:
    path = api(f"/pos/stores/{w.stores['store1']}/purchases")
    body = {
        "date": today(),
        "village_org_id": w.ids["village1"],
        "lines": [{"sku": "APPLE", "quantity": "100", "cost": "600.00"}],
    }
    changed = {**body, "lines": [{"sku": "APPLE", "quantity": "100", "cost": "650.00"}]}
    return Req("POST", path, json=body), Req("POST", path, json=changed)


def pos_adjust(w: World) -> tuple[Req, Req]:
    path = api(f"/pos/stores/{w.stores['store1']}/stock-adjustments")
    body = {"date": today(), "sku": "RICE", "kind": "adjust", "quantity": "1.5", "reason": "找到一袋"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "quantity": "2"})


def pos_open_shift(w: World) -> tuple[Req, Req]:
    # the cashier hands over the seeded shift first: one open shift per cashier and store
    w.ok(
        "cashier",
        "POST",
        api(f"/pos/shifts/{w.shop.shifts['cashier']}/close"),
        json={"counted_cash": "500.00"},
    )
    body = {"store_id": w.stores["store1"], "float": "100.00"}
    return Req("POST", api("/pos/shifts"), json=body), Req(
        "POST", api("/pos/shifts"), json={**body, "float": "200.00"}
    )


def pos_cash_move(w: World) -> tuple[Req, Req]:
    path = api(f"/pos/shifts/{w.shop.shifts['cashier']}/cash-moves")
    body = {"kind": "pay_in", "amount": "50.00", "reason": "备用金"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "amount": "60.00"})


def pos_close_shift(w: World) -> tuple[Req, Req]:
    path = api(f"/pos/shifts/{w.shop.shifts['cashier']}/close")
    return Req("POST", path, json={"counted_cash": "500.00"}), Req(
        "POST", path, json={"counted_cash": "400.00"}
    )


def add_asset(w: World) -> tuple[Req, Req]:
    path = api(f"/orgs/{w.ids['dingzikou']}/assets")
    body = {"kind": "门面", "name": "丁字口临街门面1号", "area": "56.5"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "name": "丁字口临街门面2号"})


def asset_status(w: World) -> tuple[Req, Req]:
    add, _ = add_asset(w)
    asset = w.ok("officer", "POST", add.path, json=add.json)
    path = api(f"/orgs/{w.ids['dingzikou']}/assets/{asset['id']}")
    return Req("PATCH", path, json={"status": "own_use"}), Req("PATCH", path, json={"status": "leased"})


def add_lease(w: World) -> tuple[Req, Req]:
    path = api(f"/orgs/{w.ids['dingzikou']}/leases")
    body = {
        "code": "HT-2025-009",
        "lessee": "李四",
        "start": "2025-01-15",
        "end": "2026-01-14",
        "rent_per_cycle": "1000.00",
    }
    return Req("POST", path, json=body), Req("POST", path, json={**body, "code": "HT-2025-010"})


def accrue_rent(w: World) -> tuple[Req, Req]:
    lease(w)
    path = api(f"/orgs/{w.ids['dingzikou']}/leases/accrue")
    return Req("POST", path, params={"through": "2025-03"}), Req("POST", path, params={"through": "2025-04"})


def terminate_lease(w: World) -> tuple[Req, Req]:
    contract = lease(w)
    path = api(f"/orgs/{w.ids['dingzikou']}/leases/{contract['id']}/terminate")
    body = {"last_day": "2025-04-30", "settle_on": "2025-05-03", "refund_rest": False}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "last_day": "2025-05-31"})


def supersede(relation: str) -> Build:
    def build(w: World) -> tuple[Req, Req]:
        contract = lease(w)
        path = api(f"/orgs/{w.ids['dingzikou']}/leases/{contract['id']}/{relation}")
        start = "2025-07-01" if relation == "amend" else "2028-01-01"
        body = {"code": "HT-NEXT", "start": start, "end": "2028-12-31", "rent_per_cycle": "1100.00"}
        return Req("POST", path, json=body), Req("POST", path, json={**body, "rent_per_cycle": "1200.00"})

    return build


def lease_deposit(w: World) -> tuple[Req, Req]:
    contract = lease(w)
    path = api(f"/orgs/{w.ids['dingzikou']}/leases/{contract['id']}/deposit")
    body = {"amount": "2000.00", "date": "2025-01-01"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "amount": "1000.00"})


def deposit_refund(w: World) -> tuple[Req, Req]:
    contract = lease(w)
    base = api(f"/orgs/{w.ids['dingzikou']}/leases/{contract['id']}/deposit")
    w.ok("officer", "POST", base, json={"amount": "2000.00", "date": "2025-01-01"})
    body = {"amount": "500.00", "date": "2025-05-04"}
    return Req("POST", base + "/refund", json=body), Req(
        "POST", base + "/refund", json={**body, "amount": "600.00"}
    )


def lease_receipt(w: World) -> tuple[Req, Req]:
    contract = lease(w)
    org = w.ids["dingzikou"]
    w.ok("officer", "POST", api(f"/orgs/{org}/leases/accrue"), params={"through": "2025-03"})
    path = api(f"/orgs/{org}/lease-receipts")
    body = {"lessee_id": contract["lessee_id"], "amount": "1000.00", "date": "2025-03-10"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "amount": "1.00"})


def add_welfare_post(w: World) -> tuple[Req, Req]:
    path = api(f"/orgs/{w.ids['dingzikou']}/welfare-posts")
    body = {"post": "护路员", "holder": "赵六", "monthly_stipend": "1500.00", "start": "2025-01-01"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "holder": "赵七"})


def end_welfare_post(w: World) -> tuple[Req, Req]:
    post = welfare_post(w)
    path = api(f"/orgs/{w.ids['dingzikou']}/welfare-posts/{post['id']}/end")
    return Req("POST", path, json={"end": "2025-06-30"}), Req("POST", path, json={"end": "2025-07-31"})


def run_stipends(w: World) -> tuple[Req, Req]:
    welfare_post(w)
    path = api(f"/orgs/{w.ids['dingzikou']}/welfare-posts/stipends")
    return Req("POST", path, params={"through": "2025-03"}), Req("POST", path, params={"through": "2025-04"})


def post_stipend(w: World) -> tuple[Req, Req]:
    post = welfare_post(w)
    path = api(f"/orgs/{w.ids['dingzikou']}/welfare-posts/{post['id']}/stipends")
    return Req("POST", path, json={"period": "2025-01"}), Req("POST", path, json={"period": "2025-02"})


def pay_stipend(w: World) -> tuple[Req, Req]:
    post = welfare_post(w)
    org = w.ids["dingzikou"]
    w.ok("officer", "POST", api(f"/orgs/{org}/welfare-posts/stipends"), params={"through": "2025-03"})
    path = api(f"/orgs/{org}/welfare-posts/{post['id']}/payments")
    body = {"amount": "1800.00", "date": "2025-04-05"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "amount": "900.00"})


def welfare_facility(w: World) -> tuple[Req, Req]:
    path = api(f"/orgs/{w.ids['dingzikou']}/welfare-facilities")
    body = {"amount": "3000.00", "date": "2025-05-01", "memo": "健身器材"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "amount": "3500.00"})


DEAL = {
    "client": "沿河某劳务公司",
    "kind": "labour",
    "deal_value": "50000.00",
    "commission_rate_bp": 300,
    "earned_on": "2025-05-20",
}


def brokerage_deal(w: World) -> tuple[Req, Req]:
    path = api(f"/orgs/{w.ids['dingzikou']}/brokerage/deals")
    return Req("POST", path, json=DEAL), Req("POST", path, json={**DEAL, "client": "另一家公司"})


def brokerage_fee(w: World) -> tuple[Req, Req]:
    org = w.ids["dingzikou"]
    deal = w.ok("officer", "POST", api(f"/orgs/{org}/brokerage/deals"), json=DEAL)
    path = api(f"/orgs/{org}/brokerage/deals/{deal['deal_id']}/receipts")
    body = {"amount": "1500.00", "date": "2025-06-01"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "amount": "1000.00"})


def subsidy(w: World) -> tuple[Req, Req]:
    path = api(f"/orgs/{w.ids['dingzikou']}/subsidies")
    body = {"source": "工作经费", "grantor": "沿河县财政局", "amount": "100000.00", "date": "2025-03-01"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "amount": "90000.00"})


def stake(w: World) -> tuple[Req, Req]:
    path = api(f"/orgs/{w.ids['dingzikou']}/stakes")
    body = {
        "company_org_id": w.ids["company"],
        "paid_in": "200000.00",
        "share_bp": 2000,
        "date": "2025-01-10",
    }
    return Req("POST", path, json=body), Req("POST", path, json={**body, "paid_in": "100000.00"})


def shareholding(w: World) -> tuple[Req, Req]:
    path = api(f"/orgs/{w.ids['company']}/shareholdings")
    body = {"shareholder_org_id": w.ids["dingzikou"], "subscribed": "300000.00"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "subscribed": "200000.00"})


def holding(w: World, agreed_ratio_bp: int | None = None) -> int:
    co = w.ids["company"]
    with w.tx() as conn:
        ensure_for(conn, co)
        return add_shareholder(
            conn,
            co,
            shareholder_org_id=w.ids["dingzikou"],
            subscribed_fen=300_000 * YUAN,
            agreed_ratio_bp=agreed_ratio_bp,
        )


def capital(w: World) -> tuple[Req, Req]:
    path = api(f"/orgs/{w.ids['company']}/shareholdings/{holding(w)}/capital")
    body = {"amount": "300.00", "paid_on": "2025-01-10"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "amount": "400.00"})


def ratio_agreement(w: World) -> tuple[Req, Req]:
    holding(w, agreed_ratio_bp=10_000)
    path = api(f"/orgs/{w.ids['company']}/ratio-agreements")
    body = {"effective_from": "2025-01-01", "document_no": "和联司股决〔2025〕1号", "signed_on": "2024-12-20"}
    return Req("POST", path, json=body), Req(
        "POST", path, json={**body, "document_no": "和联司股决〔2025〕2号"}
    )


def member(w: World) -> tuple[Req, Req]:
    path = api(f"/orgs/{w.ids['dingzikou']}/members")
    body = {"member": "第1居民小组", "shares": 100}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "shares": 90})


def close_a_year(w: World) -> tuple[Req, Req]:
    org = w.ids["company"]
    with w.tx() as conn:
        book(
            conn, org, date(2024, 6, 30), "销售收入", ("1002", "Dr", 1000 * YUAN), ("5001", "Cr", 1000 * YUAN)
        )
    return Req("POST", api(f"/orgs/{org}/years/2024/close")), Req(
        "POST", api(f"/orgs/{org}/years/2023/close")
    )


PLAN = {
    "steps": [
        {"kind": "cover_losses"},
        {"kind": "statutory_reserve", "rate_bp": 1000},
        {"kind": "shareholders", "amount": "100000.01"},
    ]
}


def plan(w: World) -> tuple[Req, Req]:
    company_with_shareholders(w.county)
    path = api(f"/orgs/{w.ids['company']}/years/2025/plans")
    changed = {"steps": [*PLAN["steps"][:2], {"kind": "shareholders", "amount": "90000.00"}]}
    return Req("POST", path, json=PLAN), Req("POST", path, json=changed)


def approve_plan(w: World) -> tuple[Req, Req]:
    company_with_shareholders(w.county)
    co = w.ids["company"]
    plan_id = w.ok("officer", "POST", api(f"/orgs/{co}/years/2025/plans"), json=PLAN)["id"]
    path = api(f"/orgs/{co}/plans/{plan_id}/approve")
    body = {
        "approving_body": "股东会",
        "resolution_date": "2025-12-28",
        "document_no": "和联司股决〔2025〕3号",
    }
    return Req("POST", path, json=body), Req(
        "POST", path, json={**body, "document_no": "和联司股决〔2025〕4号"}
    )


def execute_plan(w: World) -> tuple[Req, Req]:
    company_with_shareholders(w.county)
    plan_id = approved_company_plan(w.county)
    path = api(f"/orgs/{w.ids['company']}/plans/{plan_id}/execute")
    return Req("POST", path, json={}), Req("POST", path, json={"date": "2025-12-31"})


def reverse_plan(w: World) -> tuple[Req, Req]:
    plan_id = executed_company_plan(w)
    path = api(f"/orgs/{w.ids['company']}/plans/{plan_id}/reverse")
    return Req("POST", path, json={"date": "2025-12-31"}), Req("POST", path, json={"date": "2025-12-30"})


def dividend(w: World) -> tuple[Req, Req]:
    plan_id = executed_company_plan(w)
    path = api(f"/orgs/{w.ids['company']}/dividends")
    body = {
        "shareholder_org_id": w.ids["village1"],
        "amount": "16666.67",
        "paid_on": "2026-01-20",
        "plan_id": plan_id,
    }
    return Req("POST", path, json=body), Req("POST", path, json={**body, "amount": "16000.00"})


def welfare_fund(w: World) -> tuple[Req, Req]:
    """丁字口's 2025 income is its dividend; its 成员大会 earmarks 30 % for 公益性岗位; a 2026 stipend is
    paid (tests/distribution/test_distribution_trail.py, through the services)."""
    executed_company_plan(w)
    dz = w.ids["dingzikou"]
    with w.tx() as conn:
        close_year(conn, dz, 2025)
        for name, shares in (("王一", 3), ("王二", 2)):
            add_member(conn, dz, member=name, shares=shares)
        steps = [
            Step("public_reserve", rate_bp=1000),
            Step("welfare_post_earmark", rate_bp=3000),
            Step("members", rate_bp=5000),
        ]
        plan_id = ex.create_plan(conn, dz, 2025, steps)
        ex.approve_plan(
            conn,
            plan_id,
            approving_body="成员大会",
            resolution_date=date(2025, 12, 30),
            document_no="丁社成决〔2025〕5号",
        )
        ex.execute_plan(conn, plan_id)
        post_id = welfare.create_post(
            conn,
            dz,
            welfare.NewPost(
                post="保洁员", holder="李四", monthly_stipend_fen=150_000, start=date(2026, 1, 1)
            ),
        )
        welfare.run_stipends(conn, [dz], "2026-01")
        welfare.pay_stipend(conn, dz, post_id, paid_on=date(2026, 2, 5))
    path = api(f"/orgs/{dz}/welfare-funds/apply")
    body = {"kind": "post", "earmark_year": 2025, "amount": "1500.00", "on": "2026-01-31", "post_id": post_id}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "amount": "1000.00"})


def vat_threshold(w: World) -> tuple[Req, Req]:
    path = api(f"/orgs/{w.ids['company']}/vat-thresholds")
    body = {"effective_from": "2025-01-01", "quarterly_threshold": "300000.00"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "quarterly_threshold": "450000.00"})


def vat_exemption(w: World) -> tuple[Req, Req]:
    co = w.ids["company"]
    with w.tx() as conn:
        ensure_sub_account(conn, co, "2221", "222101", "应交增值税")
        for on in (date(2025, 1, 15), date(2025, 4, 15)):
            book(
                conn,
                co,
                on,
                "销售",
                ("1002", "Dr", 150_000 * YUAN + 150_000),
                ("5001", "Cr", 150_000 * YUAN),
                ("222101", "Cr", 150_000),
            )
    return (
        Req("POST", api(f"/orgs/{co}/vat/2025/q1/exemption")),
        Req("POST", api(f"/orgs/{co}/vat/2025/q2/exemption")),
    )


def statement_account(w: World) -> tuple[Req, Req]:
    path = api(f"/orgs/{w.ids['company']}/statement-accounts")
    body = {"ledger_account": "1002", "kind": "bank", "name": "建行基本户"}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "name": "农行基本户"})


def statement_upload(w: World) -> tuple[Req, Req]:
    org = w.ids["company"]
    account = w.ok(
        "officer",
        "POST",
        api(f"/orgs/{org}/statement-accounts"),
        json={"ledger_account": "1002", "kind": "bank", "name": "建行基本户"},
    )["id"]
    one = write_bank_csv(w.tmp / "days-1-5.csv", sample_bank_txns(range(1, 6))).read_bytes()
    two = write_bank_csv(w.tmp / "days-6-9.csv", sample_bank_txns(range(6, 10))).read_bytes()
    path = api(f"/orgs/{org}/statements")
    form = {"account": str(account)}
    return (
        Req("POST", path, files={"file": ("march.csv", one, "text/csv")}, data=form),
        Req("POST", path, files={"file": ("march.csv", two, "text/csv")}, data=form),
    )


def propose(w: World) -> tuple[Req, Req]:
    org, account = company_bank(w)
    path = api(f"/orgs/{org}/reconcile/propose")
    return (
        Req("POST", path, params={"account": account, "period": "2024-03"}),
        Req("POST", path, params={"account": account, "period": "2024-03", "window_days": 5}),
    )


def manual_match(w: World) -> tuple[Req, Req]:
    org, account = company_bank(w)
    with w.engine.connect() as conn:
        statement_line = conn.execute(
            select(StatementLineRow.__table__.c.id).where(StatementLineRow.__table__.c.amount_fen == -1234867)
        ).scalar_one()
        journal_line = conn.execute(
            select(JournalLine.__table__.c.id).where(
                JournalLine.__table__.c.org_id == org, JournalLine.__table__.c.credit_fen == 1234867
            )
        ).scalar_one()
    path = api(f"/orgs/{org}/reconcile/matches")
    body = {"account": account, "statement_line_ids": [statement_line], "journal_line_ids": [journal_line]}
    return Req("POST", path, json=body), Req("POST", path, json={**body, "note": "手工"})


def decide(verb: str) -> Build:
    def build(w: World) -> tuple[Req, Req]:
        org, match_id = proposed_match(w)
        path = api(f"/orgs/{org}/reconcile/matches/{match_id}/{verb}")
        return Req("POST", path), Req("POST", path, json={"note": "不同的请求"})

    return build


def confirm_many(w: World) -> tuple[Req, Req]:
    org, match_id = proposed_match(w)
    path = api(f"/orgs/{org}/reconcile/confirm")
    return Req("POST", path, json={"ids": [match_id]}), Req(
        "POST", path, json={"ids": [match_id], "note": "复核"}
    )


def post_by_rule(w: World) -> tuple[Req, Req]:
    org, account = company_bank(w)
    lines = w.ok(
        "officer", "GET", api(f"/orgs/{org}/statement-accounts/{account}/lines"), params={"unmatched": "true"}
    )
    fee = next(ln for ln in lines if ln["memo"] == "汇划手续费")
    path = api(f"/orgs/{org}/statement-lines/{fee['id']}/post-by-rule")
    return Req("POST", path), Req("POST", path, json={"rule": "bank_fee"})


def void_import(w: World) -> tuple[Req, Req]:
    org, account = company_bank(w)
    [imported] = w.ok("officer", "GET", api(f"/orgs/{org}/statement-accounts/{account}/imports"))
    path = api(f"/orgs/{org}/statement-imports/{imported['id']}/void")
    return Req("POST", path, json={"reason": "导错了账户"}), Req("POST", path, json={"reason": "文件有误"})


def user_id_of(w: World, name: str) -> int:
    return w.county.user_ids[name]


def disable_user(w: World) -> tuple[Req, Req]:
    one, two = user_id_of(w, "cashier2"), user_id_of(w, "cashier")  # no outsider of these rows
    return Req("POST", api(f"/users/{one}/disable")), Req("POST", api(f"/users/{two}/disable"))


def enable_user(w: World) -> tuple[Req, Req]:
    one, two = user_id_of(w, "cashier2"), user_id_of(w, "cashier")  # no outsider of these rows
    for uid in (one, two):
        w.ok("admin", "POST", api(f"/users/{uid}/disable"))
    return Req("POST", api(f"/users/{one}/enable")), Req("POST", api(f"/users/{two}/enable"))


def issue_user_token(w: World) -> tuple[Req, Req]:
    path = api(f"/users/{user_id_of(w, 'cashier2')}/tokens")
    return Req("POST", path, json={"label": "平板"}), Req("POST", path, json={"label": "电脑"})


def revoke_user_token(w: World) -> tuple[Req, Req]:
    uid = user_id_of(w, "cashier2")
    listed = next(u for u in w.ok("admin", "GET", api("/users")) if u["user_id"] == uid)
    other = w.ok("admin", "POST", api(f"/users/{uid}/tokens"), json={"label": "备用"})["token_id"]
    first = next(t for t in listed["token_ids"] if t != other)
    return (
        Req("POST", api(f"/users/{uid}/tokens/{first}/revoke")),
        Req("POST", api(f"/users/{uid}/tokens/{other}/revoke")),
    )


TILL = ("cashier2", "officer_tuanjie", "community2")  # another store's cashier, another street
POS_BACK_OFFICE = ("officer_tuanjie", "community2", "cashier")  # the cashier may not change the catalogue

DOORS = [
    Door("POST", "/api/v1/orgs", create_org),
    Door("POST", "/api/v1/orgs/{org_id}/accounts", add_account),
    Door("POST", "/api/v1/orgs/{org_id}/accounts/{code}/close", close_account),
    Door("POST", "/api/v1/orgs/{org_id}/periods/{period}/close", close_month),
    Door(
        "POST",
        "/api/v1/orgs/{org_id}/periods/{period}/reopen",
        reopen_month,
        actor="admin",
        outsiders=("officer", *OUTSIDERS),
    ),
    Door("POST", "/api/v1/orgs/{org_id}/entries", post_entry),
    Door("POST", "/api/v1/linked-entries", post_linked),
    Door("POST", "/api/v1/orgs/{org_id}/entries/{entry_id}/reverse", reverse_entry),
    Door("POST", "/api/v1/users", add_user, actor="admin", outsiders=("officer", *OUTSIDERS), secret="token"),
    Door(
        "POST",
        "/api/v1/users/{user_id}/disable",
        disable_user,
        actor="admin",
        outsiders=("officer", *OUTSIDERS),
    ),
    Door(
        "POST",
        "/api/v1/users/{user_id}/enable",
        enable_user,
        actor="admin",
        outsiders=("officer", *OUTSIDERS),
    ),
    Door(
        "POST",
        "/api/v1/users/{user_id}/tokens",
        issue_user_token,
        actor="admin",
        outsiders=("officer", *OUTSIDERS),
        secret="token",
    ),
    Door(
        "POST",
        "/api/v1/users/{user_id}/tokens/{token_id}/revoke",
        revoke_user_token,
        actor="admin",
        outsiders=("officer", *OUTSIDERS),
    ),
    Door("POST", "/api/v1/pos/sales", pos_sale, actor="cashier", outsiders=TILL, key_required=True),
    Door("POST", "/api/v1/pos/sales:batch", pos_batch, actor="cashier", outsiders=TILL),
    Door(
        "POST",
        "/api/v1/pos/sales/{sale_id}/refunds",
        pos_refund,
        actor="cashier",
        outsiders=TILL,
        key_required=True,
    ),
    Door("POST", "/api/v1/pos/stores", pos_store, outsiders=POS_BACK_OFFICE),
    Door("PUT", "/api/v1/pos/orgs/{org_id}/products", pos_products, outsiders=POS_BACK_OFFICE),
    Door("POST", "/api/v1/pos/orgs/{org_id}/products:import", pos_import, outsiders=POS_BACK_OFFICE),
    Door("POST", "/api/v1/pos/orgs/{org_id}/tax-rates", pos_tax_rate, outsiders=POS_BACK_OFFICE),
    Door("POST", "/api/v1/pos/orgs/{org_id}/customers", pos_customer, outsiders=POS_BACK_OFFICE),
    Door(
        "PATCH",
        "/api/v1/pos/orgs/{org_id}/customers/{customer_id}",
        pos_customer_patch,
        outsiders=POS_BACK_OFFICE,
    ),
    Door("POST", "/api/v1/pos/stores/{store_id}/purchases", pos_purchase, outsiders=POS_BACK_OFFICE),
    Door("POST", "/api/v1/pos/stores/{store_id}/stock-adjustments", pos_adjust, outsiders=POS_BACK_OFFICE),
    Door("POST", "/api/v1/pos/shifts", pos_open_shift, actor="cashier", outsiders=TILL),
    Door("POST", "/api/v1/pos/shifts/{shift_id}/cash-moves", pos_cash_move, actor="cashier", outsiders=TILL),
    Door("POST", "/api/v1/pos/shifts/{shift_id}/close", pos_close_shift, actor="cashier", outsiders=TILL),
    Door("POST", "/api/v1/orgs/{org_id}/assets", add_asset),
    Door("PATCH", "/api/v1/orgs/{org_id}/assets/{asset_id}", asset_status),
    Door("POST", "/api/v1/orgs/{org_id}/leases", add_lease),
    Door("POST", "/api/v1/orgs/{org_id}/leases/accrue", accrue_rent),
    Door("POST", "/api/v1/orgs/{org_id}/leases/{contract_id}/terminate", terminate_lease),
    Door("POST", "/api/v1/orgs/{org_id}/leases/{contract_id}/amend", supersede("amend")),
    Door("POST", "/api/v1/orgs/{org_id}/leases/{contract_id}/renew", supersede("renew")),
    Door("POST", "/api/v1/orgs/{org_id}/leases/{contract_id}/deposit", lease_deposit),
    Door("POST", "/api/v1/orgs/{org_id}/leases/{contract_id}/deposit/refund", deposit_refund),
    Door("POST", "/api/v1/orgs/{org_id}/lease-receipts", lease_receipt),
    Door("POST", "/api/v1/orgs/{org_id}/welfare-posts", add_welfare_post),
    Door("POST", "/api/v1/orgs/{org_id}/welfare-posts/{post_id}/end", end_welfare_post),
    Door("POST", "/api/v1/orgs/{org_id}/welfare-posts/stipends", run_stipends),
    Door("POST", "/api/v1/orgs/{org_id}/welfare-posts/{post_id}/stipends", post_stipend),
    Door("POST", "/api/v1/orgs/{org_id}/welfare-posts/{post_id}/payments", pay_stipend),
    Door("POST", "/api/v1/orgs/{org_id}/welfare-facilities", welfare_facility),
    Door("POST", "/api/v1/orgs/{org_id}/brokerage/deals", brokerage_deal),
    Door("POST", "/api/v1/orgs/{org_id}/brokerage/deals/{deal_id}/receipts", brokerage_fee),
    Door("POST", "/api/v1/orgs/{org_id}/subsidies", subsidy),
    Door("POST", "/api/v1/orgs/{org_id}/stakes", stake),
    Door("POST", "/api/v1/orgs/{org_id}/shareholdings", shareholding),
    Door("POST", "/api/v1/orgs/{org_id}/shareholdings/{holding_id}/capital", capital),
    Door("POST", "/api/v1/orgs/{org_id}/ratio-agreements", ratio_agreement),
    Door("POST", "/api/v1/orgs/{org_id}/members", member),
    Door("POST", "/api/v1/orgs/{org_id}/years/{year}/close", close_a_year),
    Door("POST", "/api/v1/orgs/{org_id}/years/{year}/plans", plan),
    Door("POST", "/api/v1/orgs/{org_id}/plans/{plan_id}/approve", approve_plan),
    Door("POST", "/api/v1/orgs/{org_id}/plans/{plan_id}/execute", execute_plan),
    Door("POST", "/api/v1/orgs/{org_id}/plans/{plan_id}/reverse", reverse_plan),
    Door("POST", "/api/v1/orgs/{org_id}/dividends", dividend),
    Door("POST", "/api/v1/orgs/{org_id}/welfare-funds/apply", welfare_fund),
    Door("POST", "/api/v1/orgs/{org_id}/vat-thresholds", vat_threshold),
    Door("POST", "/api/v1/orgs/{org_id}/vat/{year}/q{quarter}/exemption", vat_exemption),
    Door("POST", "/api/v1/orgs/{org_id}/statement-accounts", statement_account),
    Door("POST", "/api/v1/orgs/{org_id}/statements", statement_upload),
    Door("POST", "/api/v1/orgs/{org_id}/reconcile/propose", propose),
    Door("POST", "/api/v1/orgs/{org_id}/reconcile/matches", manual_match),
    Door("POST", "/api/v1/orgs/{org_id}/reconcile/matches/{match_id}/confirm", decide("confirm")),
    Door("POST", "/api/v1/orgs/{org_id}/reconcile/matches/{match_id}/reject", decide("reject")),
    Door("POST", "/api/v1/orgs/{org_id}/reconcile/confirm", confirm_many),
    Door("POST", "/api/v1/orgs/{org_id}/statement-lines/{line_id}/post-by-rule", post_by_rule),
    Door("POST", "/api/v1/orgs/{org_id}/statement-imports/{import_id}/void", void_import),
]


def state_changing_operations() -> set[str]:
    """Every state-changing operation of the app's own OpenAPI (an app that never touches a database)."""
    app = create_app(Settings(database_url="sqlite://"), engine=make_engine("sqlite://"))
    methods = ("put", "post", "patch", "delete")
    return {
        f"{m.upper()} {path}"
        for path, item in app.openapi()["paths"].items()
        if path.startswith("/api/v1")
        for m in methods
        if m in item
    }


def test_the_table_has_one_row_for_every_state_changing_operation() -> None:
    labels = [d.label for d in DOORS]
    assert len(labels) == len(set(labels)), "a route has two rows"
    live = state_changing_operations()
    assert sorted(live - set(labels)) == [], "routes that change state and have no row here"
    assert sorted(set(labels) - live) == [], "rows for routes the API no longer has"


# -- the walk --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    yield from build_template(request.param, tmp_path_factory.mktemp("doors"), request)


@pytest.fixture
def world(seeded: Template, tmp_path: Path) -> Iterator[World]:
    with world_of(seeded, tmp_path) as w:
        yield w


def refused(status: int) -> bool:
    return status in (403, 404)


def field_of(doc: Any) -> str | None:
    return doc.get("error", {}).get("field") if isinstance(doc, dict) else None


def without(doc: Any, secret: str | None) -> Any:
    if secret is None or not isinstance(doc, dict) or secret not in doc:
        return doc
    return {k: v for k, v in doc.items() if k != secret}


@pytest.mark.parametrize("door", DOORS, ids=[d.label for d in DOORS])
def test_every_write_refuses_outsiders_and_replays_once_for_its_actor(world: World, door: Door) -> None:
    w = world
    req, changed = door.build(w)
    for r in (req, changed):  # a row knocks on its own door, not on a neighbour's
        assert r.method == door.method and door.matches(r.path), f"{r.method} {r.path} is not {door.label}"
    problems: list[str] = []
    key = new_key("door")

    counts = [w.snapshot()]  # the row counts after the last request: the next one's "before"

    def attempt(who: str, r: Req, k: str | None) -> tuple[int, Any, dict[str, int]]:
        response = w.send(who, r, k)
        try:
            doc = response.json()
        except ValueError:
            doc = response.text
        counts.append(w.snapshot())
        return response.status_code, doc, written(counts[-2], counts[-1])

    def outsider(who: str, r: Req, k: str | None, what: str, stored: Any = None) -> None:
        status, doc, rows = attempt(who, r, k)
        if k is None and door.key_required and status == 422 and field_of(doc) == "idempotency_key":
            pass  # malformed for everyone: says nothing about the store
        elif not refused(status):
            problems.append(f"(a) {who} {what}: {status} (want 403/404) {str(doc)[:160]}")
        elif not is_error_shape(doc):
            problems.append(f"(a) {who} {what}: {status} not in the error shape: {str(doc)[:160]}")
        if stored is not None and doc == stored:
            problems.append(f"(a) {who} {what}: got the rightful actor's stored answer")
        if rows:
            problems.append(f"(a) {who} {what}: wrote {rows}")

    for who in door.outsiders:
        outsider(who, req, None, "without a key")
        outsider(who, req, new_key("outsider"), "with a fresh key")

    status, first, rows = attempt(door.actor, req, key)
    assert 200 <= status < 300, f"the rightful {door.actor}'s first call must succeed: {status} {first}"
    assert rows, "the first call wrote nothing: the row cannot prove a retry writes nothing"

    status, again, rows = attempt(door.actor, req, key)
    if status != 200:
        problems.append(f"(b) retry under the key: {status} (want 200) {str(again)[:160]}")
    if rows:
        problems.append(f"(b) retry under the key wrote {rows}")
    if without(again, door.secret) != without(first, door.secret) or (
        door.secret
        and isinstance(again, dict)
        and again.get(door.secret) not in (None, first.get(door.secret))
    ):
        problems.append(f"(b) retry answered differently: {str(again)[:160]} (first: {str(first)[:160]})")

    for who in door.outsiders:
        outsider(who, req, key, "replaying the actor's key", stored=first)
        outsider(who, changed, key, "with a changed body under the actor's key", stored=first)

    status, doc, rows = attempt(door.actor, changed, key)
    code = doc.get("error", {}).get("code") if isinstance(doc, dict) else None
    if status != 409 or code != "idempotency_conflict":
        problems.append(f"(c) changed request under the key: {status} {code} (want 409 idempotency_conflict)")
    if rows:
        problems.append(f"(c) changed request under the key wrote {rows}")

    assert not problems, f"{door.label}:\n" + "\n".join(problems)


# -- the two cases of the issue, as plain regression tests -------------------------------------------------


def test_capital_paid_in_twice_under_one_key_posts_once(world: World) -> None:
    w = world
    co = w.ids["company"]
    path = api(f"/orgs/{co}/shareholdings/{holding(w)}/capital")
    body = {"amount": "300.00", "paid_on": "2025-01-10"}
    entries_before = w.snapshot()["journal_entry"]

    one = w.send("officer", Req("POST", path, json=body), "cap-1")
    two = w.send("officer", Req("POST", path, json=body), "cap-1")

    assert one.status_code == 201, one.text
    holdings = w.ok("officer", "GET", api(f"/orgs/{co}/shareholdings"))
    assert [h["paid_in"] for h in holdings] == ["300.00"]  # not 600.00
    assert w.snapshot()["journal_entry"] == entries_before + 1
    assert two.status_code == 200 and two.json() == one.json(), two.text


def test_a_community_replaying_an_officers_key_on_another_orgs_proposal_gets_404(world: World) -> None:
    w = world
    org, account = company_bank(w)  # the company's books; the community user belongs to 丁字口社区
    req = Req("POST", api(f"/orgs/{org}/reconcile/propose"), params={"account": account, "period": "2024-03"})
    officer = w.send("officer", req, "k1")
    assert officer.status_code == 200, officer.text

    replay = w.send("community", req, "k1")
    unkeyed = w.send("community", req)

    assert unkeyed.status_code == 404
    assert replay.status_code == 404, replay.text
    assert replay.json() != officer.json()


def test_a_key_stored_under_the_former_path_and_body_fingerprint_is_replayed_after_the_upgrade(
    world: World,
) -> None:
    """Before the services named their own requests, the API stored a key's request as its path, query and
    parsed body; a client retrying such a request after the upgrade gets the first answer, not a 409."""
    w = world
    co = w.ids["company"]
    path = api(f"/orgs/{co}/shareholdings/{holding(w)}/capital")
    body = {"amount": "300.00", "paid_on": "2025-01-10"}
    first = w.send("officer", Req("POST", path, json=body), "cap-old")
    assert first.status_code == 201, first.text
    as_before = {"path": path, "query": [], "body": as_json(CapitalIn.model_validate(body))}
    with w.tx() as conn:  # the row as the older version stored it
        stored = conn.execute(
            update(IdempotencyRecord.__table__)
            .where(IdempotencyRecord.__table__.c.key == "cap-old")
            .values(request_hash=request_hash("shareholding.capital", as_before))
        )
        assert stored.rowcount == 1
    before = w.snapshot()

    retry = w.send("officer", Req("POST", path, json=body), "cap-old")
    changed = w.send("officer", Req("POST", path, json={**body, "amount": "400.00"}), "cap-old")
    outsider = w.send("officer_tuanjie", Req("POST", path, json=body), "cap-old")

    assert retry.status_code == 200 and retry.json() == first.json(), retry.text
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "idempotency_conflict"
    assert outsider.status_code in (403, 404) and outsider.json() != first.json()
    assert w.snapshot() == before


@pytest.mark.parametrize("relation", ["amend", "renew"])
def test_an_outsider_renewing_or_amending_with_an_invalid_body_gets_404_not_the_contracts_422(
    world: World, relation: str
) -> None:
    w = world
    contract = lease(w)
    path = api(f"/orgs/{w.ids['dingzikou']}/leases/{contract['id']}/{relation}")
    start = "2025-07-01" if relation == "amend" else "2028-01-01"
    good = {"code": "HT-NEXT", "start": start, "end": "2028-12-31", "rent_per_cycle": "1100.00"}
    invalid = [
        {**good, "cycle": "fortnightly"},
        {**good, "timing": "whenever"},
        {**good, "start": "2024-01-01"},  # outside the contract: its 422 would tell the contract's dates
        {**good, "end": "2020-01-01"},
    ]
    before = w.snapshot()

    for body in invalid:
        own = w.send("officer", Req("POST", path, json=body))
        assert own.status_code == 422, own.text  # the body is invalid: its own officer is told so
        outsider = w.send("officer_tuanjie", Req("POST", path, json=body))
        assert outsider.status_code == 404, (body, outsider.text)
        assert contract["code"] not in outsider.text and "2027" not in outsider.text

    assert w.snapshot() == before


@pytest.mark.parametrize("run", ["leases/accrue", "welfare-posts/stipends"])
def test_an_outsider_running_the_accrual_or_stipends_with_a_malformed_month_gets_404(
    world: World, run: str
) -> None:
    w = world
    path = api(f"/orgs/{w.ids['dingzikou']}/{run}")
    before = w.snapshot()

    own = w.send("officer", Req("POST", path, params={"through": "2025-13"}))
    outsider = w.send("officer_tuanjie", Req("POST", path, params={"through": "2025-13"}))

    assert own.status_code == 422 and own.json()["error"]["field"] == "through", own.text
    assert outsider.status_code == 404, outsider.text
    assert w.snapshot() == before


def malformed_lease(field: str, spelt: str) -> Callable[[World], tuple[str, Req]]:
    def build(w: World) -> tuple[str, Req]:
        body = {**add_lease(w)[0].json, field: spelt}
        return "officer", Req("POST", api(f"/orgs/{w.ids['dingzikou']}/leases"), json=body)

    return build


def malformed_propose(w: World) -> tuple[str, Req]:
    org, account = company_bank(w)
    params = {"account": account, "period": "2024-13"}
    return "officer", Req("POST", api(f"/orgs/{org}/reconcile/propose"), params=params)


def malformed_close(w: World) -> tuple[str, Req]:
    return "officer", Req("POST", api(f"/orgs/{w.ids['huahuaqiao']}/periods/2025-13/close"))


def malformed_reopen(w: World) -> tuple[str, Req]:
    path = api(f"/orgs/{w.ids['huahuaqiao']}/periods/2025-13/reopen")
    return "admin", Req("POST", path, json={"reason": "补记"})


MALFORMED = {
    "lease cycle": (malformed_lease("cycle", "fortnightly"), "cycle"),
    "lease timing": (malformed_lease("timing", "whenever"), "timing"),
    "propose period": (malformed_propose, "period"),
    "close period": (malformed_close, "period"),
    "reopen period": (malformed_reopen, "period"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_an_outsider_with_a_malformed_field_gets_404_or_403_not_the_fields_422(
    world: World, case: str
) -> None:
    """The scope is checked before a field is read: an outsider's answer does not depend on its body (a 422
    would tell it the org exists and what the field must be); the rightful actor is told which field."""
    w = world
    build, field = MALFORMED[case]
    actor, req = build(w)
    before = w.snapshot()

    own = w.send(actor, req, new_key("own"))
    assert own.status_code == 422 and field_of(own.json()) == field, own.text
    for who in ("officer", *OUTSIDERS):
        if who == actor:
            continue
        for key in (None, new_key("outsider")):
            outsider = w.send(who, req, key)
            assert refused(outsider.status_code), (who, key, outsider.status_code, outsider.text)
            assert is_error_shape(outsider.json()), outsider.text
    assert w.snapshot() == before


def former_upload(w: World) -> tuple[Req, Req, str, Any]:
    req, changed = statement_upload(w)
    assert req.files is not None and req.data is not None
    sha256 = hashlib.sha256(req.files["file"][1]).hexdigest()
    return (
        req,
        changed,
        "reconcile.import",
        {"account": int(req.data["account"]), "source": None, "sha256": sha256},
    )


def former_rule(w: World) -> tuple[Req, Req, str, Any]:
    req, changed = post_by_rule(w)  # no body: the former fingerprint saw the default one
    return req, changed, "reconcile.post_by_rule", {"rule": None}


FORMER = {"statement upload": former_upload, "post-by-rule without a body": former_rule}


@pytest.mark.parametrize("case", FORMER)
def test_a_reconciliation_key_stored_under_the_former_fingerprint_is_replayed(
    world: World, case: str
) -> None:
    """As for the capital pay-in above: the statement upload's former body was the account, the source and
    the file's hash; a rule posting without a body was fingerprinted with the default one."""
    w = world
    req, changed, action, former_body = FORMER[case](w)
    first = w.send("officer", req, "old-scheme")
    assert first.status_code == 201, first.text
    as_before = {"path": req.path, "query": [], "body": former_body}
    with w.tx() as conn:  # the row as the older version stored it
        stored = conn.execute(
            update(IdempotencyRecord.__table__)
            .where(IdempotencyRecord.__table__.c.key == "old-scheme")
            .values(request_hash=request_hash(action, as_before))
        )
        assert stored.rowcount == 1
    before = w.snapshot()

    retry = w.send("officer", req, "old-scheme")
    other = w.send("officer", changed, "old-scheme")
    outsider = w.send("officer_tuanjie", req, "old-scheme")

    assert retry.status_code == 200 and retry.json() == first.json(), retry.text
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict", other.text
    assert outsider.status_code in (403, 404) and outsider.json() != first.json()
    assert w.snapshot() == before
