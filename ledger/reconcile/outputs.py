"""Reconciliation outputs as pandas DataFrames (DESIGN §7, §8): each lists its differences, none fixes them.

* ``bank_reconciliation`` — 银行存款余额调节表 of a statement account at a month end (or an earlier day):
  book balance + 银行已收企业未收 − 银行已付企业未付 = bank balance + 企业已收银行未收 − 企业已付银行未付,
  both sides listed item by item. An item is outstanding at the date when it is in no confirmed match, or its
  match's other side is dated later. Ledger lines dated before the account's first imported statement line
  are taken as agreed (the statement's opening balance covers them); a book balance that disagrees with
  that opening shows as the difference, never hidden.
* ``shift_cash`` — per store and business day: expected cash = float + cash received − change given +
  pay-ins − payouts, against what was counted.
* ``inter_org`` — the company's payables per shareholder org (2232 应付利润, 2241 其他应付款) against that
  org's receivables from the company (112 应收款; 1122 / 1221 for a company), matched through the
  counterparties' ``ref_org_id``.
* ``subledger_ties`` — stock value (POS) = 1405 per store, open lease receivables = 112 [lease contracts],
  customer balances = 1122 (every line on a customer).

Only reads. ``reconciliation_report`` wraps the 调节表 as a ``reports.report.Report`` for the PDF/XLSX
pipeline (``reports.render``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, func, select

from ledger.books.errors import ValidationError
from ledger.books.orgs import get_org, require_books
from ledger.books.periods import months_named, parse_period, period_bounds
from ledger.books.trial_balance import balances
from ledger.books.verify import Tie
from ledger.books.verify import subledger_ties as registered_ties
from ledger.db.models import Account, BookState, Counterparty, JournalEntry, JournalLine, Org
from ledger.reconcile.matching import account_ids, book_lines_on, current_items, parse_statement_time
from ledger.reconcile.models import StatementLineRow
from ledger.reconcile.store import get_statement_account, live_lines
from pos.models import PosCashMove, PosPayment, PosSale, PosShift

if TYPE_CHECKING:
    import pandas as pd


line_t = JournalLine.__table__
entry_t = JournalEntry.__table__
account_t = Account.__table__
cp_t = Counterparty.__table__
org_t = Org.__table__
sline_t = StatementLineRow.__table__

ITEM_COLUMNS = ["date", "amount_fen", "memo", "counterparty", "reference", "voucher_no", "id"]
BOOK_SIDE = "book"
BANK_SIDE = "bank"


# --------------------------------------------------------------------------------------------------------
# 银行存款余额调节表


def _adjusted(balance_fen: int, received: pd.DataFrame, paid: pd.DataFrame) -> int:
    """One side's balance adjusted for what only the other side has received and paid so far."""
    return balance_fen + int(received["amount_fen"].sum()) - int(paid["amount_fen"].sum())


