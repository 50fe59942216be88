"""Year-end close (年终结账) on SQLite and PostgreSQL: refused while sources are unposted, then closed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from ledger.access.auth import principal_for_user
from ledger.books import county_time
from ledger.books.errors import Conflict
from ledger.books.periods import close_period, next_period
from ledger.books.trial_balance import balances_by_code, trial_balance
from ledger.community import welfare
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import JournalEntry
from ledger.distribution.yearend import close_year, year_closed
from tests.factories.county import County
from tests.factories.distribution import balance, book

entry_t = JournalEntry.__table__


def test_year_close_is_refused_while_stipends_are_not_posted_and_says_which(county: County) -> None:
    dz = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        welfare.create_post(
            conn,
            dz,
            welfare.NewPost(
                post="保洁员", holder="李四", monthly_stipend_fen=150_000, start=date(2025, 11, 1)
            ),
        )
        with pytest.raises(Conflict) as refused:
            close_year(conn, dz, 2025)
    message = refused.value.message
    assert "2025-11: welfare stipends of 2025-11 not posted for 1 post(s)" in message
    assert "2025-12: welfare stipends of 2025-12 not posted" in message
    assert "2025-10" not in message
    with write_tx(county.engine) as conn:
        welfare.run_stipends(conn, [dz], "2025-12")
        closed = close_year(conn, dz, 2025)
    assert closed.profit_fen == -300_000
    with read_tx(county.engine) as conn:
        assert balance(conn, dz, "32202") == -300_000  # a loss carried into 未分配收益


def test_year_close_is_refused_while_a_pos_shift_is_open(county: County) -> None:
    year = county_time.today().year
    with write_tx(county.engine) as conn:
        from pos.shifts import open_shift  # the test opens a shift; the ledger itself never imports pos

        shift = open_shift(
            conn, principal_for_user(conn, county.user_ids["cashier"]), county.stores["store1"], 0
        )
        with pytest.raises(Conflict, match=f"POS shift\\(s\\) {shift} still open"):
            close_year(conn, county.ids["company"], year)


def test_year_close_posts_two_close_entries_dated_december_31_and_is_idempotent(county: County) -> None:
    co = county.ids["company"]
    with write_tx(county.engine) as conn:
        book(conn, co, date(2025, 3, 1), "销售", ("1002", "Dr", 50_000), ("5001", "Cr", 50_000))
        book(conn, co, date(2025, 3, 2), "费用", ("5602", "Dr", 12_345), ("1002", "Cr", 12_345))
        first = close_year(conn, co, 2025)
    with write_tx(county.engine) as conn:
        again = close_year(conn, co, 2025)
    assert first.profit_fen == again.profit_fen == 37_655
    assert [e.id for e in first.entries] == [e.id for e in again.entries]
    assert not any(e.created for e in again.entries)
    with read_tx(county.engine) as conn:
        rows = conn.execute(select(entry_t).where(entry_t.c.id.in_([e.id for e in first.entries]))).all()
        assert {(r.source, r.entry_date) for r in rows} == {("close", date(2025, 12, 31))}
        assert sorted(r.idempotency_key for r in rows) == ["close:2025:income", "close:2025:profit"]
        assert year_closed(conn, co, 2025)


def test_next_years_opening_balances_follow_after_december_closes(county: County) -> None:
    co = county.ids["company"]
    with write_tx(county.engine) as conn:
        book(conn, co, date(2025, 3, 1), "销售", ("1002", "Dr", 50_000), ("5001", "Cr", 50_000))
        close_year(conn, co, 2025)
        period = "2025-03"
        while period <= "2025-12":
            close_period(conn, co, period)
            period = next_period(period)
    with read_tx(county.engine) as conn:
        rows = trial_balance(conn, co, "2026-01")
    opening = {r.code: r.opening_fen for r in rows}
    assert opening["310404"] == -50_000
    assert opening["5001"] == 0
    assert opening["3103"] == 0
    assert balances_by_code(rows)["1002"] == 50_000


def test_changed_books_after_a_close_are_refused_until_it_is_reversed(county: County) -> None:
    co = county.ids["company"]
    with write_tx(county.engine) as conn:
        book(conn, co, date(2025, 3, 1), "销售", ("1002", "Dr", 50_000), ("5001", "Cr", 50_000))
        close_year(conn, co, 2025)
        book(conn, co, date(2025, 12, 31), "补记", ("1002", "Dr", 1_000), ("5001", "Cr", 1_000))
        with pytest.raises(Conflict, match="reverse its closing entries"):
            close_year(conn, co, 2025)


def test_years_close_in_order(county: County) -> None:
    co = county.ids["company"]
    with write_tx(county.engine) as conn:
        book(conn, co, date(2024, 3, 1), "销售", ("1002", "Dr", 50_000), ("5001", "Cr", 50_000))
        with pytest.raises(Conflict, match="close 2024 first"):
            close_year(conn, co, 2025)
        close_year(conn, co, 2024)
        assert close_year(conn, co, 2025).entries == []  # nothing happened in 2025


def test_year_close_names_lease_accruals_not_run(county: County) -> None:
    from ledger.community.leases import contracts as leases
    from ledger.community.leases.schedule import LeaseTerms

    hh = county.ids["huahuaqiao"]
    with write_tx(county.engine) as conn:
        leases.create_contract(
            conn,
            hh,
            leases.NewContract(
                code="HT-2025-009",
                mode="lease",
                lessee="张三",
                terms=LeaseTerms(start=date(2025, 1, 1), end=date(2025, 12, 31), rent_per_cycle_fen=100_000),
            ),
        )
        leases.accrue_leases(conn, [hh], "2025-10")
        with pytest.raises(Conflict) as refused:
            close_year(conn, hh, 2025)
    assert (
        "2025-11: lease accruals of 2025-11 not run for 1 contract(s): HT-2025-009" in refused.value.message
    )
    assert "2025-10" not in refused.value.message
