"""Two worker processes on one database: ``cunshe serve --workers 2`` under concurrent sales and postings.

Cashiers on two stores sell (one of them also sends offline batches of five) and an officer and the admin
post manual entries to the company that owns the stores, all at once, for a few seconds, on one SQLite
file and on PostgreSQL. Two processes means two connection pools and two in-process write queues, so the
database's own locking is all that orders them.

The promise (DESIGN §3, ``ledger.db.engine``): no request fails with a raw database error — a lock
timeout is retried inside or answered 503 with Retry-After (and the client's retry with the same key then
succeeds); every other refusal is a 409/422 in the one error shape; every acknowledged write is in the
books once; voucher and receipt numbers stay gapless and ``cunshe verify`` passes.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from ledger.app import create_app
from ledger.db.engine import make_engine
from ledger.settings import Settings
from tests.factories.county import build_county
from tests.factories.databases import fresh_engine
from tests.factories.servers import (
    ERROR_STATUSES,
    Call,
    Server,
    close_shifts,
    cunshe_verify,
    entries_by_key,
    entry_body,
    expected_sales,
    gaps,
    half_sales,
    is_error_shape,
    new_call,
    sales_by_key,
    send,
    url_of,
)
from tests.factories.shop import Shop, seed_shop

LOAD_S = 5.0
WRITERS = [
    ("sale", "cashier"),
    ("sale", "cashier"),
    ("sale", "cashier2"),
    ("batch", "cashier2"),
    ("entry", "officer"),
    ("entry", "admin"),
]
MAX_RETRIES = 10


def drive(server: Server, shop: Shop) -> tuple[list[Call], Counter[int | None], list[str], float]:
    """Every writer sends new writes until the time is up; a 503 is retried with the same key after
    its Retry-After. Returns the calls, every status seen, what broke the contract, and the elapsed time."""
    calls: list[Call] = []
    statuses: Counter[int | None] = Counter()
    broken: list[str] = []
    lock = threading.Lock()
    start = time.monotonic()
    deadline = start + LOAD_S

    def writer(kind: str, who: str) -> None:
        # A new connection per request: each is accepted by whichever worker is free, so the load spreads
        # over both (kept-alive connections opened at once can all land on one worker).
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=server.base_url, timeout=60, limits=limits) as client:
            while time.monotonic() < deadline:
                call = new_call(shop, kind, who)
                seen = []
                for _ in range(MAX_RETRIES):
                    r = send(client, shop, call)
                    seen.append(call.status)
                    if r is None or r.status_code != 503:
                        break
                    if "retry-after" not in r.headers:
                        seen.append(-503)  # a 503 without Retry-After breaks the contract
                    time.sleep(min(float(r.headers.get("retry-after", "1")), 1.0))
                with lock:
                    calls.append(call)
                    statuses.update(s for s in seen if s != -503)
                    if -503 in seen:
                        broken.append(f"{call.key}: 503 without Retry-After")
                    refused = call.status is None or not call.acknowledged
                    if refused and (call.status not in ERROR_STATUSES or not is_error_shape(call.answer)):
                        broken.append(f"{call.key}: {call.status} {call.answer}")

    threads = [threading.Thread(target=writer, args=w, daemon=True) for w in WRITERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=LOAD_S + 120)
    return calls, statuses, broken, time.monotonic() - start


def test_two_workers_on_one_database_lose_nothing_and_never_answer_a_raw_db_error(
    engine: Engine, tmp_path: Path
) -> None:
    shop = seed_shop(engine)
    engine.dispose()
    server = Server(url_of(engine), tmp_path / "server.log", workers=2)
    try:
        server.start()
        before = server.cpu_seconds()
        assert len(before) == 2, server.log_tail()
        calls, statuses, broken, elapsed = drive(server, shop)
        after = server.cpu_seconds()
        assert after.keys() == before.keys(), "a worker was replaced under load:\n" + server.log_tail()
        # Both workers served: each spent real CPU time on the load, not just the one that won the accepts.
        busy = {pid: after[pid] - before[pid] for pid in before}
        assert all(seconds > 0.2 for seconds in busy.values()), busy
        close_shifts(server, shop)
    finally:
        server.stop()

    assert broken == [], broken[:10]
    assert all(c.acknowledged for c in calls), Counter(c.status for c in calls)
    entry_calls = [c for c in calls if c.kind == "entry"]
    expected = expected_sales(calls)
    assert expected and entry_calls and any(c.kind == "batch" for c in calls)

    sales = sales_by_key(engine)
    for (store_id, key), sale_id in expected.items():
        assert sales.get((store_id, key)) == [sale_id], key
    assert len(sales) == len(expected)
    entries = entries_by_key(engine, shop.company)
    for call in entry_calls:
        assert entries.get(call.key) == [call.answer["id"]], call.key
    assert len(entries) == len(entry_calls)

    assert half_sales(engine) == []
    assert gaps(engine) == []
    code, output = cunshe_verify(url_of(engine))
    assert code == 0, output
    log = server.log_text()
    assert "Traceback" not in log and "unexpected error" not in log, server.log_tail(60)
    assert "died" not in log, "a worker was restarted:\n" + server.log_tail(60)
    print(
        f"\nworkers [{engine.dialect.name}]: 2 workers, {len(expected)} sales + {len(entry_calls)} entries "
        f"in {elapsed:.1f}s = {(len(expected) + len(entry_calls)) / elapsed:.0f} writes/s "
        f"({len(calls) / elapsed:.0f} requests/s) from {len(WRITERS)} clients; "
        f"statuses {dict(statuses)}; errors 0; worker CPU s {sorted(round(v, 1) for v in busy.values())}"
    )


@pytest.fixture
def pg_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from fresh_engine("postgresql", request, tmp_path)


def test_a_lock_held_past_the_lock_timeout_is_a_503_with_retry_after_and_the_retry_posts(
    pg_engine: Engine,
) -> None:
    """PostgreSQL: another transaction holds the company's books row (as a long posting would). With a
    lock timeout on the app's connections, the post retries inside, then answers 503 + Retry-After in the
    error shape, writing nothing; the same key once the lock is gone posts the entry with the next voucher."""
    engine = pg_engine
    county = build_county(engine)
    company = county.ids["company"]
    url = url_of(engine) + "?options=-c%20lock_timeout%3D200"
    app_engine = make_engine(url)
    app = create_app(Settings(database_url=url), engine=app_engine)
    headers = {**county.auth("officer"), "Idempotency-Key": "held-lock-1"}
    body = entry_body(1)
    with TestClient(app) as client, engine.connect() as holder:
        with holder.begin():
            holder.execute(
                text("SELECT last_seq FROM book_state WHERE org_id = :org FOR UPDATE"), {"org": company}
            )
            refused = client.post(f"/api/v1/orgs/{company}/entries", json=body, headers=headers)
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["retry-after"]) >= 1
        assert is_error_shape(refused.json()) and refused.json()["error"]["code"] == "busy"
        posted = client.post(f"/api/v1/orgs/{company}/entries", json=body, headers=headers)
        assert posted.status_code == 201, posted.text
        assert posted.json()["voucher_no"].endswith("-0001")
    app_engine.dispose()
    assert entries_by_key(engine, company) == {"held-lock-1": [posted.json()["id"]]}
    assert gaps(engine) == []
