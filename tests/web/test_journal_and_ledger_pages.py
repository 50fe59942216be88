"""Pages of a big book read the same rows as the whole book: the 明细账 a page at a time (keyset on date,
chain order and line, the balance brought forward from the month's opening and the postings before the
page) against the ``ledger-detail`` report's one frame, forwards and backwards across every page boundary,
on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.books.orgs import ensure_sub_account, get_org
from ledger.books.posting import Draft, Line, post_entry
from ledger.db.engine import read_tx, write_tx
from reports.builders import ledger_detail_page
from reports.builders_base import BuildContext, parse_report_period
from reports.registry import build_report
from tests.factories.county import County
from tests.factories.web import log_in


def _post(county: County) -> None:
    """丁字口's bank (102 and its sub-account 10201) over December 2025 and January 2026: entries on the
    same day, one with two lines on the bank, and one posted last but dated first (chain order is not
    date order)."""
    org = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        ensure_sub_account(conn, org, "102", "10201", "农商行")
        ensure_sub_account(conn, org, "102", "10202", "工商银行")
        post_entry(
            conn,
            Draft(
                org,
                date(2025, 12, 5),
                "期初存款",
                [Line("10202", debit_fen=900_00), Line("501", credit_fen=900_00)],
            ),
        )
        for day, fen in (
            (3, 100_00),
            (3, 250_00),
            (9, 75_00),
            (9, 60_00),
            (15, 1_000_00),
            (20, 33_00),
            (28, 12_00),
        ):
            post_entry(
                conn,
                Draft(
                    org,
                    date(2026, 1, day),
                    f"收款{day}",
                    [Line("10201", debit_fen=fen), Line("501", credit_fen=fen)],
                ),
            )
        post_entry(
            conn,
            Draft(
                org,
                date(2026, 1, 9),
                "转存",
                [
                    Line("10202", debit_fen=40_00),
                    Line("10201", credit_fen=40_00),
                    Line("513", debit_fen=5_00),
                    Line("10202", credit_fen=5_00),
                ],
            ),
        )
        post_entry(
            conn,
            Draft(
                org,
                date(2026, 1, 2),
                "补记手续费",
                [Line("513", debit_fen=2_00), Line("10201", credit_fen=2_00)],
            ),
        )
        post_entry(
            conn,
            Draft(
                org, date(2026, 2, 1), "二月", [Line("10201", debit_fen=1_00), Line("501", credit_fen=1_00)]
            ),
        )


def _whole_book(conn: Any, org: int, account: str) -> list[dict[str, Any]]:
    frame = (
        build_report(
            conn,
            "ledger-detail",
            org,
            parse_report_period("2026-01", None, None),
            options={"account": account},
        )
        .tables[0]
        .frame
    )
    return [
        {k: (None if v is None or v != v else v) for k, v in r.items()}
        for r in frame.astype(object).to_dict("records")
    ]


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_the_ledger_a_page_at_a_time_is_the_whole_book_forwards_and_backwards(
    county: County, limit: int
) -> None:
    _post(county)
    org = county.ids["dingzikou"]
    with read_tx(county.engine) as conn:
        whole = _whole_book(conn, org, "102")
        ctx = BuildContext(conn, get_org(conn, org), parse_report_period("2026-01", None, None), "zh", {})
        pages = [ledger_detail_page(ctx, "102", limit=limit)]
        while pages[-1].next_key is not None:
            pages.append(ledger_detail_page(ctx, "102", after=pages[-1].next_key, limit=limit))
        backwards = [pages[-1]]
        while backwards[-1].first_key is not None:
            backwards.append(ledger_detail_page(ctx, "102", before=backwards[-1].first_key, limit=limit))
    assert [p.rows for p in backwards[::-1]] == [p.rows for p in pages]
    postings = whole[1:-2]
    assert len(postings) == 11 and pages[0].rows[0] == whole[0]  # 上年结转 900.00
    assert len(pages) == -(-len(postings) // limit)
    shown: list[dict[str, Any]] = []
    for n, page in enumerate(pages):
        body = page.rows[1:]  # after 上年结转 or 承前页
        if n > 0:  # 承前页: the month's debits and credits so far, and the balance the last page ended on
            brought = page.rows[0]
            assert brought["memo"] == "承前页" and brought["balance"] == shown[-1]["balance"]
            assert brought["debit"] == sum(r["debit"] or 0 for r in shown)
            assert brought["credit"] == sum(r["credit"] or 0 for r in shown)
        last = n == len(pages) - 1
        shown += body[:-2] if last else body
    assert shown == postings
    assert pages[-1].rows[-2:] == whole[-2:]  # 本月合计, 本年累计


def test_the_ledger_page_links_its_next_and_previous_pages(
    county: County, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.web.pages import ledgers

    monkeypatch.setattr(ledgers, "PAGE_SIZE", 5)
    _post(county)
    org = county.ids["dingzikou"]
    log_in(client, "officer")
    first = client.get(f"/web/orgs/{org}/ledger", params={"account": "102", "period": "2026-01"})
    assert first.status_code == 200
    vouchers = re.findall(r">(记-\d{4}-\d{2}-\d{4})</a>", first.text)
    assert len(vouchers) == 5 and "本月合计" not in first.text
    nxt = re.search(r'<a href="([^"]+)" rel="next">', first.text.split('class="pager"')[1])
    assert nxt
    second = client.get(unescape(nxt.group(1)))
    assert second.status_code == 200 and "承前页" in second.text
    assert re.findall(r">(记-\d{4}-\d{2}-\d{4})</a>", second.text)[0] not in vouchers
    back = re.search(r'<a href="([^"]+)" rel="prev">', second.text.split('class="pager"')[1])
    assert back
    again = client.get(unescape(back.group(1)))
    assert re.findall(r">(记-\d{4}-\d{2}-\d{4})</a>", again.text) == vouchers
    assert client.get(f"/web/orgs/{org}/ledger", params={"account": "102", "after": "x"}).status_code == 422


# -- 凭证查询 a page at a time -------------------------------------------------------------------------------


def _journal(county: County) -> dict[str, int]:
    """丁字口's January 2026: 24 vouchers over a dozen days (some posted late with an earlier date), a
    third of them on 112 with 张三 or 李四, two with two lines on 112, four reversed (into January). The
    entries' 摘要 are 收租 and 办公; 张三's lines say 张三租金 in their own 摘要, and every fourth office
    voucher's expense line says 打印纸 "A4" 100% (text found only in a line; quotes and a LIKE wildcard)."""
    from ledger.books.orgs import counterparty
    from ledger.books.posting import reversal_draft

    org = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        ids = {
            "zhang": counterparty(conn, org, "lessee", "张三"),
            "li": counterparty(conn, org, "lessee", "李四"),
        }
        posted = []
        for n in range(24):
            day = date(2026, 1, 1 + (n * 7) % 12)  # not in chain order
            if n % 3 == 0:
                cp = ids["zhang"] if n % 2 else ids["li"]
                said = "张三租金" if cp == ids["zhang"] else ""
                lines = [
                    Line("101", debit_fen=100 + n),
                    Line("112", credit_fen=100 + n, counterparty_id=cp, memo=said),
                ]
                if n % 9 == 0:
                    lines = [
                        Line("101", debit_fen=200 + n),
                        Line("112", credit_fen=100, counterparty_id=cp, memo=said),
                        Line("112", credit_fen=100 + n, counterparty_id=cp, memo=said),
                    ]
            else:
                said = '打印纸 "A4" 100%' if n % 4 == 1 else ""
                lines = [Line("513", debit_fen=100 + n, memo=said), Line("101", credit_fen=100 + n)]
            posted.append(post_entry(conn, Draft(org, day, "收租" if n % 3 == 0 else "办公", lines)).id)
        for entry_id in posted[::6]:
            post_entry(conn, reversal_draft(conn, entry_id, entry_date=date(2026, 1, 20)))
    return ids


