"""Writers of statement files in the formats the importers read: bank exports, WeChat Pay and Alipay bills.

Each writer produces one format as its exporter does: the encoding, BOM, backticks, `#` preamble and
trailer, trailing tabs, full-width parentheses, title and summary rows, thousands separators. The demo
county writes its bank and WeChat statements with them, so an officer has real files to import; the tests
write their fixtures with them into ``tmp_path``, so no binary fixture is committed. The ``sample_*``
functions make the tests' data, a pure function of the day of the month: a file for days 1-10 and one for
days 5-15 carry identical lines (balances included) for days 5-10, as two overlapping exports would.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl

YEAR, MONTH = 2024, 3
WECHAT_FEE_RATE = Decimal("0.006")


def yuan(value: Decimal, *, places: int = 2, thousands: bool = False, plus: bool = False) -> str:
    """Format yuan the way statements print them: ``12.30``, ``-0.05940``, ``+10,000.00``."""
    text = f"{value:{'+' if plus else ''}{',' if thousands else ''}.{places}f}"
    return text


def fen_round(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------------------------------------
# Payment-company orders


@dataclass(frozen=True)
class Order:
    """A sale through WeChat Pay or Alipay, or (``refund=True``) a full refund of one."""

    when: datetime
    order_no: str  # 微信订单号 / 支付宝交易号
    merchant_no: str  # 商户订单号
    amount: Decimal
    product: str
    refund: bool = False
    refund_no: str = ""
    voucher: Decimal = Decimal("0.00")  # 代金券: paid by WeChat's coupon, not received (``amount`` is)

    @property
    def wechat_fee(self) -> Decimal:
        """WeChat's 0.6% fee, printed with five decimals; negative on a refund row."""
        fee = (self.amount * WECHAT_FEE_RATE).quantize(Decimal("0.00001"))
        return -fee if self.refund else fee

    @property
    def alipay_fee(self) -> Decimal:
        """Alipay's 0.6% 服务费, rounded to the fen; negative on a refund row."""
        fee = fen_round(self.amount * WECHAT_FEE_RATE)
        return -fee if self.refund else fee


def sample_orders(days: Iterable[int]) -> list[Order]:
    """Two sales a day (one of 9.90, whose WeChat fee is 0.05940) and, every fourth day, a refund."""
    orders = []
    for day in days:
        first = Order(
            datetime(YEAR, MONTH, day, 9, day, 15),
            f"42000021{YEAR}{MONTH:02d}{day:02d}0001",
            f"POS{MONTH:02d}{day:02d}-001",
            Decimal(1000 + 37 * day) / 100,
            "蔬菜礼盒",
        )
        orders.append(first)
        orders.append(
            Order(
                datetime(YEAR, MONTH, day, 15, 30, 0),
                f"42000021{YEAR}{MONTH:02d}{day:02d}0002",
                f"POS{MONTH:02d}{day:02d}-002",
                Decimal("9.90"),
                "土鸡蛋（10枚）",
            )
        )
        if day % 4 == 0:
            orders.append(
                Order(
                    datetime(YEAR, MONTH, day, 16, 0, 0),
                    first.order_no,
                    first.merchant_no,
                    first.amount,
                    first.product,
                    refund=True,
                    refund_no=f"50300{YEAR}{MONTH:02d}{day:02d}0001",
                )
            )
    return orders


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")


def _write(path: Path, lines: Iterable[str], encoding: str, newline: str = "\r\n") -> Path:
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def _backticked(values: Iterable[str]) -> str:
    return ",".join(f"`{value}" for value in values)


# --------------------------------------------------------------------------------------------------------
# WeChat Pay


WECHAT_TRADE_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
    "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
    "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
WECHAT_TRADE_SUMMARY_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)
WECHAT_OLD_HEADER = (
    "交易时间,公众账号ID,商户号,子商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
    "货币种类,总金额,代金券或立减优惠金额,微信退款单号,商户退款单号,退款金额,代金券或立减优惠退款金额,退款类型,"
    "退款状态,商品名称,商户数据包,手续费,费率"
)
WECHAT_OLD_SUMMARY_HEADER = "总交易单数,总交易额,总退款金额,总代金券或立减优惠退款金额,手续费总金额"


