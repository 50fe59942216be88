"""Statement imports into the books' database: all or nothing, deduplicated by key, records kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from ledger.books.errors import Conflict, NotFound, ValidationError
from ledger.db.engine import read_tx, write_tx
from ledger.reconcile.importers import StatementParseError
from ledger.reconcile.models import StatementImport, StatementLineRow
from ledger.reconcile.store import create_statement_account, import_statement
from tests.factories.county import County
from tests.factories.statement_files import (
    sample_bank_txns,
    sample_orders,
    write_alipay_detail,
    write_bank_csv,
    write_bank_xlsx,
    write_wechat_trade_bill,
)

line_t = StatementLineRow.__table__
import_t = StatementImport.__table__


def bank_account(county: County, org: str = "company", code: str = "1002") -> int:
    with write_tx(county.engine) as conn:
        return create_statement_account(
            conn,
            county.ids[org],
            ledger_account=code,
            kind="bank",
            name="建行基本户",
            account_no="43050163610800000123",
        )


def counts(county: County) -> tuple[int, int]:
    with read_tx(county.engine) as conn:
        lines = conn.execute(select(func.count()).select_from(line_t)).scalar_one()
        imports = conn.execute(select(func.count()).select_from(import_t)).scalar_one()
    return lines, imports


def do_import(county: County, account: int, path: Path, org: str = "company"):  # type: ignore[no-untyped-def]
    with write_tx(county.engine) as conn:
        return import_statement(conn, county.ids[org], account, path, county.user_ids["officer"])


def test_bank_statement_import_stores_every_line_with_its_key(county: County, tmp_path: Path) -> None:
    account = bank_account(county)
    path = write_bank_csv(tmp_path / "march.csv", sample_bank_txns(range(1, 11)))

    result = do_import(county, account, path)

    assert (result.source, result.line_count, result.new_count) == ("bank", 25, 25)
    with read_tx(county.engine) as conn:
        first = conn.execute(select(line_t).order_by(line_t.c.occurred_at, line_t.c.id).limit(1)).one()
        stored = conn.execute(select(import_t)).one()
    assert first.amount_fen == 201101 and first.balance_fen == 5201101
    assert first.counterparty == "财付通支付科技有限公司" and first.kind == "settlement"
    assert stored.file_name == "march.csv" and len(stored.sha256) == 64
    assert stored.imported_by == county.user_ids["officer"]


def test_re_importing_an_overlapping_file_adds_only_the_new_lines(county: County, tmp_path: Path) -> None:
    account = bank_account(county)
    do_import(county, account, write_bank_csv(tmp_path / "a.csv", sample_bank_txns(range(1, 11))))

    again = do_import(county, account, write_bank_xlsx(tmp_path / "b.xlsx", sample_bank_txns(range(5, 16))))
    same = do_import(county, account, tmp_path / "a.csv")

    days_11_to_15 = len(sample_bank_txns(range(11, 16)))
    assert again.new_count == days_11_to_15
    assert again.line_count == len(sample_bank_txns(range(5, 16)))
    assert (same.new_count, same.duplicate_count) == (0, 25)
    assert counts(county) == (25 + days_11_to_15, 3)


def test_two_identical_payments_in_one_minute_both_stay(county: County, tmp_path: Path) -> None:
    account = bank_account(county)
    do_import(
        county, account, write_bank_csv(tmp_path / "a.csv", sample_bank_txns([6]), layout="abc_corporate")
    )
    with read_tx(county.engine) as conn:
        amounts = conn.execute(select(line_t.c.amount_fen).where(line_t.c.amount_fen == -20000)).all()
    assert len(amounts) == 2


def test_a_corrupted_file_names_line_and_column_and_writes_nothing(county: County, tmp_path: Path) -> None:
    account = bank_account(county)
    path = write_bank_csv(tmp_path / "b.csv", layout="abc_corporate", encoding="gbk")
    data = path.read_bytes().decode("gbk").replace("+2,011.01", "+2,011.0x")
    path.write_bytes(data.encode("gbk"))

    with pytest.raises(StatementParseError) as caught:
        do_import(county, account, path)

    assert "line 4, column 收入金额: '+2,011.0x' is not an amount" in str(caught.value)
    assert counts(county) == (0, 0)


def test_a_truncated_file_is_refused_and_writes_nothing(county: County, tmp_path: Path) -> None:
    account = bank_account(county, code="1012")
    with write_tx(county.engine) as conn:
        wechat = create_statement_account(
            conn, county.ids["company"], ledger_account="1012", kind="wechat", name="微信商户"
        )
    path = write_wechat_trade_bill(tmp_path / "w.csv", sample_orders([1, 2]))
    data = path.read_bytes()
    path.write_bytes(data[: data.index("总交易单数".encode())])

    with pytest.raises(StatementParseError, match="looks truncated"):
        do_import(county, wechat, path)

    assert counts(county) == (0, 0)
    assert account != wechat


def test_a_file_of_the_wrong_kind_for_the_account_writes_nothing(county: County, tmp_path: Path) -> None:
    account = bank_account(county)
    path = write_wechat_trade_bill(tmp_path / "w.csv", sample_orders([1]))

    with pytest.raises(ValidationError, match="a bank account takes bank files"):
        do_import(county, account, path)

    assert counts(county) == (0, 0)


def test_an_error_after_parsing_rolls_the_whole_import_back(county: County, tmp_path: Path) -> None:
    account = bank_account(county)
    path = write_bank_csv(tmp_path / "a.csv", sample_bank_txns(range(1, 4)))

    with pytest.raises(RuntimeError), write_tx(county.engine) as conn:
        import_statement(conn, county.ids["company"], account, path)
        raise RuntimeError("the request failed later")

    assert counts(county) == (0, 0)


def test_a_statement_account_of_another_org_is_not_found(county: County, tmp_path: Path) -> None:
    account = bank_account(county)
    path = write_bank_csv(tmp_path / "a.csv", sample_bank_txns([1]))
    with pytest.raises(NotFound):
        do_import(county, account, path, org="dingzikou")


def test_statement_account_needs_an_asset_account_of_the_org(county: County) -> None:
    org = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        with pytest.raises(NotFound):
            create_statement_account(conn, org, ledger_account="1002", kind="bank", name="x")
        with pytest.raises(ValidationError):
            create_statement_account(conn, org, ledger_account="501", kind="bank", name="x")
        create_statement_account(conn, org, ledger_account="102", kind="bank", name="农商行")
        with pytest.raises(Conflict):
            create_statement_account(conn, org, ledger_account="102", kind="bank", name="农商行")


def test_the_database_refuses_to_change_or_delete_statement_lines(county: County, tmp_path: Path) -> None:
    account = bank_account(county)
    do_import(county, account, write_bank_csv(tmp_path / "a.csv", sample_bank_txns([1])))

    for sql in ("UPDATE statement_line SET amount_fen = 1", "DELETE FROM statement_line"):
        with pytest.raises(DBAPIError, match="immutable"), write_tx(county.engine) as conn:
            conn.execute(text(sql))
    assert counts(county) == (2, 1)


def _truncated_xlsx(tmp_path: Path) -> Path:
    path = write_bank_xlsx(tmp_path / "ccb.xlsx")
    path.write_bytes(path.read_bytes()[:2000])
    return path


def _wechat_total_off(tmp_path: Path) -> Path:
    path = write_wechat_trade_bill(tmp_path / "w.csv", sample_orders([1, 2]))
    path.write_bytes(path.read_bytes().replace(b"`4,`40.91,", b"`4,`41.91,"))
    return path


def _alipay_bad_cell(tmp_path: Path) -> Path:
    path = write_alipay_detail(tmp_path / "a.csv", sample_orders([1, 2]))
    text_ = (
        path.read_bytes()
        .decode("gbk")
        .replace(",2024-03-01 15:30:00,2024-03-01 15:30:00,", ",2024-03-01 15:30:00,2024-03-01 15:3x:00,")
    )
    path.write_bytes(text_.encode("gbk"))
    return path


@pytest.mark.parametrize(
    ("make", "kind", "message"),
    [
        (_truncated_xlsx, "bank", "xlsx"),  # the importer's wording for a broken workbook may change
        (_wechat_total_off, "wechat", "line 7, column 应结订单总金额: summary says 应结订单总金额 41.91"),
        (_alipay_bad_cell, "alipay", "is not a date"),
    ],
)
def test_corrupted_variants_of_each_format_write_nothing(
    county: County,
    tmp_path: Path,
    make,
    kind: str,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    with write_tx(county.engine) as conn:
        account = create_statement_account(
            conn, county.ids["company"], ledger_account="1012", kind=kind, name=f"{kind} 账户"
        )
    path = make(tmp_path)

    with pytest.raises(StatementParseError) as caught:
        do_import(county, account, path)

    assert message.lower() in str(caught.value).lower()
    assert counts(county) == (0, 0)