@pytest.mark.parametrize("count_limit", [4, 100])  # the many matches (walk the dates) and the few (read them)
def test_the_journal_a_page_at_a_time_is_every_match_in_order_forwards_and_backwards(
    county: County, count_limit: int
) -> None:
    from sqlalchemy import select

    from ledger.books.journal import EntryFilter, entry_key, entry_t, list_entries

    ids = _journal(county)
    org = county.ids["dingzikou"]
    month = {"period_from": "2026-01", "period_to": "2026-01"}
    filters = [
        EntryFilter(**month),
        EntryFilter(**month, account="112"),
        EntryFilter(**month, account="1"),
        EntryFilter(**month, counterparty_id=ids["zhang"]),
        EntryFilter(**month, reversed=True),
        EntryFilter(**month, reversed=False, account="112"),
        EntryFilter(**month, account="112", memo_contains="收租"),
        EntryFilter(**month, counterparty_id=ids["li"], account="112", reversed=False),
        EntryFilter(date_from=date(2026, 1, 3), date_to=date(2026, 1, 9), account="101"),
        EntryFilter(account="112"),  # no months (the API's): the months the account was posted in
        EntryFilter(account="1"),
        EntryFilter(period_from="2026-01", account="112"),
        # text: in the entry's 摘要, in a line's, in a counterparty's name (and a line's: found twice)
        EntryFilter(**month, text_contains="收租"),
        EntryFilter(**month, text_contains="打印"),
        EntryFilter(**month, text_contains="李四"),
        EntryFilter(**month, text_contains="张三"),
        EntryFilter(**month, text_contains="租"),
        EntryFilter(**month, text_contains="租", reversed=False),
        EntryFilter(**month, text_contains="三", account="112"),
        EntryFilter(**month, text_contains="打印", memo_contains="办", reversed=False),
        EntryFilter(**month, text_contains="租", counterparty_id=ids["li"]),
        EntryFilter(date_from=date(2026, 1, 3), date_to=date(2026, 1, 9), text_contains="纸"),
        # three characters or more: on SQLite found by the trigram tables (0012_core), kept by the triggers
        EntryFilter(**month, text_contains="张三租"),  # lines' 摘要 only
        EntryFilter(**month, text_contains='"A4"'),
        EntryFilter(**month, text_contains="100%"),
        EntryFilter(**month, text_contains="冲销 记"),  # the reversals' 摘要
        EntryFilter(**month, text_contains="冲销 记-2026-01-000", reversed=False),
        EntryFilter(**month, text_contains="打印纸", account="513"),
    ]
    with read_tx(county.engine) as conn:
        for flt in filters:
            everything = [
                r.voucher_no
                for r in conn.execute(
                    select(entry_t.c.voucher_no)
                    .where(*flt.conditions(org))
                    .order_by(entry_t.c.entry_date, entry_t.c.seq)
                )
            ]
            assert everything, flt
            if flt.text_contains:  # the same vouchers as reading every entry, its lines and their names
                assert everything == _holding_text(conn, org, flt), flt
            first, total = list_entries(conn, org, flt, limit=3, count_limit=count_limit)
            assert total == min(len(everything), count_limit + 1), flt
            pages = [first]
            while len(pages[-1]) == 3:
                pages.append(
                    list_entries(
                        conn, org, flt, limit=3, count_limit=count_limit, after=entry_key(pages[-1][-1])
                    )[0]
                )
            assert [e["voucher_no"] for page in pages for e in page] == everything, flt
            back = [pages[-1] or pages[-2]]  # the last page with vouchers on it
            while back[-1] and back[-1][0]["voucher_no"] != everything[0]:
                back.append(
                    list_entries(
                        conn, org, flt, limit=3, count_limit=count_limit, before=entry_key(back[-1][0])
                    )[0]
                )
            assert [e["voucher_no"] for page in back[::-1] for e in page] == everything, flt
            assert list_entries(conn, org, flt, limit=3)[1] == len(everything), flt  # every match counted
            by_offset = [
                list_entries(conn, org, flt, limit=3, offset=n)[0] for n in range(0, len(everything), 3)
            ]
            assert [e["voucher_no"] for page in by_offset for e in page] == everything, flt