@dataclass(frozen=True, eq=False)
class BankReconciliation:
    """The 调节表 of one statement account at ``as_of``; amounts in fen, debit (money in) positive."""

    org_id: int
    org_name: str
    statement_account_id: int
    account_name: str
    ledger_account: str
    period: str
    as_of: date
    book_balance_fen: int
    bank_balance_fen: int
    bank_balance_from: str  # "statement" (the last printed balance) or "lines" (the sum of the lines)
    bank_received: pd.DataFrame  # 银行已收、企业未收
    bank_paid: pd.DataFrame  # 银行已付、企业未付
    book_received: pd.DataFrame  # 企业已收、银行未收
    book_paid: pd.DataFrame  # 企业已付、银行未付
    notes: tuple[str, ...] = field(default=())

    @property
    def adjusted_book_fen(self) -> int:
        return _adjusted(self.book_balance_fen, self.bank_received, self.bank_paid)

    @property
    def adjusted_bank_fen(self) -> int:
        return _adjusted(self.bank_balance_fen, self.book_received, self.book_paid)

    @property
    def difference_fen(self) -> int:
        """Adjusted book − adjusted bank: zero when the statement foots."""
        return self.adjusted_book_fen - self.adjusted_bank_fen

    @property
    def foots(self) -> bool:
        return self.difference_fen == 0

    def summary(self) -> pd.DataFrame:
        """The two sides, one row per printed line: ``section`` is ``book`` (left) or ``bank`` (right)."""
        import pandas as pd

        rows = [
            (BOOK_SIDE, "企业银行存款日记账余额", self.book_balance_fen, None),
            (BOOK_SIDE, "加：银行已收、企业未收", int(self.bank_received["amount_fen"].sum()), None),
            (BOOK_SIDE, "减：银行已付、企业未付", int(self.bank_paid["amount_fen"].sum()), None),
            (BOOK_SIDE, "调节后的存款余额", self.adjusted_book_fen, "total"),
            (BANK_SIDE, "银行对账单余额", self.bank_balance_fen, None),
            (BANK_SIDE, "加：企业已收、银行未收", int(self.book_received["amount_fen"].sum()), None),
            (BANK_SIDE, "减：企业已付、银行未付", int(self.book_paid["amount_fen"].sum()), None),
            (BANK_SIDE, "调节后的存款余额", self.adjusted_bank_fen, "total"),
        ]
        return pd.DataFrame(rows, columns=["section", "item", "amount_fen", "style"])

    def items(self) -> pd.DataFrame:
        """Every outstanding item, both sides, with the heading it adds or subtracts under."""
        import pandas as pd

        parts = []
        for name, frame in (
            ("银行已收、企业未收", self.bank_received),
            ("银行已付、企业未付", self.bank_paid),
            ("企业已收、银行未收", self.book_received),
            ("企业已付、银行未付", self.book_paid),
        ):
            if len(frame):
                parts.append(frame.assign(heading=name))
        if not parts:
            return pd.DataFrame(columns=["heading", *ITEM_COLUMNS])
        return pd.concat(parts, ignore_index=True)[["heading", *ITEM_COLUMNS]]

    def to_dict(self) -> dict[str, Any]:
        def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {**r, "date": r["date"].isoformat(), "amount_fen": int(r["amount_fen"]), "id": int(r["id"])}
                for r in frame.to_dict("records")
            ]

        return {
            "org_id": self.org_id,
            "statement_account_id": self.statement_account_id,
            "account_name": self.account_name,
            "ledger_account": self.ledger_account,
            "period": self.period,
            "as_of": self.as_of.isoformat(),
            "book_balance_fen": self.book_balance_fen,
            "bank_balance_fen": self.bank_balance_fen,
            "bank_balance_from": self.bank_balance_from,
            "bank_received": rows(self.bank_received),
            "bank_paid": rows(self.bank_paid),
            "book_received": rows(self.book_received),
            "book_paid": rows(self.book_paid),
            "adjusted_book_fen": self.adjusted_book_fen,
            "adjusted_bank_fen": self.adjusted_bank_fen,
            "difference_fen": self.difference_fen,
            "foots": self.foots,
            "notes": list(self.notes),
        }


def _entry_dates(conn: Connection, line_ids: list[int]) -> dict[int, date]:
    out: dict[int, date] = {}
    for start in range(0, len(line_ids), 5000):
        chunk = line_ids[start : start + 5000]
        for line_id, on in conn.execute(
            select(line_t.c.id, entry_t.c.entry_date)
            .join(entry_t, entry_t.c.id == line_t.c.entry_id)
            .where(line_t.c.id.in_(chunk))
        ):
            out[line_id] = on if isinstance(on, date) else date.fromisoformat(str(on))
    return out


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=ITEM_COLUMNS)
    return frame.sort_values(["date", "id"], ignore_index=True) if len(frame) else frame


