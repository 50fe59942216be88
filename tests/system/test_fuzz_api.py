"""API fuzzing: Schemathesis generates requests for every operation of the app's own OpenAPI, as each role.

The app runs in process on a fresh SQLite file, then on a fresh PostgreSQL database, each holding the
test county, a catalogue, stock, an open shift per store, a few sales and an entry; generated path ids
are mostly steered onto those real ids, so requests get past "not found" into the routes' own rules.
Every response must:

- never be a 5xx (``not_a_server_error``): an unexpected exception or a raw database error is a bug;
- match the response schema the OpenAPI declares for its status (``response_schema_conformance``);
- when it is a 4xx, use the one error shape ``{"error": {"code", "message", "field"}}`` (DESIGN §10): the
  OpenAPI documents every 4xx as ``ErrorBody`` (``ledger.api.errors.document_errors``), and the test also
  checks the body itself.

Examples are few per operation and role (``EXAMPLES``; about a thousand in all), generated
deterministically (``derandomize``) and never shrunk, so the run is bounded for CI. The admin also gets
negative data (wrong types, missing fields) to prove the 422s; the other roles get valid data, which
their scope mostly refuses.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from ledger.app import create_app
from ledger.books import county_time
from ledger.db.engine import make_engine
from ledger.settings import Settings
from tests.factories.county import County
from tests.factories.databases import WORKER, admin_exec, pg_url
from tests.factories.servers import entry_body, is_error_shape, new_key, sale_body
from tests.factories.shop import Shop, seed_shop

# Examples per operation for each role (None: no credentials at all); a cashier's own routes get more.
EXAMPLES: dict[str | None, int] = {"admin": 4, "officer": 2, "community": 1, "cashier": 1, None: 1}
CASHIER_POS_EXAMPLES = 3
# A deeper run by hand: CUNSHE_FUZZ_SCALE=10 multiplies every budget above.
SCALE = float(os.environ.get("CUNSHE_FUZZ_SCALE", "1"))
CHECKS = [not_a_server_error, response_schema_conformance]

# Operations that fail for a reason not fixed here: label → reason (xfail, strict).
KNOWN_FAILING: dict[str, str] = {}


def operation_labels() -> list[str]:
    """Every operation of the app's OpenAPI, from an app that never touches a database."""
    app = create_app(Settings(database_url="sqlite://"), engine=make_engine("sqlite://"))
    spec = app.openapi()
    methods = ("get", "put", "post", "patch", "delete")
    return [f"{m.upper()} {path}" for path, item in spec["paths"].items() for m in methods if m in item]


LABELS = operation_labels()


