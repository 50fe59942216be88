"""Deterministic simulation: a seeded random walk over the ledger's services, checking every invariant
after every step.

Steps: entries (some retried with the same idempotency key, some retried with a changed body, some
unbalanced or aimed at a closed month), reversals, linked postings across orgs, month closes; in a store
and a community kept apart from the model: shift opens and closes (over and short), sales paid in cash or
by WeChat (some retried by key, out of order: after later sales, after their shift closed, after the
year closed), refunds, pay-ins and payouts, purchases, lease accruals and rent receipts; and once per
walk the company's year end: the 2025 close (年终结账) and a distribution plan (利润分配方案) executed with
linked entries in the company and its three shareholder orgs (the modelled ones), then dividends paid.

After each step, for every org whose books or registers the step changed (and every fourth step and the
last, for every org): every entry balances, each org's trial balance nets to zero, every hash chain and
voucher sequence verifies, the stock sub-ledger ties to 1405, the lease sub-ledger to 112 and the
capital register to 3001 / 141 (``cunshe verify``'s own checks), no idempotency key has two effects, the
books of the modelled orgs equal a model kept beside them in plain Python, and the company's 应付利润 to
each shareholder equals that shareholder's receivable from it and what the walk says is still owed.
After each shift close: expected cash = float + cash received − change + pay-ins − payouts, from the
walk's own tally; the voucher's over/short (5301 / 1221) is counted − expected, and 1001 moves by what was
counted. The year end is checked against the walk's own sums of the plan (reserve cut at its cap, shares
by largest remainder of paid-in capital). 200 seeds run on SQLite and 20 on PostgreSQL; a failure names
the seed and the step, and ``pytest tests/system/test_simulation.py --seed N`` replays exactly that walk.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from ledger.access.auth import principal_for_user
from ledger.books.errors import LedgerError, PeriodClosed, ValidationError
from ledger.books.journal import get_entry
from ledger.books.money import (
    allocate_largest_remainder,
    format_amount,
    line_amount,
    parse_amount,
    round_half_up,
)
from ledger.books.orgs import add_sub_account
from ledger.books.periods import close_period, closed_through
from ledger.books.posting import Draft, Line, new_link_id, post_entries, post_entry, reverse_entry
from ledger.books.trial_balance import org_nets_to_zero, trial_balance
from ledger.books.verify import verify_all, verify_org
from ledger.community.leases.contracts import NewContract, accrue_leases, create_contract
from ledger.community.leases.receipts import receive_rent
from ledger.community.leases.schedule import LeaseTerms
from ledger.community.stakes import record_stake
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import Account, JournalEntry, JournalLine
from ledger.distribution import execute as ex
from ledger.distribution.accounts import ensure_for
from ledger.distribution.plans import PlanRefused, Step
from ledger.distribution.shareholders import add_shareholder, pay_in_capital
from ledger.distribution.yearend import close_year
from ledger.reconcile.outputs import inter_org, shift_cash
from pos import catalogue, stock
from pos.messages import PaymentIn, RefundIn, RefundLineIn, SaleIn, SaleLineIn
from pos.models import PosSale
from pos.sales import create_refund, create_sale
from pos.shifts import close_shift, open_shift, record_cash_move
from pos.stores import get_store
from tests.factories.county import build_county
from tests.factories.databases import fresh_engine

SQLITE_SEEDS = 200
POSTGRES_SEEDS = 20
STEPS = 16
FULL_CHECK_EVERY = 4  # steps; in between, the orgs a step touched are checked
ORGS = ("dingzikou", "huahuaqiao", "village1")  # modelled, and the company's shareholders
DEBITS = ("101", "102", "112", "121", "513")
CREDITS = ("50101", "50102", "503", "211", "214")
PRICES = {"RICE": 680, "EGG": 150}  # fen per kg / per egg, tax included
FLOAT_FEN = 50_000
YEAR = 2025

entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
account_t = Account.__table__
sale_t = PosSale.__table__


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


@dataclass
class Drawer:
    """The walk's own tally of a shift's cash, kept from what it sent and what each sale answered."""

    float_fen: int
    cash_sales: int = 0  # cash tendered − change, sale by sale
    cash_refunds: int = 0  # cash paid back
    pay_ins: int = 0
    payouts: int = 0

    @property
    def expected(self) -> int:
        return self.float_fen + self.cash_sales - self.cash_refunds + self.pay_ins - self.payouts


@dataclass
class Answered:
    """A sale as first answered, to hold its retries to."""

    key: str
    body: SaleIn
    sale_id: int
    response: bytes
    shift_id: int


class Walk:
    """The books, and beside them the model of what they must contain."""

    def __init__(self, engine: Engine, seed: int) -> None:
        self.engine = engine
        self.rng = random.Random(seed)
        self.county = build_county(engine)
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
        self.steps_done = 0
        self.heads: dict[int, tuple[int, int]] = {}  # org → (entries, last entry id) at the last check
        self.touched: set[int] = set()  # orgs a step changed without necessarily posting (registers, closes)
        self.year_end_at = self.rng.randint(STEPS // 3, STEPS - 4)
        self._setup_workflows()
        self._setup_shareholders()

    # -- the supermarket and a lease, in orgs the model above does not cover ----------------------------

    def _setup_workflows(self) -> None:
        self.company = self.county.ids["company"]
        self.store = self.county.stores["store1"]
        self.lease_org = self.county.ids["hongxingqiao"]
        with write_tx(self.engine) as conn:
            self.cashier = principal_for_user(conn, self.county.user_ids["cashier"])
            catalogue.upsert_products(
                conn,
                self.company,
                [
                    catalogue.ProductIn("RICE", "大米", "kg", PRICES["RICE"]),
                    catalogue.ProductIn("EGG", "土鸡蛋", "个", PRICES["EGG"]),
                ],
            )
            self.contract = create_contract(
                conn,
                self.lease_org,
                NewContract(
                    code="SIM-1",
                    mode="lease",
                    terms=LeaseTerms(
                        start=date(2025, 1, 10), end=date(2026, 1, 9), rent_per_cycle_fen=105_000
                    ),
                    lessee="商户甲",
                ),
            )
        self.pos_year = YEAR  # the till moves on to the next year once the company's year is closed
        self.shift: int | None = None
        self.shift_day: date | None = None
        self.drawer = Drawer(FLOAT_FEN)
        self.sales: list[dict] = []  # this shift's sales, for refunds
        self.answered: list[Answered] = []  # every sale ever answered, in order, for retries
        self.closed_shifts: set[int] = set()
        self.accrued = 0

    def counts(self) -> tuple[int, int]:
        """(journal entries, POS sales and refunds): a retry must leave both as they were."""
        with read_tx(self.engine) as conn:
            entries = conn.execute(select(func.count()).select_from(entry_t)).scalar_one()
            sales = conn.execute(select(func.count()).select_from(sale_t)).scalar_one()
        return entries, sales

    def retry_sale(self, sale: Answered, why: str) -> None:
        """A retry arriving late: it returns the original answer, byte for byte, and writes nothing."""
        before = self.counts()
        with write_tx(self.engine) as conn:
            again = create_sale(conn, self.cashier, sale.body, sale.key, max_lead_seconds=10**9)
        assert not again.created and again.body == sale.response, f"a {why} retry changed the sale"
        assert self.counts() == before, f"a {why} retry posted twice"
        later = len(self.answered) - 1 - self.answered.index(sale)
        self.log.append(f"sale retry {sale.key} ({why}, {later} later sales)")

    def new_sale(self, conn, day: date) -> None:  # type: ignore[no-untyped-def]
        assert self.shift is not None
        lines = [SaleLineIn(sku="RICE", quantity=f"{self.rng.randint(1, 5000) / 1000:.3f}")]
        if self.rng.random() < 0.5:
            lines.append(SaleLineIn(sku="EGG", quantity=str(self.rng.randint(1, 30))))
        total = sum(line_amount(ln.quantity, PRICES[ln.sku or ""]) for ln in lines)
        by_wechat = self.rng.random() < 0.3
        tendered = (
            total if by_wechat else self.rng.choice([total, 1_000_000, total + self.rng.randint(1, 999)])
        )
        body = SaleIn(
            store_id=self.store,
            shift_id=self.shift,
            sold_at=datetime(day.year, day.month, day.day, 3, tzinfo=UTC),
            channel="counter",
            lines=lines,
            payments=[PaymentIn(method="wechat" if by_wechat else "cash", amount=format_amount(tendered))],
        )
        key = f"sale-{len(self.answered)}-{self.rng.randint(0, 9)}"
        result = create_sale(conn, self.cashier, body, key, max_lead_seconds=10**9)
        sale = json.loads(result.body)
        assert parse_amount(sale["total"]) == total, "the sale's total is not quantity × price"
        if not by_wechat:
            assert parse_amount(sale["change"]) == tendered - total, "change is not tendered − total"
            self.drawer.cash_sales += tendered - parse_amount(sale["change"])
        self.answered.append(Answered(key, body, sale["id"], result.body, self.shift))
        self.sales.append(sale)
        self.log.append(f"sale {sale['id']} {sale['total']} {'wechat' if by_wechat else 'cash'}")

    def pos_step(self) -> None:
        self.touched.add(self.company)  # sales move stock before their shift's voucher posts
        roll = self.rng.random()
        if self.answered and roll < 0.2:
            # a retry out of order: after later sales, perhaps after its shift (or its year) closed
            sale = self.rng.choice(self.answered)
            why = "out of order"
            if sale.shift_id in self.closed_shifts:
                why = "after its shift closed"
            if sale.body.sold_at.year < self.pos_year:
                why = "after its year closed"
            self.retry_sale(sale, why)
            return
        if self.shift is not None and roll > 0.85:
            self.close_current_shift()
            return
        with write_tx(self.engine) as conn:
            if self.shift is None:
                self.shift_day = date(self.pos_year, self.rng.randint(1, 11), self.rng.randint(1, 28))
                when = datetime(self.shift_day.year, self.shift_day.month, self.shift_day.day, 1, tzinfo=UTC)
                self.shift = open_shift(conn, self.cashier, self.store, FLOAT_FEN, opened_at=when)
                self.drawer = Drawer(FLOAT_FEN)
                self.sales = []
                self.log.append(f"open shift {self.shift} on {self.shift_day}")
                return
            day = self.shift_day or date(self.pos_year, 1, 1)
            if roll < 0.3:
                store = get_store(conn, self.store)
                stock.record_purchase(
                    conn,
                    None,
                    store,
                    stock.Purchase(
                        day=day,
                        supplier="县供销社",
                        village_org_id=None,
                        lines=[("RICE", self.rng.randint(1, 50) * 1000, self.rng.randint(100, 30_000))],
                    ),
                )
                self.log.append("purchase")
            elif roll < 0.5:
                kind = self.rng.choice(["pay_in", "payout"])
                amount = self.rng.randint(1, FLOAT_FEN // 2)
                record_cash_move(conn, self.cashier, self.shift, kind, amount, "备用金")
                if kind == "pay_in":
                    self.drawer.pay_ins += amount
                else:
                    self.drawer.payouts += amount
                self.log.append(f"{kind} {amount}")
            elif roll < 0.72 or not self.sales:
                self.new_sale(conn, day)
            else:
                sale = self.rng.choice(self.sales)
                refund = RefundIn(
                    shift_id=self.shift,
                    lines=[RefundLineIn(line_no=1, quantity=sale["lines"][0]["quantity"])],
                )
                try:
                    done = json.loads(
                        create_refund(
                            conn,
                            self.cashier,
                            sale["id"],
                            refund,
                            f"refund-{sale['id']}",
                            max_lead_seconds=10**9,
                        ).body
                    )
                except LedgerError as exc:
                    self.log.append(f"refund refused: {exc.code}")
                    return
                cash_back = -sum(
                    parse_amount(p["amount"], allow_negative=True)
                    for p in done["payments"]
                    if p["method"] == "cash"
                )
                if sale["payments"][0]["method"] == "cash":
                    assert cash_back == parse_amount(sale["lines"][0]["amount"]), "refund cash ≠ the line"
                else:
                    assert cash_back == 0, "a WeChat sale's refund paid out cash"
                self.drawer.cash_refunds += cash_back
                self.log.append(f"refund of sale {sale['id']} ({cash_back} cash)")

    def close_current_shift(self) -> None:
        """交班, with the cash checked against the walk's own tally (DESIGN §7) and late retries after it."""
        assert self.shift is not None
        shift, drawer = self.shift, self.drawer
        expected = drawer.expected
        counted = max(expected + self.rng.choice([0, 0, 0, 37, -25, 1_000]), 0)
        with write_tx(self.engine) as conn:
            report = close_shift(conn, self.cashier, shift, counted)
        self.shift = None
        self.closed_shifts.add(shift)
        variance = counted - expected
        cash = report["cash"]
        assert cash["expected"] == format_amount(expected), (
            f"shift {shift}: expected cash {cash['expected']}, the walk's tally {format_amount(expected)}"
        )
        assert cash["over_short"] == format_amount(variance), "over/short is not counted − expected"
        with read_tx(self.engine) as conn:
            lines = []
            if report["entry_id"] is not None:
                lines = get_entry(conn, self.company, report["entry_id"])["lines"]
            row = shift_cash(conn, self.company, store_id=self.store).set_index("shift_id").loc[shift]
        net = defaultdict(int)
        for ln in lines:
            net[ln["account"]] += ln["debit_fen"] - ln["credit_fen"]
        assert -net.get("5301", 0) == max(variance, 0), (
            "the voucher's cash over (5301) is not counted − expected"
        )
        assert net.get("1221", 0) == max(-variance, 0), (
            "the voucher's cash short (1221) is not expected − counted"
        )
        moved = counted - drawer.float_fen - drawer.pay_ins + drawer.payouts
        assert net.get("1001", 0) == moved, "1001 did not move by the cash counted"
        assert (int(row.expected_fen), int(row.variance_fen), bool(row.differs)) == (
            expected,
            variance,
            False,
        )
        # the close retried, then the shift's sales retried late and in another order: nothing changes
        with write_tx(self.engine) as conn:
            again = close_shift(conn, self.cashier, shift, counted)
        assert (again["entry_id"], again["cash"]) == (report["entry_id"], report["cash"]), (
            "a close retry moved"
        )
        mine = [a for a in self.answered if a.shift_id == shift]
        for sale in self.rng.sample(mine, min(len(mine), self.rng.randint(0, 2))):
            self.retry_sale(sale, "after its shift closed")
        self.log.append(f"close shift {shift}: expected {expected}, counted {counted}")

    def lease_step(self) -> None:
        self.touched.add(self.lease_org)
        with write_tx(self.engine) as conn:
            if self.rng.random() < 0.5 and self.accrued < 12:
                self.accrued = min(12, self.accrued + self.rng.randint(1, 3))
                accrue_leases(conn, [self.lease_org], f"2025-{self.accrued:02d}")
                self.log.append(f"accrue lease through 2025-{self.accrued:02d}")
            else:
                amount = self.rng.randint(1, 300_000)
                receive_rent(
                    conn, self.lease_org, amount_fen=amount, received_on=date(2025, 6, 1), lessee="商户甲"
                )
                self.log.append(f"rent received {amount}")

    # -- the company's shareholders, its year end and its distribution plan ------------------------------

    def _setup_shareholders(self) -> None:
        """Paid-in capital on both sides, a statutory reserve near or far from its cap, a 2024 result
        (closed), and some 2025 income besides the till's."""
        co = self.company
        rng = self.rng
        self.paid_in = {org: rng.randint(1, 3_000) * 10_000 for org in self.orgs}
        self.reserve_open = rng.choice([0, rng.randint(49_000_000, 50_000_000)])  # cap: 50% of ¥1,000,000
        self.loss_2024 = rng.choice([0, rng.randint(1, 5_000_000)])
        self.other_income = rng.randint(1_000_000, 20_000_000)
        self.owed: dict[int, int] = {org: 0 for org in self.orgs}  # 应付利润 the walk says is unpaid
        self.plan_id: int | None = None
        self.dividends: dict[str, tuple[int, int, date, int]] = {}  # key → (org, fen, paid on, payment id)
        with write_tx(self.engine) as conn:
            ensure_for(conn, co)
            for org in self.orgs:
                holding = add_shareholder(conn, co, shareholder_org_id=org, subscribed_fen=self.paid_in[org])
                pay_in_capital(conn, holding, amount_fen=self.paid_in[org], paid_on=date(2024, 1, 10))
                record_stake(
                    conn,
                    org,
                    company_org_id=co,
                    paid_in_fen=self.paid_in[org],
                    share_bp=max(1, self.paid_in[org] * 10_000 // sum(self.paid_in.values())),
                    acquired_on=date(2025, 1, 2),
                )
                self.model[org]["141"] += self.paid_in[org]
                self.model[org]["102"] -= self.paid_in[org]
            pairs = [
                (date(2024, 1, 31), "310101", self.reserve_open),
                (date(2024, 6, 30), "5602", -self.loss_2024),
                (date(2025, 3, 15), "5051", self.other_income),
            ]
            for on, account, credit in pairs:
                if credit:
                    lines = [Line("1002", debit_fen=credit), Line(account, credit_fen=credit)]
                    if credit < 0:
                        lines = [Line(account, debit_fen=-credit), Line("1002", credit_fen=-credit)]
                    post_entry(conn, Draft(co, on, f"sim setup {account}", lines))
            if self.loss_2024:
                close_year(conn, co, 2024)

    def company_balance(self, conn, code: str, counterparty_id: int | None = None) -> int:  # type: ignore[no-untyped-def]
        """Credit balance (credit positive) of a company account and its sub-accounts."""
        stmt = (
            select(func.coalesce(func.sum(line_t.c.credit_fen - line_t.c.debit_fen), 0))
            .join(account_t, account_t.c.id == line_t.c.account_id)
            .where(line_t.c.org_id == self.company, account_t.c.code.like(f"{code}%"))
        )
        if counterparty_id is not None:
            stmt = stmt.where(line_t.c.counterparty_id == counterparty_id)
        return int(conn.execute(stmt).scalar_one())

    def year_end(self) -> None:
        """年终结账 and 利润分配: close 2025, refuse a greedy plan, execute an honest one, linked."""
        if self.shift is not None:
            self.close_current_shift()
        co = self.company
        self.touched.update([co, *self.orgs])
        with write_tx(self.engine) as conn:
            closed = close_year(conn, co, YEAR)
        self.pos_year = YEAR + 1
        profit = closed.profit_fen
        with read_tx(self.engine) as conn:
            assert self.company_balance(conn, "5") == 0, "an income or expense account stayed open"
            assert self.company_balance(conn, "3103") == 0, "本年利润 was not carried forward"
            assert self.company_balance(conn, "310404") == profit - self.loss_2024
        with write_tx(self.engine) as conn:
            again = close_year(conn, co, YEAR)
        assert [e.id for e in again.entries] == [e.id for e in closed.entries]
        assert not any(e.created for e in again.entries), "closing the year twice posted twice"

        # the plan, by the walk's own sums (DESIGN §6, Company Law art. 210)
        covered = min(self.loss_2024, max(profit, 0))
        base = max(profit - covered, 0)
        room = max(50_000_000 - self.reserve_open, 0)
        reserve = min(round_half_up(base * 1_000, 10_000), room)
        distributable = profit - self.loss_2024
        left = distributable - reserve
        rate = self.rng.choice([None, self.rng.randint(1, 10_000)])
        if rate is not None or left <= 0:
            rate = rate or 10_000
            to_holders = round_half_up(max(left, 0) * rate, 10_000)
            last = Step("shareholders", rate_bp=rate)
        else:
            to_holders = self.rng.randint(1, left)
            last = Step("shareholders", amount_fen=to_holders)
        shares = allocate_largest_remainder(to_holders, [self.paid_in[o] for o in sorted(self.orgs)])
        steps = [Step("cover_losses"), Step("statutory_reserve", rate_bp=1_000), last]
        if left > 0:
            before = self.counts()
            greedy = [*steps[:2], Step("shareholders", amount_fen=left + self.rng.randint(1, 100))]
            with pytest.raises(PlanRefused, match="distributable"), write_tx(self.engine) as conn:
                ex.execute_plan(conn, self.new_plan(conn, greedy, date(YEAR, 12, 28)))
            assert self.counts() == before, "a refused plan left something behind"
        on = self.rng.choice([date(YEAR, 12, 28), date(YEAR + 1, 1, self.rng.randint(5, 28))])
        when = max(on, date(YEAR, 12, 31))
        with write_tx(self.engine) as conn:
            self.plan_id = self.new_plan(conn, steps, on)
        if when.year == YEAR and self.rng.random() < 0.3:  # a shareholder closed its December already
            early = self.rng.choice(self.orgs)
            with write_tx(self.engine) as conn:
                for month in range(self.closed[early] + 1, 13):
                    close_period(conn, early, f"{YEAR}-{month:02d}")
            self.closed[early] = 12
            self.touched.add(early)
        share_of = dict(zip(sorted(self.orgs), shares, strict=True))
        late = when.year == YEAR and any(self.closed[o] >= 12 and share_of[o] for o in self.orgs)
        if late:  # a shareholder's December is closed: nothing posts anywhere, then it posts in January
            before = self.counts()
            with pytest.raises(PeriodClosed), write_tx(self.engine) as conn:
                ex.execute_plan(conn, self.plan_id)
            assert self.counts() == before, "a refused execution posted in some org's books"
            when = date(YEAR + 1, 1, 31)
        with write_tx(self.engine) as conn:
            done = ex.execute_plan(conn, self.plan_id, entry_date=when)
            reserve_now = self.company_balance(conn, "310101")
            undistributed = self.company_balance(conn, "310404")
            links = set(
                conn.execute(
                    select(entry_t.c.link_id).where(entry_t.c.id.in_([e.id for e in done.entries]))
                ).scalars()
            )
        assert done.result.amount_of("statutory_reserve") == reserve, "the reserve is not 10%, cut at the cap"
        assert reserve_now == self.reserve_open + reserve
        assert undistributed == distributable - reserve - to_holders, "未分配利润 after the plan is off"
        assert len(links) <= 1 and len(done.entries) == (2 if reserve or to_holders else 0) + sum(
            1 for s in shares if s
        ), "the plan's entries are not one linked set"
        for org, share in share_of.items():
            self.model[org]["112"] += share
            self.model[org]["502"] -= share
            self.owed[org] += share
        self.log.append(
            f"year end: profit {profit}, reserve {reserve}, to shareholders {shares} on {when}"
            + (" (refused first: December closed)" if late else "")
        )
        with write_tx(self.engine) as conn, pytest.raises(LedgerError):
            ex.execute_plan(conn, self.plan_id)  # executed once; a second run is refused

    def new_plan(self, conn, steps: list[Step], on: date) -> int:  # type: ignore[no-untyped-def]
        plan_id = ex.create_plan(conn, self.company, YEAR, steps)
        ex.approve_plan(
            conn,
            plan_id,
            approving_body="股东会",
            resolution_date=on,
            document_no=f"股决〔{YEAR}〕{plan_id}号",
        )
        return plan_id

    def dividend_step(self) -> None:
        """支付利润: company Dr 2232 / Cr 1002 and shareholder Dr 102 / Cr 112, linked; retried by key."""
        self.touched.update([self.company, *self.orgs])
        before = self.counts()
        if self.dividends and self.rng.random() < 0.5:
            key, (org, amount, on, payment_id) = self.rng.choice(sorted(self.dividends.items()))
            with write_tx(self.engine) as conn:
                again = ex.pay_dividend(
                    conn,
                    self.company,
                    shareholder_org_id=org,
                    amount_fen=amount,
                    paid_on=on,
                    plan_id=self.plan_id,
                    idempotency_key=key,
                )
            assert again == payment_id and self.counts() == before, "a retried dividend payment paid twice"
            self.log.append(f"dividend retry {key}")
            return
        org = self.rng.choice(self.orgs)
        owed = self.owed[org]
        amount = self.rng.randint(1, owed + 1)  # one fen more than is owed is refused
        on = date(YEAR + 1, self.rng.randint(2, 11), self.rng.randint(1, 28))
        key = f"div-{len(self.dividends)}-{self.steps_done}"
        try:
            with write_tx(self.engine) as conn:
                payment_id = ex.pay_dividend(
                    conn,
                    self.company,
                    shareholder_org_id=org,
                    amount_fen=amount,
                    paid_on=on,
                    plan_id=self.plan_id,
                    idempotency_key=key,
                )
        except ValidationError as exc:
            assert amount > owed, f"a payment within what is owed was refused: {exc.message}"
            assert self.counts() == before, "a refused dividend payment left something behind"
            self.log.append(f"dividend {amount} to {org} refused: {exc.code}")
            return
        assert amount <= owed, "a dividend beyond what is owed was paid"
        self.dividends[key] = (org, amount, on, payment_id)
        self.owed[org] -= amount
        self.model[org]["102"] += amount
        self.model[org]["112"] -= amount
        self.log.append(f"dividend {amount} to {org} on {on}")

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
        self.steps_done += 1
        if self.steps_done - 1 == self.year_end_at:
            self.year_end()
            return
        which = self.rng.random()
        if which < 0.3:
            self.pos_step()
            return
        if which < 0.4:
            self.lease_step()
            return
        if which < 0.47 and self.plan_id is not None:
            self.dividend_step()
            return
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
            self.touched.add(org)
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

    def check(self, *, full: bool) -> None:
        """Every invariant of every org whose books or registers the step changed (all of them when
        ``full``): an org nothing touched cannot have changed, and the full checks catch anything else."""
        with read_tx(self.engine) as conn:
            heads = {
                org: (n, last)
                for org, n, last in conn.execute(
                    select(entry_t.c.org_id, func.count(), func.max(entry_t.c.id)).group_by(entry_t.c.org_id)
                )
            }
            touched = {org for org in heads if heads[org] != self.heads.get(org)} | self.touched
            self.heads, self.touched = heads, set()
            if full:
                problems = verify_all(conn)
            else:
                problems = [p for org in sorted(touched) for p in verify_org(conn, org)]
            assert problems == [], problems
            for org in self.orgs:
                assert closed_through(conn, org) == (
                    f"2025-{self.closed[org]:02d}" if self.closed[org] else None
                )
                if not full and org not in touched:
                    continue
                assert org_nets_to_zero(conn, org) == 0
                books = {
                    r.code: r.closing_fen
                    for r in trial_balance(conn, org, f"{YEAR}-01", f"{YEAR + 1}-12")
                    if r.is_leaf
                }
                model = {code: amount for code, amount in self.model[org].items() if amount}
                assert {c: a for c, a in books.items() if a} == model, "the books drifted from the model"
            if full or (self.company in touched and self.plan_id is not None):
                self.check_inter_org(conn)

    def check_inter_org(self, conn) -> None:  # type: ignore[no-untyped-def]
        """DESIGN §7: the company's 应付利润 per shareholder = that shareholder's receivable from it."""
        ties = inter_org(conn, self.company).set_index("org_id")
        for org in self.orgs:
            payable, receivable = ties.loc[org, ["company_payable_fen", "shareholder_receivable_fen"]]
            assert int(payable) == int(receivable) == self.owed[org], (
                f"org {org}: the company owes {payable}, the books receive {receivable}, "
                f"the walk says {self.owed[org]}"
            )


def test_random_walk_keeps_every_invariant(walk: tuple[str, int], sim_engine: Engine) -> None:
    kind, seed = walk
    sim = Walk(sim_engine, seed)
    for n in range(STEPS):
        try:
            sim.step()
            sim.check(full=n % FULL_CHECK_EVERY == FULL_CHECK_EVERY - 1 or n == STEPS - 1)
        except (AssertionError, LedgerError) as exc:  # a domain error no step expected is a failure too
            trail = "\n  ".join(sim.log[-8:])
            raise AssertionError(
                f"{kind} seed {seed} broke at step {n}: {type(exc).__name__}: {exc}\n"
                f"  last steps:\n  {trail}\n"
                f"replay: pytest tests/system/test_simulation.py --seed {seed}"
            ) from exc