WECHAT_MERCHANT_ID = "1900000109"


def wechat_trade_lines(
    orders: list[Order], *, old_layout: bool = False, merchant_id: str = WECHAT_MERCHANT_ID
) -> list[str]:
    """The 交易账单 (type ALL): header, backticked rows, summary header, one summary row; on the older
    layout an order's ``voucher`` is printed in 代金券或立减优惠金额 and inside 总金额."""
    lines = [WECHAT_OLD_HEADER if old_layout else WECHAT_TRADE_HEADER]
    zero = Decimal("0.00")
    for o in orders:
        # The older layout prints the order's whole 总金额, the voucher inside it; the current one prints
        # 应结订单金额, already without it.
        gross = o.amount + o.voucher if old_layout else o.amount
        settled = zero if o.refund else gross
        refund = gross if o.refund else zero
        values = [
            _stamp(o.when),
            "wx8888888888888888",
            merchant_id,
            "0",
            "POS-01",
            o.order_no,
            o.merchant_no,
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            "MICROPAY",
            "REFUND" if o.refund else "SUCCESS",
            "OTHERS",
            "CNY",
            yuan(settled),
            yuan(zero if o.refund else o.voucher),
            o.refund_no or "0",
            f"R{o.merchant_no}" if o.refund else "0",
            yuan(refund),
            yuan(o.voucher if o.refund else zero),
            "ORIGINAL" if o.refund else "",
            "SUCCESS" if o.refund else "",
            o.product,
            "",
            yuan(o.wechat_fee, places=5),
            "0.60%",
        ]
        if not old_layout:
            values += [yuan(o.amount), yuan(refund), ""]
        lines.append(_backticked(values))
    sales = [o for o in orders if not o.refund]
    refunds = [o for o in orders if o.refund]
    voucher = (lambda o: o.voucher) if old_layout else (lambda o: zero)
    settled_total = sum((o.amount + voucher(o) for o in sales), zero)
    refund_total = sum((o.amount + voucher(o) for o in refunds), zero)
    fee_total = sum((o.wechat_fee for o in orders), Decimal("0.00000"))
    summary = [str(len(orders)), yuan(settled_total), yuan(refund_total), "0.00", yuan(fee_total, places=5)]
    if not old_layout:  # the current layout adds 订单总金额 and 申请退款总金额
        summary += [yuan(settled_total), yuan(refund_total)]
    lines += [WECHAT_OLD_SUMMARY_HEADER if old_layout else WECHAT_TRADE_SUMMARY_HEADER, _backticked(summary)]
    return lines


def write_wechat_trade_bill(
    path: Path,
    orders: list[Order] | None = None,
    *,
    old_layout: bool = False,
    encoding: str = "utf-8-sig",
    merchant_id: str = WECHAT_MERCHANT_ID,
) -> Path:
    orders = sample_orders(range(1, 11)) if orders is None else orders
    lines = wechat_trade_lines(orders, old_layout=old_layout, merchant_id=merchant_id)
    return _write(path, lines, encoding)


WECHAT_FUND_HEADER = (
    "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),"
    "资金变更提交申请人,备注,业务凭证号"
)
WECHAT_FUND_SUMMARY_HEADER = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额"


@dataclass(frozen=True)
class FundRow:
    when: datetime
    business_no: str
    flow_no: str
    name: str
    kind: str
    income: bool
    amount: Decimal
    balance: Decimal


def sample_wechat_fund_rows(days: Iterable[int]) -> list[FundRow]:
    """The fund movements of ``sample_orders`` (sale in, fee out, refund out) plus a 提现 on Mondays.

    Balances run from the first of the month, so any slice of days prints the same balances.
    """
    wanted = set(days)
    balance = Decimal("500.00")
    rows = []
    for day in range(1, 32):
        for o in sample_orders([day]):
            fee = fen_round(abs(o.wechat_fee))
            moves = (
                [("退款", "退款", False, o.amount)]
                if o.refund
                else [("交易", "交易", True, o.amount), ("扣除交易手续费", "扣除交易手续费", False, fee)]
            )
            for number, (name, kind, income, amount) in enumerate(moves):
                balance += amount if income else -amount
                flow_no = f"1{o.order_no[-12:]}{number}{'R' if o.refund else 'S'}"
                rows.append(FundRow(o.when, o.order_no, flow_no, name, kind, income, amount, balance))
        if datetime(YEAR, MONTH, day).weekday() == 0:
            amount = Decimal("300.00")
            balance -= amount
            when = datetime(YEAR, MONTH, day, 23, 0, 0)
            rows.append(
                FundRow(when, f"W{day:02d}", f"9{day:02d}000", "提现", "提现", False, amount, balance)
            )
    return [row for row in rows if row.when.day in wanted]


