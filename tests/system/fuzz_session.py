"""A randomised, time-bounded Schemathesis session against the real server, on SQLite or PostgreSQL.

    python -m tests.system.fuzz_session --db sqlite --seconds 300           # a new random seed, printed
    python -m tests.system.fuzz_session --db postgresql --seconds 300 --seed 1234  # replay a seed
    python -m tests.system.fuzz_session --db sqlite --demo 0.05             # the demo county (5 % of a year)

``make fuzz`` runs it on both databases; ``tests/system/test_fuzz_server.py`` runs a short one in CI. A fresh
database is migrated and seeded with the test county and a shop (``tests.factories.shop.seed_shop``) or
with the demo county (``--demo``), ``cunshe serve`` runs on a loopback port, and the session draws (operation,
role) pairs from the app's own OpenAPI at random until its time is up, each with a few examples generated from
a seed derived from the session's seed (so a seed replays the same requests in the same order, as far as the
time allows). Generated ids (in the path and the body) are mostly steered onto real ones, read from the seeded
tables, so requests reach the routes' rules; a body id is sometimes one that does not exist (a 404/422, never
a foreign-key 500). The admin also gets negative data (wrong types, missing fields). Each response must:

- not be a 5xx, and come within ``HANG_SECONDS`` (a slower answer is reported as a hang);
- match the response schema the OpenAPI declares for its status; a 4xx must be the one error shape.

Afterwards ``cunshe verify`` must pass on the database. The summary names the operations covered, the
requests sent and their statuses; each failure is printed with the seed and a curl line to replay it.
Exit status 1 when anything failed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from ledger.books import county_time
from ledger.db.engine import make_engine
from ledger.db.migrate import upgrade
from tests.factories.servers import Server, cunshe_verify, entry_body, is_error_shape, new_key, sale_body
from tests.factories.shop import seed_shop

HANG_SECONDS = 15.0
"""An answer slower than this is a hang (the slowest honest request, a county PDF, takes a few seconds)."""
EXAMPLES_PER_DRAW = 8
ROLES: tuple[str | None, ...] = ("admin", "admin", "officer", "community", "cashier", None)
CHECKS = [not_a_server_error, response_schema_conformance]
PG_ADMIN = f"postgresql://postgres@{os.environ.get('CUNSHE_TEST_PG_HOST', '127.0.0.1')}:5432/postgres"


@dataclass
class Outcome:
    seed: int
    db: str
    requests: int = 0
    draws: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    operations: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    verify: str = ""
    total_operations: int = 0
    generator_errors: Counter[str] = field(default_factory=Counter)
    stateful_requests: int = 0
    stateful_operations: set[str] = field(default_factory=set)
    stateful_runs: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures and self.verify.startswith("verify: every")

    def summary(self) -> str:
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        lines = [
            f"fuzz {self.db} seed {self.seed}: {self.requests} requests in {self.draws} draws over "
            f"{len(self.operations)} of {self.total_operations} operations; statuses {statuses}",
            f"  stateful (OpenAPI links): {self.stateful_requests} requests in {self.stateful_runs} runs "
            f"over {len(self.stateful_operations)} operations",
            f"  {self.verify.strip() or 'verify did not run'}",
        ]
        for problem, n in self.generator_errors.most_common(5):
            lines.append(f"  (the generator, not the server: {n} × {problem})")
        if self.failures:
            lines.append(f"  {len(self.failures)} FAILURE(S); replay with --seed {self.seed}:")
            lines += [f"  - {f}" for f in self.failures[:30]]
        return "\n".join(lines)


def free_loopback_port() -> int:
    """A free port in 8100–8199 (the range kept for helpers' servers), else any free one."""
    for port in random.sample(range(8100, 8200), 100):
        with socket.socket() as s, contextlib.suppress(OSError):
            s.bind(("127.0.0.1", port))
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'fuzz.db'}"
        return
    name = f"cunshe_fuzz_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://postgres@{PG_ADMIN.split('@', 1)[1].rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def seed_books(database_url: str) -> dict[str | None, dict[str, str]]:
    """The test county and shop, two sales and an entry; the headers of each role."""
    from fastapi.testclient import TestClient

    from ledger.app import create_app
    from ledger.settings import Settings

    engine = make_engine(database_url)
    upgrade(engine)
    shop = seed_shop(engine)
    county = shop.county
    app = create_app(Settings(database_url=database_url), engine=engine)
    with TestClient(app) as client:
        for n, cashier in enumerate(("cashier", "cashier2")):
            body = {**sale_body(shop, cashier, n), "idempotency_key": new_key("fuzz")}
            r = client.post("/api/v1/pos/sales", json=body, headers=county.auth(cashier))
            assert r.status_code == 201, r.text
        r = client.post(
            f"/api/v1/orgs/{shop.company}/entries", json=entry_body(1), headers=county.auth("admin")
        )
        assert r.status_code == 201, r.text
    engine.dispose()
    return {role: county.auth(role) for role in ("admin", "officer", "community", "cashier")} | {None: {}}


