"""Deterministic simulation: a seeded random walk over the ledger's services, checking every invariant
after every step.

Steps: entries (some retried with the same idempotency key, some retried with a changed body, some
unbalanced or aimed at a closed month), reversals, linked postings across orgs, month closes. After each
step: every entry balances, each org's trial balance nets to zero, every hash chain and voucher sequence
verifies, no idempotency key has two effects, and the books equal a model kept beside them in plain Python.
200 seeds run on SQLite and 20 on PostgreSQL; a failure names the seed and the step, and
``pytest tests/test_simulation.py --seed N`` replays exactly that walk.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from ledger.db.engine import read_tx, write_tx
from ledger.db.models import JournalEntry
from ledger.errors import LedgerError
from ledger.journal import get_entry
from ledger.orgs import add_sub_account
from ledger.periods import close_period, closed_through
from ledger.posting import Draft, Line, new_link_id, post_entries, reverse_entry
from ledger.trial_balance import org_nets_to_zero, trial_balance
from ledger.verify import verify_all
from tests.conftest import build_county, fresh_engine

SQLITE_SEEDS = 200
POSTGRES_SEEDS = 20
STEPS = 12
ORGS = ("dingzikou", "huahuaqiao", "village1")
DEBITS = ("101", "102", "112", "121", "513")
CREDITS = ("50101", "50102", "503", "211", "214")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "walk" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--seed")
        if chosen is not None:
            cases = [("sqlite", chosen), ("postgresql", chosen)]
        else:
            cases = [("sqlite", s) for s in range(SQLITE_SEEDS)] + [
                ("postgresql", s) for s in range(POSTGRES_SEEDS)
            ]
        metafunc.parametrize("walk", cases, ids=[f"{kind}-seed{seed}" for kind, seed in cases])


@pytest.fixture
def sim_engine(walk: tuple[str, int], request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from fresh_engine(walk[0], request, tmp_path)


class Walk:
    """The books, and beside them the model of what they must contain."""

    def __init__(self, engine: Engine, seed: int) -> None:
        self.engine = engine
        self.rng = random.Random(seed)
        self.county = build_county(engine, users=False)
        self.orgs = [self.county.ids[o] for o in ORGS]
        with write_tx(engine) as conn:
            for org in self.orgs:
                add_sub_account(conn, org, "501", "商品销售收入")
                add_sub_account(conn, org, "501", "租赁收入")
        self.model: dict[int, dict[str, int]] = {org: defaultdict(int) for org in self.orgs}
        self.keys: dict[tuple[int, str], tuple[Draft, int]] = {}
        self.reversible: list[int] = []
        self.closed: dict[int, int] = {org: 0 for org in self.orgs}  # month closed through
        self.log: list[str] = []

    def month(self, org: int) -> int:
        return self.rng.randint(self.closed[org] + 1, 12) if self.closed[org] < 12 else 12

    def draft(self, org: int, *, key: str | None = None, link: str | None = None) -> Draft:
        month = self.month(org)
        debits = [
            (self.rng.choice(DEBITS), self.rng.randint(1, 10**7)) for _ in range(self.rng.randint(1, 3))
        ]
        total = sum(a for _, a in debits)
        split = self.rng.randint(0, total)
        credits = [(self.rng.choice(CREDITS), split), (self.rng.choice(CREDITS), total - split)]
        lines = [Line(c, debit_fen=a) for c, a in debits] + [Line(c, credit_fen=a) for c, a in credits if a]
        return Draft(
            org,
            date(2025, month, self.rng.randint(1, 28)),
            f"sim {len(self.log)}",
            lines,
            idempotency_key=key,
            link_id=link,
        )

    def apply(self, draft: Draft, sign: int = 1) -> None:
        for ln in draft.lines:
            self.model[draft.org_id][ln.account] += sign * (ln.debit_fen - ln.credit_fen)

    def step(self) -> None:
        roll = self.rng.random()
        org = self.rng.choice(self.orgs)
        if self.closed[org] >= 12:
            roll = 0.0
        if roll < 0.35:
            key = f"k{self.rng.randint(0, 40)}" if self.rng.random() < 0.6 else None
            draft = self.draft(org, key=key)
            known = self.keys.get((org, key)) if key else None
            if known is not None and self.rng.random() < 0.5:
                draft = known[0]  # an honest retry: same body
            self.post([draft], f"post key={key}")
        elif roll < 0.5 and self.keys:
            (org, key), (draft, entry_id) = self.rng.choice(
                sorted(self.keys.items(), key=lambda kv: kv[1][1])
            )
            with write_tx(self.engine) as conn:
                again = post_entries(conn, [draft])[0]
            assert again.id == entry_id and not again.created, "a retry made a second entry"
            self.log.append(f"retry {key} → same entry {entry_id}")
        elif roll < 0.62:
            bad = self.draft(org)
            bad = Draft(bad.org_id, bad.entry_date, bad.memo, [*bad.lines, Line("101", debit_fen=1)])
            self.expect_refusal([bad], "unbalanced")
        elif roll < 0.75 and self.reversible:
            entry_id = self.rng.choice(self.reversible)
            with read_tx(self.engine) as conn:
                row = conn.execute(
                    select(JournalEntry.__table__).where(JournalEntry.__table__.c.id == entry_id)
                ).one()
            target_month = self.month(row.org_id)
            try:
                with write_tx(self.engine) as conn:
                    posted = reverse_entry(conn, entry_id, entry_date=date(2025, target_month, 28))
            except LedgerError as exc:
                self.log.append(f"reverse {entry_id} refused: {exc.code}")
                return
            self.reversible.remove(entry_id)
            for p in posted:
                self.model_reversal(p.id, p.org_id)
            self.log.append(f"reverse {entry_id} → {[p.voucher_no for p in posted]}")
        elif roll < 0.87:
            link = new_link_id()
            other = self.rng.choice([o for o in self.orgs if o != org])
            self.post([self.draft(org, link=link), self.draft(other, link=link)], "linked")
        else:
            month = self.closed[org] + 1
            if month > 12:
                return
            with write_tx(self.engine) as conn:
                close_period(conn, org, f"2025-{month:02d}")
            self.closed[org] = month
            self.log.append(f"close {org} 2025-{month:02d}")
            late = self.draft(org)
            late = Draft(org, date(2025, month, 15), late.memo, late.lines)
            self.expect_refusal([late], "period_closed")

    def model_reversal(self, reversal_id: int, org_id: int) -> None:
        """Red ink: the reversal's negated lines take the original's amounts back out of the model."""
        with read_tx(self.engine) as conn:
            entry = get_entry(conn, org_id, reversal_id)
        for ln in entry["lines"]:
            self.model[org_id][ln["account"]] += ln["debit_fen"] - ln["credit_fen"]

    def post(self, drafts: list[Draft], what: str) -> None:
        closed = any(d.entry_date.month <= self.closed[d.org_id] for d in drafts)
        try:
            with write_tx(self.engine) as conn:
                posted = post_entries(conn, drafts)
        except LedgerError as exc:
            self.log.append(f"{what} refused: {exc.code}")
            assert closed or exc.code == "idempotency_conflict", (
                f"unexpected refusal {exc.code}: {exc.message}"
            )
            return
        assert not closed, "a posting landed in a closed month"
        for d, p in zip(drafts, posted, strict=True):
            if p.created:
                self.apply(d)
                if d.link_id is None:
                    self.reversible.append(p.id)
                if d.idempotency_key:
                    self.keys[(d.org_id, d.idempotency_key)] = (d, p.id)
        self.log.append(f"{what} → {[p.voucher_no for p in posted]}")

    def expect_refusal(self, drafts: list[Draft], code: str) -> None:
        with read_tx(self.engine) as conn:
            before = conn.execute(select(func.count()).select_from(JournalEntry.__table__)).scalar_one()
        with pytest.raises(LedgerError) as err, write_tx(self.engine) as conn:
            post_entries(conn, drafts)
        assert code in err.value.code
        with read_tx(self.engine) as conn:
            after = conn.execute(select(func.count()).select_from(JournalEntry.__table__)).scalar_one()
        assert after == before, "a refused posting left something behind"
        self.log.append(f"refused as expected: {code}")

    def check(self) -> None:
        with read_tx(self.engine) as conn:
            problems = verify_all(conn)
            assert problems == [], problems
            for org in self.orgs:
                assert org_nets_to_zero(conn, org) == 0
                books = {
                    r.code: r.closing_fen for r in trial_balance(conn, org, "2025-01", "2025-12") if r.is_leaf
                }
                model = {code: amount for code, amount in self.model[org].items() if amount}
                assert {c: a for c, a in books.items() if a} == model, "the books drifted from the model"
                assert closed_through(conn, org) == (
                    f"2025-{self.closed[org]:02d}" if self.closed[org] else None
                )


def test_random_walk_keeps_every_invariant(walk: tuple[str, int], sim_engine: Engine) -> None:
    kind, seed = walk
    sim = Walk(sim_engine, seed)
    for n in range(STEPS):
        try:
            sim.step()
            sim.check()
        except AssertionError as exc:
            trail = "\n  ".join(sim.log[-8:])
            raise AssertionError(
                f"{kind} seed {seed} broke at step {n}: {exc}\n  last steps:\n  {trail}\n"
                f"replay: pytest tests/test_simulation.py --seed {seed}"
            ) from exc