def bank_reconciliation(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    period: str,
    *,
    as_of: date | None = None,
) -> BankReconciliation:
    """银行存款余额调节表 at the end of ``period`` (or at ``as_of``, a day inside it)."""
    parse_period(period)
    first_day, last_day = period_bounds(period)
    if as_of is None:
        as_of = last_day
    elif not first_day <= as_of <= last_day:
        raise ValidationError(f"as_of must fall inside {period}", field="as_of")
    org = get_org(conn, org_id)
    account = get_statement_account(conn, org_id, statement_account_id)
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    notes: list[str] = []

    # What the bank says.
    stmt_rows = conn.execute(
        select(
            sline_t.c.id,
            sline_t.c.occurred_at,
            sline_t.c.amount_fen,
            sline_t.c.balance_fen,
            sline_t.c.memo,
            sline_t.c.counterparty,
            sline_t.c.reference,
        )
        .where(
            sline_t.c.org_id == org_id,
            live_lines(statement_account_id),  # a voided import's lines are no part of the statement
            sline_t.c.occurred_at < end,
        )
        .order_by(sline_t.c.occurred_at, sline_t.c.id)
    ).all()
    if stmt_rows and stmt_rows[-1].balance_fen is not None:
        bank_balance, bank_from = int(stmt_rows[-1].balance_fen), "statement"
    else:
        bank_balance, bank_from = sum(r.amount_fen for r in stmt_rows), "lines"
        if stmt_rows:
            notes.append("the statement prints no balance: the bank balance is the sum of its lines")
    first_statement_day = (
        parse_statement_time(stmt_rows[0].occurred_at).date() if stmt_rows else first_day
    )  # without lines, only this period's ledger lines are outstanding

    # What the books say.
    ids = account_ids(conn, org_id, account.ledger_account)
    book_balance = sum(balances(conn, org_id, as_of, accounts=(account.ledger_account,)).values())
    book_rows = conn.execute(
        book_lines_on(org_id, ids).where(
            *months_named(line_t.c.period, f"{first_statement_day:%Y-%m}", period),  # a seek per month
            entry_t.c.entry_date >= first_statement_day,
            entry_t.c.entry_date <= as_of,
        )
    ).all()

    # Which items are cleared at as_of: in a confirmed match whose every side is dated by then.
    stmt_dates = {r.id: parse_statement_time(r.occurred_at).date() for r in stmt_rows}
    book_dates = {
        r.id: (r.entry_date if isinstance(r.entry_date, date) else date.fromisoformat(str(r.entry_date)))
        for r in book_rows
    }
    by_match: dict[int, tuple[list[int], list[int]]] = {}
    for done in current_items(conn, org_id, "confirmed"):
        s_ids, b_ids = by_match.setdefault(done.match_id, ([], []))
        if done.statement_line_id is not None:
            s_ids.append(done.statement_line_id)
        elif done.role == "book":
            b_ids.append(done.journal_line_id)
    matched_book_dates = _entry_dates(conn, [b for _, b_ids in by_match.values() for b in b_ids])
    cleared_s: set[int] = set()
    cleared_b: set[int] = set()
    for s_ids, b_ids in by_match.values():
        if all(s in stmt_dates for s in s_ids) and all(
            b in matched_book_dates and matched_book_dates[b] <= as_of for b in b_ids
        ):
            cleared_s.update(s_ids)
            cleared_b.update(b_ids)

    bank_received: list[dict[str, Any]] = []
    bank_paid: list[dict[str, Any]] = []
    book_received: list[dict[str, Any]] = []
    book_paid: list[dict[str, Any]] = []
    for r in stmt_rows:
        if r.id in cleared_s:
            continue
        item = {
            "date": stmt_dates[r.id],
            "amount_fen": abs(r.amount_fen),
            "memo": r.memo,
            "counterparty": r.counterparty,
            "reference": r.reference,
            "voucher_no": "",
            "id": r.id,
        }
        (bank_received if r.amount_fen > 0 else bank_paid).append(item)
    for b in book_rows:
        if b.id in cleared_b:
            continue
        amount = b.debit_fen - b.credit_fen
        if amount == 0:
            continue
        item = {
            "date": book_dates[b.id],
            "amount_fen": abs(amount),
            "memo": b.memo or b.entry_memo or "",
            "counterparty": b.cp_name or "",
            "reference": b.source_ref or "",
            "voucher_no": b.voucher_no,
            "id": b.id,
        }
        (book_received if amount > 0 else book_paid).append(item)
    return BankReconciliation(
        org_id=org_id,
        org_name=org.name,
        statement_account_id=statement_account_id,
        account_name=account.name,
        ledger_account=account.ledger_account,
        period=period,
        as_of=as_of,
        book_balance_fen=book_balance,
        bank_balance_fen=bank_balance,
        bank_balance_from=bank_from,
        bank_received=_frame(bank_received),
        bank_paid=_frame(bank_paid),
        book_received=_frame(book_received),
        book_paid=_frame(book_paid),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class ClearingReconciliation:
    """微信/支付宝 对账 of a payment account for a month (amounts in fen, money in positive).

    A trade bill prints the takings, not a balance: the bill's lines are set against the takings booked on
    the clearing account (101201 …), and the account's own movement shows what went on to the bank
    (结算至银行) and what is still to be settled at the month end."""

    org_id: int
    statement_account_id: int
    account_name: str
    kind: str
    ledger_account: str
    period: str
    opening_fen: int  # the clearing account's balance before the month
    booked_in_fen: int  # takings booked in the month (debits, net of refunds booked as credits on sales)
    settled_out_fen: int  # settled to the bank (the other credits)
    closing_fen: int
    bill_total_fen: int  # the bill's lines in the month
    bill_matched_fen: int
    bill_unmatched_fen: int
    bill_unmatched_count: int
    book_unmatched_fen: int  # takings booked and not matched to the bill
    book_unmatched_count: int

    @property
    def agrees(self) -> bool:
        """Every line of the bill and every booked taking of the month is matched."""
        return self.bill_unmatched_count == 0 and self.book_unmatched_count == 0


def clearing_reconciliation(
    conn: Connection, org_id: int, statement_account_id: int, period: str
) -> ClearingReconciliation:
    """The 微信/支付宝 对账 of ``period`` (see ``ClearingReconciliation``)."""
    parse_period(period)
    first_day, last_day = period_bounds(period)
    account = get_statement_account(conn, org_id, statement_account_id)
    codes = (account.ledger_account,)
    before = sum(balances(conn, org_id, first_day - timedelta(days=1), accounts=codes).values())
    closing = sum(balances(conn, org_id, last_day, accounts=codes).values())
    ids = account_ids(conn, org_id, account.ledger_account)
    confirmed = current_items(conn, org_id, "confirmed")
    matched_s = {r.statement_line_id for r in confirmed if r.statement_line_id is not None}
    matched_b = {r.journal_line_id for r in confirmed if r.role == "book"}
    book_in = settled_out = book_unmatched = book_unmatched_n = 0
    for line_id, debit, credit, source in conn.execute(
        select(line_t.c.id, line_t.c.debit_fen, line_t.c.credit_fen, entry_t.c.source)
        .join(entry_t, entry_t.c.id == line_t.c.entry_id)
        .where(
            line_t.c.org_id == org_id,
            line_t.c.account_id.in_(ids),
            line_t.c.period == period,
            entry_t.c.entry_date >= first_day,
            entry_t.c.entry_date <= last_day,
        )
    ):
        amount = debit - credit
        if amount < 0 and line_id not in matched_b and source != "pos":
            settled_out -= amount  # money leaving the clearing account for the bank
            continue
        book_in += amount
        if line_id not in matched_b:
            book_unmatched += amount
            book_unmatched_n += 1
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time())
    start = datetime.combine(first_day, datetime.min.time())
    bill = conn.execute(
        select(sline_t.c.id, sline_t.c.amount_fen).where(
            sline_t.c.org_id == org_id,
            live_lines(statement_account_id),
            sline_t.c.occurred_at >= start,
            sline_t.c.occurred_at < end,
        )
    ).all()
    unmatched = [r.amount_fen for r in bill if r.id not in matched_s]
    total = sum(r.amount_fen for r in bill)
    return ClearingReconciliation(
        org_id=org_id,
        statement_account_id=statement_account_id,
        account_name=account.name,
        kind=account.kind,
        ledger_account=account.ledger_account,
        period=period,
        opening_fen=before,
        booked_in_fen=book_in,
        settled_out_fen=settled_out,
        closing_fen=closing,
        bill_total_fen=total,
        bill_matched_fen=total - sum(unmatched),
        bill_unmatched_fen=sum(unmatched),
        bill_unmatched_count=len(unmatched),
        book_unmatched_fen=book_unmatched,
        book_unmatched_count=book_unmatched_n,
    )


