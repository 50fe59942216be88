"""Fixtures: every database test runs twice, on a real SQLite file and on a real PostgreSQL database.

The schema is migrated once per session into a template (a SQLite file; a PostgreSQL template database),
and each test gets a fresh copy: a copied file, or ``CREATE DATABASE … TEMPLATE``. Under ``CI=true`` an
unreachable PostgreSQL fails the run instead of skipping; elsewhere its tests are skipped with a reason.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Cheap password hashing for tests only (the product's defaults are argon2id t=3, m=64 MiB).
os.environ.setdefault("CUNSHE_ARGON2_TIME_COST", "1")
os.environ.setdefault("CUNSHE_ARGON2_MEMORY_KIB", "1024")
# Refused logins answered at once (the product waits a second: tests/web/test_login_limits.py checks
# the wait).
os.environ.setdefault("CUNSHE_LOGIN_REFUSAL_DELAY_SECONDS", "0")

import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine

from ledger.access.auth import create_user, issue_token
from ledger.access.secrets import ensure_secret_file
from ledger.access.signing_key import ensure_key_file
from ledger.app import create_app
from ledger.books.orgs import create_org, create_store
from ledger.db.engine import make_engine, write_tx
from ledger.db.migrate import upgrade
from ledger.settings import Settings
from ledger.workflows import start as start_workflows

start_workflows()
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile("ci")

PG_HOST = os.environ.get("CUNSHE_TEST_PG_HOST", "127.0.0.1")
PG_ADMIN = f"postgresql://postgres@{PG_HOST}:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_counter = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    """The session secret comes the product's way: a file written by the function ``cunshe init`` uses,
    named by CUNSHE_SECRET_FILE for every app and every ``cunshe serve`` the tests start (they inherit it)."""
    secret_file = Path(tempfile.mkdtemp(prefix="cunshe-test-secret-")) / "session.secret"
    ensure_secret_file(secret_file)
    os.environ["CUNSHE_SECRET_FILE"] = str(secret_file)
    # The checkpoint signing key the same way (month closes refuse without one).
    key_file = secret_file.with_name("checkpoints.signing-key")
    ensure_key_file(key_file)
    os.environ["CUNSHE_SIGNING_KEY_FILE"] = str(key_file)
    os.environ.pop("CUNSHE_SECRET_KEY", None)
    os.environ.pop("CUNSHE_DEV_MODE", None)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--seed", type=int, default=None, help="replay one seed of the deterministic simulation")


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


def pg_url(dbname: str) -> str:
    return f"postgresql+psycopg://postgres@{PG_HOST}:5432/{dbname}"


def _admin_exec(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    problem = _pg_reachable()
    if problem is not None:
        message = f"PostgreSQL at {PG_HOST}:5432 is unreachable: {problem}"
        if IN_CI:
            pytest.fail(message + " (CI requires it)")
        pytest.skip(message)
    name = f"cunshe_tpl_{WORKER}_{os.getpid()}"
    _admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _admin_exec(f"CREATE DATABASE {name}")
    engine = make_engine(pg_url(name))
    upgrade(engine)
    engine.dispose()
    yield name
    _admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def fresh_engine(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if kind == "sqlite":
        path = tmp_path / "books.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    template = request.getfixturevalue("pg_template")
    name = f"cunshe_t_{WORKER}_{os.getpid()}_{next(_counter)}"
    _admin_exec(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
    engine = make_engine(pg_url(name))
    yield engine
    engine.dispose()
    _admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A freshly migrated, empty database: a real SQLite file, or a real PostgreSQL database."""
    yield from fresh_engine(request.param, request, tmp_path)


@dataclass
class County:
    """A small county: two streets, communities, a village, a company with two stores, and users."""

    engine: Engine
    ids: dict[str, int] = field(default_factory=dict)
    stores: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def build_county(engine: Engine, *, users: bool = True) -> County:
    c = County(engine)
    with write_tx(engine) as conn:
        c.ids["county"] = create_org(conn, code="yanhe", name="沿河县", kind="county")
        c.ids["heping"] = create_org(
            conn, code="heping", name="和平街道", kind="street", parent_id=c.ids["county"]
        )
        c.ids["tuanjie"] = create_org(
            conn, code="tuanjie", name="团结街道", kind="street", parent_id=c.ids["county"]
        )
        c.ids["dingzikou"] = create_org(
            conn, code="dingzikou", name="丁字口社区", kind="community", parent_id=c.ids["heping"]
        )
        c.ids["huahuaqiao"] = create_org(
            conn, code="huahuaqiao", name="花花桥社区", kind="community", parent_id=c.ids["heping"]
        )
        c.ids["hongxingqiao"] = create_org(
            conn, code="hongxingqiao", name="红星桥社区", kind="community", parent_id=c.ids["tuanjie"]
        )
        c.ids["village1"] = create_org(
            conn, code="village1", name="示范村一", kind="village", parent_id=c.ids["heping"]
        )
        c.ids["company"] = create_org(
            conn,
            code="heping-co",
            name="和平街道村社合股联营集体经济公司",
            kind="company",
            parent_id=c.ids["heping"],
            registered_capital_fen=100_000_000,
        )
        c.ids["company2"] = create_org(
            conn,
            code="tuanjie-co",
            name="团结街道村社合股联营集体经济公司",
            kind="company",
            parent_id=c.ids["tuanjie"],
        )
        c.stores["store1"] = create_store(
            conn, company_id=c.ids["company"], code="store1", name="村社联动超市一号店"
        )
        c.stores["store2"] = create_store(
            conn, company_id=c.ids["company"], code="store2", name="村社联动超市二号店"
        )
        c.stores["store3"] = create_store(
            conn, company_id=c.ids["company2"], code="store3", name="村社联动超市三号店"
        )
        user_specs = {
            "admin": dict(role="admin"),
            "officer": dict(role="officer", scope_org_id=c.ids["heping"]),
            "officer_tuanjie": dict(role="officer", scope_org_id=c.ids["tuanjie"]),
            "community": dict(role="community", scope_org_id=c.ids["dingzikou"]),
            "cashier": dict(role="cashier", scope_store_id=c.stores["store1"]),
            "cashier2": dict(role="cashier", scope_store_id=c.stores["store2"]),
        }
        for name, kw in user_specs.items() if users else ():
            c.user_ids[name] = create_user(conn, username=name, password="correct horse battery", **kw)
            c.tokens[name] = issue_token(conn, c.user_ids[name], "test")
    return c


@pytest.fixture
def county(engine: Engine) -> County:
    return build_county(engine)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=str(engine.url)), engine=engine)
    with TestClient(app, raise_server_exceptions=False) as tc:
        yield tc


@dataclass
class DemoCounty:
    """The demo county, built once per test session at full scale on SQLite (``cunshe demo`` as ``make run``
    runs it), with the officer's statement files in ``home/demo-statements``."""

    engine: Engine
    url: str
    home: Path
    notes: list[str]


@pytest.fixture(scope="session")
def demo_county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoCounty]:
    from ledger.demo.build import build_demo

    home = tmp_path_factory.mktemp("demo-county")
    url = f"sqlite:///{home / 'cunshe.db'}"
    engine = make_engine(url)
    upgrade(engine)
    result = build_demo(engine, year=2025, seed=2025, statements_dir=home / "demo-statements")
    yield DemoCounty(engine, url, home, result.notes)
    engine.dispose()
