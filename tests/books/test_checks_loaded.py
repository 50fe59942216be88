"""The workflows' close checks and verify checks apply however the books are reached: a fresh process that
starts the workflows (as ``cunshe close-period`` does) refuses to close a month with an open POS shift, one
that imports only the core is refused outright, and ``cunshe verify`` checks the sub-ledger ties."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

from sqlalchemy import Engine

from ledger.access.auth import principal_for_user
from ledger.db.engine import write_tx
from ledger.distribution.shareholders import add_shareholder, pay_in_capital
from pos.shifts import open_shift
from tests.factories.county import County

FRESH_CLOSE = """
import sys
from ledger import workflows
from ledger.db.engine import make_engine, write_tx
from ledger.books.errors import Conflict
from ledger.books.periods import close_period
engine = make_engine(sys.argv[1])
if sys.argv[3] == "start":
    workflows.start()
try:
    with write_tx(engine) as conn:
        close_period(conn, int(sys.argv[2]), "2025-03")
except Conflict as exc:
    print("refused:", exc.message)
else:
    print("closed")
"""


def test_a_fresh_process_cannot_close_a_month_with_an_open_shift(county: County, engine: Engine) -> None:
    with write_tx(engine) as conn:
        cashier = principal_for_user(conn, county.user_ids["cashier"])
        open_shift(
            conn, cashier, county.stores["store1"], 50_000, opened_at=datetime(2025, 3, 3, 1, tzinfo=UTC)
        )
    url = engine.url.render_as_string(hide_password=False)

    def close_in_a_fresh_process(start: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", FRESH_CLOSE, url, str(county.ids["company"]), start],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    out = close_in_a_fresh_process("start")
    assert out.startswith("refused:") and "shift" in out, out
    out = close_in_a_fresh_process("books-only")
    assert out.startswith("refused:") and "ledger.workflows.start" in out, out


def test_cunshe_verify_checks_the_capital_tie_in_a_fresh_process(county: County, engine: Engine) -> None:
    """Capital paid in at the company but never booked as 141 长期投资 at the shareholder breaks the tie."""
    with write_tx(engine) as conn:
        holding = add_shareholder(
            conn, county.ids["company"], shareholder_org_id=county.ids["dingzikou"], subscribed_fen=1_000_000
        )
        pay_in_capital(conn, holding, amount_fen=1_000_000, paid_on=date(2025, 1, 6))
    url = engine.url.render_as_string(hide_password=False)
    done = subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", "verify", "--db", url], capture_output=True, text=True
    )
    assert done.returncode == 1 and "capital_tie" in done.stderr, done.stderr