def reconciliation_report(
    conn: Connection, rec: BankReconciliation, *, lang: Literal["zh", "en"] = "zh"
) -> Any:
    """The 调节表 as a ``reports.report.Report`` (two-sided summary, then the outstanding items)."""
    from reports.report import Column, Report, Table, Total

    head = conn.execute(
        select(BookState.__table__.c.head_hash).where(BookState.__table__.c.org_id == rec.org_id)
    )
    chain_head = head.scalar_one_or_none() or "0" * 64
    summary = rec.summary().assign(style=lambda f: f["style"].fillna(""))
    items = rec.items()
    items = items.assign(date=[d.isoformat() for d in items["date"]])
    tables = [
        Table(
            summary,
            (Column("item", "项目", "label"), Column("amount_fen", "金额", "amount")),
            caption=f"{rec.account_name}（{rec.ledger_account}） 截至 {rec.as_of.isoformat()}",
            left_sections=frozenset({BOOK_SIDE}),
            side_headings=("企业账面", "银行对账单"),
        ),
        Table(
            items,
            (
                Column("heading", "未达账项"),
                Column("date", "日期"),
                Column("voucher_no", "凭证号"),
                Column("reference", "流水号"),
                Column("counterparty", "对方"),
                Column("memo", "摘要"),
                Column("amount_fen", "金额", "amount"),
            ),
            caption="未达账项明细",
        ),
    ]
    return Report(
        title="银行存款余额调节表",
        org_name=rec.org_name,
        period=rec.period,
        tables=tuple(tables),
        chain_head=chain_head,
        totals=(Total("调节后的存款余额", rec.adjusted_bank_fen),),
        lang=lang,
    )


