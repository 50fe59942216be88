"""Fixtures: every database test runs twice, on a real SQLite file and on a real PostgreSQL database.

The schema is migrated once per session into a template (a SQLite file; a PostgreSQL template database),
and each test gets a fresh copy: a copied file, or ``CREATE DATABASE … TEMPLATE``. Under ``CI=true`` an
unreachable PostgreSQL fails the run instead of skipping; elsewhere its tests are skipped with a reason.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
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
from ledger.access.signing_key import ensure_key_file, load_key, record_public_key
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
    named by CUNSHE_SECRET_FILE for every app and every ``cunshe serve`` the tests start (they inherit it).

    Under xdist the controller writes them before it starts the workers, which inherit its environment and
    keep them (``CUNSHE_TEST_KEYS`` names the controller): the workers are one installation, so the demo
    county one worker builds (``demo_county``) carries checkpoints every worker trusts. Its keyring is
    written here too, so no two workers' first closes write it at once."""
    os.environ.pop("CUNSHE_SECRET_KEY", None)
    os.environ.pop("CUNSHE_DEV_MODE", None)
    if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("CUNSHE_TEST_KEYS") == str(os.getppid()):
        return
    secret_file = Path(tempfile.mkdtemp(prefix="cunshe-test-secret-")) / "session.secret"
    ensure_secret_file(secret_file)
    os.environ["CUNSHE_SECRET_FILE"] = str(secret_file)
    # The checkpoint signing key the same way (month closes refuse without one).
    key_file = secret_file.with_name("checkpoints.signing-key")
    ensure_key_file(key_file)
    os.environ["CUNSHE_SIGNING_KEY_FILE"] = str(key_file)
    record_public_key(key_file.with_name(key_file.name + ".pub"), load_key(key_file))
    os.environ["CUNSHE_TEST_KEYS"] = str(os.getpid())


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


def _build_demo_county(home: Path) -> list[str]:
    """``cunshe demo`` into ``home/cunshe.db`` (statement files in ``home/demo-statements``); its notes."""
    from ledger.demo.build import build_demo

    engine = make_engine(f"sqlite:///{home / 'cunshe.db'}")
    upgrade(engine)
    result = build_demo(engine, year=2025, seed=2025, statements_dir=home / "demo-statements")
    engine.dispose()
    return result.notes


@pytest.fixture(scope="session")
def demo_county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoCounty]:
    """Built once per run: under xdist each worker has its own session, so the workers share one build
    in the run's base directory (``demo-county-shared``, beside the workers' own): the first to ask builds
    it while holding a lock, the others wait for it, and each works on its own copy of the database and
    the statement files (the tests and the README's walk-through write to them). The workers sign with the
    same checkpoint key (``pytest_configure``), so the copy's checkpoints are the installation's."""
    home = tmp_path_factory.mktemp("demo-county")
    if "PYTEST_XDIST_WORKER" not in os.environ:
        notes = _build_demo_county(home)
    else:
        shared = tmp_path_factory.getbasetemp().parent / "demo-county-shared"
        shared.mkdir(exist_ok=True)
        with open(shared / "build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the worker dies
            if not (shared / "notes.json").exists():
                notes = _build_demo_county(shared)
                (shared / "notes.json").write_text(json.dumps(notes), encoding="utf-8")  # written last
        notes = json.loads((shared / "notes.json").read_text(encoding="utf-8"))
        source = sqlite3.connect(f"file:{shared / 'cunshe.db'}?mode=ro", uri=True)
        with closing(source), closing(sqlite3.connect(home / "cunshe.db")) as copy:
            source.backup(copy)
        shutil.copytree(shared / "demo-statements", home / "demo-statements")
    url = f"sqlite:///{home / 'cunshe.db'}"
    engine = make_engine(url)
    yield DemoCounty(engine, url, home, notes)
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