def wechat_fund_lines(rows: list[FundRow]) -> list[str]:
    lines = [WECHAT_FUND_HEADER]
    for r in rows:
        lines.append(
            _backticked(
                [
                    _stamp(r.when),
                    r.business_no,
                    r.flow_no,
                    r.name,
                    r.kind,
                    "收入" if r.income else "支出",
                    yuan(r.amount),
                    yuan(r.balance),
                    "system",
                    "",
                    "",
                ]
            )
        )
    income = [r.amount for r in rows if r.income]
    expense = [r.amount for r in rows if not r.income]
    lines.append(WECHAT_FUND_SUMMARY_HEADER)
    lines.append(
        _backticked(
            [
                f"{len(rows)}.0",
                f"{len(income)}.0",
                yuan(sum(income, Decimal(0))),
                f"{len(expense)}.0",
                yuan(sum(expense, Decimal(0))),
            ]
        )
    )
    return lines


def write_wechat_fund_bill(path: Path, rows: list[FundRow] | None = None) -> Path:
    rows = sample_wechat_fund_rows(range(1, 11)) if rows is None else rows
    return _write(path, wechat_fund_lines(rows), "utf-8-sig")


# --------------------------------------------------------------------------------------------------------
# Alipay (GBK, `#` preamble and trailer, ids with a trailing tab)


ALIPAY_DETAIL_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
    "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
    "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
)
ALIPAY_ACCOUNT_HEADER = (
    "账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,"
    "交易渠道,业务类型,备注"
)


def _alipay_preamble(title: str, days: list[int]) -> list[str]:
    first, last = min(days), max(days)
    return [
        f"#支付宝{title}查询",
        "#账号：[20881234567890120156]",
        f"#起始日期：[{YEAR}年{MONTH:02d}月{first:02d}日 00:00:00]   "
        f"终止日期：[{YEAR}年{MONTH:02d}月{last:02d}日 23:59:59]",
        f"#-----------------------------------------{title}列表----------------------------------------",
    ]


def _alipay_footer(title: str, *totals: str) -> list[str]:
    """The lines that close an Alipay export: the list's end, its totals, the time of the export."""
    return [
        f"#-----------------------------------------{title}列表结束------------------------------------",
        *totals,
        f"#导出时间：[{YEAR}年{MONTH:02d}月28日 10:00:00]",
    ]


def _alipay_order_no(o: Order) -> str:
    return "2024" + o.order_no[8:]


def alipay_detail_lines(orders: list[Order]) -> list[str]:
    days = sorted({o.when.day for o in orders}) or [1]
    lines = [*_alipay_preamble("业务明细", days), ALIPAY_DETAIL_HEADER]
    for o in orders:
        sign = Decimal(-1) if o.refund else Decimal(1)
        amount = yuan(sign * o.amount)
        cells = [
            f"{_alipay_order_no(o)}\t",
            f"{o.merchant_no}\t",
            "退款" if o.refund else "交易",
            o.product,
            _stamp(o.when.replace(second=0)),
            _stamp(o.when),
            "S001\t",
            "村社联营超市（城关店）",
            "收银员01",
            "T01\t",
            "138****0001",
            amount,
            amount,
            "0.00",
            "0.00",
            "0.00",
            "0.00",
            "0.00",
            "",
            "0.00",
            "0.00",
            f"{o.refund_no}\t" if o.refund else "",
            yuan(o.alipay_fee),
            "0.00",
            "",
        ]
        lines.append(",".join(f"{cell}    " if i == 3 else cell for i, cell in enumerate(cells)))
    sales = [o for o in orders if not o.refund]
    refunds = [o for o in orders if o.refund]
    sale_total = sum((o.amount for o in sales), Decimal("0.00"))
    refund_total = sum((o.amount for o in refunds), Decimal("0.00"))
    return lines + _alipay_footer(
        "业务明细",
        f"#交易合计：{len(sales)}笔，商家实收共{yuan(sale_total)}元，商家优惠共0.00元",
        f"#退款合计：{len(refunds)}笔，商家实收退款共{yuan(-refund_total)}元，商家优惠退款共0.00元",
    )


