"""The county every write is tried against, and how a door (one state-changing route) is knocked on.

``seeded_template`` builds the shop of ``tests.factories.shop.seed_shop`` (the test county, a catalogue,
stock, a shift open in store1 and store2) once per database and module, plus a community user of another
street's community (``community2``); each test then gets its own copy of it (a copied SQLite file, or ``CREATE
DATABASE … TEMPLATE`` on PostgreSQL), so a route that consumes state (closes a period, executes a plan) never
leaves it behind for the next one. A ``World`` is that copy, served in process over real HTTP.

``snapshot`` counts the rows of every table in one statement: equal snapshots before and after a request
mean it wrote nothing (the web sessions' and login throttle's tables and alembic's are left out: they are
not the books and a bearer-token request never touches them).
"""

from __future__ import annotations

import dataclasses
import os
import queue
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, inspect, text

from ledger.access.auth import create_user, issue_token
from ledger.app import create_app
from ledger.books.orgs import ensure_sub_account
from ledger.books.posting import Draft, Line, post_entries
from ledger.db.engine import make_engine, write_tx
from ledger.settings import Settings
from tests.factories.county import County
from tests.factories.databases import WORKER, admin_exec, pg_url
from tests.factories.shop import Shop, seed_shop
from tests.factories.statement_files import sample_bank_txns, write_bank_csv

NOT_THE_BOOKS = {"alembic_version", "web_login_failure", "statement_refusal"}  # notes beside the books


def not_the_books(table: str) -> bool:
    return table in NOT_THE_BOOKS or table.startswith("web_session")


class Dropper:
    """Drops PostgreSQL databases on a thread of its own. A DROP DATABASE waits for a checkpoint (seconds
    on a busy machine), which would otherwise double the run; here it overlaps the next tests."""

    def __init__(self) -> None:
        self.names: queue.Queue[str | None] = queue.Queue()
        self.failures: list[str] = []
        self.thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (name := self.names.get()) is not None:
            try:
                admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            except psycopg.Error as exc:
                self.failures.append(f"{name}: {exc}")

    def drop(self, name: str) -> None:
        self.names.put(name)

    def close(self) -> None:
        self.names.put(None)
        self.thread.join()
        assert not self.failures, f"databases left behind: {self.failures}"


@dataclass
class Template:
    """A seeded database to copy: a file (SQLite) or a template database name (PostgreSQL)."""

    kind: str
    source: str
    county: County
    shop: Shop
    dropper: Dropper | None = None  # PostgreSQL: drops each test's copy while the next test runs


def seed(engine: Engine) -> Shop:
    shop = seed_shop(engine)
    county = shop.county
    with write_tx(engine) as conn:
        county.user_ids["community2"] = create_user(
            conn,
            username="community2",
            password="correct horse battery",
            role="community",
            scope_org_id=county.ids["hongxingqiao"],
        )
        county.tokens["community2"] = issue_token(conn, county.user_ids["community2"], "test")
    return shop


