"""The month the demo leaves open for the officer: January after the demo year, at one company.

One store trades for the first week; the demo registers the company's bank account (1002) and WeChat Pay
merchant account (101201) as statement accounts and writes, as real files in the formats the importers read,
the WeChat trade bill of that week and the bank's statement of the month: each day's WeChat takings arrive
T+1 net of the 0.6 % fee (the books have not posted those settlements yet: confirming the fee-netted match
posts them), each day's cash is deposited (the books have those deposits), and the bank takes a transfer
charge (the officer posts it by the bank-fee rule). So the officer's day is: import, propose, confirm, post
the charge, print the 银行存款余额调节表, close January.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, Engine

from ledger.books.county_time import CHINA
from ledger.books.money import parse_amount, round_half_up
from ledger.books.posting import Draft, Line, post_entry
from ledger.books.trial_balance import trial_balance
from ledger.db.engine import write_tx
from ledger.demo.supermarkets import StorePlan, store_day
from ledger.demo.tree import DemoTree, demo_user
from ledger.reconcile.statement_writers import BankTxn, Order, write_bank_csv, write_wechat_trade_bill
from ledger.reconcile.store import create_statement_account
from pos.catalogue import list_customers

STREET = "heping"
TRADING_DAYS = 7
FEE_BP = 60  # WeChat Pay's 0.6 %
BANK_NAME = "农商银行基本户"
BANK_NO = "52050120000001234"
WECHAT_MERCHANT_NO = "1600012345"


@dataclass(frozen=True)
class OfficerMonth:
    company_id: int
    period: str
    bank_account_id: int
    wechat_account_id: int
    bank_file: Path
    wechat_file: Path


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def _bank_balance(conn: Connection, company: int, period: str) -> int:
    return next(r.closing_fen for r in trial_balance(conn, company, period) if r.code == "1002")


def run_officer_month(engine: Engine, tree: DemoTree, year: int, seed: int, out_dir: Path) -> OfficerMonth:
    rng = random.Random(seed + 2)
    company = tree.companies[STREET]
    store_id = tree.stores[STREET][0]
    period = f"{year}-01"
    days = [date(year, 1, 2) + timedelta(days=n) for n in range(TRADING_DAYS)]
    with write_tx(engine) as conn:
        opening = _bank_balance(conn, company, f"{year - 1}-12")
        bank = create_statement_account(
            conn, company, ledger_account="1002", kind="bank", name=BANK_NAME, account_no=BANK_NO
        )
        wechat = create_statement_account(
            conn,
            company,
            ledger_account="101201",
            kind="wechat",
            name="微信支付商户号",
            account_no=WECHAT_MERCHANT_NO,
        )
        plan = StorePlan(store_id, STREET, demo_user(conn, f"cashier-{tree.store_codes[store_id]}"), 10**12)
        customers = {c["channel"]: c["id"] for c in list_customers(conn, company)}
        for day in days:
            store_day(conn, plan, customers, day, rng, 10**12)
        for day, cash in plan.counted:  # the day's cash goes to the bank the next morning
            if cash > 0:
                post_entry(
                    conn,
                    Draft(
                        company,
                        day + timedelta(days=1),
                        "现金存行",
                        [Line("1002", debit_fen=cash), Line("1001", credit_fen=cash)],
                        idempotency_key=f"demo-deposit-{day}",
                    ),
                )
    orders = []
    wechat_by_day: dict[date, int] = {}
    for receipt in plan.receipts:
        when = datetime.fromisoformat(receipt["sold_at"]).astimezone(CHINA).replace(tzinfo=None)
        for payment in receipt["payments"]:
            if payment["method"] != "wechat":
                continue
            fen = parse_amount(payment["amount"].lstrip("-"))
            refund = receipt["kind"] == "refund"
            orders.append(
                Order(
                    when,
                    payment["reference"] or f"wx{receipt['id']}",
                    receipt["receipt_no"],
                    _yuan(fen),
                    "村社联动超市商品",
                    refund=refund,
                    refund_no=f"wxr{receipt['id']}" if refund else "",
                )
            )
            wechat_by_day[when.date()] = wechat_by_day.get(when.date(), 0) + (-fen if refund else fen)
    txns: list[BankTxn] = []
    balance = opening
    serial = 0

    def move(when: datetime, fen: int, who: str, account: str, memo: str) -> None:
        nonlocal balance, serial
        balance += fen
        serial += 1
        txns.append(BankTxn(when, _yuan(fen), _yuan(balance), who, account, memo, f"{when:%m%d}{serial:04d}"))

    for day in days:
        settle_day = day + timedelta(days=1)
        gross = wechat_by_day.get(day, 0)
        if gross > 0:
            move(
                datetime.combine(settle_day, datetime.min.time()).replace(hour=9, minute=12),
                gross - round_half_up(gross * FEE_BP, 10_000),
                "财付通支付科技有限公司",
                "243300133",
                f"微信结算款 {day:%m%d}",
            )
        cash = next((c for d, c in plan.counted if d == day), 0)
        if cash > 0:
            move(
                datetime.combine(settle_day, datetime.min.time()).replace(hour=10, minute=30),
                cash,
                "",
                "",
                "现金存入",
            )
    move(datetime(year, 1, 20, 17, 0), -200, "", "", "汇划手续费")
    out_dir.mkdir(parents=True, exist_ok=True)
    wechat_file = write_wechat_trade_bill(
        out_dir / f"{STREET}-co-wechat-{period}.csv", orders, merchant_id=WECHAT_MERCHANT_NO
    )
    bank_file = write_bank_csv(
        out_dir / f"{STREET}-co-bank-{period}.csv",
        txns,
        layout="ccb_corporate",
        encoding="gbk",
        account_no=BANK_NO,
    )
    return OfficerMonth(company, period, bank, wechat, bank_file, wechat_file)
