"""The ledger core as a bookkeeper would check it, on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from ledger.books.errors import (
    AccountNotPostable,
    Conflict,
    IdempotencyConflict,
    PeriodClosed,
    UnbalancedEntry,
)
from ledger.books.orgs import add_sub_account, close_account, statutory_chart
from ledger.books.periods import close_period, reopen_period
from ledger.books.posting import Draft, Line, new_link_id, post_entries, post_entry, reverse_entry
from ledger.books.trial_balance import org_nets_to_zero, trial_balance
from ledger.books.verify import verify_all
from ledger.db.engine import read_tx, run_write, write_tx
from ledger.db.models import JournalEntry
from tests.factories.books import raw_posting
from tests.factories.county import County

entry_t = JournalEntry.__table__


def rent(org_id: int, day: date = date(2025, 3, 5), amount: int = 10_500, key: str | None = None) -> Draft:
    """Rent received: Dr 102 银行存款 / Cr 50102 租赁收入, Cr 214 应交税费 (5% simplified levy)."""
    tax = amount * 500 // 10_500
    return Draft(
        org_id,
        day,
        "收三月租金",
        [Line("102", debit_fen=amount), Line("50102", credit_fen=amount - tax), Line("214", credit_fen=tax)],
        idempotency_key=key,
    )


def test_creating_an_org_loads_its_statutory_chart(county: County) -> None:
    assert len(statutory_chart("collective")) == 42
    assert len(statutory_chart("small_enterprise")) == 66
    with read_tx(county.engine) as conn:
        tb_collective = trial_balance(conn, county.ids["dingzikou"], "2025-01")
        tb_company = trial_balance(conn, county.ids["company"], "2025-01")
    assert len(tb_collective) == 42 and tb_collective[0].code == "101"
    assert len(tb_company) == 66 and {r.code for r in tb_company} >= {"1001", "5001", "5403", "3104"}


def test_rent_received_posts_balanced_entry_with_voucher_number(sub_accounts: County) -> None:
    with write_tx(sub_accounts.engine) as conn:
        posted = post_entry(conn, rent(sub_accounts.ids["dingzikou"]))
    assert posted.voucher_no == "记-2025-03-0001"
    with read_tx(sub_accounts.engine) as conn:
        rows = {r.code: r for r in trial_balance(conn, sub_accounts.ids["dingzikou"], "2025-03")}
    assert rows["102"].closing_fen == 10_500
    assert (
        rows["50102"].closing_fen == -10_000 and rows["501"].closing_fen == -10_000
    )  # rolled up to the parent
    assert rows["214"].closing_fen == -500
    assert rows["501"].side == "贷" and rows["101"].side == "平"


def test_unbalanced_entry_is_refused_in_python(sub_accounts: County) -> None:
    bad = Draft(
        sub_accounts.ids["dingzikou"],
        date(2025, 3, 5),
        "x",
        [Line("102", debit_fen=100), Line("50102", credit_fen=99)],
    )
    with pytest.raises(UnbalancedEntry) as err, write_tx(sub_accounts.engine) as conn:
        post_entry(conn, bad)
    assert "differ by 1 fen" in err.value.message and err.value.field == "lines"


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([Line("102", debit_fen=100)], "lines"),
        ([Line("102", debit_fen=0), Line("50102", credit_fen=0)], "lines[0].debit"),
        ([Line("102", debit_fen=-100), Line("50102", credit_fen=-100)], "lines[0].debit"),
        ([Line("102", debit_fen=100, credit_fen=100), Line("50102", credit_fen=0)], "lines[0].debit"),
    ],
)
def test_malformed_lines_are_refused_naming_the_field(
    sub_accounts: County, lines: list[Line], field: str
) -> None:
    with pytest.raises(UnbalancedEntry) as err, write_tx(sub_accounts.engine) as conn:
        post_entry(conn, Draft(sub_accounts.ids["dingzikou"], date(2025, 3, 5), "x", lines))
    assert err.value.field == field


def test_summary_closed_and_foreign_accounts_take_no_postings(sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    with write_tx(sub_accounts.engine) as conn:
        add_sub_account(conn, org, "211", "押金")  # 21101
    cases = [
        (Line("501", credit_fen=100), "has sub-accounts"),
        (Line("5001", credit_fen=100), "no account 5001"),  # a company account, not in the collective chart
    ]
    for line, message in cases:
        with pytest.raises(AccountNotPostable, match=message), write_tx(sub_accounts.engine) as conn:
            post_entry(conn, Draft(org, date(2025, 3, 5), "x", [Line("102", debit_fen=100), line]))
    with write_tx(sub_accounts.engine) as conn:
        close_account(conn, org, "21101")
    with pytest.raises(AccountNotPostable, match="closed"), write_tx(sub_accounts.engine) as conn:
        post_entry(
            conn, Draft(org, date(2025, 3, 5), "x", [Line("102", debit_fen=1), Line("21101", credit_fen=1)])
        )


def test_a_posting_sees_the_chart_as_its_own_transaction_left_it(sub_accounts: County) -> None:
    """Posting reads the accounts its drafts name inside the caller's transaction: an account opened,
    turned into a summary account or closed after an earlier posting of the same transaction is seen."""
    org = sub_accounts.ids["dingzikou"]

    def post(conn: Connection, code: str) -> None:
        post_entry(
            conn, Draft(org, date(2025, 3, 5), "x", [Line("102", debit_fen=1), Line(code, credit_fen=1)])
        )

    with write_tx(sub_accounts.engine) as conn:
        with pytest.raises(AccountNotPostable, match="no account 21101"):
            post(conn, "21101")
        post(conn, "214")
        assert add_sub_account(conn, org, "211", "押金") == "21101"  # 211 becomes a summary account
        post(conn, "21101")
        with pytest.raises(AccountNotPostable, match="has sub-accounts"):
            post(conn, "211")
        assert add_sub_account(conn, org, "211", "保证金") == "21102"
        close_account(conn, org, "21102")
        with pytest.raises(AccountNotPostable, match="closed"):
            post(conn, "21102")
        posted = conn.execute(
            select(func.count()).select_from(entry_t).where(entry_t.c.org_id == org, entry_t.c.memo == "x")
        ).scalar_one()
    assert posted == 2  # the refused drafts wrote nothing


def test_sub_account_cannot_strand_a_posted_balance(sub_accounts: County) -> None:
    with write_tx(sub_accounts.engine) as conn:
        post_entry(
            conn,
            Draft(
                sub_accounts.ids["dingzikou"],
                date(2025, 3, 1),
                "x",
                [Line("102", debit_fen=5), Line("503", credit_fen=5)],
            ),
        )
    with pytest.raises(Conflict, match="already has postings"), write_tx(sub_accounts.engine) as conn:
        add_sub_account(conn, sub_accounts.ids["dingzikou"], "503", "工作经费")


def test_an_account_closes_only_at_a_zero_balance_over_every_month(sub_accounts: County) -> None:
    """Closing reads the account's months (``account_turnover``): 5 fen in March and 3 back in April leave
    2 and refuse the close, naming it; once April takes the other 2 the months net to zero and it closes."""
    org = sub_accounts.ids["dingzikou"]
    with write_tx(sub_accounts.engine) as conn:
        add_sub_account(conn, org, "211", "押金")  # 21101

    def post(day: date, fen: int) -> None:
        side = {"credit_fen": fen} if fen > 0 else {"debit_fen": -fen}
        cash = {"debit_fen": fen} if fen > 0 else {"credit_fen": -fen}
        with write_tx(sub_accounts.engine) as conn:
            post_entry(conn, Draft(org, day, "押金", [Line("102", **cash), Line("21101", **side)]))

    post(date(2025, 3, 5), 5)
    post(date(2025, 4, 5), -3)
    with pytest.raises(Conflict, match="balance of -2 fen") as refused, write_tx(sub_accounts.engine) as conn:
        close_account(conn, org, "21101")
    assert refused.value.field == "code"
    post(date(2025, 4, 6), -2)
    with write_tx(sub_accounts.engine) as conn:
        close_account(conn, org, "21101")
    with pytest.raises(AccountNotPostable, match="closed"):
        post(date(2025, 4, 7), 1)


def _raw_line(conn, entry_id: int, org_id: int, n: int, code: str, debit: int, credit: int) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text(
            "INSERT INTO journal_line (entry_id, org_id, period, line_no, account_id, debit_fen, credit_fen, "
            "memo) VALUES (:e, :o, '2025-04', :n, (SELECT id FROM account WHERE org_id = :o AND code = :c), "
            ":d, :cr, '')"
        ),
        {"e": entry_id, "o": org_id, "n": n, "c": code, "d": debit, "cr": credit},
    )


def _raw_entry(conn, entry_id: int, org_id: int, total: int) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text(
            "INSERT INTO journal_entry (id, org_id, seq, entry_date, period, voucher_no, memo, source, "
            "created_at, total_fen, line_count, prev_hash, hash) "
            "VALUES (:i, :o, 99, '2025-04-01', '2025-04', 'raw', '', "
            "'manual', '2025-04-01 00:00:00+00:00', :t, 2, '', '')"
        ),
        {"i": entry_id, "o": org_id, "t": total},
    )


def test_raw_sql_unbalanced_entry_is_refused_by_the_database(sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    with pytest.raises(DBAPIError, match="unbalanced_entry"), write_tx(sub_accounts.engine) as conn:
        _raw_line(conn, 900_001, org, 1, "102", 100, 0)
        _raw_line(conn, 900_001, org, 2, "214", 0, 99)
        _raw_entry(conn, 900_001, org, 100)
    with pytest.raises(DBAPIError), write_tx(sub_accounts.engine) as conn:  # lines without their entry
        _raw_line(conn, 900_002, org, 1, "102", 100, 0)
        _raw_line(conn, 900_002, org, 2, "214", 0, 100)
    with read_tx(sub_accounts.engine) as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM journal_line")).scalar_one() == 0


def test_raw_sql_balanced_entry_is_accepted_so_the_guard_is_not_blind(sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    with write_tx(sub_accounts.engine) as conn:
        _raw_line(conn, 900_003, org, 1, "102", 100, 0)
        _raw_line(conn, 900_003, org, 2, "214", 0, 100)
        _raw_entry(conn, 900_003, org, 100)
    with read_tx(sub_accounts.engine) as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM journal_entry")).scalar_one() == 1


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("summary account", "account_not_postable"),
        ("closed account", "account_not_postable"),
        ("lines of another org", "account_not_postable"),
        ("line of another month", "account_not_postable"),
        ("red ink outside a reversal", "unbalanced_entry"),
        ("more lines than the entry says", "unbalanced_entry"),
        ("total that is not the lines'", "unbalanced_entry"),
        ("no lines at all", "unbalanced_entry"),
        ("date outside its period", "invalid"),
    ],
)
def test_the_database_refuses_each_bad_raw_posting_by_its_rule(
    sub_accounts: County, case: str, code: str
) -> None:
    org, other = sub_accounts.ids["dingzikou"], sub_accounts.ids["huahuaqiao"]
    with write_tx(sub_accounts.engine) as conn:
        add_sub_account(conn, org, "211", "押金")  # 21101
        close_account(conn, org, "21101")
    ok = [("102", 100, 0), ("214", 0, 100)]
    kwargs: dict = {
        "summary account": {"lines": [("102", 100, 0), ("501", 0, 100)]},
        "closed account": {"lines": [("102", 100, 0), ("21101", 0, 100)]},
        "lines of another org": {"lines": ok, "line_org": other},
        "line of another month": {"lines": ok, "line_period": "2025-05"},
        "red ink outside a reversal": {"lines": [("102", -100, 0), ("214", 0, -100)]},
        "more lines than the entry says": {"lines": [*ok, ("101", 5, 0), ("214", 0, 5)], "line_count": 2},
        "total that is not the lines'": {"lines": ok, "total": 99},
        "no lines at all": {"lines": [], "line_count": 2},
        "date outside its period": {"lines": ok, "entry_date": "2025-05-01"},
    }[case]
    with pytest.raises(DBAPIError, match=code), write_tx(sub_accounts.engine) as conn:
        raw_posting(conn, org, **kwargs)
    with write_tx(
        sub_accounts.engine
    ) as conn:  # the same posting, put right, goes in: the guard is not blind
        raw_posting(conn, org, ok)
    with read_tx(sub_accounts.engine) as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM journal_line")).scalar_one() == 2


def test_the_database_refuses_another_orgs_account_on_a_line(sub_accounts: County) -> None:
    org, other = sub_accounts.ids["dingzikou"], sub_accounts.ids["huahuaqiao"]
    with pytest.raises(DBAPIError), write_tx(sub_accounts.engine) as conn:
        conn.execute(
            text(
                "INSERT INTO journal_line (entry_id, org_id, period, line_no, account_id, debit_fen, "
                "credit_fen, memo) VALUES (900030, :o, '2025-04', 1, (SELECT id FROM account "
                "WHERE org_id = :other AND code = '102'), 100, 0, '')"
            ),
            {"o": org, "other": other},
        )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE journal_entry SET memo = 'changed'",
        "DELETE FROM journal_entry",
        "UPDATE journal_line SET debit_fen = debit_fen + 1 WHERE debit_fen > 0",
        "DELETE FROM journal_line",
    ],
)
def test_posted_rows_cannot_be_updated_or_deleted_by_raw_sql(sub_accounts: County, sql: str) -> None:
    with write_tx(sub_accounts.engine) as conn:
        post_entry(conn, rent(sub_accounts.ids["dingzikou"]))
    with pytest.raises(DBAPIError, match="immutable"), write_tx(sub_accounts.engine) as conn:
        conn.execute(text(sql))
    with read_tx(sub_accounts.engine) as conn:
        assert verify_all(conn) == []


def test_lines_cannot_be_added_to_a_posted_entry(sub_accounts: County) -> None:
    with write_tx(sub_accounts.engine) as conn:
        posted = post_entry(conn, rent(sub_accounts.ids["dingzikou"], day=date(2025, 4, 1)))
    with pytest.raises(DBAPIError, match="immutable"), write_tx(sub_accounts.engine) as conn:
        _raw_line(conn, posted.id, sub_accounts.ids["dingzikou"], 9, "102", 1, 0)


def test_posting_into_a_closed_period_is_refused(sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    with write_tx(sub_accounts.engine) as conn:
        post_entry(conn, rent(org))
        close_period(conn, org, "2025-03")
    with pytest.raises(PeriodClosed) as err, write_tx(sub_accounts.engine) as conn:
        post_entry(conn, rent(org, day=date(2025, 3, 31)))
    assert err.value.field == "date"
    with (
        pytest.raises(PeriodClosed),
        write_tx(sub_accounts.engine) as conn,
    ):  # nothing before a closed month either
        post_entry(conn, rent(org, day=date(2025, 2, 1)))
    with pytest.raises(DBAPIError, match="period_closed"), write_tx(sub_accounts.engine) as conn:
        for n, (code, debit, credit) in enumerate([("102", 100, 0), ("214", 0, 100)], start=1):
            conn.execute(
                text(
                    "INSERT INTO journal_line (entry_id, org_id, period, line_no, account_id, debit_fen, "
                    "credit_fen, memo) VALUES (900010, :o, '2025-03', :n, (SELECT id FROM account "
                    "WHERE org_id = :o AND code = :c), :d, :cr, '')"
                ),
                {"o": org, "n": n, "c": code, "d": debit, "cr": credit},
            )
        conn.execute(
            text(
                "INSERT INTO journal_entry (id, org_id, seq, entry_date, period, voucher_no, memo, source, "
                "created_at, total_fen, line_count, prev_hash, hash) VALUES (900010, :o, 99, '2025-03-09', "
                "'2025-03', 'raw', '', 'manual', '2025-04-01 00:00:00+00:00', 100, 2, '', '')"
            ),
            {"o": org},
        )
    with write_tx(sub_accounts.engine) as conn:
        assert post_entry(conn, rent(org, day=date(2025, 4, 1))).voucher_no == "记-2025-04-0001"


def test_periods_close_in_order_and_reopen_from_the_latest(sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    with write_tx(sub_accounts.engine) as conn:
        post_entry(conn, rent(org, day=date(2025, 1, 5)))
        post_entry(conn, rent(org, day=date(2025, 2, 5)))
    with pytest.raises(Conflict, match="close 2025-01 first"), write_tx(sub_accounts.engine) as conn:
        close_period(conn, org, "2025-02")
    with write_tx(sub_accounts.engine) as conn:
        close_period(conn, org, "2025-01")
        close_period(conn, org, "2025-02")
    with pytest.raises(Conflict, match="reopen 2025-02 first"), write_tx(sub_accounts.engine) as conn:
        reopen_period(conn, org, "2025-01", user_id=None, role="admin", reason="fix")
    with pytest.raises(Exception, match="only an admin"), write_tx(sub_accounts.engine) as conn:
        reopen_period(conn, org, "2025-02", user_id=None, role="officer", reason="fix")
    with write_tx(sub_accounts.engine) as conn:
        reopen_period(
            conn,
            org,
            "2025-02",
            user_id=sub_accounts.user_ids["admin"],
            role="admin",
            reason="漏记一笔",
        )
        post_entry(conn, rent(org, day=date(2025, 2, 28)))
        events = conn.execute(text("SELECT action, reason FROM period_event ORDER BY id")).all()
    assert [tuple(e) for e in events][-1] == ("reopen", "漏记一笔")


def test_trial_balance_from_snapshot_equals_trial_balance_from_history(sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    with write_tx(sub_accounts.engine) as conn:
        for month in range(1, 5):
            post_entry(conn, rent(org, day=date(2025, month, 3), amount=10_500 * month))
    with read_tx(sub_accounts.engine) as conn:
        before = trial_balance(conn, org, "2025-04")
    with write_tx(sub_accounts.engine) as conn:
        close_period(conn, org, "2025-01")
        close_period(conn, org, "2025-02")
    with read_tx(sub_accounts.engine) as conn:
        after = trial_balance(conn, org, "2025-04")
        span = {r.code: r for r in trial_balance(conn, org, "2025-02", "2025-04")}
    assert before == after
    assert span["102"].opening_fen == 10_500 and span["102"].debit_fen == 10_500 * (2 + 3 + 4)


def test_same_idempotency_key_twice_creates_one_entry(sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    with write_tx(sub_accounts.engine) as conn:
        first = post_entry(conn, rent(org, key="till-7-0001"))
    with write_tx(sub_accounts.engine) as conn:
        again = post_entry(conn, rent(org, key="till-7-0001"))
    assert again.id == first.id and again.voucher_no == first.voucher_no and not again.created
    with pytest.raises(IdempotencyConflict), write_tx(sub_accounts.engine) as conn:
        post_entry(conn, rent(org, key="till-7-0001", amount=21_000))
    with read_tx(sub_accounts.engine) as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM journal_entry")).scalar_one() == 1


def _hammer(engine: Engine, work, threads: int = 8) -> list:  # type: ignore[no-untyped-def]
    results: list = []
    errors: list = []
    barrier = threading.Barrier(threads)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results.append(run_write(engine, lambda conn: work(conn, i), attempts=20))
        except Exception as exc:
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    return results


def test_same_idempotency_key_concurrently_creates_one_entry(sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    results = _hammer(sub_accounts.engine, lambda conn, _i: post_entry(conn, rent(org, key="retry-storm")))
    assert len({p.id for p in results}) == 1 and sum(p.created for p in results) == 1


def test_voucher_numbers_stay_gapless_under_eight_concurrent_writers(sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]

    def work(conn, i: int):  # type: ignore[no-untyped-def]
        drafts = [rent(org, day=date(2025, 3, 1 + (i + k) % 28), amount=10_500 + k) for k in range(5)]
        if i % 3 == 0:  # some writers fail and roll back: their numbers must come back
            drafts.append(
                Draft(org, date(2025, 3, 9), "bad", [Line("102", debit_fen=1), Line("214", credit_fen=2)])
            )
            try:
                return post_entries(conn, drafts)
            except UnbalancedEntry:
                return []
        return post_entries(conn, drafts)

    results = _hammer(sub_accounts.engine, work)
    numbers = sorted(int(p.voucher_no[-4:]) for batch in results for p in batch)
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) == 5 * 5
    with read_tx(sub_accounts.engine) as conn:
        assert verify_all(conn) == []


def test_a_batch_over_several_orgs_and_months_numbers_each_month_on_from_its_counter(
    sub_accounts: County,
) -> None:
    orgs = [sub_accounts.ids["dingzikou"], sub_accounts.ids["huahuaqiao"]]
    with write_tx(sub_accounts.engine) as conn:  # March already has two vouchers in the first org
        post_entries(conn, [rent(orgs[0]), rent(orgs[0])])

    def work(conn, i: int):  # type: ignore[no-untyped-def]
        drafts = [rent(org, day=date(2025, month, 1 + i % 28)) for org in orgs for month in (3, 4, 5)]
        if i % 3 == 0:  # a failed batch gives its numbers back in every month it touched
            drafts.append(
                Draft(orgs[1], date(2025, 4, 9), "bad", [Line("102", debit_fen=1), Line("214", credit_fen=2)])
            )
            try:
                return post_entries(conn, drafts)
            except UnbalancedEntry:
                return []
        return post_entries(conn, drafts)

    results = _hammer(sub_accounts.engine, work)
    by_month: dict[tuple[int, str], list[int]] = {}
    for p in (p for batch in results for p in batch):
        by_month.setdefault((p.org_id, p.period), []).append(int(p.voucher_no[-4:]))
    writers = sum(1 for batch in results if batch)
    for (org, period), numbers in by_month.items():
        first = 3 if (org, period) == (orgs[0], "2025-03") else 1
        assert sorted(numbers) == list(range(first, first + writers)), (org, period)
    assert len(by_month) == 6
    with read_tx(sub_accounts.engine) as conn:
        assert verify_all(conn) == []


def test_reversal_mirrors_the_entry_in_red_and_nets_to_zero(sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    with write_tx(sub_accounts.engine) as conn:
        original = post_entry(conn, rent(org))
        [reversal] = reverse_entry(conn, original.id, entry_date=date(2025, 3, 20))
        lines = conn.execute(
            text("SELECT debit_fen, credit_fen FROM journal_line WHERE entry_id = :e ORDER BY line_no"),
            {"e": reversal.id},
        ).all()
        memo = conn.execute(select(entry_t.c.memo).where(entry_t.c.id == reversal.id)).scalar_one()
    assert [tuple(x) for x in lines] == [(-10_500, 0), (0, -10_000), (0, -500)]
    assert memo == f"冲销 {original.voucher_no}"
    with read_tx(sub_accounts.engine) as conn:
        tb = {r.code: r for r in trial_balance(conn, org, "2025-03")}
    assert tb["102"].closing_fen == 0 and tb["102"].debit_fen == 0  # red ink keeps the turnover true
    with pytest.raises(Conflict, match="already been reversed"), write_tx(sub_accounts.engine) as conn:
        reverse_entry(conn, original.id, entry_date=date(2025, 3, 21))


def test_a_reversal_must_mirror_the_original_exactly(sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    with write_tx(sub_accounts.engine) as conn:
        original = post_entry(conn, rent(org))
    forged = Draft(
        org,
        date(2025, 3, 9),
        "x",
        [Line("102", debit_fen=-1), Line("214", credit_fen=-1)],
        reverses_id=original.id,
    )
    with pytest.raises(UnbalancedEntry, match="mirror"), write_tx(sub_accounts.engine) as conn:
        post_entry(conn, forged)


def test_linked_posting_that_fails_in_one_org_leaves_nothing_anywhere(sub_accounts: County) -> None:
    link = new_link_id()
    company, community = sub_accounts.ids["company"], sub_accounts.ids["dingzikou"]
    drafts = [
        Draft(
            company,
            date(2025, 12, 31),
            "应付利润",
            [Line("3104", debit_fen=500), Line("2232", credit_fen=500)],
            link_id=link,
        ),
        Draft(
            community,
            date(2025, 12, 31),
            "应收股利",
            [Line("112", debit_fen=500), Line("5111", credit_fen=500)],
            link_id=link,
        ),
    ]
    with pytest.raises(AccountNotPostable) as err, write_tx(sub_accounts.engine) as conn:
        post_entries(conn, drafts)
    assert err.value.field == "entries[1].lines[1].account"
    with read_tx(sub_accounts.engine) as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM journal_entry")).scalar_one() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM journal_line")).scalar_one() == 0
    fixed = [
        drafts[0],
        Draft(
            community,
            date(2025, 12, 31),
            "应收股利",
            [Line("112", debit_fen=500), Line("502", credit_fen=500)],
            link_id=link,
        ),
    ]
    with write_tx(sub_accounts.engine) as conn:
        posted = post_entries(conn, fixed)
        reversed_ = reverse_entry(conn, posted[1].id, entry_date=date(2025, 12, 31))
    assert {p.org_id for p in reversed_} == {company, community}  # reversing one side reverses the link


def test_verify_catches_a_tampered_amount_and_names_the_entry(sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    with write_tx(sub_accounts.engine) as conn:
        first = post_entry(conn, rent(org))
        post_entry(conn, rent(org, day=date(2025, 3, 6)))
    with read_tx(sub_accounts.engine) as conn:
        assert verify_all(conn) == []
    # Someone with the database owner's rights switches the guard off and edits an amount on both sides.
    with write_tx(sub_accounts.engine) as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER journal_line_no_update"))
        else:
            conn.execute(text("ALTER TABLE journal_line DISABLE TRIGGER USER"))
        conn.execute(
            text("UPDATE journal_line SET debit_fen = 100 WHERE entry_id = :e AND debit_fen > 0"),
            {"e": first.id},
        )
        conn.execute(
            text("UPDATE journal_line SET credit_fen = 95 WHERE entry_id = :e AND line_no = 2"),
            {"e": first.id},
        )
        conn.execute(
            text("UPDATE journal_line SET credit_fen = 5 WHERE entry_id = :e AND line_no = 3"),
            {"e": first.id},
        )
    with read_tx(sub_accounts.engine) as conn:
        problems = verify_all(conn)
    assert problems and problems[0].check == "chain" and problems[0].voucher_no == first.voucher_no


@settings(max_examples=20)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["dingzikou", "huahuaqiao", "village1"]),
            st.integers(min_value=1, max_value=12),
            st.lists(
                st.tuples(
                    st.sampled_from(["101", "102", "112", "214", "50101", "50102", "513"]),
                    st.integers(1, 10**9),
                ),
                min_size=1,
                max_size=4,
            ),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_balanced_entries_give_trial_balances_that_net_to_zero(sub_accounts: County, entries) -> None:  # type: ignore[no-untyped-def]
    drafts = []
    for org, month, debits in entries:
        lines = [Line(code, debit_fen=amount) for code, amount in debits]
        lines.append(Line("311", credit_fen=sum(a for _, a in debits)))
        drafts.append(Draft(sub_accounts.ids[org], date(2025, month, 15), "random", lines))
    with write_tx(sub_accounts.engine) as conn:
        post_entries(conn, drafts)
    with read_tx(sub_accounts.engine) as conn:
        for org in ("dingzikou", "huahuaqiao", "village1"):
            org_id = sub_accounts.ids[org]
            assert org_nets_to_zero(conn, org_id) == 0
            tb = trial_balance(conn, org_id, "2025-01", "2025-12")
            top = [r for r in tb if r.level == 1]
            assert sum(r.debit_fen for r in top) == sum(r.credit_fen for r in top)
            assert sum(r.closing_fen for r in top) == 0
        assert verify_all(conn) == []


def test_verify_recomputes_the_turnover_the_trial_balance_reads(sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    with write_tx(sub_accounts.engine) as conn:
        post_entry(conn, rent(org))
        conn.execute(text("UPDATE account_turnover SET debit_fen = debit_fen + 1 WHERE debit_fen > 0"))
    with read_tx(sub_accounts.engine) as conn:
        problems = verify_all(conn)
    assert [p.check for p in problems] == ["turnover"]
    assert "the lines sum to (10500, 0), kept (10501, 0)" in problems[0].message


def test_books_posted_under_the_first_guards_verify_and_stay_guarded_after_0003(
    sub_accounts: County,
) -> None:
    from alembic import command

    from ledger.db.migrate import alembic_config

    def migrate(step, revision: str) -> None:  # type: ignore[no-untyped-def]
        cfg = alembic_config(sub_accounts.engine)
        with sub_accounts.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, revision)

    def line_guard_checks_accounts() -> bool:
        with read_tx(sub_accounts.engine) as conn:
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'journal_line_check'"))
            return "account_not_postable" in sql.scalar_one()

    org = sub_accounts.ids["dingzikou"]
    sqlite = sub_accounts.engine.dialect.name == "sqlite"
    migrate(command.downgrade, "0002_core")  # the guards of 0001_core
    assert not sqlite or line_guard_checks_accounts()
    with write_tx(sub_accounts.engine) as conn:
        post_entries(conn, [rent(org), rent(org, day=date(2025, 4, 2))])
    migrate(command.upgrade, "heads")
    assert not sqlite or not line_guard_checks_accounts()
    with write_tx(sub_accounts.engine) as conn:
        post_entry(conn, rent(org, day=date(2025, 4, 3)))
    with pytest.raises(DBAPIError, match="unbalanced_entry"), write_tx(sub_accounts.engine) as conn:
        raw_posting(conn, org, [("102", 100, 0), ("214", 0, 99)])
    with read_tx(sub_accounts.engine) as conn:
        assert verify_all(conn) == []
        assert conn.execute(text("SELECT COUNT(*) FROM journal_entry")).scalar_one() == 3