def _holding_text(conn: Any, org: int, flt: Any) -> list[str]:
    """The vouchers of ``flt`` without its text whose 摘要, a line's 摘要 or a line's counterparty's name
    holds the text, read one by one."""
    from dataclasses import replace

    from sqlalchemy import select

    from ledger.books.journal import cp_t, entry_t, get_entry

    names = dict(conn.execute(select(cp_t.c.id, cp_t.c.name)).all())
    text = flt.text_contains
    found = []
    for entry_id, voucher_no in conn.execute(
        select(entry_t.c.id, entry_t.c.voucher_no)
        .where(*replace(flt, text_contains=None).conditions(org))
        .order_by(entry_t.c.entry_date, entry_t.c.seq)
    ):
        entry = get_entry(conn, org, entry_id)
        said = [entry["memo"]] + [ln["memo"] for ln in entry["lines"]]
        said += [names[ln["counterparty_id"]] for ln in entry["lines"] if ln["counterparty_id"]]
        if any(text in s for s in said):
            found.append(voucher_no)
    return found


def test_the_journal_page_turns_by_key(
    county: County, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.web.pages import vouchers

    monkeypatch.setattr(vouchers, "PAGE_SIZE", 5)
    _journal(county)
    org = county.ids["dingzikou"]
    log_in(client, "officer")
    url = f"/web/orgs/{org}/journal"
    seen: list[str] = []
    page = client.get(url, params={"from": "2026-01", "to": "2026-01", "account": "112"})
    while True:
        assert page.status_code == 200, page.text
        seen += re.findall(r">(记-\d{4}-\d{2}-\d{4})</a>", page.text)
        nxt = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        if not nxt:
            break
        assert "after=" in nxt.group(1)
        page = client.get(unescape(nxt.group(1)))
    assert len(seen) == len(set(seen)) == 12  # 8 vouchers on 112 and the reversals of 4 of them
    back = re.search(r'<a href="([^"]+)" rel="prev">', page.text)
    assert back and "before=" in back.group(1)
    assert re.findall(r">(记-\d{4}-\d{2}-\d{4})</a>", client.get(unescape(back.group(1))).text) == seen[5:10]
    assert client.get(url, params={"after": "2026-02-30.1"}).status_code == 422


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # PostgreSQL reads pg_trgm indexes (0011_core)
def test_sqlite_s_trigram_tables_hold_every_memo_posted_by_every_path(county: County) -> None:
    """``0012_core``'s trigram tables name every entry and every line that has a 摘要, and nothing else:
    filled by triggers on each posting path — one voucher (``post_entry``), a batch (``post_entries``'
    many-row INSERTs), a reversal (its own 摘要 and its lines' copied) — and by the migration for the rows
    the county's fixture posted before."""
    from sqlalchemy import select

    from ledger.books.journal import entry_memo_fts, entry_t, line_memo_fts, line_t
    from ledger.books.posting import post_entries

    assert county.engine.dialect.name == "sqlite"
    _journal(county)
    org = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        batch = [
            Draft(
                org,
                date(2026, 1, 25),
                f"批量凭证{n}" if n % 3 else "",
                [
                    Line("513", debit_fen=100 + n, memo=f"第{n}行" if n % 2 else ""),
                    Line("101", credit_fen=100 + n),
                ],
            )
            for n in range(120)
        ]
        post_entries(conn, batch)
    with read_tx(county.engine) as conn:
        for fts, table in ((entry_memo_fts, entry_t), (line_memo_fts, line_t)):
            indexed = sorted(conn.execute(select(fts.c.rowid)).scalars())
            said = sorted(conn.execute(select(table.c.id).where(table.c.memo != "")).scalars())
            assert indexed == said, fts.name
            assert len(said) > 40, fts.name