def write_alipay_detail(path: Path, orders: list[Order] | None = None) -> Path:
    orders = sample_orders(range(1, 11)) if orders is None else orders
    return _write(path, alipay_detail_lines(orders), "gbk")


@dataclass(frozen=True)
class AccountRow:
    flow_no: str
    business_no: str
    merchant_no: str
    product: str
    when: datetime
    amount: Decimal  # signed
    balance: Decimal
    business_type: str
    memo: str


def sample_alipay_account_rows(days: Iterable[int]) -> list[AccountRow]:
    """账务明细 of ``sample_orders``: payment in, 服务费 out; refund out, 服务费 back.

    Balances run from the first of the month."""
    wanted = set(days)
    balance = Decimal("1000.00")
    rows = []
    for day in range(1, 32):
        for o in sample_orders([day]):
            fee = fen_round(o.amount * WECHAT_FEE_RATE)
            if o.refund:
                moves = [(-o.amount, "交易退款", ""), (fee, "收费", f"服务费退回[{_alipay_order_no(o)}]")]
            else:
                moves = [(o.amount, "在线支付", ""), (-fee, "收费", f"服务费[{_alipay_order_no(o)}]")]
            for number, (amount, business_type, memo) in enumerate(moves):
                balance += amount
                flow_no = f"2024{o.order_no[-10:]}{number}{'R' if o.refund else 'S'}"
                row = AccountRow(
                    flow_no, _alipay_order_no(o), o.merchant_no, o.product, o.when, amount, balance,
                    business_type, memo,
                )  # fmt: skip
                rows.append(row)
    return [row for row in rows if row.when.day in wanted]


def alipay_account_lines(rows: list[AccountRow]) -> list[str]:
    days = sorted({r.when.day for r in rows}) or [1]
    lines = [*_alipay_preamble("账务明细", days), ALIPAY_ACCOUNT_HEADER]
    for r in rows:
        cells = [
            f"{r.flow_no}\t",
            f"{r.business_no}\t",
            f"{r.merchant_no}\t",
            r.product,
            _stamp(r.when),
            "138****0001",
            yuan(r.amount, plus=True) if r.amount > 0 else "",
            yuan(r.amount) if r.amount < 0 else "",
            yuan(r.balance),
            "支付宝",
            r.business_type,
            r.memo,
        ]
        lines.append(",".join(cells))
    income = [r.amount for r in rows if r.amount > 0]
    expense = [r.amount for r in rows if r.amount < 0]
    return lines + _alipay_footer(
        "账务明细",
        f"#支出合计：{len(expense)}笔，共{yuan(sum(expense, Decimal('0.00')))}元",
        f"#收入合计：{len(income)}笔，共{yuan(sum(income, Decimal('0.00')))}元",
    )


def write_alipay_account(path: Path, rows: list[AccountRow] | None = None) -> Path:
    rows = sample_alipay_account_rows(range(1, 11)) if rows is None else rows
    return _write(path, alipay_account_lines(rows), "gbk")


# --------------------------------------------------------------------------------------------------------
# Banks


@dataclass(frozen=True)
class BankTxn:
    when: datetime
    amount: Decimal  # signed: + money in
    balance: Decimal
    counterparty: str
    account: str
    memo: str
    serial: str