def render_reconciliation(conn: Connection, rec: BankReconciliation, fmt: str) -> bytes:
    """``fmt`` is ``pdf`` or ``xlsx`` (or ``html``), through the report pipeline."""
    from reports import render

    report = reconciliation_report(conn, rec)
    if fmt == "pdf":
        return render.render_pdf(report)
    if fmt == "xlsx":
        return render.render_xlsx(report)
    if fmt == "html":
        return render.render_html(report).encode()
    raise ValidationError("format is pdf, xlsx or html", field="format")


# --------------------------------------------------------------------------------------------------------
# Shift cash (POS)


def shift_cash(
    conn: Connection, org_id: int, *, store_id: int | None = None, business_date: date | None = None
) -> pd.DataFrame:
    """Per closed shift: expected = float + cash received − change + pay-ins − payouts; counted; variance."""
    import pandas as pd

    columns = [
        "store_id",
        "business_date",
        "shift_id",
        "cashier_user_id",
        "float_fen",
        "cash_received_fen",
        "change_fen",
        "pay_in_fen",
        "payout_fen",
        "expected_fen",
        "counted_fen",
        "variance_fen",
        "recorded_expected_fen",
        "differs",
    ]
    shift_t = PosShift.__table__
    sale_t = PosSale.__table__
    pay_t = PosPayment.__table__
    move_t = PosCashMove.__table__
    stmt = select(shift_t).where(shift_t.c.org_id == org_id, shift_t.c.status == "closed")
    if store_id is not None:
        stmt = stmt.where(shift_t.c.store_id == store_id)
    if business_date is not None:
        stmt = stmt.where(shift_t.c.business_date == business_date)
    shifts = conn.execute(stmt.order_by(shift_t.c.store_id, shift_t.c.business_date, shift_t.c.id)).all()
    ids = [s.id for s in shifts]
    cash: dict[int, int] = {}
    change: dict[int, int] = {}
    moves: dict[tuple[int, str], int] = {}
    if ids:
        cash = dict(
            conn.execute(
                select(sale_t.c.shift_id, func.sum(pay_t.c.amount_fen))
                .join(pay_t, pay_t.c.sale_id == sale_t.c.id)
                .where(sale_t.c.shift_id.in_(ids), pay_t.c.method == "cash")
                .group_by(sale_t.c.shift_id)
            ).all()
        )
        change = dict(
            conn.execute(
                select(sale_t.c.shift_id, func.sum(sale_t.c.change_fen))
                .where(sale_t.c.shift_id.in_(ids))
                .group_by(sale_t.c.shift_id)
            ).all()
        )
        for shift_id, kind, total in conn.execute(
            select(move_t.c.shift_id, move_t.c.kind, func.sum(move_t.c.amount_fen))
            .where(move_t.c.shift_id.in_(ids))
            .group_by(move_t.c.shift_id, move_t.c.kind)
        ):
            moves[(shift_id, kind)] = int(total)
    rows = []
    for s in shifts:
        received = int(cash.get(s.id) or 0)
        given = int(change.get(s.id) or 0)
        pay_in = moves.get((s.id, "pay_in"), 0)
        payout = moves.get((s.id, "payout"), 0)
        expected = s.float_fen + received - given + pay_in - payout
        counted = s.counted_cash_fen
        rows.append(
            [
                s.store_id,
                s.business_date,
                s.id,
                s.cashier_user_id,
                s.float_fen,
                received,
                given,
                pay_in,
                payout,
                expected,
                counted,
                None if counted is None else counted - expected,
                s.expected_cash_fen,
                s.expected_cash_fen is not None and s.expected_cash_fen != expected,
            ]
        )
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------------------------
# Inter-org


