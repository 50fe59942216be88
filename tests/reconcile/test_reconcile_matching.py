"""Matching a bank statement to the books: worked examples of a joint company's March 2024.

The bank file is ``tests/factories/statement_files.sample_bank_txns`` (days 1–10): a WeChat T+1 settlement
every morning, a supplier payment every third day, two identical 200.00 payments on day 6, a 2.00 fee every
evening. The books below record some of it exactly, some a day late, some split, some merged, one
settlement only as the day's WeChat sales, and one receipt with a bank serial that is not the bank's.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from ledger.books.errors import Conflict, ValidationError
from ledger.db.engine import read_tx, write_tx
from ledger.reconcile import matching
from ledger.reconcile.matching import (
    BookRecord,
    ClearingRecord,
    MatchOptions,
    StatementRecord,
    confirm_match,
    confirm_matches,
    list_matches,
    manual_match,
    match_history,
    post_by_rule,
    propose,
    reason_text,
    reasons_view,
    records,
    reject_match,
    statement_lines,
)
from ledger.reconcile.models import ReconcileMatch
from ledger.reconcile.store import import_statement
from tests.factories.reconcile import Books, day

match_t = ReconcileMatch.__table__
ENTRY_LINES = (
    "SELECT a.code, l.debit_fen, l.credit_fen FROM journal_line l JOIN account a ON a.id = l.account_id "
    "WHERE l.entry_id = :e ORDER BY l.line_no"
)
PAIR_ROW = (
    "INSERT INTO reconcile_match (org_id, statement_account_id, status, kind, score, conflict, reasons, "
    "fee_fen, note, created_at, statement_line_id, journal_line_id, pair_amount_fen) "
    "VALUES (:o, :a, '{status}', '{kind}', 0, false, '[]', 0, '', :t, {pair})"
)
D = date(2024, 3, 1)


# --------------------------------------------------------------------------------------------------------
# The pure matcher, on records


def test_exact_amount_same_day_equal_reference_is_the_only_auto_confirmable_kind() -> None:
    stmts = [StatementRecord(1, day(3), -1234867, ("4305-030100771420", "030100771420"), "县供销")]
    books = [
        BookRecord(10, day(3), -1234867, references=("030100771420",), counterparty="县供销农产品有限公司")
    ]

    [p] = propose(stmts, books)

    assert (p.kind, p.statement_ids, p.book_ids) == ("one_to_one", (1,), (10,))
    codes = [r.code for r in p.reasons]
    assert codes == ["amount_equal", "same_day", "reference_equal", "counterparty_equal"]
    assert p.score == 100 and p.auto_confirmable


def test_a_date_shift_lowers_the_score_and_says_by_how_much() -> None:
    stmts = [StatementRecord(1, day(6), -1235167)]
    books = [BookRecord(10, day(8), -1235167)]

    [p] = propose(stmts, books)

    assert "日期相差2天" in [r.text for r in p.reasons]
    assert p.score == 50 + 11 and not p.auto_confirmable


def test_outside_the_date_window_nothing_is_proposed() -> None:
    assert propose([StatementRecord(1, day(1), 500)], [BookRecord(10, day(9), 500)]) == []


def test_the_nearer_date_wins_and_the_competitor_is_named() -> None:
    stmts = [StatementRecord(1, day(5), 10000)]
    books = [BookRecord(10, day(7), 10000), BookRecord(11, day(5), 10000)]

    [p] = propose(stmts, books)

    assert p.book_ids == (11,)
    assert p.ambiguous and "另有1个同额候选" in [r.text for r in p.reasons]
    assert not p.auto_confirmable


def test_conflicting_references_are_proposed_low_and_never_auto_confirmable() -> None:
    stmts = [StatementRecord(1, day(2), 202202, ("4305-020000771005", "020000771005"))]
    books = [BookRecord(10, day(2), 202202, references=("029900771005",))]

    [p] = propose(stmts, books)

    assert p.conflict and not p.auto_confirmable
    assert "参考号不一致: 对账单 020000771005 / 凭证 029900771005" in [r.text for r in p.reasons]
    assert p.score < 50


def test_a_book_line_naming_another_statement_lines_reference_conflicts() -> None:
    stmts = [StatementRecord(1, day(2), 500, ("A1234567",)), StatementRecord(2, day(2), 700, ("B7654321",))]
    books = [BookRecord(10, day(2), 500, references=("B7654321",))]

    [p] = propose(stmts, books)

    assert p.conflict


def test_split_payment_one_statement_line_against_two_entries() -> None:
    stmts = [StatementRecord(1, day(9), -1235467, counterparty="县供销农产品有限公司")]
    books = [
        BookRecord(10, day(9), -1000000, counterparty="县供销农产品有限公司"),
        BookRecord(11, day(9), -235467, counterparty="县供销农产品有限公司"),
        BookRecord(12, day(9), -99),
    ]

    [p] = propose(stmts, books)

    assert (p.kind, p.statement_ids, p.book_ids) == ("one_to_many", (1,), (10, 11))
    assert [r.code for r in p.reasons] == ["sum_equal", "date_shift", "counterparty_equal"] or [
        r.code for r in p.reasons
    ] == ["sum_equal", "same_day", "counterparty_equal"]


def test_merged_payments_two_statement_lines_against_one_entry() -> None:
    stmts = [StatementRecord(1, day(6), -20000), StatementRecord(2, day(6), -20000)]
    books = [BookRecord(10, day(6), -40000)]

    [p] = propose(stmts, books)

    assert (p.kind, p.statement_ids, p.book_ids) == ("many_to_one", (1, 2), (10,))
    assert "合计金额一致 ¥400.00 (2笔)" in [r.text for r in p.reasons]


def test_among_hundreds_of_leftovers_a_merged_pair_of_the_same_day_is_still_found() -> None:
    noise = [StatementRecord(100 + i, day(1 + i % 7), -(1_000_003 + 7919 * i)) for i in range(600)]
    stmts = [*noise, StatementRecord(1, day(4), -20000), StatementRecord(2, day(4), -31000)]
    books = [BookRecord(10, day(4), -51000)]

    [p] = propose(stmts, books)

    assert (p.kind, p.statement_ids, p.book_ids) == ("many_to_one", (1, 2), (10,))


def test_a_shifts_wechat_sales_are_a_contiguous_run_summing_to_its_voucher_line() -> None:
    sales = [StatementRecord(i, day(4), amount) for i, amount in enumerate([990, 1037, -1037, 2500, 640], 1)]
    books = [BookRecord(10, day(4), 990 + 1037 - 1037), BookRecord(11, day(4), 2500 + 640)]

    proposals = propose(sales, books, options=MatchOptions(window_days=0))

    groups = sorted((p.kind, p.statement_ids, p.book_ids) for p in proposals)
    assert ("one_to_one", (1,), (10,)) in groups  # 990 = 990 on its own: the simplest explanation
    assert ("many_to_one", (4, 5), (11,)) in groups


def test_a_busy_days_two_shifts_match_their_wechat_sales_and_refunds_by_run() -> None:
    morning = [1000 + 37 * i for i in range(240)] + [-1037]  # the last line refunds the second sale
    evening = [990 + 11 * i for i in range(230)]
    sales = [StatementRecord(i, day(4), amount, kind="sale") for i, amount in enumerate(morning + evening, 1)]
    books = [BookRecord(9001, day(4), sum(morning)), BookRecord(9002, day(4), sum(evening))]

    proposals = propose(sales, books)

    groups = {p.book_ids: p.statement_ids for p in proposals if p.kind == "many_to_one"}
    assert groups[(9001,)] == tuple(range(1, 242))
    assert groups[(9002,)] == tuple(range(242, 472))


def test_fee_netted_settlement_matches_the_previous_days_wechat_sales() -> None:
    bank = [StatementRecord(1, day(5), 205505, counterparty="财付通支付科技有限公司", memo="微信结算款")]
    clearing = [
        ClearingRecord(20, day(4), 150000, "101201", "wechat"),
        ClearingRecord(21, day(4), 56745, "101201", "wechat"),
        ClearingRecord(22, day(3), 99999, "101201", "wechat"),
    ]

    [p] = propose(bank, [], clearing=clearing, options=MatchOptions(bill_fees={("101201", day(4)): 1240}))

    assert (p.kind, p.settled_ids, p.fee_fen) == ("settlement", (20, 21), 1240)
    texts = [r.text for r in p.reasons]
    assert "到账 ¥2,055.05 = 03-04 应结 ¥2,067.45 − 手续费 ¥12.40 (费率 0.60%)" in texts
    assert "T+1 结算" in texts and "手续费与支付账单一致" in texts
    assert not p.auto_confirmable


def test_a_fee_above_the_ceiling_is_not_a_settlement() -> None:
    bank = [StatementRecord(1, day(5), 90000)]
    clearing = [ClearingRecord(20, day(4), 100000, "101201", "wechat")]
    assert propose(bank, [], clearing=clearing) == []


def test_a_rejected_pairing_is_not_proposed_again() -> None:
    stmts = [StatementRecord(1, day(5), 10000)]
    books = [BookRecord(10, day(5), 10000), BookRecord(11, day(6), 10000)]

    [p] = propose(stmts, books, options=MatchOptions(rejected=frozenset({((1,), (10,))})))

    assert p.book_ids == (11,)


def test_hundreds_of_equal_amounts_stay_one_to_one_and_fast() -> None:
    stmts = [StatementRecord(i, day(1 + i % 28), 100000) for i in range(600)]
    books = [BookRecord(1000 + i, day(1 + i % 28), 100000) for i in range(600)]

    proposals = propose(stmts, books)

    assert len(proposals) == 600
    assert all(p.kind == "one_to_one" for p in proposals)
    assert len({p.book_ids for p in proposals}) == 600


# --------------------------------------------------------------------------------------------------------
# The books


def test_proposals_cover_exact_shifted_split_merged_netted_and_conflicting_lines(books: Books) -> None:
    result = books.propose()

    exact = books.proposal_for("exact")
    late = books.proposal_for("late")
    split = books.proposal_for("split_a")
    merged = books.proposal_for("merged")
    conflict = books.proposal_for("conflict")
    settlement = books.proposal_for("sales")
    assert exact["kind"] == "one_to_one" and exact["score"] == 100
    assert [r["text"] for r in exact["reasons"]][:3] == [
        "金额一致 ¥12,348.67",
        "同日",
        "参考号一致 030100771420",
    ]
    assert late["kind"] == "one_to_one" and "日期相差2天" in [r["text"] for r in late["reasons"]]
    assert split["kind"] == "one_to_many" and len(split["items"]) == 3
    assert merged["kind"] == "many_to_one" and len(merged["items"]) == 3
    assert conflict["conflict"] and conflict["score"] < 50
    assert settlement["kind"] == "settlement" and settlement["fee_fen"] == 1240
    assert {i["role"] for i in settlement["items"]} == {"statement", "settled"}
    assert result.proposed == 6 and result.auto_confirmed == 0
    assert result.statement_lines == 25


def test_auto_confirm_exact_confirms_only_the_exact_unambiguous_match(books: Books) -> None:
    result = books.propose(auto_confirm_exact=True)

    assert result.auto_confirmed == 1
    with read_tx(books.county.engine) as conn:
        confirmed = list_matches(conn, books.org, books.bank, status="confirmed")
    assert len(confirmed) == 1 and not confirmed[0]["conflict"]
    assert confirmed[0]["reasons"][-1]["code"] == "auto_confirmed"


def test_a_proposed_pair_lives_on_its_match_row_and_its_decision_lists_items(books: Books) -> None:
    books.propose()
    exact = books.proposal_for("exact")
    engine = books.county.engine
    item_count = "SELECT count(*) FROM reconcile_match_item WHERE match_id = :m"

    with read_tx(engine) as conn:
        assert conn.execute(text(item_count), {"m": exact["id"]}).scalar_one() == 0
    assert [(i["role"], i["amount_fen"]) for i in exact["items"]] == [
        ("statement", -1234867),
        ("book", -1234867),
    ]
    with write_tx(engine) as conn:
        confirmed = confirm_match(conn, books.org, exact["id"], books.county.user_ids["officer"])
    with read_tx(engine) as conn:
        assert conn.execute(text(item_count), {"m": confirmed}).scalar_one() == 2
        [record] = [m for m in list_matches(conn, books.org, books.bank) if m["id"] == confirmed]
    assert record["items"] == exact["items"]
    assert "pair_amount_fen" not in record
    # The database keeps the pair columns to a proposed one-to-one match, all three or none.
    ids = {i["role"]: i["statement_line_id"] or i["journal_line_id"] for i in exact["items"]}
    params = {"o": books.org, "a": books.bank, "t": "2024-03-31 00:00:00", "s": ids["statement"]}
    for status, kind, pair in (
        ("confirmed", "one_to_one", ":s, :b, -1234867"),
        ("proposed", "one_to_many", ":s, :b, -1234867"),
        ("proposed", "one_to_one", ":s, NULL, -1234867"),
    ):
        with pytest.raises(DBAPIError, match="ck_reconcile_match_pair"), write_tx(engine) as conn:
            sql = PAIR_ROW.format(status=status, kind=kind, pair=pair)
            conn.execute(text(sql), {**params, "b": ids["book"]})


def test_confirm_and_reject_are_new_records_and_records_never_change(books: Books) -> None:
    books.propose()
    exact = books.proposal_for("exact")
    conflict = books.proposal_for("conflict")
    engine = books.county.engine
    officer = books.county.user_ids["officer"]

    with write_tx(engine) as conn:
        confirmed = confirm_match(conn, books.org, exact["id"], officer)
        with pytest.raises(ValidationError, match=r"references of match \d+ conflict"):
            confirm_match(conn, books.org, conflict["id"], officer)
        rejected = reject_match(conn, books.org, conflict["id"], officer, note="流水号不符")
    with write_tx(engine) as conn, pytest.raises(Conflict, match="already decided"):
        confirm_match(conn, books.org, exact["id"], officer)
    with read_tx(engine) as conn:
        chain = match_history(conn, books.org, confirmed)
    assert [(m["status"], m["supersedes_id"]) for m in chain] == [
        ("proposed", None),
        ("confirmed", exact["id"]),
    ]
    for sql in (
        f"UPDATE reconcile_match SET score = 0 WHERE id = {confirmed}",
        f"DELETE FROM reconcile_match_item WHERE match_id = {rejected}",
        f"DELETE FROM reconcile_match WHERE id = {confirmed}",
    ):
        with pytest.raises(DBAPIError, match="immutable"), write_tx(engine) as conn:
            conn.execute(text(sql))

    # A later correction is a new record; the rejected pairing is not proposed again.
    with write_tx(engine) as conn:
        undone = reject_match(conn, books.org, confirmed, officer, note="记错了")
    books.propose()
    with read_tx(engine) as conn:
        assert [m["status"] for m in match_history(conn, books.org, undone)] == [
            "proposed",
            "confirmed",
            "rejected",
        ]
        statuses = conn.execute(select(match_t.c.status).where(match_t.c.id == rejected)).scalar_one()
    assert statuses == "rejected"
    kinds = [m["kind"] for m in books.proposals()]
    assert len(kinds) == 4  # neither the undone exact pairing nor the rejected conflict comes back


def test_confirming_a_settlement_posts_the_fee_to_5603_and_clears_101201(books: Books) -> None:
    books.propose()
    settlement = books.proposal_for("sales")
    engine = books.county.engine

    with write_tx(engine) as conn:
        record = confirm_match(conn, books.org, settlement["id"], books.county.user_ids["officer"])
        [confirmed] = [m for m in list_matches(conn, books.org, books.bank) if m["id"] == record]
        lines = conn.execute(
            text(ENTRY_LINES),
            {"e": confirmed["entry_id"]},
        ).all()
        clearing = conn.execute(
            text(
                "SELECT SUM(l.debit_fen - l.credit_fen) FROM journal_line l JOIN account a "
                "ON a.id = l.account_id JOIN journal_entry e ON e.id = l.entry_id "
                "WHERE a.code = '101201' AND a.org_id = :o AND e.entry_date >= '2024-03-04'"
            ),
            {"o": books.org},
        ).scalar_one()
    assert [tuple(r) for r in lines] == [("1002", 205505, 0), ("5603", 1240, 0), ("101201", 0, 206745)]
    assert clearing == 0
    assert {i["role"] for i in confirmed["items"]} == {"statement", "book", "settled"}


def test_a_wechat_day_matched_to_its_bill_first_can_still_be_settled_into_the_bank(
    books: Books, tmp_path: Path
) -> None:
    """The 101201 line of 4 March is matched to the WeChat bill (role ``book``) before the bank's T+1
    settlement is confirmed (role ``settled``): two relations of one line, so the order does not matter."""
    from datetime import datetime
    from decimal import Decimal

    from tests.factories.statement_files import Order, write_wechat_trade_bill

    engine, officer = books.county.engine, books.county.user_ids["officer"]
    bill = [Order(datetime(2024, 3, 4, 11, 0), "wx-0304", "POS-0304", Decimal("2067.45"), "当日收款")]
    with write_tx(engine) as conn:
        import_statement(conn, books.org, books.wechat, write_wechat_trade_bill(tmp_path / "wx.csv", bill))
        (bill_line,) = statement_lines(conn, books.org, books.wechat)
        sales_line = conn.execute(
            text("SELECT id FROM journal_line WHERE entry_id = :e AND debit_fen > 0"),
            {"e": books.entries["sales"]},
        ).scalar_one()
        manual_match(conn, books.org, books.wechat, [bill_line["id"]], [sales_line], officer)
    books.propose()
    settlement = books.proposal_for("sales")
    with write_tx(engine) as conn:
        record = confirm_match(conn, books.org, settlement["id"], officer)
        with pytest.raises(Conflict, match="already decided"):  # decided once
            matching.confirm_matches(conn, books.org, [settlement["id"]], officer)
    with read_tx(engine) as conn:
        [confirmed] = [m for m in list_matches(conn, books.org, books.bank) if m["id"] == record]
    assert {i["role"] for i in confirmed["items"]} == {"statement", "book", "settled"}


def test_bank_fee_lines_become_entries_by_rule_and_are_matched(books: Books) -> None:
    engine = books.county.engine
    officer = books.county.user_ids["officer"]
    with read_tx(engine) as conn:
        fees = [ln for ln in statement_lines(conn, books.org, books.bank) if ln["memo"] == "汇划手续费"]
    assert len(fees) == 10

    with write_tx(engine) as conn:
        posted = post_by_rule(conn, books.org, fees[0]["id"], officer)
        again = None
        with pytest.raises(Conflict, match="already matched"):
            again = post_by_rule(conn, books.org, fees[0]["id"], officer)
        lines = conn.execute(
            text(ENTRY_LINES),
            {"e": posted.entry_id},
        ).all()
        unmatched = statement_lines(conn, books.org, books.bank, unmatched=True)
        source = conn.execute(
            text("SELECT source FROM journal_entry WHERE id = :e"), {"e": posted.entry_id}
        ).scalar_one()
    assert again is None and posted.rule == "bank_fee"
    assert [tuple(r) for r in lines] == [("5603", 200, 0), ("1002", 0, 200)]
    assert source == "import"
    assert fees[0]["id"] not in {ln["id"] for ln in unmatched} and len(unmatched) == 24


def test_a_rule_that_does_not_fit_is_refused(books: Books) -> None:
    with write_tx(books.county.engine) as conn:
        settlement = next(ln for ln in statement_lines(conn, books.org, books.bank) if ln["amount_fen"] > 0)
        with pytest.raises(ValidationError, match="does not fit"):
            post_by_rule(conn, books.org, settlement["id"], rule_name="bank_fee")


def test_a_manual_match_must_sum_equal(books: Books) -> None:
    engine = books.county.engine
    with read_tx(engine) as conn:
        lines = statement_lines(conn, books.org, books.bank)
        deposit_line = conn.execute(
            text("SELECT id FROM journal_line WHERE entry_id = :e AND debit_fen > 0"),
            {"e": books.entries["deposit"]},
        ).scalar_one()
    with write_tx(engine) as conn, pytest.raises(ValidationError, match="total"):
        manual_match(conn, books.org, books.bank, [lines[0]["id"]], [deposit_line])


def test_reasons_are_stored_as_codes_and_params_and_read_in_the_pages_language(books: Books) -> None:
    books.propose()
    exact = books.proposal_for("exact")
    settlement = books.proposal_for("sales")
    with read_tx(books.county.engine) as conn:
        raw = conn.execute(select(match_t.c.reasons).where(match_t.c.id == exact["id"])).scalar_one()
        english = {
            m["id"]: m for m in list_matches(conn, books.org, books.bank, status="proposed", lang="en")
        }

    assert json.loads(raw)[:2] == [
        {"code": "amount_equal", "points": 50, "params": {"amount_fen": 1234867}},
        {"code": "same_day", "points": 25, "params": {}},
    ]
    assert [r["text"] for r in english[exact["id"]]["reasons"]][:3] == [
        "Amounts equal: ¥12,348.67",
        "Same day",
        "Reference equal: 030100771420",
    ]
    assert [r["text"] for r in english[settlement["id"]]["reasons"]][1] == "Settled T+1"
    assert [r["text"] for r in settlement["reasons"]][1] == "T+1 结算"


def test_a_reason_stored_as_words_before_codes_had_params_reads_as_stored() -> None:
    [old] = reasons_view('[{"code": "amount_equal", "text": "金额一致 ¥1.00", "points": 50}]', "en")

    assert (old["code"], old["text"], old["points"]) == ("amount_equal", "金额一致 ¥1.00", 50)


def test_every_reason_the_matcher_gives_has_chinese_and_english_words() -> None:
    source = "".join(p.read_text(encoding="utf-8") for p in Path(matching.__file__).parent.glob("*.py"))
    codes = set(re.findall(r'Reason\(\s*"(\w+)"', source))
    templates = records._reason_templates()

    assert len(codes) >= 15 and codes <= set(templates)
    for name, entry in templates.items():
        assert entry["zh"] and entry["en"], name
        assert set(re.findall(r"{(\w+)}", entry["zh"])) == set(re.findall(r"{(\w+)}", entry["en"])), name
    assert reason_text("date_shift", {"days": 2, "variant": "widest"}, "en") == "Dates at most 2 day(s) apart"
    assert reason_text("fee_differs", {"bill_fee_fen": 1240}) == "支付账单手续费为 ¥12.40"


def test_confirming_many_is_all_or_nothing(books: Books) -> None:
    books.propose()
    engine = books.county.engine
    officer = books.county.user_ids["officer"]
    proposals = books.proposals()
    clean = [m["id"] for m in proposals if not m["conflict"]]
    conflicting = [m["id"] for m in proposals if m["conflict"]]

    with write_tx(engine) as conn, pytest.raises(ValidationError, match="conflict"):
        confirm_matches(conn, books.org, clean + conflicting, officer)
    assert len(books.proposals()) == len(proposals)  # nothing was confirmed

    with write_tx(engine) as conn:
        records = confirm_matches(conn, books.org, clean, officer)
    with read_tx(engine) as conn:
        confirmed = list_matches(conn, books.org, books.bank, status="confirmed")
    assert len(records) == len(clean) == len(confirmed) == 5
    assert {m["supersedes_id"] for m in confirmed} == set(clean)
    assert [m["id"] for m in books.proposals()] == conflicting