def seed_demo(database_url: str, scale: float) -> dict[str | None, dict[str, str]]:
    """The demo county (``cunshe demo`` at ``scale`` of a year's activity); the headers of each role."""
    from ledger.demo.build import build_demo

    engine = make_engine(database_url)
    upgrade(engine)
    tree = build_demo(engine, year=county_time.today().year - 1, seed=2025, scale=scale).tree
    engine.dispose()
    first = {role: username for role, username, _ in reversed(tree.logins)}
    return {
        role: {"Authorization": f"Bearer {tree.tokens[first[role]]}"}
        for role in ("admin", "officer", "community", "cashier")
    } | {None: {}}


# Path parameter → the table whose ids it names (a few of each are read after seeding).
ID_TABLES = {
    "org_id": "org",
    "street_id": "org",
    "village_id": "org",
    "store_id": "store",
    "shift_id": "pos_shift",
    "sale_id": "pos_sale",
    "entry_id": "journal_entry",
    "contract_id": "lease_contract",
    "plan_id": "distribution_plan",
    "post_id": "welfare_post",
    "match_id": "reconcile_match",
    "customer_id": "pos_customer",
    "asset_id": "community_asset",
    "deal_id": "brokerage_deal",
    "holding_id": "shareholding",
    "account_id": "statement_account",
    "line_id": "statement_line",
    "counterparty_id": "counterparty",
    "lessee_id": "counterparty",
}


def steering_ids(database_url: str) -> dict[str, list[Any]]:
    """Real ids (the first and last few of each table), periods, years and report names."""
    from sqlalchemy import text

    from ledger.db.engine import read_tx

    engine = make_engine(database_url)
    ids: dict[str, list[Any]] = {}
    with read_tx(engine) as conn:
        for name, table in ID_TABLES.items():
            found = conn.execute(text(f"SELECT id FROM {table} ORDER BY id")).scalars().all()
            ids[name] = sorted({*found[:6], *found[-6:]}) if found else []
    engine.dispose()
    now = datetime.now(UTC)
    return ids | {
        "year": [now.year, now.year - 1],
        "quarter": [1, 4],
        "period": [now.strftime("%Y-%m"), f"{now.year - 1}-12", f"{now.year - 1}-03"],
        "code": ["5602", "1002", "102"],
        "name": ["trial-balance", "balance-sheet", "vouchers", "channel-sales", "arrears", "brokerage"],
        "fmt": ["json", "html"],
    }


MISSING_ID = 987_654
"""An id nothing has: a request naming it must be a 404/422 naming the field, never a foreign-key 500."""


def steer_body_ids(body: dict[str, Any], ids: dict[str, list[Any]], data: st.DataObject) -> None:
    """Put real ids (or one that does not exist) where a body names an org, store, shift … by id."""
    for key, value in list(body.items()):
        if isinstance(value, dict):
            steer_body_ids(value, ids, data)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    steer_body_ids(item, ids, data)
        elif key.endswith("_id") and type(value) is int:
            kind = "org_id" if key.endswith("org_id") else "store_id" if key.endswith("store_id") else key
            pool = ids.get(kind) or [1, 2, 3]
            body[key] = data.draw(st.sampled_from([*pool, MISSING_ID]))


def operations(schema: Any) -> list[tuple[str, str]]:
    methods = ("get", "put", "post", "patch", "delete")
    raw = schema.raw_schema["paths"]
    return [(m.upper(), path) for path, item in raw.items() for m in methods if m in item]