def sample_bank_txns(days: Iterable[int]) -> list[BankTxn]:
    """A village company's basic account: WeChat's T+1 settlement every day, a supplier payment of
    thousands every third day, and on day 6 two identical 200.00 payments in the same minute. Balances run
    from the first of the month."""
    wanted = set(days)
    balance = Decimal("50000.00")
    txns = []
    for day in range(1, 32):
        moves = [
            (
                datetime(YEAR, MONTH, day, 10, 5, 33),
                Decimal(2000 + 11 * day) + Decimal(day) / 100,
                "财付通支付科技有限公司",
                "243300133",
                "微信结算款",
            )
        ]
        if day % 3 == 0:
            moves.append(
                (
                    datetime(YEAR, MONTH, day, 14, 20, 0),
                    -(Decimal("12345.67") + day),
                    "县供销农产品有限公司",
                    "6228480012345678901",
                    "货款",
                )
            )
        if day == 6:
            for _ in range(2):
                moves.append(
                    (
                        datetime(YEAR, MONTH, day, 16, 45, 0),
                        Decimal("-200.00"),
                        "张三",
                        "6217000011112222",
                        "劳务费",
                    )
                )
        moves.append((datetime(YEAR, MONTH, day, 17, 0, 0), Decimal("-2.00"), "", "", "汇划手续费"))
        for number, (when, amount, counterparty, account, memo) in enumerate(moves):
            balance += amount
            serial = f"{day:02d}{number:02d}0077{when:%H%M}"
            txns.append(BankTxn(when, amount, balance, counterparty, account, memo, serial))
    return [t for t in txns if t.when.day in wanted]


BANK_LAYOUTS = ("ccb_corporate", "abc_corporate", "ccb_personal", "signed", "flag")


BANK_ACCOUNT_NO = "43050163610800000123"


def bank_lines(
    txns: list[BankTxn], layout: str, *, thousands: bool = True, account_no: str = BANK_ACCOUNT_NO
) -> list[list[str]]:
    """Rows of cells (title rows, header, data, footer) for one bank's export layout; the layouts that
    print the account's own number (CCB's 账号 column, ABC's and CCB personal's title rows) print
    ``account_no``."""

    def money(value: Decimal, **kwargs: bool) -> str:
        return yuan(value, thousands=thousands, **kwargs)

    def plain_tail(t: BankTxn) -> list[str]:
        """A plain layout's columns after the amount: balance, counterparty, its account, memo, serial."""
        return [money(t.balance), t.counterparty, t.account, t.memo, t.serial]

    if layout == "ccb_corporate":
        rows = [
            ["中国建设银行单位客户账户交易明细"],
            [f"查询日期：{YEAR}-{MONTH:02d}-01 至 {YEAR}-{MONTH:02d}-31"],
            [
                "账号",
                "账户名称",
                "交易时间",
                "借方发生额（支取）",
                "贷方发生额（收入）",
                "余额",
                "币种",
                "对方户名",
                "对方账号",
                "对方开户机构",
                "记账日期",
                "摘要",
                "备注",
                "账户明细编号-交易流水号",
            ],
        ]
        for t in txns:
            rows.append(
                [
                    account_no,
                    "城关村股份经济合作联合社",
                    _stamp(t.when),
                    money(-t.amount) if t.amount < 0 else "",
                    money(t.amount) if t.amount > 0 else "",
                    money(t.balance),
                    "人民币",
                    t.counterparty,
                    t.account,
                    "",
                    t.when.strftime("%Y%m%d"),
                    t.memo,
                    "",
                    f"4305016361080000012-{t.serial}",
                ]
            )
        debit = sum((-t.amount for t in txns if t.amount < 0), Decimal(0))
        credit = sum((t.amount for t in txns if t.amount > 0), Decimal(0))
        rows += [
            ["合计", "", "", money(debit), money(credit)],
            [f"借方笔数：{sum(t.amount < 0 for t in txns)}", f"贷方笔数：{sum(t.amount > 0 for t in txns)}"],
        ]
        return rows
    if layout == "abc_corporate":
        rows = [
            ["中国农业银行账户明细"],
            ["账户名称：城关村股份经济合作联合社", "", f"账号：{account_no}"],
            [
                "交易时间",
                "收入金额",
                "支出金额",
                "本次余额",
                "手续费总额",
                "交易方式",
                "交易行名",
                "交易类别",
                "对方省市",
                "对方账号",
                "对方户名",
                "交易说明",
                "交易摘要",
                "交易附言",
            ],
        ]
        for t in txns:
            rows.append(
                [
                    t.when.strftime("%Y%m%d %H:%M:%S"),
                    money(t.amount, plus=True) if t.amount > 0 else "",
                    money(t.amount) if t.amount < 0 else "",
                    money(t.balance),
                    "0.00",
                    "转账",
                    "农行城关支行",
                    "",
                    "湖南省",
                    t.account,
                    t.counterparty,
                    "",
                    t.memo,
                    "",
                ]
            )
        rows += [
            [
                f"收入合计：{sum(t.amount > 0 for t in txns)}笔",
                "",
                f"支出合计：{sum(t.amount < 0 for t in txns)}笔",
            ],
            ["以上数据仅供参考，以银行正式对账单为准"],
        ]
        return rows
    if layout == "ccb_personal":
        rows = [
            ["开户机构", "中国建设银行城关支行"],
            ["币种", "人民币"],
            ["账号", account_no],
            [
                "记账日",
                "交易日期",
                "交易时间",
                "支出",
                "收入",
                "账户余额",
                "币种",
                "摘要",
                "对方账号",
                "对方户名",
                "交易地点",
            ],
        ]
        for t in txns:
            rows.append(
                [
                    t.when.strftime("%Y%m%d"),
                    t.when.strftime("%Y%m%d"),
                    t.when.strftime("%H:%M:%S"),
                    money(-t.amount) if t.amount < 0 else "",
                    money(t.amount) if t.amount > 0 else "",
                    money(t.balance),
                    "人民币元",
                    t.memo,
                    t.account,
                    t.counterparty,
                    "城关支行",
                ]
            )
        rows.append(["以上数据仅供参考"])
        return rows
    if layout == "signed":
        rows = [["交易日期", "交易金额", "账户余额", "对方户名", "对方账号", "摘要", "交易流水号"]]
        return rows + [[_stamp(t.when), money(t.amount, plus=True), *plain_tail(t)] for t in txns]
    if layout == "flag":
        rows = [["交易日期", "借贷标志", "交易金额", "余额", "对方户名", "对方账号", "用途", "流水号"]]
        for t in txns:
            day, side = t.when.strftime("%Y/%m/%d %H:%M:%S"), "贷" if t.amount > 0 else "借"
            rows.append([day, side, money(abs(t.amount)), *plain_tail(t)])
        return rows
    raise ValueError(f"unknown bank layout {layout!r}")


