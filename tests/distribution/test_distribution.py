"""Profit distribution as the street's finance office does it: worked examples on SQLite and PostgreSQL.

The joint company 和平街道村社合股联营集体经济公司 (registered capital ¥1,000,000) has three shareholders —
丁字口社区, 花花桥社区 and 示范村一 — with ¥300,000, ¥200,000 and ¥100,000 paid in. It lost ¥20,000 in 2024
and earned ¥200,000 in 2025; its statutory reserve stood at ¥490,000, ¥10,000 under the cap.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Connection, func, select

from ledger.books.errors import AccountNotPostable, Conflict, PeriodClosed, ValidationError
from ledger.books.periods import close_period, next_period
from ledger.books.posting import Draft, Line, post_entry
from ledger.books.verify import verify_org
from ledger.community.stakes import company_counterparty
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import Account, JournalEntry, JournalLine
from ledger.distribution import execute as ex
from ledger.distribution.plans import PlanRefused, Step
from ledger.distribution.shareholders import get_shareholding
from tests.factories.county import County
from tests.factories.distribution import YUAN, approved_company_plan, balance, book, company_with_shareholders

entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
account_t = Account.__table__


def test_year_close_carries_profit_into_undistributed_profit(county: County) -> None:
    company_with_shareholders(county)
    with read_tx(county.engine) as conn:
        co = county.ids["company"]
        assert balance(conn, co, "3103") == 0
        assert balance(conn, co, "5") == 0  # every income and expense account closed
        assert balance(conn, co, "310404") == 180_000 * YUAN  # −20,000 brought forward + 200,000


def test_company_with_prior_loss_and_reserve_cap_reached_mid_year(county: County) -> None:
    company_with_shareholders(county)
    plan_id = approved_company_plan(county)
    with read_tx(county.engine) as conn:
        run = ex.dry_run_plan(conn, plan_id)
    assert run.facts.profit_fen == 200_000 * YUAN
    assert run.facts.brought_forward_fen == -20_000 * YUAN
    assert run.losses_covered_fen == 20_000 * YUAN
    assert run.base_fen == 180_000 * YUAN
    assert run.distributable_fen == 180_000 * YUAN
    assert run.amount_of("statutory_reserve") == 10_000 * YUAN  # 10 % would be 18,000; the cap leaves 10,000
    by_org = {s.recipient.key: s.amount_fen for s in run.lines[-1].shares}
    assert by_org == {
        county.ids["dingzikou"]: 5_000_000,
        county.ids["huahuaqiao"]: 3_333_334,
        county.ids["village1"]: 1_666_667,
    }
    assert run.undistributed_fen == 6_999_999  # ¥69,999.99 stays as 未分配利润
    assert run.distributed_fen + run.undistributed_fen == run.distributable_fen


def test_executing_a_plan_links_the_company_and_every_shareholder(county: County) -> None:
    holdings = company_with_shareholders(county)
    plan_id = approved_company_plan(county)
    co = county.ids["company"]
    with write_tx(county.engine) as conn:
        done = ex.execute_plan(conn, plan_id)
    assert len(done.entries) == 5  # distribution, transfer, three shareholders
    with read_tx(county.engine) as conn:
        links = set(
            conn.execute(
                select(entry_t.c.link_id).where(entry_t.c.id.in_([e.id for e in done.entries]))
            ).scalars()
        )
        assert links == {done.link_id}
        assert balance(conn, co, "310101") == 500_000 * YUAN
        assert balance(conn, co, "2232") == 10_000_001
        assert balance(conn, co, "310404") == 6_999_999
        for sub in ("310401", "310402", "310403"):
            assert balance(conn, co, sub) == 0
        for name, holding in holdings.items():
            payable = balance(conn, co, "2232", get_shareholding(conn, holding).counterparty_id)
            assert -balance(conn, county.ids[name], "112") == payable
            assert balance(conn, county.ids[name], "502") == payable
        assert ex.get_plan(conn, plan_id).status == "executed"
        for org in ("company", "dingzikou", "huahuaqiao", "village1"):
            assert verify_org(conn, county.ids[org]) == []


def test_capital_tie_is_checked_by_verify(county: County) -> None:
    company_with_shareholders(county)
    v1 = county.ids["village1"]
    with write_tx(county.engine) as conn:
        cp = company_counterparty(conn, v1, county.ids["company"])
        lines = [Line("141", debit_fen=100, counterparty_id=cp), Line("102", credit_fen=100)]
        # A plain entry to 141 is refused now (tests/books/test_kept_accounts.py); a workflow's
        # wrong one is not.
        with pytest.raises(AccountNotPostable, match="account 141 is kept by the stakes"):
            post_entry(conn, Draft(org_id=v1, entry_date=date(2025, 2, 1), memo="误记", lines=lines))
    with write_tx(county.engine) as conn:
        draft = Draft(org_id=v1, entry_date=date(2025, 2, 1), memo="误记", lines=lines, source="distribution")
        post_entry(conn, draft)
    with read_tx(county.engine) as conn:
        problems = verify_org(conn, county.ids["village1"])
    assert [p.check for p in problems] == ["capital_tie"]


def test_plan_giving_out_more_than_distributable_is_refused(county: County) -> None:
    company_with_shareholders(county)
    with write_tx(county.engine) as conn:
        plan_id = ex.create_plan(
            conn,
            county.ids["company"],
            2025,
            [Step("statutory_reserve", rate_bp=1_000), Step("shareholders", amount_fen=175_000 * YUAN)],
        )
        with pytest.raises(
            PlanRefused, match="gives out 18500000 fen but only 18000000 fen is distributable"
        ):
            ex.dry_run_plan(conn, plan_id)


def test_plan_breaking_the_statutory_order_is_refused(county: County) -> None:
    with write_tx(county.engine) as conn, pytest.raises(PlanRefused) as refused:
        ex.create_plan(
            conn,
            county.ids["company"],
            2025,
            [Step("shareholders", rate_bp=5_000), Step("statutory_reserve", rate_bp=1_000)],
        )
    assert "step 2 (statutory_reserve) comes after shareholders" in refused.value.message


def test_plan_without_the_statutory_reserve_is_refused(county: County) -> None:
    company_with_shareholders(county)
    with write_tx(county.engine) as conn:
        plan_id = ex.create_plan(conn, county.ids["company"], 2025, [Step("shareholders", rate_bp=5_000)])
        with pytest.raises(PlanRefused, match="statutory reserve"):
            ex.dry_run_plan(conn, plan_id)


def _close_through(conn: Connection, org_id: int, last: str) -> None:
    period = "2024-01"
    while period <= last:
        close_period(conn, org_id, period)
        period = next_period(period)


def test_failure_in_one_shareholders_books_posts_nothing_anywhere(county: County) -> None:
    company_with_shareholders(county)
    plan_id = approved_company_plan(county)
    with write_tx(county.engine) as conn:
        _close_through(conn, county.ids["village1"], "2025-12")
    with write_tx(county.engine) as conn:
        before = conn.execute(select(func.count()).select_from(entry_t)).scalar_one()
    with pytest.raises(PeriodClosed), write_tx(county.engine) as conn:
        ex.execute_plan(conn, plan_id)
    with read_tx(county.engine) as conn:
        assert conn.execute(select(func.count()).select_from(entry_t)).scalar_one() == before
        assert (
            conn.execute(
                select(func.count()).select_from(entry_t).where(entry_t.c.source == "distribution")
            ).scalar_one()
            == 0
        )
        assert ex.get_plan(conn, plan_id).status == "approved"


def test_reversing_a_plan_reverses_every_linked_entry(county: County) -> None:
    company_with_shareholders(county)
    plan_id = approved_company_plan(county)
    co = county.ids["company"]
    with write_tx(county.engine) as conn:
        done = ex.execute_plan(conn, plan_id)
        reversals = ex.reverse_plan(conn, plan_id, entry_date=date(2025, 12, 31))
    assert len(reversals) == len(done.entries)
    with read_tx(county.engine) as conn:
        assert {
            r.reverses_id
            for r in conn.execute(select(entry_t).where(entry_t.c.id.in_([r.id for r in reversals])))
        } == {e.id for e in done.entries}
        assert balance(conn, co, "2232") == 0
        assert balance(conn, co, "310101") == 490_000 * YUAN
        assert balance(conn, co, "310404") == 180_000 * YUAN
        for name in ("dingzikou", "huahuaqiao", "village1"):
            assert balance(conn, county.ids[name], "502") == 0
        assert ex.get_plan(conn, plan_id).status == "reversed"
    # a corrected version can then be approved and executed
    second = approved_company_plan(
        county, [Step("statutory_reserve", rate_bp=1_000), Step("shareholders", rate_bp=10_000)]
    )
    with write_tx(county.engine) as conn:
        assert ex.get_plan(conn, second).version == 2
        ex.execute_plan(conn, second)
        assert balance(conn, co, "2232") == 170_000 * YUAN
        assert balance(conn, co, "310404") == 0


def test_dividend_payment_links_both_sides_and_blocks_reversal(county: County) -> None:
    company_with_shareholders(county)
    plan_id = approved_company_plan(county)
    co, dz = county.ids["company"], county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        ex.execute_plan(conn, plan_id)
        ex.pay_dividend(
            conn, co, shareholder_org_id=dz, amount_fen=5_000_000, paid_on=date(2026, 1, 15), plan_id=plan_id
        )
    with read_tx(county.engine) as conn:
        assert balance(conn, dz, "112") == 0
        assert balance(conn, dz, "102") == -(300_000 * YUAN - 300_000 * YUAN + 5_000_000)
        paid = conn.execute(select(ex.payment_t)).one()
        both = conn.execute(select(entry_t.c.org_id).where(entry_t.c.link_id == paid.link_id)).scalars().all()
        assert sorted(both) == sorted([co, dz])
    with write_tx(county.engine) as conn, pytest.raises(Conflict, match="paid"):
        ex.reverse_plan(conn, plan_id, entry_date=date(2026, 1, 31))


def test_a_dividend_payment_retried_after_it_settled_the_debt_returns_the_original(county: County) -> None:
    """Found by the simulation: the retry met 0 fen owed (its own payment) and was refused as overpaid."""
    from ledger.books.errors import IdempotencyConflict

    company_with_shareholders(county)
    plan_id = approved_company_plan(county)
    co, dz = county.ids["company"], county.ids["dingzikou"]
    pay = dict(shareholder_org_id=dz, amount_fen=5_000_000, paid_on=date(2026, 1, 15), plan_id=plan_id)
    with write_tx(county.engine) as conn:
        ex.execute_plan(conn, plan_id)
        first = ex.pay_dividend(conn, co, **pay, idempotency_key="div-1")  # the whole 5,000,000 owed
    with write_tx(county.engine) as conn:
        before = conn.execute(select(func.count()).select_from(entry_t)).scalar_one()
        assert ex.pay_dividend(conn, co, **pay, idempotency_key="div-1") == first
        assert conn.execute(select(func.count()).select_from(entry_t)).scalar_one() == before
        with pytest.raises(IdempotencyConflict):
            ex.pay_dividend(conn, co, **{**pay, "amount_fen": 4_000_000}, idempotency_key="div-1")
        with pytest.raises(ValidationError, match="only 0 fen"):
            ex.pay_dividend(conn, co, **pay, idempotency_key="div-2")


def test_executing_before_the_year_is_closed_is_refused(county: County) -> None:
    with write_tx(county.engine) as conn:
        book(conn, county.ids["company"], date(2026, 3, 1), "收入", ("1002", "Dr", 100), ("5001", "Cr", 100))
        plan_id = ex.create_plan(
            conn, county.ids["company"], 2026, [Step("statutory_reserve", rate_bp=1_000)]
        )
        ex.approve_plan(
            conn, plan_id, approving_body="股东会", resolution_date=date(2026, 12, 1), document_no="X1"
        )
        with pytest.raises(Conflict, match="close the year 2026 first"):
            ex.execute_plan(conn, plan_id)


def test_agreed_ratios_replace_paid_in_capital_once_every_shareholder_signs(county: County) -> None:
    holdings = company_with_shareholders(county)
    co = county.ids["company"]
    with write_tx(county.engine) as conn:
        from ledger.distribution.shareholders import holding_t, record_ratio_agreement

        for name, bp in (("dingzikou", 3_334), ("huahuaqiao", 3_333), ("village1", 3_333)):
            conn.execute(
                holding_t.update().where(holding_t.c.id == holdings[name]).values(agreed_ratio_bp=bp)
            )
        record_ratio_agreement(
            conn,
            co,
            effective_from=date(2025, 1, 1),
            document_no="全体股东协议 2025-01",
            signed_on=date(2025, 1, 1),
        )
    plan_id = approved_company_plan(
        county, [Step("statutory_reserve", rate_bp=1_000), Step("shareholders", amount_fen=100)]
    )
    with read_tx(county.engine) as conn:
        run = ex.dry_run_plan(conn, plan_id)
    assert [s.amount_fen for s in run.lines[-1].shares] == [34, 33, 33]


def test_reversing_one_entry_through_the_entries_api_reverses_the_plan_in_the_register(
    county: County,
) -> None:
    from ledger.books.posting import reverse_entry

    company_with_shareholders(county)
    plan_id = approved_company_plan(county)
    with write_tx(county.engine) as conn:
        done = ex.execute_plan(conn, plan_id)
        reversals = reverse_entry(conn, done.entries[-1].id, entry_date=date(2025, 12, 31))
        assert len(reversals) == len(done.entries)  # a shareholder's entry takes its whole link with it
        assert ex.reverse_plan(conn, plan_id, entry_date=date(2025, 12, 31)) == []
        assert ex.get_plan(conn, plan_id).status == "reversed"
    second = approved_company_plan(county)
    with write_tx(county.engine) as conn:
        run = ex.execute_plan(conn, second).result
    assert run.distributable_fen == 180_000 * YUAN  # the reversed plan is out of the facts


def test_two_concurrent_executions_of_one_plan_post_it_once(county: County) -> None:
    import threading

    from ledger.db.engine import run_write

    company_with_shareholders(county)
    plan_id = approved_company_plan(county)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        try:
            run_write(county.engine, lambda conn: ex.execute_plan(conn, plan_id))
            outcomes.append("executed")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "executed"]
    with read_tx(county.engine) as conn:
        count = conn.execute(
            select(func.count()).select_from(entry_t).where(entry_t.c.source_ref == f"plan:{plan_id}")
        ).scalar_one()
    assert count == 2  # the company's distribution and transfer, once
