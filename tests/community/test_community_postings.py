"""Worked examples of every community posting: the right account, the right dimension, to the fen.

Runs on a real SQLite file and a real PostgreSQL database.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from ledger.books.errors import Conflict, LedgerError, NotFound, ValidationError
from ledger.books.orgs import counterparty, create_org, org_by_code
from ledger.books.periods import close_period
from ledger.books.posting import Draft, Line, new_link_id, post_entries
from ledger.books.trial_balance import trial_balance
from ledger.books.verify import verify_all
from ledger.cli.main import app as cli_app
from ledger.community import brokerage, stakes, subsidies, welfare
from ledger.community.checks import lease_receivables_tie, lease_tie_differences
from ledger.community.leases import contracts as leases
from ledger.community.leases import receipts, rentroll
from ledger.community.leases.schedule import BillingCycle, BillingTiming, LeaseTerms, rent_schedule
from ledger.community.models import LeaseCharge
from ledger.db.engine import read_tx, run_write, write_tx
from ledger.db.models import Account, JournalEntry, JournalLine
from tests.factories.county import County

entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
account_t = Account.__table__
charge_t = LeaseCharge.__table__


def lines(engine: Engine, org_id: int) -> list[tuple]:  # type: ignore[type-arg]
    """(account, debit, credit, counterparty, contract, welfare_post) of every line, in posting order."""
    with read_tx(engine) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(
                    account_t.c.code,
                    line_t.c.debit_fen,
                    line_t.c.credit_fen,
                    line_t.c.counterparty_id,
                    line_t.c.contract_id,
                    line_t.c.welfare_post_id,
                )
                .join(account_t, account_t.c.id == line_t.c.account_id)
                .where(line_t.c.org_id == org_id)
                .order_by(line_t.c.entry_id, line_t.c.line_no)
            )
        ]


def closing(engine: Engine, org_id: int, period: str) -> dict[str, int]:
    with read_tx(engine) as conn:
        return {r.code: r.closing_fen for r in trial_balance(conn, org_id, period)}


def new_contract(
    engine: Engine, org_id: int, terms: LeaseTerms, code: str = "HT-1", lessee: str = "张三"
) -> int:
    with write_tx(engine) as conn:
        return leases.create_contract(
            conn, org_id, leases.NewContract(code=code, mode="contract", lessee=lessee, terms=terms)
        )


def charges(engine: Engine, contract_id: int) -> dict[str, int]:
    with read_tx(engine) as conn:
        return dict(
            conn.execute(
                select(charge_t.c.period, charge_t.c.amount_fen).where(charge_t.c.contract_id == contract_id)
            ).all()
        )


def test_free_months_escalation_and_proration_are_charged_to_the_fen(county: County) -> None:
    org = county.ids["dingzikou"]
    terms = LeaseTerms(
        start=date(2025, 3, 10),
        end=date(2028, 3, 9),
        rent_per_cycle_fen=300_000,
        cycle=BillingCycle.QUARTERLY,
        free_months=2,
        escalation_bp=500,
        escalation_every_years=1,
    )
    cid = new_contract(county.engine, org, terms)
    run_write(county.engine, lambda conn: leases.accrue_leases(conn, [org], "2028-03"))
    got = charges(county.engine, cid)
    # Free 10 Mar – 9 May; May earns 100000 × 22/31 = 70967.74 → 70968 fen
    assert "2025-03" not in got and "2025-04" not in got
    assert got["2025-05"] == 70_968
    assert got["2025-06"] == 100_000
    # the first anniversary (10 Mar 2026) prorates March: 9 days at 1000.00, 22 at 1050.00
    assert got["2026-03"] == round((100_000 * 9 + 105_000 * 22) / 31)
    assert got["2026-04"] == 105_000 and got["2027-04"] == 110_250
    assert got == {ln.period: ln.amount_fen for ln in rent_schedule(terms) if ln.amount_fen}
    assert sum(got.values()) == 0 * 2 + 100_000 * 10 + 105_000 * 12 + 110_250 * 12
    assert closing(county.engine, org, "2028-03")["112"] == sum(got.values())


def test_amendment_stops_future_charges_and_continues_on_a_linked_contract(county: County) -> None:
    org = county.ids["dingzikou"]
    old = new_contract(county.engine, org, LeaseTerms(date(2025, 1, 1), date(2026, 12, 31), 100_000))
    run_write(county.engine, lambda conn: leases.accrue_leases(conn, [org], "2025-06"))
    with write_tx(county.engine) as conn:
        new = leases.supersede_contract(
            conn,
            org,
            old,
            relation="amendment",
            code="HT-1-A1",
            terms=LeaseTerms(date(2025, 7, 1), date(2026, 12, 31), 80_000),
        )
    run_write(county.engine, lambda conn: leases.accrue_leases(conn, [org], "2026-12"))
    assert sorted(charges(county.engine, old)) == [f"2025-{m:02d}" for m in range(1, 7)]
    assert set(charges(county.engine, new).values()) == {80_000} and len(charges(county.engine, new)) == 18
    with read_tx(county.engine) as conn:
        assert leases.get_contract(conn, org, new).previous_id == old
        assert lease_tie_differences(conn, org) == {}


def test_arrears_aging_buckets_on_fixed_dates(county: County) -> None:
    org = county.ids["dingzikou"]
    cid = new_contract(county.engine, org, LeaseTerms(date(2025, 1, 1), date(2025, 12, 31), 100_000))
    run_write(county.engine, lambda conn: leases.accrue_leases(conn, [org], "2025-12"))
    with write_tx(county.engine) as conn:
        receipts.receive_rent(conn, org, lessee="张三", amount_fen=100_000, received_on=date(2025, 12, 31))
    with read_tx(county.engine) as conn:
        row = rentroll.rent_roll(conn, [org], date(2025, 7, 31))[0]
    # As of means as of: on 31 Jul the books hold January to July's accruals (each voucher dated the month's
    # last day) and not the rent received on 31 Dec. Due the 1st of each month in advance: 1 Jan is 211 days
    # past due, 1 Feb 180, 1 May 91, 1 Jun 60, 1 Jul 30.
    assert row.contract_id == cid
    assert row.aging == {"current": 0, "0-30": 100_000, "31-90": 100_000, "91-180": 400_000, ">180": 100_000}
    assert (row.billed_fen, row.received_fen) == (700_000, 0)
    with read_tx(county.engine) as conn:
        row = rentroll.rent_roll(conn, [org], date(2025, 8, 1))[0]
    assert row.aging[">180"] == 200_000 and row.aging["current"] == 0
    with read_tx(county.engine) as conn:
        row = rentroll.rent_roll(conn, [org], date(2025, 12, 31))[0]
    # By the year's end every month is accrued and January is paid.
    assert (row.billed_fen, row.received_fen, row.outstanding_fen) == (1_200_000, 100_000, 1_100_000)
    assert row.aging[">180"] == 600_000  # February to July, 183 days and more


def test_arrears_billing_is_due_after_the_quarter(county: County) -> None:
    org = county.ids["dingzikou"]
    terms = LeaseTerms(
        date(2025, 1, 1),
        date(2025, 12, 31),
        300_000,
        cycle=BillingCycle.QUARTERLY,
        timing=BillingTiming.ARREARS,
    )
    new_contract(county.engine, org, terms)
    run_write(county.engine, lambda conn: leases.accrue_leases(conn, [org], "2025-03"))
    with read_tx(county.engine) as conn:
        dues = set(conn.execute(select(charge_t.c.due_date)).scalars())
        assert rentroll.aging_totals(rentroll.rent_roll(conn, [org], date(2025, 3, 31)))["current"] == 300_000
    assert dues == {date(2025, 4, 1)}


def test_brokerage_fee_on_credit_posts_to_the_client_and_is_collected(county: County) -> None:
    org = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        deal = brokerage.record_deal(
            conn,
            org,
            brokerage.Deal(
                client="某房产中介",
                kind="house_lease",
                earned_on=date(2025, 4, 2),
                deal_value_fen=3_600_000,
                commission_rate_bp=250,
                other_party="李四",
            ),
        )
        client = counterparty(conn, org, "client", "某房产中介")
    fee = 90_000
    net = round(fee / 1.01)
    assert lines(county.engine, org) == [
        ("112", fee, 0, client, None, None),
        ("50103", 0, net, client, None, None),
        ("214", 0, fee - net, None, None, None),
    ]
    with write_tx(county.engine) as conn:
        brokerage.receive_fee(conn, org, deal, amount_fen=40_000, received_on=date(2025, 5, 1))
        assert brokerage.outstanding(conn, [org])[0]["outstanding_fen"] == 50_000
        with pytest.raises(ValidationError) as exc:
            brokerage.receive_fee(conn, org, deal, amount_fen=50_001, received_on=date(2025, 5, 1))
        assert exc.value.field == "amount"
    assert lines(county.engine, org)[-2:] == [
        ("102", 40_000, 0, None, None, None),
        ("112", 0, 40_000, client, None, None),
    ]


def test_brokerage_fixed_fee_paid_at_once_debits_the_bank(county: County) -> None:
    org = county.ids["huahuaqiao"]
    with write_tx(county.engine) as conn:
        brokerage.record_deal(
            conn,
            org,
            brokerage.Deal(
                client="务工人员",
                kind="labour",
                earned_on=date(2025, 4, 2),
                commission_fen=20_000,
                paid_at_once=True,
            ),
        )
        assert brokerage.outstanding(conn, [org]) == []
    assert [ln[:3] for ln in lines(county.engine, org)] == [
        ("102", 20_000, 0),
        ("50103", 0, 19_802),
        ("214", 0, 198),
    ]


def test_stipend_run_posts_each_post_month_once_and_prorates_a_partial_month(county: County) -> None:
    org = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        cleaner = welfare.create_post(
            conn,
            org,
            welfare.NewPost(
                post="保洁员", holder="王五", monthly_stipend_fen=180_000, start=date(2025, 1, 16)
            ),
        )
        guard = welfare.create_post(
            conn,
            org,
            welfare.NewPost(
                post="治安巡逻员",
                holder="赵六",
                monthly_stipend_fen=200_000,
                start=date(2025, 1, 1),
                end=date(2025, 2, 14),
            ),
        )
    run = run_write(county.engine, lambda conn: welfare.run_stipends(conn, [org], "2025-03"))
    again = run_write(county.engine, lambda conn: welfare.run_stipends(conn, [org], "2025-03"))
    assert (run.posted, again.posted) == (5, 0)
    jan_cleaner = round(180_000 * 16 / 31)
    feb_guard = 200_000 * 14 // 28
    assert run.amount_fen == jan_cleaner + 180_000 * 2 + 200_000 + feb_guard
    first = lines(county.engine, org)[:2]
    assert first == [
        ("51401", jan_cleaner, 0, None, None, cleaner),
        ("212", 0, jan_cleaner, None, None, cleaner),
    ]
    with write_tx(county.engine) as conn:
        welfare.pay_stipend(conn, org, guard, paid_on=date(2025, 3, 5))
        welfare.facility_spending(
            conn, org, amount_fen=35_000, spent_on=date(2025, 3, 6), memo="修缮社区健身器材"
        )
    tb = closing(county.engine, org, "2025-03")
    assert tb["212"] == -(jan_cleaner + 180_000 * 2) and tb["51402"] == 35_000
    assert tb["102"] == -(200_000 + feb_guard + 35_000)
    with pytest.raises(ValidationError) as exc, write_tx(county.engine) as conn:
        welfare.post_stipend(conn, org, guard, "2025-03")
    assert exc.value.field == "period"


def test_a_month_cannot_close_before_its_stipends_are_posted(county: County) -> None:
    org = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        welfare.create_post(
            conn,
            org,
            welfare.NewPost(
                post="护路员", holder="孙七", monthly_stipend_fen=150_000, start=date(2025, 1, 1)
            ),
        )
    with pytest.raises(Conflict, match="stipends of 2025-01"), write_tx(county.engine) as conn:
        close_period(conn, org, "2025-01")
    run_write(county.engine, lambda conn: welfare.run_stipends(conn, [org], "2025-01"))
    with write_tx(county.engine) as conn:
        close_period(conn, org, "2025-01")


def test_work_fund_subsidy_credits_subsidy_income(county: County) -> None:
    org = county.ids["hongxingqiao"]
    with write_tx(county.engine) as conn:
        subsidies.receive_subsidy(
            conn,
            org,
            source=subsidies.WORK_FUND,
            grantor="沿河县财政局",
            amount_fen=10_000_000,
            received_on=date(2025, 2, 1),
        )
        assert subsidies.totals_by_source(conn, [org], 2025) == [
            {"org_id": org, "source": "工作经费", "amount_fen": 10_000_000}
        ]
    assert [ln[:3] for ln in lines(county.engine, org)] == [("102", 10_000_000, 0), ("503", 0, 10_000_000)]


def test_dividend_receivable_posts_linked_with_the_company_side(county: County) -> None:
    org, company = county.ids["dingzikou"], county.ids["company"]
    with write_tx(county.engine) as conn:
        stakes.record_stake(
            conn,
            org,
            company_org_id=company,
            paid_in_fen=20_000_000,
            share_bp=2_000,
            acquired_on=date(2025, 1, 10),
        )
        cp = stakes.company_counterparty(conn, org, company)
        holder = counterparty(conn, company, "shareholder", "丁字口社区", ref_org_id=org)
        link = new_link_id()
        mine = stakes.dividend_receivable_draft(
            conn,
            org,
            company_org_id=company,
            amount_fen=1_234_567,
            entry_date=date(2025, 12, 31),
            link_id=link,
        )
        theirs = Draft(
            company,
            date(2025, 12, 31),
            "应付丁字口社区利润",
            [Line("3104", debit_fen=1_234_567), Line("2232", credit_fen=1_234_567, counterparty_id=holder)],
            source="distribution",
            link_id=link,
        )
        posted = post_entries(conn, [theirs, mine])
    assert {p.org_id for p in posted} == {org, company}
    assert lines(county.engine, org) == [
        ("141", 20_000_000, 0, cp, None, None),
        ("102", 0, 20_000_000, None, None, None),
        ("112", 1_234_567, 0, cp, None, None),
        ("502", 0, 1_234_567, cp, None, None),
    ]
    with read_tx(county.engine) as conn:
        links = (
            conn.execute(select(entry_t.c.link_id).where(entry_t.c.source == "distribution")).scalars().all()
        )
        assert links == [link, link]
        assert [str(p) for p in verify_all(conn)] == []


def test_a_failing_company_side_leaves_no_dividend_receivable(county: County) -> None:
    org, company = county.ids["dingzikou"], county.ids["company"]
    with pytest.raises(LedgerError), write_tx(county.engine) as conn:
        link = new_link_id()
        mine = stakes.dividend_receivable_draft(
            conn, org, company_org_id=company, amount_fen=500, entry_date=date(2025, 12, 31), link_id=link
        )
        bad = Draft(
            company, date(2025, 12, 31), "x", [Line("3104", debit_fen=500), Line("2232", credit_fen=499)]
        )
        post_entries(conn, [bad, mine])
    assert lines(county.engine, org) == []


def test_cli_accrues_a_street(county: County) -> None:
    org = county.ids["huahuaqiao"]
    new_contract(county.engine, org, LeaseTerms(date(2025, 1, 1), date(2025, 12, 31), 100_000))
    runner = CliRunner()
    db = county.engine.url.render_as_string(hide_password=False)
    first = runner.invoke(
        cli_app, ["leases", "accrue", "--through", "2025-02", "--street", "heping", "--db", db]
    )
    assert first.exit_code == 0, first.output
    assert "accrued 2 contract-months through 2025-02: 2000.00 on 2 vouchers" in first.output
    again = runner.invoke(
        cli_app, ["leases", "accrue", "--through", "2025-02", "--org", "huahuaqiao", "--db", db]
    )
    assert "accrued 0" in again.output
    roll = runner.invoke(
        cli_app, ["leases", "rent-roll", "--as-of", "2025-03-01", "--org", "huahuaqiao", "--db", db]
    )
    assert roll.exit_code == 0 and "2000.00" in roll.output
    bad = runner.invoke(
        cli_app, ["leases", "accrue", "--through", "2025-13", "--org", "huahuaqiao", "--db", db]
    )
    assert bad.exit_code == 2 and "through" in bad.output


# -- the sub-ledger ties to the books after any sequence of operations --------------------------------------

_orgs = itertools.count()

months = st.integers(min_value=0, max_value=23)


def _plus_months(day: date, n: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 + n, 12)
    return date(year, month + 1, min(day.day, 28))


contract_terms = st.builds(
    lambda start, length, rent, cycle, timing, free, esc: LeaseTerms(
        start=start,
        end=_plus_months(start, length) - timedelta(days=1),
        rent_per_cycle_fen=rent,
        cycle=cycle,
        timing=timing,
        free_months=min(free, length),
        escalation_bp=esc,
        escalation_every_years=1 if esc else 0,
    ),
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2025, 12, 28)),
    length=st.integers(min_value=1, max_value=24),
    rent=st.integers(min_value=0, max_value=2_000_000),
    cycle=st.sampled_from(list(BillingCycle)),
    timing=st.sampled_from(list(BillingTiming)),
    free=st.integers(min_value=0, max_value=3),
    esc=st.sampled_from([0, 300, 1000]),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("accrue"), months),
        st.tuples(st.just("receipt"), st.integers(0, 2), st.integers(1, 3_000_000), months),
        st.tuples(st.just("deposit"), st.integers(0, 2), st.integers(1, 500_000), months),
        st.tuples(st.just("terminate"), st.integers(0, 2), months),
        st.tuples(st.just("amend"), st.integers(0, 2), months, st.integers(0, 500_000)),
    ),
    max_size=8,
)


def _month(n: int) -> tuple[str, date]:
    year, month = 2025 + n // 12, n % 12 + 1
    return f"{year}-{month:02d}", date(year, month, 15)


@settings(max_examples=12)
@given(terms=st.lists(contract_terms, min_size=1, max_size=3), ops=operations)
def test_lease_receivables_equal_the_112_balance_after_any_operations(
    engine: Engine,
    terms: list[LeaseTerms],
    ops: list[tuple],  # type: ignore[type-arg]
) -> None:
    n = next(_orgs)
    with write_tx(engine) as conn:
        try:
            street_id = org_by_code(conn, "hyp-street").id
        except NotFound:
            county = create_org(conn, code="hyp-county", name="县", kind="county")
            street_id = create_org(conn, code="hyp-street", name="街道", kind="street", parent_id=county)
        org = create_org(conn, code=f"hyp-{n}", name=f"社区{n}", kind="community", parent_id=street_id)
    ids = [new_contract(engine, org, t, code=f"HT-{i}", lessee=f"承租人{i % 2}") for i, t in enumerate(terms)]
    for op in ops:
        try:
            with write_tx(engine) as conn:
                if op[0] == "accrue":
                    leases.accrue_leases(conn, [org], _month(op[1])[0])
                elif op[0] == "receipt":
                    receipts.receive_rent(
                        conn, org, lessee=f"承租人{op[1] % 2}", amount_fen=op[2], received_on=_month(op[3])[1]
                    )
                elif op[0] == "deposit":
                    cid = ids[op[1] % len(ids)]
                    receipts.receive_deposit(conn, org, cid, amount_fen=op[2], on=_month(op[3])[1])
                elif op[0] == "amend":
                    cid = ids[op[1] % len(ids)]
                    old = leases.get_contract(conn, org, cid)
                    start = _month(op[2])[1]
                    end = old.terminated_on or old.end_date
                    ids.append(
                        leases.supersede_contract(
                            conn,
                            org,
                            cid,
                            relation="amendment" if start <= end else "renewal",
                            code=f"HT-{len(ids)}",
                            terms=LeaseTerms(start, max(start, end), op[3]),
                        )
                    )
                else:
                    cid = ids[op[1] % len(ids)]
                    receipts.terminate_and_settle(
                        conn, org, cid, last_day=_month(op[2])[1], on=_month(op[2])[1], refund_rest=True
                    )
        except LedgerError:
            pass  # refused (no contract, a termination over posted rent …): nothing written
        with read_tx(engine) as conn:
            assert lease_tie_differences(conn, org) == {}
    with read_tx(engine) as conn:
        leases_112 = sum(s for s, _ in _subledger(conn, org).values())
        tb = {r.code: r.closing_fen for r in trial_balance(conn, org, "2027-12")}
        assert tb["112"] == leases_112
        assert lease_receivables_tie(conn, org) == []


def _subledger(conn, org: int) -> dict[int, tuple[int, int]]:  # type: ignore[no-untyped-def]
    out = {}
    for cid in leases.contract_ids(conn, org):
        billed, received = leases.contract_balances(conn, [cid])[cid]
        out[cid] = (billed - received, 0)
    return out
