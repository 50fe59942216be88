"""The statement-file writers live in the product (the demo uses them too); the tests import them here,
and write the files of issue 20 (``write_trust_case``) with them."""

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from ledger.reconcile.statement_writers import (
    BANK_LAYOUTS,
    BankTxn,
    Order,
    sample_alipay_account_rows,
    sample_bank_txns,
    sample_orders,
    sample_wechat_fund_rows,
    write_alipay_account,
    write_alipay_detail,
    write_bank_csv,
    write_bank_xlsx,
    write_wechat_fund_bill,
    write_wechat_trade_bill,
)

__all__ = [
    "BANK_LAYOUTS",
    "TRUST_CASES",
    "BankTxn",
    "Order",
    "sample_alipay_account_rows",
    "sample_bank_txns",
    "sample_orders",
    "sample_wechat_fund_rows",
    "write_alipay_account",
    "write_alipay_detail",
    "write_bank_csv",
    "write_bank_xlsx",
    "write_trust_case",
    "write_wechat_fund_bill",
    "write_wechat_trade_bill",
]


# --------------------------------------------------------------------------------------------------------
# Issue 20: the files an officer must not be able to import silently, and their good twins. Generated, so
# they are data, not hand edits: ``python -m tests.factories.statement_files DIR`` writes every one of them.

RCB_ACCOUNT_NO = "52050120000001234"  # 农商银行基本户 (the demo's)
BOC_ACCOUNT_NO = "133000000000001"  # 中国银行: another account of the same company
MERCHANT_ID = "1600012345"


def _rcb_rows(
    *,
    account_no: str = RCB_ACCOUNT_NO,
    with_time: bool = False,
    day: int = 5,
    opening: str = "101,000.00",
) -> list[list[str]]:
    """A 农商银行 export of one day: 账号 title row, then 交易日期 (a date), 借贷标志, 交易金额, 余额 …,
    流水号. ``with_time``: the re-export that adds a 交易时间 column."""
    balance = Decimal(opening.replace(",", ""))
    moves = [
        ("08:30:00", "贷", Decimal("229.56"), "", "结息", "000"),
        ("09:12:01", "贷", Decimal("3000.00"), "县农贸公司", "货款", "001"),
        ("10:30:00", "借", Decimal("5.00"), "", "汇划手续费", "002"),
        ("15:00:00", "贷", Decimal("1200.00"), "张三", "租金", "003"),
    ]
    header = ["交易日期", "借贷标志", "交易金额", "余额", "对方户名", "用途", "流水号"]
    if with_time:
        header.insert(1, "交易时间")
    rows = [["账号", account_no], ["户名", "城关村股份经济合作联合社"], header]
    for at, flag, amount, counterparty, memo, serial in moves:
        balance += amount if flag == "贷" else -amount
        row = [
            f"2025-03-{day:02d}",
            flag,
            f"{amount:,.2f}",
            f"{balance:,.2f}",
            counterparty,
            memo,
            f"B202503{day:02d}{serial}",
        ]
        if with_time:
            row.insert(1, at)
        rows.append(row)
    return rows


def _write_rows(path: Path, rows: list[list[str]], encoding: str = "utf-16", delimiter: str = "\t") -> Path:
    path.write_bytes(("\r\n".join(delimiter.join(row) for row in rows) + "\r\n").encode(encoding))
    return path


def _edit(rows: list[list[str]], serial: str, column: str, value: str) -> list[list[str]]:
    header = rows[2]
    for row in rows[3:]:
        if row[-1] == serial:
            row[header.index(column)] = value
    return rows


def write_trust_case(name: str, directory: Path) -> Path:
    """One named case of issue 20 (``TRUST_CASES``), written into ``directory``."""
    path = directory / f"{name}.csv"
    if name == "rcb_good":
        return _write_rows(path, _rcb_rows())
    if name == "rcb_with_time":  # the same lines, re-exported with a 交易时间 column
        return _write_rows(path, _rcb_rows(with_time=True))
    if name == "rcb_next_day":  # carries on from rcb_good's 105,424.56
        return _write_rows(path, _rcb_rows(day=6, opening="105,424.56"))
    if name == "rcb_next_day_gap":  # a line between rcb_good and this file is missing
        return _write_rows(path, _rcb_rows(day=6, opening="105,524.56"))
    if name == "rcb_amount_changed":  # 3,000.00 made 30,000.00, balances untouched
        return _write_rows(path, _edit(_rcb_rows(), "B20250305001", "交易金额", "30,000.00"))
    if name == "rcb_negative_credit":  # "-5.00" flagged 贷, the balance falling by 5.00
        rows = _edit(_rcb_rows(), "B20250305002", "交易金额", "-5.00")
        return _write_rows(path, _edit(rows, "B20250305002", "借贷标志", "贷"))
    if name == "rcb_flag_flipped":  # 借 turned 贷
        return _write_rows(path, _edit(_rcb_rows(), "B20250305002", "借贷标志", "贷"))
    if name == "rcb_repeated_row":  # B20250305001 printed twice, same balance 104,229.56
        rows = _rcb_rows()
        rows.insert(5, list(rows[4]))
        return _write_rows(path, rows)
    if name == "rcb_other_account":  # 中国银行's export, to be imported into 农商银行基本户
        return _write_rows(path, _rcb_rows(account_no=BOC_ACCOUNT_NO))
    if name == "rcb_nul":  # a NUL byte inside 用途 of the last line
        return _write_rows(path, _edit(_rcb_rows(), "B20250305003", "用途", "租\x00金"))
    if name == "rcb_header_only":
        return _write_rows(path, _rcb_rows()[:3])
    if name == "rcb_gbk_cut":  # a GBK export cut inside its last character
        data = _write_rows(path, _rcb_rows(), encoding="gbk", delimiter=",").read_bytes()
        path.write_bytes(data[: data.rindex("租金".encode("gbk")) + 1])
        return path
    if name == "wechat_good":
        return write_wechat_trade_bill(path, sample_orders(range(1, 5)), merchant_id=MERCHANT_ID)
    if name == "wechat_other_merchant":  # 商户号 10000100's bill, into the account of 1600012345
        return write_wechat_trade_bill(path, sample_orders(range(1, 5)), merchant_id="10000100")
    if name == "wechat_legacy_voucher":  # the older 24-column bill, a 2.00 voucher on the first sale
        orders = sample_orders(range(1, 5))
        orders[0] = replace(orders[0], voucher=Decimal("2.00"))
        return write_wechat_trade_bill(path, orders, old_layout=True, merchant_id=MERCHANT_ID)
    raise ValueError(f"unknown case {name!r}")


TRUST_CASES = (
    "rcb_good",
    "rcb_with_time",
    "rcb_next_day",
    "rcb_next_day_gap",
    "rcb_amount_changed",
    "rcb_negative_credit",
    "rcb_flag_flipped",
    "rcb_repeated_row",
    "rcb_other_account",
    "rcb_nul",
    "rcb_header_only",
    "rcb_gbk_cut",
    "wechat_good",
    "wechat_other_merchant",
    "wechat_legacy_voucher",
)


if __name__ == "__main__":
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for case in TRUST_CASES:
        print(write_trust_case(case, out))