def build_template(kind: str, tmp: Path, request: Any) -> Iterator[Template]:
    if kind == "sqlite":
        path = tmp / "seeded.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        shop = seed(engine)
        engine.dispose()
        yield Template(kind, str(path), shop.county, shop)
        return
    base = request.getfixturevalue("pg_template")
    name = f"cunshe_doors_{WORKER}_{os.getpid()}"
    admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin_exec(f"CREATE DATABASE {name} TEMPLATE {base} STRATEGY FILE_COPY")
    engine = make_engine(pg_url(name))
    shop = seed(engine)
    engine.dispose()
    template = Template(kind, name, shop.county, shop, Dropper())
    yield template
    assert template.dropper is not None
    template.dropper.close()
    admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def copy_of(template: Template, tmp: Path) -> Iterator[Engine]:
    if template.kind == "sqlite":
        path = tmp / f"books-{uuid.uuid4().hex[:8]}.db"
        shutil.copy(template.source, path)
        engine = make_engine(f"sqlite:///{path}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    name = f"cunshe_door_{WORKER}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    # WAL_LOG: a small database copies in tens of milliseconds; FILE_COPY checkpoints twice per copy
    admin_exec(f"CREATE DATABASE {name} TEMPLATE {template.source} STRATEGY WAL_LOG")
    engine = make_engine(pg_url(name))
    try:
        yield engine
    finally:
        engine.dispose()
        assert template.dropper is not None
        template.dropper.drop(name)


NO_BODY = object()


@dataclass
class Req:
    """One HTTP request to a door: a concrete path, and a JSON body, query, or multipart form."""

    method: str
    path: str
    json: Any = NO_BODY
    params: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    data: dict[str, str] | None = None


@dataclass
class World:
    """One test's copy of the seeded county, with the app serving it."""

    engine: Engine
    client: TestClient
    county: County
    shop: Shop
    tmp: Path
    tables: list[str] = field(default_factory=list)

    @property
    def ids(self) -> dict[str, int]:
        return self.county.ids

    @property
    def stores(self) -> dict[str, int]:
        return self.county.stores

    def send(self, who: str, req: Req, key: str | None = None) -> httpx.Response:
        headers = self.county.auth(who)
        if key is not None:
            headers["Idempotency-Key"] = key
        kwargs: dict[str, Any] = {"params": req.params, "headers": headers}
        if req.json is not NO_BODY:
            kwargs["json"] = req.json
        if req.files is not None:
            kwargs["files"] = req.files
            kwargs["data"] = req.data
        return self.client.request(req.method, req.path, **kwargs)

    def ok(self, who: str, method: str, path: str, **kwargs: Any) -> Any:
        """A prerequisite written through the API: it must succeed, or the fixture is wrong."""
        r = self.send(who, Req(method, path, **kwargs))
        assert 200 <= r.status_code < 300, f"prerequisite {method} {path}: {r.status_code} {r.text[:400]}"
        return r.json()

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with write_tx(self.engine) as conn:
            yield conn

    def snapshot(self) -> dict[str, int]:
        """Rows per table, in one statement."""
        if not self.tables:
            names = inspect(self.engine).get_table_names()
            self.tables = sorted(t for t in names if not not_the_books(t))
        sql = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM {t}" for t in self.tables)
        with self.engine.connect() as conn:
            return {name: int(n) for name, n in conn.execute(text(sql))}


@contextmanager
def world_of(template: Template, tmp: Path) -> Iterator[World]:
    with copy_of(template, tmp) as engine:
        app = create_app(Settings(database_url=engine.url.render_as_string(False)), engine=engine)
        with TestClient(app, raise_server_exceptions=False) as client:
            county = dataclasses.replace(template.county, engine=engine)
            shop = dataclasses.replace(template.shop, county=county)
            yield World(engine, client, county, shop, tmp)


def written(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Tables whose row count changed, and by how much."""
    return {t: after[t] - before[t] for t in after if after[t] != before.get(t)}


def api(path: str) -> str:
    return "/api/v1" + path


def lease(w: World, org: int | None = None, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "HT-2025-001",
        "mode": "lease",
        "lessee": "张三",
        "start": "2025-01-01",
        "end": "2027-12-31",
        "rent_per_cycle": "1000.00",
        "deposit": "2000.00",
    }
    body.update(over)
    return w.ok("officer", "POST", api(f"/orgs/{org or w.ids['dingzikou']}/leases"), json=body)


def company_bank(w: World) -> tuple[int, int]:
    """The company's bank books for March 2024 and a statement account with days 1–3 uploaded
    (three settlements, one supplier payment, three fees; tests/reconcile/test_reconcile_api.py)."""
    org = w.ids["company"]
    with w.tx() as conn:
        ensure_sub_account(conn, org, "1012", "101201", "微信")
        post_entries(
            conn,
            [
                Draft(
                    org,
                    date(2024, 2, 29),
                    "期初",
                    [Line("1002", debit_fen=5000000), Line("3001", credit_fen=5000000)],
                ),
                Draft(
                    org,
                    date(2024, 3, 3),
                    "付货款 030100771420",
                    [Line("2202", debit_fen=1234867), Line("1002", credit_fen=1234867)],
                ),
            ],
        )
    account = w.ok(
        "officer",
        "POST",
        api(f"/orgs/{org}/statement-accounts"),
        json={"ledger_account": "1002", "kind": "bank", "name": "建行基本户"},
    )["id"]
    path = write_bank_csv(w.tmp / f"bank-{account}.csv", sample_bank_txns(range(1, 4)))
    w.ok(
        "officer",
        "POST",
        api(f"/orgs/{org}/statements"),
        files={"file": (path.name, path.read_bytes(), "text/csv")},
        data={"account": str(account)},
    )
    return org, account


def proposed_match(w: World) -> tuple[int, int]:
    org, account = company_bank(w)
    w.ok(
        "officer",
        "POST",
        api(f"/orgs/{org}/reconcile/propose"),
        params={"account": account, "period": "2024-03"},
    )
    matches = w.ok(
        "officer",
        "GET",
        api(f"/orgs/{org}/reconcile/matches"),
        params={"account": account, "status": "proposed"},
    )
    return org, matches[0]["id"]
