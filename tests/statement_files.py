"""The statement-file writers live in the product (the demo uses them too); the tests import them here."""

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
    "write_wechat_fund_bill",
    "write_wechat_trade_bill",
]
