"""The joint company's March 2024 to reconcile: its bank and WeChat statement accounts, the bank file of
``statement_files.sample_bank_txns`` and the entries that match it exactly, late, split, merged or in
conflict (``build_books``); ``Books`` proposes and finds the proposals again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import text

from ledger.books.orgs import counterparty, ensure_sub_account
from ledger.books.posting import Draft, Line, post_entries
from ledger.db.engine import read_tx, write_tx
from ledger.reconcile.matching import (
    list_matches,
    propose_matches,
)
from ledger.reconcile.store import create_statement_account, import_statement
from tests.factories.county import County
from tests.factories.statement_files import sample_bank_txns, write_bank_csv


@dataclass
class Books:
    county: County
    org: int
    bank: int
    wechat: int
    entries: dict[str, int]

    def propose(self, **kw):  # type: ignore[no-untyped-def]
        with write_tx(self.county.engine) as conn:
            return propose_matches(
                conn, self.org, self.bank, "2024-03", self.county.user_ids["officer"], **kw
            )

    def proposals(self) -> list[dict]:
        with read_tx(self.county.engine) as conn:
            return list_matches(conn, self.org, self.bank, status="proposed")

    def proposal_for(self, entry: str) -> dict:
        with read_tx(self.county.engine) as conn:
            ids = set(
                conn.execute(
                    text("SELECT id FROM journal_line WHERE entry_id = :e"), {"e": self.entries[entry]}
                ).scalars()
            )
        found = [m for m in self.proposals() if ids & {i["journal_line_id"] for i in m["items"]}]
        assert len(found) == 1, found
        return found[0]


def build_books(county: County, tmp_path: Path) -> Books:
    org = county.ids["company"]
    officer = county.user_ids["officer"]
    with write_tx(county.engine) as conn:
        ensure_sub_account(conn, org, "1012", "101201", "微信")
        supplier = counterparty(conn, org, "supplier", "县供销农产品有限公司")
        bank = create_statement_account(conn, org, ledger_account="1002", kind="bank", name="建行基本户")
        wechat = create_statement_account(conn, org, ledger_account="101201", kind="wechat", name="微信商户")
        import_statement(
            conn, org, bank, write_bank_csv(tmp_path / "bank.csv", sample_bank_txns(range(1, 11)))
        )

        def entry(when: date, memo: str, *lines: Line) -> int:
            return post_entries(conn, [Draft(org, when, memo, list(lines))], user_id=officer)[0].id

        pay = dict(counterparty_id=supplier)
        entries = {
            "opening": entry(
                date(2024, 2, 29),
                "开户存入",
                Line("1002", debit_fen=5000000),
                Line("3001", credit_fen=5000000),
            ),
            "exact": entry(
                day(3),
                "付货款 流水号 030100771420",
                Line("2202", debit_fen=1234867, **pay),
                Line("1002", credit_fen=1234867, **pay),
            ),
            "late": entry(
                day(8),
                "付货款",
                Line("2202", debit_fen=1235167, **pay),
                Line("1002", credit_fen=1235167, **pay),
            ),
            "split_a": entry(
                day(9),
                "付货款一",
                Line("2202", debit_fen=1000000, **pay),
                Line("1002", credit_fen=1000000, **pay),
            ),
            "split_b": entry(
                day(9),
                "付货款二",
                Line("2202", debit_fen=235467, **pay),
                Line("1002", credit_fen=235467, **pay),
            ),
            "merged": entry(
                day(6), "张三劳务费", Line("5602", debit_fen=40000), Line("1002", credit_fen=40000)
            ),
            "sales": entry(
                day(4), "3月4日微信收款", Line("101201", debit_fen=206745), Line("5001", credit_fen=206745)
            ),
            "conflict": entry(
                day(2),
                "微信结算 流水号 029900771005",
                Line("1002", debit_fen=202202),
                Line("101201", credit_fen=202202),
            ),
            "deposit": entry(
                day(10), "存入支票", Line("1002", debit_fen=500000), Line("1122", credit_fen=500000)
            ),
        }
    return Books(county, org, bank, wechat, entries)


def day(n: int) -> date:
    return date(2024, 3, n)
