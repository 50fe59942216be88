"""Our export loads in Beancount v3, hledger and ledger-cli; each one's balances equal our trial balance."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data

from ledger.books.export import export_journal
from ledger.books.orgs import add_sub_account
from ledger.books.posting import Draft, Line, post_entries, reverse_entry
from ledger.books.trial_balance import trial_balance
from ledger.db.engine import read_tx, write_tx
from tests.factories.county import County
from tests.factories.plaintext_accounting import TOOLS, balances


def _post_some_books(county: County) -> None:
    org, company = county.ids["dingzikou"], county.ids["company"]
    with write_tx(county.engine) as conn:
        add_sub_account(conn, org, "501", "商品销售收入")
        add_sub_account(conn, org, "501", "租赁收入")
        posted = post_entries(
            conn,
            [
                Draft(
                    org,
                    date(2025, 1, 5),
                    '收 "一月" 租金',
                    [
                        Line("102", debit_fen=10_500),
                        Line("50102", credit_fen=10_000),
                        Line("214", credit_fen=500),
                    ],
                ),
                Draft(
                    org,
                    date(2025, 2, 1),
                    "工作经费",
                    [Line("102", debit_fen=10_000_000), Line("503", credit_fen=10_000_000)],
                ),
                Draft(
                    company,
                    date(2025, 2, 3),
                    "日结",
                    [
                        Line("1001", debit_fen=123_456),
                        Line("5001", credit_fen=122_234),
                        Line("2221", credit_fen=1_222),
                    ],
                ),
            ],
        )
        reverse_entry(conn, posted[0].id, entry_date=date(2025, 2, 9))


def test_beancount_loads_our_export_and_agrees_with_the_trial_balance(county: County, tmp_path: Path) -> None:
    _post_some_books(county)
    with read_tx(county.engine) as conn:
        text = export_journal(conn, "beancount")
        ours = {
            org: {
                r.code: r.closing_fen
                for r in trial_balance(conn, county.ids[org], "2025-01", "2025-12")
                if r.is_leaf
            }
            for org in ("dingzikou", "company")
        }
    path = tmp_path / "books.beancount"
    path.write_text(text, encoding="utf-8")
    entries, errors, _options = loader.load_file(str(path))
    assert errors == []
    theirs: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                theirs[posting.account] += posting.units.number
    for org, code_prefix in (
        ("dingzikou", f"O{county.ids['dingzikou']}-"),
        ("company", f"O{county.ids['company']}-"),
    ):
        for code, closing in ours[org].items():
            account = next((a for a in theirs if f":{code_prefix}" in a and a.endswith(f":A{code}")), None)
            got = theirs[account] if account else Decimal(0)
            assert got * 100 == closing, (org, code)
    assert any(v != 0 for v in theirs.values())


def test_hledger_export_has_one_transaction_per_entry(county: County) -> None:
    _post_some_books(county)
    with read_tx(county.engine) as conn:
        text = export_journal(conn, "hledger", org_id=county.ids["dingzikou"])
    assert text.count("; voucher:记-") == 3
    assert "-105.00 CNY" in text and "100000.00 CNY" in text


@pytest.mark.parametrize("tool", TOOLS)
def test_hledger_and_ledger_cli_load_our_export_and_agree_with_the_trial_balance(
    county: County, tmp_path: Path, tool: str
) -> None:
    _post_some_books(county)
    with read_tx(county.engine) as conn:
        text = export_journal(conn, "hledger")
        ours = {
            f"{org}:{r.code}": r.closing_fen
            for org in ("dingzikou", "company")
            for r in trial_balance(conn, county.ids[org], "2025-01", "2025-12")
            if r.is_leaf and r.closing_fen
        }
    path = tmp_path / "books.journal"
    path.write_text(text, encoding="utf-8")
    by_id = {str(county.ids[org]): org for org in ("dingzikou", "company")}
    theirs = {}
    for account, amount in balances(tool, path).items():
        _root, org_part, code = account.split(":")
        theirs[f"{by_id[org_part[1:].split('-')[0]]}:{code[1:]}"] = int(amount * 100)
    assert theirs == ours
    assert len(ours) == 5  # the reversed rent nets to nothing
