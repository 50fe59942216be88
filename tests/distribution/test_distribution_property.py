"""Properties of distribution: for any profit and any valid plan, the parts sum exactly to the whole."""

from __future__ import annotations

from datetime import date

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from ledger.distribution import execute as ex
from ledger.distribution.plans import DryRun, Facts, PlanRefused, Recipient, Step, dry_run, reserve_room
from ledger.distribution.shareholders import get_shareholding
from ledger.distribution.yearend import close_year
from tests.factories.county import County
from tests.factories.distribution import balance, book, company_with_shareholders

fen = st.integers(min_value=-(10**11), max_value=10**11)
weights = st.lists(st.integers(min_value=0, max_value=10**8), min_size=1, max_size=6).filter(
    lambda w: sum(w) > 0
)
rate = st.integers(min_value=1, max_value=10_000)
value = st.one_of(rate.map(lambda r: {"rate_bp": r}), st.integers(1, 10**9).map(lambda a: {"amount_fen": a}))


def _check_sums(run: DryRun) -> None:
    assert run.distributed_fen + run.undistributed_fen == run.distributable_fen
    assert sum(line.amount_fen for line in run.lines if line.posts) == run.distributed_fen
    for line in run.lines:
        assert line.amount_fen >= 0
        if line.shares:
            assert sum(s.amount_fen for s in line.shares) == line.amount_fen
            assert all(s.amount_fen >= 0 for s in line.shares)
    if run.distributed_fen > 0:
        assert run.undistributed_fen >= 0


@given(
    profit=fen,
    brought=fen,
    reserve=st.integers(0, 10**10),
    capital=st.integers(0, 10**11),
    ws=weights,
    discretionary=st.one_of(st.none(), value),
    to_shareholders=value,
)
def test_company_plan_parts_sum_to_the_distributable_income(
    profit: int, brought: int, reserve: int, capital: int, ws: list[int], discretionary, to_shareholders
) -> None:
    facts = Facts("small_enterprise", profit, brought, reserve, capital)
    steps = [Step("cover_losses"), Step("statutory_reserve", rate_bp=1_000)]
    if discretionary:
        steps.append(Step("discretionary_reserve", **discretionary))
    steps.append(Step("shareholders", **to_shareholders))
    recipients = [Recipient(i + 1, i + 1, w) for i, w in enumerate(ws)]
    try:
        run = dry_run(facts, steps, recipients)
    except PlanRefused as refused:
        assert any("distributable" in r for r in refused.reasons)
        return
    _check_sums(run)
    assert run.amount_of("statutory_reserve") <= reserve_room(facts)


@given(
    profit=fen,
    brought=fen,
    ws=weights,
    public=rate,
    post=st.one_of(st.none(), value),
    facility=st.one_of(st.none(), value),
    members=st.one_of(st.none(), value),
)
def test_collective_plan_parts_sum_to_the_distributable_income(
    profit: int, brought: int, ws: list[int], public: int, post, facility, members
) -> None:
    steps = [Step("public_reserve", rate_bp=public)]
    for kind, v in (("welfare_post_earmark", post), ("facility_earmark", facility), ("members", members)):
        if v:
            steps.append(Step(kind, **v))
    try:
        run = dry_run(
            Facts("collective", profit, brought), steps, [Recipient(i, i, w) for i, w in enumerate(ws)]
        )
    except PlanRefused as refused:
        assert any("distributable" in r for r in refused.reasons)
        return
    _check_sums(run)


def test_each_shareholders_502_equals_the_companys_2232_for_it(county: County) -> None:
    holdings = company_with_shareholders(county)
    engine: Engine = county.engine
    co = county.ids["company"]

    @settings(max_examples=8)
    @given(income=st.integers(1, 10**9), share_rate=rate)
    def example(income: int, share_rate: int) -> None:
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                book(conn, co, date(2026, 6, 30), "收入", ("1002", "Dr", income), ("5001", "Cr", income))
                close_year(conn, co, 2026)
                plan_id = ex.create_plan(
                    conn,
                    co,
                    2026,
                    [Step("statutory_reserve", rate_bp=1_000), Step("shareholders", rate_bp=share_rate)],
                )
                ex.approve_plan(
                    conn, plan_id, approving_body="股东会", resolution_date=date(2027, 3, 1), document_no="P"
                )
                try:
                    done = ex.execute_plan(conn, plan_id)
                except PlanRefused:
                    assume(False)
                _check_sums(done.result)
                payable_total = 0
                for name, holding in holdings.items():
                    cp = get_shareholding(conn, holding).counterparty_id
                    payable = balance(conn, co, "2232", cp)
                    assert balance(conn, county.ids[name], "502") == payable  # their only 502
                    payable_total += payable
                assert payable_total == done.result.amount_of("shareholders")
                assert done.result.distributable_fen == income + 18_000_000  # + 2025's ¥180,000 kept
            finally:
                trans.rollback()

    example()
