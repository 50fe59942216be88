"""Fixtures: every database test runs twice, on a real SQLite file and on a real PostgreSQL database.

The schema is migrated once per session into a template (a SQLite file; a PostgreSQL template database),
and each test gets a fresh copy: a copied file, or ``CREATE DATABASE … TEMPLATE``. Under ``CI=true`` an
unreachable PostgreSQL fails the run instead of skipping; elsewhere its tests are skipped with a reason.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Cheap password hashing for tests only (the product's defaults are argon2id t=3, m=64 MiB).
os.environ.setdefault("CUNSHE_ARGON2_TIME_COST", "1")
os.environ.setdefault("CUNSHE_ARGON2_MEMORY_KIB", "1024")
# Refused logins answered at once (the product waits a second: tests/web/test_login_limits.py checks
# the wait).
os.environ.setdefault("CUNSHE_LOGIN_REFUSAL_DELAY_SECONDS", "0")

from datetime import date

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine

from ledger.access.secrets import ensure_secret_file
from ledger.access.signing_key import ensure_key_file
from ledger.app import create_app
from ledger.books.orgs import add_sub_account
from ledger.books.posting import Draft, Line, post_entry
from ledger.db.engine import make_engine, write_tx
from ledger.db.migrate import upgrade
from ledger.settings import Settings
from ledger.workflows import start as start_workflows
from tests.factories.county import County, DemoCounty, build_county
from tests.factories.databases import IN_CI, PG_HOST, WORKER, admin_exec, fresh_engine, pg_problem, pg_url

start_workflows()
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile("ci")


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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    problem = pg_problem()
    if problem is not None:
        message = f"PostgreSQL at {PG_HOST}:5432 is unreachable: {problem}"
        if IN_CI:
            pytest.fail(message + " (CI requires it)")
        pytest.skip(message)
    name = f"cunshe_tpl_{WORKER}_{os.getpid()}"
    admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin_exec(f"CREATE DATABASE {name}")
    engine = make_engine(pg_url(name))
    upgrade(engine)
    engine.dispose()
    yield name
    admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A freshly migrated, empty database: a real SQLite file, or a real PostgreSQL database."""
    yield from fresh_engine(request.param, request, tmp_path)


@pytest.fixture
def county(engine: Engine) -> County:
    return build_county(engine)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=str(engine.url)), engine=engine)
    with TestClient(app, raise_server_exceptions=False) as tc:
        yield tc


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


@pytest.fixture
def books_2025(county: County) -> County:
    """丁字口社区's books begin in 2025: one entry posted on 2025-03-05 (门面租金)."""
    with write_tx(county.engine) as conn:
        post_entry(
            conn,
            Draft(
                org_id=county.ids["dingzikou"],
                entry_date=date(2025, 3, 5),
                memo="门面租金",
                lines=[Line(account="102", debit_fen=300_000), Line(account="501", credit_fen=300_000)],
            ),
        )
    return county


@pytest.fixture
def sub_accounts(county: County) -> County:
    """The county with 501's sub-accounts (50101 商品销售收入, 50102 租赁收入, 50103 居间服务收入) at 丁字口,
    花花桥, 红星桥 and the village."""
    with write_tx(county.engine) as conn:
        for org in ("dingzikou", "huahuaqiao", "hongxingqiao", "village1"):
            add_sub_account(conn, county.ids[org], "501", "商品销售收入")  # 50101
            add_sub_account(conn, county.ids[org], "501", "租赁收入")  # 50102
            add_sub_account(conn, county.ids[org], "501", "居间服务收入")  # 50103
    return county
