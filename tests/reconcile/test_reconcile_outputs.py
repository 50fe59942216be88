"""银行存款余额调节表, inter-org reconciliation, sub-ledger ties and shift cash: worked examples."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.books.orgs import counterparty
from ledger.books.posting import Draft, Line, post_entries
from ledger.db.engine import read_tx, write_tx
from ledger.reconcile.matching import confirm_match, list_matches, post_by_rule, statement_lines
from ledger.reconcile.outputs import (
    bank_reconciliation,
    inter_org,
    render_reconciliation,
    shift_cash,
    subledger_ties,
    tie_details,
    ties_frame,
)
from tests.factories.county import County
from tests.factories.reconcile import Books
from tests.factories.statement_files import sample_bank_txns


def reconcile_everything_but_the_conflict(books: Books) -> None:
    books.propose()
    officer = books.county.user_ids["officer"]
    with write_tx(books.county.engine) as conn:
        for m in list_matches(conn, books.org, books.bank, status="proposed"):
            if not m["conflict"]:
                confirm_match(conn, books.org, m["id"], officer)
        for line in statement_lines(conn, books.org, books.bank, unmatched=True):
            if line["memo"] == "汇划手续费":
                post_by_rule(conn, books.org, line["id"], officer)


def fen(value: Decimal) -> int:
    return int(value * 100)


def test_reconciliation_statement_foots_to_the_bank_balance(books: Books) -> None:
    reconcile_everything_but_the_conflict(books)

    with read_tx(books.county.engine) as conn:
        rec = bank_reconciliation(conn, books.org, books.bank, "2024-03")

    last = sample_bank_txns(range(1, 11))[-1]
    assert (rec.bank_balance_fen, rec.bank_balance_from) == (fen(last.balance), "statement")
    assert rec.book_balance_fen == (
        5000000 - 1234867 - 1235167 - 1000000 - 235467 - 40000 + 205505 + 202202 + 500000 - 10 * 200
    )
    # 银行已收企业未收: every WeChat settlement the books have not recorded (day 2's is the conflict).
    assert list(rec.bank_received["date"]) == [date(2024, 3, d) for d in (1, 2, 3, 4, 6, 7, 8, 9, 10)]
    assert rec.bank_paid.empty
    # 企业已收银行未收: the receipt with the wrong serial, and the cheque not yet credited.
    assert list(rec.book_received["amount_fen"]) == [202202, 500000]
    assert rec.book_paid.empty
    assert rec.adjusted_book_fen == rec.adjusted_bank_fen and rec.foots
    summary = rec.summary()
    assert list(summary["item"])[:4] == [
        "企业银行存款日记账余额",
        "加：银行已收、企业未收",
        "减：银行已付、企业未付",
        "调节后的存款余额",
    ]
    assert summary.loc[3, "amount_fen"] == summary.loc[7, "amount_fen"]
    assert rec.to_dict()["difference_fen"] == 0


def test_a_payment_booked_late_is_outstanding_on_the_bank_side_in_between(books: Books) -> None:
    reconcile_everything_but_the_conflict(books)

    with read_tx(books.county.engine) as conn:
        rec = bank_reconciliation(conn, books.org, books.bank, "2024-03", as_of=date(2024, 3, 7))

    assert list(rec.bank_paid["amount_fen"]) == [1235167]  # the bank paid on the 6th, the books on the 8th
    assert rec.bank_balance_fen == fen(sample_bank_txns(range(1, 8))[-1].balance)
    assert rec.foots


def test_with_nothing_matched_every_line_is_outstanding_and_it_still_foots(books: Books) -> None:
    with read_tx(books.county.engine) as conn:
        rec = bank_reconciliation(conn, books.org, books.bank, "2024-03")

    assert len(rec.bank_received) == 10 and len(rec.bank_paid) == 15
    assert len(rec.book_received) == 2 and len(rec.book_paid) == 5  # the 29 February opening is agreed
    assert rec.foots


def test_a_book_balance_that_disagrees_with_the_statement_opening_is_the_difference(books: Books) -> None:
    org = books.org
    with write_tx(books.county.engine) as conn:
        post_entries(
            conn,
            [
                Draft(
                    org,
                    date(2024, 2, 28),
                    "错账",
                    [Line("1002", debit_fen=100), Line("3001", credit_fen=100)],
                )
            ],
        )
        rec = bank_reconciliation(conn, org, books.bank, "2024-03")

    assert rec.difference_fen == 100 and not rec.foots


def test_the_reconciliation_statement_renders_as_xlsx(books: Books) -> None:
    reconcile_everything_but_the_conflict(books)
    with read_tx(books.county.engine) as conn:
        rec = bank_reconciliation(conn, books.org, books.bank, "2024-03")
        data = render_reconciliation(conn, rec, "xlsx")
    assert data[:2] == b"PK"


def test_customer_balances_tie_to_1122_and_list_lines_without_a_customer(county: County) -> None:
    org = county.ids["company"]
    with write_tx(county.engine) as conn:
        school = counterparty(conn, org, "customer", "县一中食堂")
        post_entries(
            conn,
            [
                Draft(
                    org,
                    date(2024, 3, 1),
                    "挂账",
                    [Line("1122", debit_fen=100000, counterparty_id=school), Line("5001", credit_fen=100000)],
                ),
                Draft(
                    org,
                    date(2024, 3, 2),
                    "挂账",
                    [Line("1122", debit_fen=50000), Line("5001", credit_fen=50000)],
                ),
            ],
        )
    with read_tx(county.engine) as conn:
        ties = {t.name: t for t in subledger_ties(conn, org)}
        frame = ties_frame(list(ties.values()))
    customers = ties["customers"]
    assert (customers.subledger_fen, customers.ledger_fen, customers.difference_fen) == (
        100000,
        150000,
        -50000,
    )
    assert list(tie_details(customers)["ledger_fen"]) == [50000]
    assert "customers" in set(frame["name"])
    if "stock" in ties:
        assert ties["stock"].difference_fen == 0


def test_company_payable_per_shareholder_equals_its_receivable(county: County) -> None:
    company, holder = county.ids["company"], county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        as_holder = counterparty(conn, company, "shareholder", "丁字口社区", ref_org_id=holder)
        as_company = counterparty(conn, holder, "other", "联营公司", ref_org_id=company)
        post_entries(
            conn,
            [
                Draft(
                    company,
                    date(2024, 3, 31),
                    "分配利润",
                    [
                        Line("5602", debit_fen=30000),
                        Line("2232", credit_fen=30000, counterparty_id=as_holder),
                    ],
                ),
                Draft(
                    holder,
                    date(2024, 3, 31),
                    "应收分红",
                    [Line("112", debit_fen=20000, counterparty_id=as_company), Line("502", credit_fen=20000)],
                ),
            ],
        )
    with read_tx(county.engine) as conn:
        frame = inter_org(conn, company)
    row = frame.set_index("org_id").loc[holder]
    assert (row["company_payable_fen"], row["shareholder_receivable_fen"], row["difference_fen"]) == (
        30000,
        20000,
        10000,
    )


def test_shift_cash_is_a_frame_even_without_shifts(county: County) -> None:
    with read_tx(county.engine) as conn:
        frame = shift_cash(conn, county.ids["company"])
    assert frame.empty and "variance_fen" in frame.columns


def test_lease_receivables_tie_for_a_community(county: County) -> None:
    with read_tx(county.engine) as conn:
        ties = subledger_ties(conn, county.ids["dingzikou"])
    assert all(t.difference_fen == 0 for t in ties)


def test_the_reconciliation_statement_renders_as_pdf(books: Books) -> None:
    render = pytest.importorskip("reports.render")
    try:
        render.check_pdf_environment()
    except render.RenderError as exc:
        pytest.skip(str(exc))
    reconcile_everything_but_the_conflict(books)
    with read_tx(books.county.engine) as conn:
        rec = bank_reconciliation(conn, books.org, books.bank, "2024-03")
        data = render_reconciliation(conn, rec, "pdf")
    assert data[:5] == b"%PDF-"


def test_verify_finds_the_confirmed_matches_sound(books: Books) -> None:
    from ledger.books.verify import verify_org

    reconcile_everything_but_the_conflict(books)
    with read_tx(books.county.engine) as conn:
        problems = verify_org(conn, books.org)
    assert problems == []
