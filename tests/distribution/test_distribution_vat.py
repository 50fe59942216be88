"""The small-scale taxpayer's quarterly VAT exemption: on and off the threshold, thresholds as dated data."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ledger.books.orgs import ensure_sub_account
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import JournalEntry
from ledger.distribution import vat
from tests.factories.county import County
from tests.factories.distribution import YUAN, balance, book

entry_t = JournalEntry.__table__


def sell(county: County, on: date, net_yuan: int, tax_fen: int) -> None:
    co = county.ids["company"]
    with write_tx(county.engine) as conn:
        ensure_sub_account(conn, co, "2221", "222101", "应交增值税")
        book(
            conn,
            co,
            on,
            "销售",
            ("1002", "Dr", net_yuan * YUAN + tax_fen),
            ("5001", "Cr", net_yuan * YUAN),
            ("222101", "Cr", tax_fen),
        )


def test_within_the_threshold_the_quarters_vat_moves_to_non_operating_income(county: County) -> None:
    co = county.ids["company"]
    sell(county, date(2025, 1, 15), 150_000, 150_000)
    sell(county, date(2025, 3, 20), 150_000, 150_000)  # exactly ¥300,000: still within
    with write_tx(county.engine) as conn:
        q = vat.post_vat_exemption(conn, co, 2025, 1)
        again = vat.post_vat_exemption(conn, co, 2025, 1)
    assert (q.sales_fen, q.threshold_fen, q.vat_fen, q.exempt) == (30_000_000, 30_000_000, 300_000, True)
    assert again.entry_id == q.entry_id
    with read_tx(county.engine) as conn:
        assert balance(conn, co, "222101") == 0
        assert balance(conn, co, "5301") == 300_000
        entry = conn.execute(select(entry_t).where(entry_t.c.id == q.entry_id)).one()
    assert entry.entry_date == date(2025, 3, 31) and entry.source == "manual"  # real income, not a 结转 entry
    assert entry.source_ref == "vat-exempt:2025Q1:threshold=30000000"
    assert "起征点 300000.00 元" in entry.memo and "2023年第19号" in entry.memo


def test_over_the_threshold_nothing_is_posted(county: County) -> None:
    co = county.ids["company"]
    sell(county, date(2025, 5, 15), 300_000, 300_000)
    with write_tx(county.engine) as conn:
        book(conn, co, date(2025, 6, 2), "销售", ("1002", "Dr", 1), ("5001", "Cr", 1))  # ¥300,000.01
        q = vat.post_vat_exemption(conn, co, 2025, 2)
    assert (q.sales_fen, q.exempt, q.entry_id) == (30_000_001, False, None)
    with read_tx(county.engine) as conn:
        assert balance(conn, co, "222101") == 300_000


def test_thresholds_are_dated_data(county: County) -> None:
    co = county.ids["company"]
    with write_tx(county.engine) as conn:
        vat.set_threshold(
            conn,
            co,
            effective_from=date(2025, 7, 1),
            quarterly_threshold_fen=45_000_000,
            rule="省局口径 季度45万元",
        )
    sell(county, date(2025, 8, 1), 400_000, 400_000)
    with write_tx(county.engine) as conn:
        q3 = vat.post_vat_exemption(conn, co, 2025, 3)
        assert vat.threshold_on(conn, co, date(2025, 6, 30))[0] == 30_000_000  # the national schedule
        assert vat.threshold_on(conn, co, date(2022, 6, 30))[0] == 45_000_000  # 公告2021年第11号
    assert q3.exempt and q3.threshold_fen == 45_000_000 and q3.rule == "省局口径 季度45万元"


def test_a_collective_moves_exempt_vat_to_other_income(county: County) -> None:
    dz = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        book(
            conn,
            dz,
            date(2025, 2, 1),
            "租金",
            ("112", "Dr", 10_500_000),
            ("501", "Cr", 10_000_000),
            ("214", "Cr", 500_000),
        )
        q = vat.post_vat_exemption(conn, dz, 2025, 1)
        assert q.exempt and q.vat_fen == 500_000
        assert balance(conn, dz, "504") == 500_000
        assert balance(conn, dz, "214") == 0