def _csv_cell(cell: str) -> str:
    return f'"{cell}"' if "," in cell or '"' in cell else cell


def write_bank_csv(
    path: Path,
    txns: list[BankTxn] | None = None,
    *,
    layout: str = "ccb_corporate",
    encoding: str = "gbk",
    delimiter: str = ",",
    thousands: bool = True,
    account_no: str = BANK_ACCOUNT_NO,
) -> Path:
    """A bank export as delimited text; ``encoding`` "gbk", "utf-8-sig" or "utf-16" (which writes a BOM)."""
    txns = sample_bank_txns(range(1, 11)) if txns is None else txns
    rows = bank_lines(txns, layout, thousands=thousands, account_no=account_no)
    quote = _csv_cell if delimiter == "," else str
    return _write(path, (delimiter.join(quote(cell) for cell in row) for row in rows), encoding)


def write_bank_xlsx(
    path: Path,
    txns: list[BankTxn] | None = None,
    *,
    layout: str = "ccb_corporate",
    account_no: str = BANK_ACCOUNT_NO,
) -> Path:
    """A bank export as a workbook: amounts and balances as number cells, times as date-time cells."""
    txns = sample_bank_txns(range(1, 11)) if txns is None else txns
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "交易明细"
    header_seen = False
    for row in bank_lines(txns, layout, thousands=False, account_no=account_no):
        if not header_seen:
            header_seen = "余额" in "".join(row)
            sheet.append(row)
            continue
        cells: list[object] = []
        for cell in row:
            if _looks_like_stamp(cell):
                cells.append(datetime.strptime(cell, "%Y-%m-%d %H:%M:%S"))
            elif _looks_like_number(cell):
                cells.append(float(cell))
            else:
                cells.append(cell)
        sheet.append(cells)
    workbook.save(path)
    return path


def _looks_like_stamp(cell: str) -> bool:
    try:
        datetime.strptime(cell, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return False
    return True


def _looks_like_number(cell: str) -> bool:
    # Only money-shaped cells become numbers; account numbers and serials stay text, as banks keep them.
    parts = cell.lstrip("-").split(".")
    return len(parts) == 2 and parts[0].isdigit() and len(parts[1]) == 2 and len(parts[0]) < 10