PAYABLE_ACCOUNTS = ("2232", "2241")  # the company's: 应付利润, 其他应付款
RECEIVABLE_ACCOUNTS = {"collective": ("112",), "small_enterprise": ("1122", "1221")}


def _balances_by_ref_org(conn: Connection, org_id: int, codes: tuple[str, ...]) -> dict[int, int]:
    """Debit-positive balance per counterparty ``ref_org_id`` over the accounts (and sub-accounts)."""
    ids = [i for code in codes for i in account_ids(conn, org_id, code)]
    if not ids:
        return {}
    rows = conn.execute(
        select(cp_t.c.ref_org_id, func.sum(line_t.c.debit_fen - line_t.c.credit_fen))
        .join(cp_t, cp_t.c.id == line_t.c.counterparty_id)
        .where(line_t.c.org_id == org_id, line_t.c.account_id.in_(ids), cp_t.c.ref_org_id.is_not(None))
        .group_by(cp_t.c.ref_org_id)
    ).all()
    return {int(ref): int(total) for ref, total in rows}


def inter_org(conn: Connection, company_org_id: int) -> pd.DataFrame:
    """Per shareholder org: the company's payable to it and its receivable from the company."""
    import pandas as pd

    company = get_org(conn, company_org_id)
    if company.kind != "company":
        raise ValidationError("inter-org reconciliation starts from a company", field="org")
    payables = {k: -v for k, v in _balances_by_ref_org(conn, company_org_id, PAYABLE_ACCOUNTS).items()}
    holders = set(payables)
    holders.update(
        conn.execute(
            select(cp_t.c.ref_org_id).where(
                cp_t.c.org_id == company_org_id, cp_t.c.kind == "shareholder", cp_t.c.ref_org_id.is_not(None)
            )
        ).scalars()
    )
    rows = []
    for holder_id in sorted(holders):
        holder = get_org(conn, holder_id)
        receivable = 0
        if holder.standard is not None:
            codes = RECEIVABLE_ACCOUNTS[holder.standard]
            receivable = _balances_by_ref_org(conn, holder_id, codes).get(company_org_id, 0)
        payable = payables.get(holder_id, 0)
        rows.append([holder_id, holder.name, payable, receivable, payable - receivable])
    return pd.DataFrame(
        rows,
        columns=["org_id", "org_name", "company_payable_fen", "shareholder_receivable_fen", "difference_fen"],
    )


# --------------------------------------------------------------------------------------------------------
# Sub-ledger ties


def subledger_ties(conn: Connection, org_id: int) -> list[Tie]:
    """The ties that apply to the org (each workflow defines its own once, for this report and for
    ``cunshe verify``: ``ledger.books.verify.register_tie``), each with the rows that differ."""
    require_books(get_org(conn, org_id))
    return registered_ties(conn, org_id)


def tie_details(tie: Tie) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(list(tie.rows), columns=list(tie.columns))


def ties_frame(ties: list[Tie]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        [[t.name, t.label, t.subledger_fen, t.ledger_fen, t.difference_fen] for t in ties],
        columns=["name", "label", "subledger_fen", "ledger_fen", "difference_fen"],
    )