@dataclass
class Target:
    """The app under test and the real ids generated paths are steered onto."""

    app: FastAPI
    schema: Any
    shop: Shop
    ids: dict[str, list[Any]] = field(default_factory=dict)
    tried: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The fuzzed app on a fresh SQLite file, then on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "books.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        template = request.getfixturevalue("pg_template")
        name = f"cunshe_fuzz_{WORKER}_{os.getpid()}"
        admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin_exec(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        url = pg_url(name)
    engine = make_engine(url)
    shop = seed_shop(engine)
    app = create_app(Settings(database_url=url), engine=engine)
    county = shop.county
    with TestClient(app) as client:
        sales = []
        for n, cashier in enumerate(("cashier", "cashier2")):
            r = client.post(
                "/api/v1/pos/sales",
                json={**sale_body(shop, cashier, n), "idempotency_key": new_key("fuzz")},
                headers=county.auth(cashier),
            )
            assert r.status_code == 201, r.text
            sales.append(r.json()["id"])
        r = client.post(
            f"/api/v1/orgs/{shop.company}/entries", json=entry_body(1), headers=county.auth("admin")
        )
        assert r.status_code == 201, r.text
        entry = r.json()["id"]
    orgs = sorted(county.ids.values())
    ids = {
        "org_id": orgs,
        "street_id": [county.ids["heping"], county.ids["tuanjie"]],
        "village_id": [county.ids["village1"], county.ids["dingzikou"]],
        "store_id": sorted(county.stores.values()),
        "shift_id": sorted(shop.shifts.values()),
        "sale_id": sales,
        "entry_id": [entry],
        "year": [county_time.today().year, 2025],
        "quarter": [1, 4],
        "period": [county_time.today().strftime("%Y-%m"), "2025-03"],
        "code": ["5602", "1002"],
        "name": ["trial-balance", "balance-sheet", "vouchers", "channel-sales"],
        "fmt": ["json", "html"],
    }
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    t = Target(app, schema, shop, ids)
    yield t
    total = sum(t.tried.values())
    print(
        f"\nfuzz {request.param}: {total} examples over {len(t.tried)} operation×role runs; "
        f"statuses {dict(t.statuses)}"
    )
    engine.dispose()
    if request.param == "postgresql":
        admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def steer(case: Any, ids: dict[str, list[Any]], data: st.DataObject) -> None:
    """Mostly put a real id (period, report name …) where the generator made one up (False, Hypothesis's
    first choice, steers; so the few examples of a CI run reach the routes' rules rather than a 404)."""
    for name, value in list((case.path_parameters or {}).items()):
        pool = ids.get(name)
        if pool and type(value) is type(pool[0]) and not data.draw(st.booleans(), label=f"keep {name}"):
            case.path_parameters[name] = data.draw(st.sampled_from(pool), label=name)


def examples(role: str | None, label: str) -> int:
    if role == "cashier" and label.split(" ", 1)[1].startswith("/api/v1/pos/"):
        return round(CASHIER_POS_EXAMPLES * SCALE)
    return round(EXAMPLES[role] * SCALE)


def fuzz_params() -> list[Any]:
    params = []
    for role in EXAMPLES:
        for label in LABELS:
            marks = []
            if label in KNOWN_FAILING:
                marks.append(pytest.mark.xfail(reason=KNOWN_FAILING[label], strict=True))
            params.append(pytest.param(role, label, marks=marks, id=f"{role or 'anonymous'}-{label}"))
    return params


@pytest.mark.parametrize(("role", "label"), fuzz_params())
def test_operation_never_errors_and_keeps_its_contract(target: Target, role: str | None, label: str) -> None:
    method, path = label.split(" ", 1)
    operation = target.schema[path][method]
    strategy = operation.as_strategy(GenerationMode.POSITIVE)
    if role == "admin":
        strategy = st.one_of(strategy, operation.as_strategy(GenerationMode.NEGATIVE))
    headers = target.shop.county.auth(role) if role else {}

    @settings(
        max_examples=examples(role, label),
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        steer(case, target.ids, data)
        response = case.call(headers=headers)
        target.tried[f"{role}-{label}"] += 1
        target.statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)
        if 400 <= response.status_code < 500:
            assert is_error_shape(response.json()), f"{label} {response.status_code}: {response.text[:300]}"

    run()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/api/v1/orgs/{huge}/assets/1", {"status": "idle"}),
        ("GET", "/api/v1/orgs/{huge}/entries/1", None),
        ("POST", "/api/v1/pos/shifts", {"store_id": 2**90, "float": "100.00"}),
    ],
)
def test_a_number_beyond_64_bits_is_refused_in_the_error_shape_not_a_500(
    client: TestClient, county: County, method: str, path: str, body: dict | None
) -> None:
    """Found by the fuzzer: SQLite raised OverflowError binding such an id, and the app answered 500."""
    r = client.request(method, path.format(huge=2**90), json=body, headers=county.auth("admin"))
    assert r.status_code in (404, 422), r.text
    assert is_error_shape(r.json())


def test_a_second_member_or_vat_threshold_of_the_same_key_is_a_409_not_a_500(
    client: TestClient, county: County
) -> None:
    """Found by a deeper fuzz run (CUNSHE_FUZZ_SCALE=25): the unique key raised a raw IntegrityError."""
    h = county.auth("admin")
    for url, body, field_name in [
        (
            f"/api/v1/orgs/{county.ids['dingzikou']}/members",
            {"member": "第1居民小组", "shares": 100},
            "member",
        ),
        (
            f"/api/v1/orgs/{county.ids['company']}/vat-thresholds",
            {"effective_from": "2025-01-01", "quarterly_threshold": "300000.00"},
            "effective_from",
        ),
    ]:
        assert client.post(url, json=body, headers=h).status_code == 201
        again = client.post(url, json=body, headers=h)
        assert again.status_code == 409, again.text
        assert is_error_shape(again.json()) and again.json()["error"]["field"] == field_name


def test_each_create_links_the_id_it_answers_to_the_operations_that_take_it() -> None:
    """Issue 23: the OpenAPI links (``ledger.api.links``) name real operations, and the id each one carries
    is a property the create's answer declares; Schemathesis' state machine follows every one."""
    from ledger.api.links import API, LINKS

    app = create_app(Settings(database_url="sqlite://"), engine=make_engine("sqlite://"))
    spec = app.openapi()
    by_id = {
        op["operationId"]: (method, path)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }
    schemas = spec["components"]["schemas"]
    machine = schemathesis.openapi.from_dict(spec).as_state_machine()
    transitions = " ".join(dir(machine))
    assert len(LINKS) == 5 and sum(len(links) for links in LINKS.values()) == 14
    for (method, path, status), links in LINKS.items():
        response = spec["paths"][API + path][method]["responses"][status]
        declared = response["links"]
        schema = response["content"]["application/json"]["schema"]
        answer = schemas[schema["$ref"].rsplit("/", 1)[1]]["properties"] if "$ref" in schema else None
        for name, target_method, target_path, parameters in links:
            assert by_id[declared[name]["operationId"]] == (target_method, API + target_path)
            assert declared[name]["parameters"] == parameters
            for parameter, expression in parameters.items():
                assert "{" + parameter + "}" in target_path
                if expression.startswith("$response.body#/") and answer is not None:
                    assert expression.rsplit("/", 1)[1] in answer, (name, expression)
            assert f"_{status}_{name}__" in transitions, name