def fuzz(
    schema: Any,
    base_url: str,
    auth: dict[str | None, dict[str, str]],
    ids: dict[str, list[Any]],
    out: Outcome,
    seconds: float,
) -> None:
    rng = random.Random(out.seed)
    ops = operations(schema)
    deadline = time.monotonic() + seconds
    http = requests.Session()
    while time.monotonic() < deadline:
        method, path = rng.choice(ops)
        role = rng.choice(ROLES)
        draw_seed = rng.getrandbits(64)
        operation = schema[path][method]
        strategy = operation.as_strategy(GenerationMode.POSITIVE)
        if role == "admin":
            strategy = st.one_of(strategy, operation.as_strategy(GenerationMode.NEGATIVE))
        out.draws += 1
        draw(strategy, f"{method} {path}", role, base_url, http, ids, auth[role], out, deadline, draw_seed)


def draw(
    strategy: Any,
    operation: str,
    role: str | None,
    base_url: str,
    http: requests.Session,
    ids: dict[str, list[Any]],
    headers: dict[str, str],
    out: Outcome,
    deadline: float,
    draw_seed: int,
) -> None:
    """A few examples of one operation as one role."""
    label = f"{operation} as {role or 'anonymous'}"

    @hypothesis_seed(draw_seed)
    @settings(
        max_examples=EXAMPLES_PER_DRAW,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        if time.monotonic() > deadline:
            return
        for name, value in list((case.path_parameters or {}).items()):
            pool = ids.get(name)
            if pool and type(value) is type(pool[0]) and data.draw(st.integers(0, 3)) > 0:
                case.path_parameters[name] = data.draw(st.sampled_from(pool))
        if isinstance(case.body, dict) and data.draw(st.booleans()):
            steer_body_ids(case.body, ids, data)
        started = time.monotonic()
        try:
            response = case.call(base_url=base_url, session=http, headers=headers, timeout=HANG_SECONDS)
        except requests.Timeout:
            out.failures.append(f"HANG (> {HANG_SECONDS:.0f} s) {label}: {case.as_curl_command(headers)}")
            return
        except requests.ConnectionError as exc:
            out.failures.append(f"NO ANSWER {label}: {exc!s:.200} {case.as_curl_command(headers)}")
            return
        check(case, response, operation, label, headers, out, time.monotonic() - started)

    try:
        run()
    except Exception as exc:  # the generator's own trouble (an unsatisfiable schema …), not the server's
        out.generator_errors[f"{operation}: {type(exc).__name__}: {str(exc)[:120]}"] += 1


def check(
    case: Any, response: Any, operation: str, label: str, headers: dict[str, str], out: Outcome, took: float
) -> None:
    """Count one answer and record it as a failure if it is a 5xx, off its schema or off the error shape."""
    out.requests += 1
    out.operations.add(operation)
    out.statuses[response.status_code] += 1
    problem = ""
    try:
        case.validate_response(response, checks=CHECKS)
    except Exception as exc:  # a failed check: 5xx or schema violation
        problem = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    if not problem and 400 <= response.status_code < 500:
        with contextlib.suppress(ValueError):
            if not is_error_shape(response.json()):
                problem = f"{response.status_code} not in the error shape: {response.text[:200]}"
    if problem:
        curl = case.as_curl_command(headers)
        out.failures.append(f"{response.status_code} {label} ({took:.1f} s): {problem}\n    {curl}")


STATEFUL_SHARE = 0.25
"""The part of a session's time given to the stateful phase (the rest draws operations at random)."""
STATEFUL_ROLES = ("admin", "officer", "cashier")
"""Who runs a stateful scenario: people whose creates succeed, so the links carry real ids onward."""


class _Stop(Exception):
    """The session's time is up (or the server did not answer): end the scenario, not the session."""


def stateful(
    schema: Any, base_url: str, auth: dict[str | None, dict[str, str]], out: Outcome, seconds: float
) -> None:
    """Schemathesis' state machine over the OpenAPI links (``ledger.api.links``, and the ones it infers):
    scenarios of a few steps where a create's answer feeds the next operation's ids (a statement account →
    its imports, a contract → renew/terminate, a plan → approve/execute, a sale → its refund). Each answer
    is checked as in the random phase; a failure is recorded, not shrunk (shrinking would re-send writes)."""
    from hypothesis.errors import Flaky
    from hypothesis.stateful import run_state_machine_as_test

    rng = random.Random(out.seed ^ 0x5EED)
    deadline = time.monotonic() + seconds
    http = requests.Session()
    base = schema.as_state_machine()

    def machine_for(role: str, headers: dict[str, str]) -> Any:
        class Machine(base):  # type: ignore[misc, valid-type]
            def get_call_kwargs(self, case: Any) -> dict[str, Any]:
                return {"base_url": base_url, "session": http, "headers": headers, "timeout": HANG_SECONDS}

            def call(self, case: Any, **kwargs: Any) -> Any:
                if time.monotonic() > deadline:
                    raise _Stop
                operation = f"{case.method.upper()} {case.path}"
                label = f"{operation} as {role} (stateful)"
                started = time.monotonic()
                try:
                    response = case.call(**kwargs)
                except requests.Timeout:
                    curl = case.as_curl_command(headers)
                    out.failures.append(f"HANG (> {HANG_SECONDS:.0f} s) {label}: {curl}")
                    raise _Stop from None
                except requests.ConnectionError as exc:
                    out.failures.append(f"NO ANSWER {label}: {exc!s:.200} {case.as_curl_command(headers)}")
                    raise _Stop from None
                out.stateful_requests += 1
                out.stateful_operations.add(operation)
                check(case, response, operation, label, headers, out, time.monotonic() - started)
                return response

            def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
                return None  # checked in ``call``, recorded rather than raised

        return Machine

    while time.monotonic() < deadline:
        role = rng.choice(STATEFUL_ROLES)
        Machine = machine_for(role, auth[role])
        out.stateful_runs += 1
        try:
            run_state_machine_as_test(
                hypothesis_seed(rng.getrandbits(64))(Machine),  # a seed replays the same scenarios
                settings=settings(
                    max_examples=3,
                    stateful_step_count=6,
                    deadline=None,
                    database=None,
                    phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                ),
            )
        except (_Stop, Flaky):
            continue
        except Exception as exc:  # the generator's own trouble, not the server's
            out.generator_errors[f"stateful: {type(exc).__name__}: {str(exc)[:120]}"] += 1


def session(db: str, seconds: float, seed: int | None, workdir: Path, demo: float | None = None) -> Outcome:
    out = Outcome(seed if seed is not None else random.SystemRandom().getrandbits(32), db)
    books = "the test county" if demo is None else f"the demo county at scale {demo}"
    print(f"fuzz {db} on {books}: seed {out.seed}, {seconds:.0f} s", flush=True)
    with fresh_database(db, workdir) as url:
        auth = seed_books(url) if demo is None else seed_demo(url, demo)
        ids = steering_ids(url)
        server = Server(url, workdir / f"server-{db}.log", port=free_loopback_port())
        server.start()
        try:
            schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
            out.total_operations = len(operations(schema))
            fuzz(schema, server.base_url, auth, ids, out, seconds * (1 - STATEFUL_SHARE))
            stateful(schema, server.base_url, auth, out, seconds * STATEFUL_SHARE)
        finally:
            server.stop()
        code, text = cunshe_verify(url)
        out.verify = text if code == 0 else f"VERIFY FAILED ({code}): {text}"
        if "Traceback" in server.log_text():
            out.failures.append(f"the server logged a traceback: see {server.log_path}")
    print(out.summary(), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--demo", type=float, default=None, metavar="SCALE", help="fuzz the demo county (0.05: 5%% of a year)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (server logs)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="cunshe-fuzz-"))
    # Outside pytest (make fuzz) the server still needs what `cunshe init` makes: the session secret, and
    # the checkpoint signing key without which a month close is refused.
    from ledger.access.secrets import ensure_secret_file
    from ledger.access.signing_key import ensure_key_file

    if "CUNSHE_SECRET_FILE" not in os.environ and "CUNSHE_SECRET_KEY" not in os.environ:
        ensure_secret_file(workdir / "fuzz.secret")
        os.environ["CUNSHE_SECRET_FILE"] = str(workdir / "fuzz.secret")
    if "CUNSHE_SIGNING_KEY_FILE" not in os.environ:
        ensure_key_file(workdir / "fuzz.signing-key")
        os.environ["CUNSHE_SIGNING_KEY_FILE"] = str(workdir / "fuzz.signing-key")
    ok = True
    try:
        for db in args.db or ["sqlite", "postgresql"]:
            ok &= session(db, args.seconds, args.seed, workdir, args.demo).ok
    finally:
        if args.keep or not ok:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
