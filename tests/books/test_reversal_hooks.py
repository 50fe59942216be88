"""A 红字冲销 runs its source's after-reversal hooks for every entry it reverses, also a linked posting's.

A dividend declared by the company is one linked posting: 应付利润 at the company, 应收款 at the shareholder
community (``ledger.community.stakes``), one ``link_id``. Reversing either side reverses the whole link
(``ledger.books.posting.reverse_entry`` → ``reverse_link``, which
``ledger.distribution.execute.reverse_plan`` also calls), and a workflow that mirrors those entries in a
sub-ledger must hear of each reversal, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Connection, select

from ledger.books import reversals
from ledger.books.posting import Draft, Line, Posted, new_link_id, post_entries, reverse_entry, reverse_link
from ledger.db.engine import write_tx
from ledger.db.models import JournalEntry
from tests.factories.county import County

entry_t = JournalEntry.__table__
DAY = date(2025, 12, 31)


@pytest.fixture
def heard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """A hook on ``distribution`` entries recording (entry reversed, its reversal); gone after the test."""
    monkeypatch.setattr(reversals, "_HOOKS", {source: list(h) for source, h in reversals._HOOKS.items()})
    calls: list[tuple[int, int]] = []

    @reversals.on_reversal("distribution")
    def record(conn: Connection, entry_id: int, reversal_id: int) -> None:
        calls.append((entry_id, reversal_id))

    yield calls


def dividend(conn: Connection, county: County) -> list[Posted]:
    """¥5.00 of profit declared to 丁字口社区: the company's and the community's entries, linked."""
    link = new_link_id()
    company, community = county.ids["company"], county.ids["dingzikou"]
    return post_entries(
        conn,
        [
            Draft(
                company,
                DAY,
                "应付利润",
                [Line("3104", debit_fen=500), Line("2232", credit_fen=500)],
                source="distribution",
                link_id=link,
            ),
            Draft(
                community,
                DAY,
                "应收股利",
                [Line("112", debit_fen=500), Line("502", credit_fen=500)],
                source="distribution",
                link_id=link,
            ),
        ],
    )


def reversed_pairs(conn: Connection, posted: list[Posted]) -> set[tuple[int, int]]:
    rows = conn.execute(
        select(entry_t.c.reverses_id, entry_t.c.id).where(entry_t.c.reverses_id.in_([p.id for p in posted]))
    ).all()
    return {(r.reverses_id, r.id) for r in rows}


def test_reversing_one_side_of_a_dividend_runs_the_hook_for_both_entries(
    county: County, heard: list[tuple[int, int]]
) -> None:
    with write_tx(county.engine) as conn:
        posted = dividend(conn, county)
        reverse_entry(conn, posted[1].id, entry_date=DAY, idempotency_key="undo-dividend")
        pairs = reversed_pairs(conn, posted)
        assert len(pairs) == 2
        assert sorted(heard) == sorted(pairs)
        reverse_entry(conn, posted[1].id, entry_date=DAY, idempotency_key="undo-dividend")  # a retry
    assert sorted(heard) == sorted(pairs)  # heard once each, not again on the retry


def test_reversing_a_whole_link_runs_the_hook_for_every_entry(
    county: County, heard: list[tuple[int, int]]
) -> None:
    with write_tx(county.engine) as conn:
        posted = dividend(conn, county)
        link = conn.execute(select(entry_t.c.link_id).where(entry_t.c.id == posted[0].id)).scalar_one()
        reverse_link(conn, link, entry_date=DAY, idempotency_key="undo-plan")
        pairs = reversed_pairs(conn, posted)
        assert len(pairs) == 2
        assert sorted(heard) == sorted(pairs)
        reverse_link(conn, link, entry_date=DAY, idempotency_key="undo-plan")  # a retry
    assert sorted(heard) == sorted(pairs)
