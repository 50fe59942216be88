"""Vouchers (记账凭证) in the browser: entry (填制凭证), the journal (凭证查询), one voucher's page with its
红字冲销 and its print, and the account suggestions the entry form asks for.

The pages post through the same Writes as the API's entry routes (``ledger.access.bookkeeping.post_entry``
and ``reverse_entry``): scope, the form's one-time key, the posting service, audit. A refused voucher comes
back as the form again, with what was typed and the error beside its field, in the page's language.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Path, Query, Request
from sqlalchemy import Connection, Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ledger.access import bookkeeping
from ledger.access.auth import Principal
from ledger.access.service import carry_out
from ledger.access.users import find_user
from ledger.books import county_time, entry_choices, periods
from ledger.books.errors import (
    AccountKept,
    AccountNotPostable,
    IdempotencyConflict,
    InvalidAmount,
    LedgerError,
    NotFound,
    PeriodClosed,
    UnbalancedEntry,
    ValidationError,
)
from ledger.books.journal import EntryFilter, EntryKey, entry_key, get_entry, list_entries
from ledger.books.money import amount_in_words, format_amount, format_money, parse_amount
from ledger.books.posting import MAX_LINES, Draft, Line
from ledger.community import choices as community_choices
from ledger.db.engine import read_tx
from ledger.db.models import ENTRY_SOURCES
from ledger.http import EngineDep, client_addr
from ledger.params import month_range_params
from ledger.web.i18n import N_, error_text, translator
from ledger.web.pages.common import (
    LOCALES,
    FormKey,
    FormRefused,
    WebUser,
    attachment,
    books_org,
    flash,
    period_param,
    render,
    router,
    session_of,
)
from reports.builders_base import parse_report_period
from reports.builders_batch import render_report
from reports.queries import account_names

DIMENSIONS = ("counterparty", "contract", "welfare_post", "store")
BLANK_ROWS = 5  # the entry form's rows when nothing is typed yet (the page's script adds more)
PAGE_SIZE = 50
ENTRY_KEY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\.[0-9]{1,18}$"  # a voucher's place in the journal: date.seq
COUNT_LIMIT = 10_000  # the journal counts its matches up to here ("10,000+"): 200 pages to turn
LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.?(\w*)$")
MAX_ID = 2**62  # an entry id in an address or a form (a bigger number names no row)
EntryId = Annotated[int, Path(ge=1, le=MAX_ID)]


# ---- shared look-ups -------------------------------------------------------------------------------------


def default_day(conn: Connection, org_id: int) -> date:
    """The day a new voucher (or a reversal) is dated unless told: today if its month is open, else the
    first day of the first open month."""
    through = periods.closed_through(conn, org_id)
    today = county_time.today()
    if through is None or periods.period_of(today) > through:
        return today
    return periods.period_bounds(periods.next_period(through))[0]


@dataclass(frozen=True)
class Choices:
    """What the entry form's selects offer: the org's own counterparties, contracts, posts and stores."""

    counterparty: list[tuple[int, str]]
    contract: list[tuple[int, str]]
    welfare_post: list[tuple[int, str]]
    store: list[tuple[int, str]]

    def label(self, dimension: str, value: int | None) -> str:
        return dict(getattr(self, dimension)).get(value, f"#{value}") if value is not None else ""


def choices_of(conn: Connection, org: Any) -> Choices:
    collective = org.standard == "collective"
    return Choices(
        counterparty=[(i, name) for i, _kind, name in entry_choices.counterparties(conn, org.id)],
        contract=community_choices.contracts(conn, org.id) if collective else [],
        welfare_post=community_choices.welfare_posts(conn, org.id) if collective else [],
        store=entry_choices.stores(conn, org.id),
    )


# ---- account suggestions (the entry form's type-ahead) ---------------------------------------------------


@router.get("/web/orgs/{org_id}/accounts/suggest")
def suggest_accounts(
    org_id: int, user: WebUser, engine: EngineDep, q: Annotated[str, Query(max_length=40)] = ""
) -> JSONResponse:
    """The org's postable accounts matching ``q`` by code, name or pinyin initials (``yhck`` → 银行存款)."""
    books_org(user, engine, org_id)
    with read_tx(engine) as conn:
        accounts = entry_choices.postable_accounts(conn, org_id)
    found = entry_choices.suggest_accounts(accounts, q)
    return JSONResponse(
        [{"code": a.code, "name": a.name, "dims": list(a.dimensions)} for a in found],
        headers={"Cache-Control": "no-store"},
    )


# ---- 填制凭证: the entry form --------------------------------------------------------------------------

FORM = "voucher"  # the entry form's name for its refusals (``common.FormRefused``)


@dataclass
class Row:
    """One line of the form as typed (text, kept as typed for a form shown again)."""

    memo: str = ""
    account: str = ""
    debit: str = ""
    credit: str = ""
    counterparty: str = ""
    contract: str = ""
    welfare_post: str = ""
    store: str = ""
    dims: tuple[str, ...] = field(default=(), init=False)  # what its account asks for, found when shown

    def blank(self) -> bool:
        """No account and no amount: not a line (a 摘要 carried down into the next row alone is not one)."""
        return not (self.account.strip() or self.debit.strip() or self.credit.strip())

    @property
    def code(self) -> str:
        """The account code: the first word of what was typed ("1002 银行存款" → "1002")."""
        parts = self.account.split()
        return parts[0] if parts else ""


def line_field(index: int, name: str) -> str:
    """The form's name for a field of the row at ``index`` (0-based): ``line-2-debit`` is 第3行's 借方."""
    return f"line-{index}-{name}"


def _voucher_form(
    request: Request,
    user: Principal,
    engine: Engine,
    org: Any,
    *,
    day: str,
    attachments: str,
    rows: list[Row],
    key: str,
    error: FormRefused | None = None,
    copied_from: str | None = None,
) -> HTMLResponse:
    with read_tx(engine) as conn:
        choices = choices_of(conn, org)
        accounts = {a.code: a for a in entry_choices.postable_accounts(conn, org.id)}
        through = periods.closed_through(conn, org.id)
    for row in rows:
        known = accounts.get(row.code)
        row.dims = known.dimensions if known else ()
        if known and row.account.strip() == row.code:
            row.account = f"{known.code} {known.name}"
    while len(rows) < BLANK_ROWS:
        rows.append(Row())
    return render(
        request,
        "voucher_new.html",
        error.status_code if error else 200,
        user=user,
        org=org,
        day=day,
        attachments=attachments,
        rows=rows,
        key=key,
        error=error.view() if error else None,
        choices=choices,
        dimensions=[d for d in DIMENSIONS if getattr(choices, d)],
        closed_through=through,
        copied_from=copied_from,
    )


def _rows_of_entry(entry: dict[str, Any]) -> list[Row]:
    return [
        Row(
            memo=ln["memo"],
            account=ln["account"],
            debit=format_amount(ln["debit_fen"]) if ln["debit_fen"] else "",
            credit=format_amount(ln["credit_fen"]) if ln["credit_fen"] else "",
            counterparty=str(ln["counterparty_id"] or ""),
            contract=str(ln["contract_id"] or ""),
            welfare_post=str(ln["welfare_post_id"] or ""),
            store=str(ln["store_id"] or ""),
        )
        for ln in entry["lines"]
    ]


@router.get("/web/orgs/{org_id}/vouchers/new")
def new_voucher(
    request: Request,
    org_id: int,
    user: WebUser,
    engine: EngineDep,
    copy: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """填制凭证; ``?copy=<entry id>`` opens it filled with that voucher's lines (copy as a template)."""
    org = books_org(user, engine, org_id, write=True)
    copied_from = None
    rows: list[Row] = []
    attachments = "0"
    with read_tx(engine) as conn:
        day = default_day(conn, org_id)
        if copy is not None:
            entry = get_entry(conn, org_id, copy)  # 404 unless it is this org's
            rows, copied_from = _rows_of_entry(entry), entry["voucher_no"]
    return _voucher_form(
        request,
        user,
        engine,
        org,
        day=day.isoformat(),
        attachments=attachments,
        rows=rows,
        key=_new_key(),
        copied_from=copied_from,
    )


def _new_key() -> str:
    import uuid

    return uuid.uuid4().hex


def _dimension_id(text: str, index: int, name: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise NotFound(f"{name} {text!r} is not one of this org's", field=f"lines[{index}].{name}_id")
    return int(text)


def _draft(org_id: int, day: date, attachments: int, rows: list[Row], key: str | None) -> Draft:
    """The entry the form describes: its non-blank rows in order (``lines[k]`` is the k-th of those); the
    entry's 摘要 is its first line's, and its 附单据数 is stored with it."""
    lines = []
    for k, row in enumerate(r for r in rows if not r.blank()):
        debit = parse_amount(row.debit.strip(), f"lines[{k}].debit") if row.debit.strip() else 0
        credit = parse_amount(row.credit.strip(), f"lines[{k}].credit") if row.credit.strip() else 0
        lines.append(
            Line(
                account=row.code,
                debit_fen=debit,
                credit_fen=credit,
                memo=row.memo.strip(),
                counterparty_id=_dimension_id(row.counterparty, k, "counterparty"),
                contract_id=_dimension_id(row.contract, k, "contract"),
                welfare_post_id=_dimension_id(row.welfare_post, k, "welfare_post"),
                store_id=_dimension_id(row.store, k, "store"),
            )
        )
    memo = next((ln.memo for ln in lines if ln.memo), "")
    return Draft(
        org_id=org_id,
        entry_date=day,
        memo=memo,
        lines=lines,
        source="manual",
        idempotency_key=key,
        attachments=attachments,
    )


def _fen(text: str) -> int:
    try:
        return parse_amount(text.strip()) if text.strip() else 0
    except InvalidAmount:
        return 0


def _typed_faults(
    t: Any, rows: list[Row], accounts: dict[str, entry_choices.AccountChoice], money: Any
) -> dict[str, str]:
    """What the form can see is wrong before anything is posted, every line at once, by the field at fault;
    each message names its line (第3行 / line 3). The posting service checks it all again."""
    faults: dict[str, str] = {}
    filled = [(i, r) for i, r in enumerate(rows) if not r.blank()]
    for i, row in filled:
        line = i + 1
        if not row.code:
            faults[line_field(i, "account")] = t("v_err_no_account", line=line)
        elif row.code not in accounts:
            faults[line_field(i, "account")] = t("v_err_account", line=line, code=row.code)
        else:
            for d in accounts[row.code].required:
                if not getattr(row, d).strip():
                    what, code = t(f"v_dim_{d}"), row.code
                    faults[line_field(i, d)] = t("v_err_dimension_missing", line=line, code=code, what=what)
        sides = []
        for side in ("debit", "credit"):
            text = getattr(row, side).strip()
            if not text:
                continue
            try:
                fen = parse_amount(text, side)
            except InvalidAmount:
                faults[line_field(i, side)] = t("v_err_amount", line=line, side=t(f"v_{side}"))
                sides.append(side)
                continue
            if fen:
                sides.append(side)
        if len(sides) == 2 and line_field(i, "debit") not in faults and line_field(i, "credit") not in faults:
            faults[line_field(i, "debit")] = t("v_err_side", line=line)
        elif not sides:
            faults[line_field(i, "debit")] = t("v_err_no_amount", line=line)
    if faults:
        return faults
    if len(filled) < 2:
        return {"totals": t("v_err_two_lines")}
    debit = sum(_fen(r.debit) for _, r in filled)
    credit = sum(_fen(r.credit) for _, r in filled)
    if debit != credit:
        short = "credit" if debit > credit else "debit"
        on_short = [i for i, r in filled if getattr(r, short).strip()] or [i for i, _ in filled]
        diff, side = money(abs(debit - credit)), t(f"v_{short}")
        lines = t("v_list_sep").join(str(i + 1) for i in on_short)
        faults["totals"] = t(
            "v_err_unbalanced", debit=money(debit), credit=money(credit), diff=diff, side=side, lines=lines
        )
        for i in on_short:
            faults[line_field(i, short)] = t("v_err_short", line=i + 1, side=side, diff=diff)
    return faults


def _place(rows: list[Row], exc: LedgerError) -> tuple[str, int | None]:
    """Where on the form a posting error belongs: the row's field for ``lines[k].x`` (k counts non-blank
    rows), else the form's field (``date``, ``attachments``) or the totals or the form as a whole; and the
    row index (or None)."""
    found = LINE_FIELD.match(exc.field or "")
    if not found:
        if exc.field in ("date", "attachments"):
            return exc.field, None
        return ("totals" if exc.field == "lines" else "_form"), None
    filled = [i for i, r in enumerate(rows) if not r.blank()]
    k = int(found.group(1))
    index = filled[k] if k < len(filled) else len(rows) - 1
    name = found.group(2).removesuffix("_id") or "account"
    return line_field(index, name), index


def _posting_refusal(
    t: Any, exc: LedgerError, rows: list[Row], index: int | None, through: str | None
) -> str:
    """A refusal of the posting service in the page's language, naming the line where it has one."""
    line = (index or 0) + 1
    name = LINE_FIELD.match(exc.field or "")
    what = name.group(2).removesuffix("_id") if name else ""
    code = rows[index].code if index is not None else ""
    if isinstance(exc, PeriodClosed):
        return t("v_err_period_closed", through=through or "")
    if isinstance(exc, AccountKept):
        return t("v_err_kept", line=line, code=code, workflow=t(f"source_{exc.source}"))
    if isinstance(exc, AccountNotPostable):
        return t("v_err_account", line=line, code=code)
    if isinstance(exc, InvalidAmount) and name:
        return t("v_err_amount", line=line, side=t("v_debit") if what == "debit" else t("v_credit"))
    if isinstance(exc, UnbalancedEntry):
        return t("v_err_side", line=line) if name else t("v_err_two_lines")
    if isinstance(exc, NotFound) and name:
        return t("v_err_dimension", line=line, what=t(f"v_dim_{what}"))
    if isinstance(exc, IdempotencyConflict):
        return t("v_err_key")
    if exc.field == "date":
        return t("v_err_date")
    if exc.field == "attachments":
        return t("v_err_attachments")
    if name:
        return t("v_err_line", line=line, message=error_text(exc, t))
    return error_text(exc, t)


@router.post("/web/orgs/{org_id}/vouchers")
def save_voucher(
    request: Request,
    org_id: int,
    user: WebUser,
    engine: EngineDep,
    entry_date: Annotated[str, Form(alias="date", max_length=10)],
    form_key: FormKey = None,
    attachments: Annotated[str, Form(max_length=3)] = "0",
    memo: Annotated[list[str] | None, Form()] = None,
    account: Annotated[list[str] | None, Form()] = None,
    debit: Annotated[list[str] | None, Form()] = None,
    credit: Annotated[list[str] | None, Form()] = None,
    counterparty: Annotated[list[str] | None, Form()] = None,
    contract: Annotated[list[str] | None, Form()] = None,
    welfare_post: Annotated[list[str] | None, Form()] = None,
    store: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Save a voucher typed in the form: through ``bookkeeping.post_entry``, as ``POST …/entries`` of the
    API. The form's one-time key is the idempotency key, so a double click or a resend posts once.

    A refused voucher comes back as the form with what was typed and each fault beside its field, naming
    its line: first every fault the form can see (a line without an account or amount, or with both, a
    bad amount, an account that is not an open leaf of this org, a missing 辅助核算, a voucher out of
    balance by how much and on which lines), then whatever the posting service refuses."""
    org = books_org(user, engine, org_id, write=True)  # 404/403 before anything typed is looked at
    columns = {
        "memo": memo or [],
        "account": account or [],
        "debit": debit or [],
        "credit": credit or [],
        "counterparty": counterparty or [],
        "contract": contract or [],
        "welfare_post": welfare_post or [],
        "store": store or [],
    }
    count = max(len(v) for v in columns.values())
    if count > MAX_LINES:
        raise ValidationError(f"a voucher takes at most {MAX_LINES} lines", field="lines")
    rows = [
        Row(**{name: (values[i][:200] if i < len(values) else "") for name, values in columns.items()})
        for i in range(count)
    ]
    t = translator(session_of(request).lang)

    def again(error: FormRefused) -> HTMLResponse:
        return _voucher_form(
            request,
            user,
            engine,
            org,
            day=entry_date,
            attachments=attachments,
            rows=rows,
            key=form_key or _new_key(),
            error=error,
        )

    faults: dict[str, str] = {}
    day: date | None = None
    try:
        day = periods.parse_date(entry_date, "date")
    except ValidationError:
        faults["date"] = t("v_err_date")
    if not attachments.strip().isdigit():
        faults["attachments"] = t("v_err_attachments")
    with read_tx(engine) as conn:
        accounts = {a.code: a for a in entry_choices.postable_accounts(conn, org_id)}
    faults.update(_typed_faults(t, rows, accounts, _money_of(request)))
    if faults or day is None:
        return again(FormRefused(FORM, faults, 422))
    try:
        draft = _draft(org_id, day, int(attachments), rows, form_key)
        write = bookkeeping.post_entry(
            user,
            draft,
            answer=lambda conn, posted: {"id": posted.id, "voucher_no": posted.voucher_no},
            request={"voucher": draft.fingerprint},
        )
        done = carry_out(engine, user, write, key=form_key, remote_addr=client_addr(request))
    except LedgerError as exc:
        if exc.http_status in (401, 403) or exc.field in ("org", "org_id"):
            raise
        place, index = _place(rows, exc)
        with read_tx(engine) as conn:
            through = periods.closed_through(conn, org_id)
        message = _posting_refusal(t, exc, rows, index, through)
        status = 409 if isinstance(exc, IdempotencyConflict | PeriodClosed) else 422
        return again(FormRefused(FORM, {place: message}, status))
    answer = done.body
    flash(request, N_("v_replayed") if done.replayed else N_("v_saved"), voucher=answer["voucher_no"])
    return RedirectResponse(f"/web/orgs/{org_id}/vouchers/{answer['id']}", status_code=303)


def _money_of(request: Request) -> Any:
    locale = LOCALES[session_of(request).lang]
    return lambda fen: format_money(fen, locale, symbol=False)


# ---- 凭证查询: the journal -----------------------------------------------------------------------------


def _optional_amount(text: str, name: str) -> int | None:
    return parse_amount(text.strip(), name) if text.strip() else None


@router.get("/web/orgs/{org_id}/journal")
def journal(
    request: Request,
    org_id: int,
    user: WebUser,
    engine: EngineDep,
    period_from: Annotated[str, Query(alias="from", max_length=7)] = "",
    period_to: Annotated[str, Query(alias="to", max_length=7)] = "",
    voucher: Annotated[str, Query(max_length=32)] = "",
    account: Annotated[str, Query(max_length=32)] = "",
    counterparty: Annotated[str, Query(max_length=18)] = "",
    min_amount: Annotated[str, Query(alias="min", max_length=20)] = "",
    max_amount: Annotated[str, Query(alias="max", max_length=20)] = "",
    text: Annotated[str, Query(max_length=100)] = "",
    source: Annotated[str, Query(max_length=16)] = "",
    reversed: Annotated[str, Query(max_length=3)] = "",
    page: Annotated[int, Query(ge=1, le=COUNT_LIMIT // PAGE_SIZE)] = 1,
    after: Annotated[str, Query(max_length=32, pattern=ENTRY_KEY)] = "",
    before: Annotated[str, Query(max_length=32, pattern=ENTRY_KEY)] = "",
) -> Response:
    """凭证查询: the org's vouchers by period range, number, account (with its sub-accounts), counterparty,
    amount range (the voucher's total), text (in its 摘要, a line's 摘要 or a counterparty's name), source
    and reversed or not; 50 a page, the next after the last voucher shown (``after``, its date and chain
    seq), the previous before the first (``before``); ``page`` only numbers it (a link without a key, page
    3, is read by offset). A malformed month or amount is shown beside its field."""
    org = books_org(user, engine, org_id)
    shown = period_param(None, engine, org_id)
    form = {
        "from": period_from or shown,
        "to": period_to or period_from or shown,
        "voucher": voucher,
        "account": account,
        "counterparty": counterparty,
        "min": min_amount,
        "max": max_amount,
        "text": text,
        "source": source,
        "reversed": reversed,
    }
    t = translator(session_of(request).lang)
    faults: dict[str, str] = {}
    flt = None

    def month(name: str) -> str | None:
        try:
            return periods.parse_period(form[name], name)
        except ValidationError:
            faults[name] = t(f"j_err_{name}")
            return None

    def amount(name: str) -> int | None:
        try:
            return _optional_amount(form[name], name)
        except ValidationError:
            faults[name] = t(f"j_err_{name}")
            return None

    first = month("from")
    last = month("to") if period_to else first  # an empty 至 is the 从 month: its fault is the 从's
    low, high = amount("min"), amount("max")
    if first is not None and last is not None:  # in the org's years and in order (ledger.params)
        with read_tx(engine) as conn:
            try:
                month_range_params(conn, org_id, first, last)
            except ValidationError as exc:
                faults[exc.field or "from"] = error_text(exc, t)  # the refusal's own words
    if not faults:
        flt = EntryFilter(
            period_from=first,
            period_to=last,
            voucher_no=voucher.strip() or None,
            account=account.split()[0] if account.split() else None,
            counterparty_id=int(counterparty) if counterparty.isdigit() else None,
            total_min_fen=low,
            total_max_fen=high,
            source=source if source in ENTRY_SOURCES else None,
            reversed={"yes": True, "no": False}.get(reversed),
            text_contains=text.strip() or None,
        )
    entries: list[dict[str, Any]] = []
    total = 0
    with read_tx(engine) as conn:
        choices = choices_of(conn, org)
        if flt is not None:
            entries, total = list_entries(
                conn,
                org_id,
                flt,
                limit=PAGE_SIZE,
                offset=0 if after or before else (page - 1) * PAGE_SIZE,
                count_limit=COUNT_LIMIT,
                after=_entry_key(after, "after"),
                before=_entry_key(before, "before"),
            )
    query = [(k, v) for k, v in form.items() if v]
    pages = max(1, -(-min(total, COUNT_LIMIT) // PAGE_SIZE))
    error = FormRefused("journal", faults, 422) if faults else None
    first_key, last_key = (entry_key(entries[0]), entry_key(entries[-1])) if entries else (None, None)
    return render(
        request,
        "journal.html",
        error.status_code if error else 200,
        user=user,
        org=org,
        form=form,
        error=error.view() if error else None,
        sources=ENTRY_SOURCES,
        counterparties=choices.counterparty,
        rows=[_journal_row(e) for e in entries],
        total=total,
        count_limit=COUNT_LIMIT,
        page=page,
        pages=pages,
        prev_url=_page_url(org_id, query, page - 1, before=first_key) if page > 1 and first_key else None,
        next_url=_page_url(org_id, query, page + 1, after=last_key) if page < pages and last_key else None,
    )


def _entry_key(text: str, name: str) -> EntryKey | None:
    if not text:
        return None
    day, seq = text.split(".")
    try:
        return (date.fromisoformat(day), int(seq))
    except ValueError:
        raise ValidationError(f"{text} is no voucher's place in the journal", field=name) from None


def _page_url(
    org_id: int,
    query: list[tuple[str, str]],
    page: int,
    *,
    after: EntryKey | None = None,
    before: EntryKey | None = None,
) -> str:
    keys = [
        (name, f"{key[0].isoformat()}.{key[1]}")
        for name, key in (("after", after), ("before", before))
        if key
    ]
    return f"/web/orgs/{org_id}/journal?" + urlencode([*query, ("page", str(page)), *keys])


def _journal_row(e: dict[str, Any]) -> dict[str, Any]:
    accounts = []
    for ln in e["lines"]:
        if f"{ln['account']} {ln['account_name']}" not in accounts:
            accounts.append(f"{ln['account']} {ln['account_name']}")
    return {
        "id": e["id"],
        "date": e["entry_date"].isoformat() if isinstance(e["entry_date"], date) else str(e["entry_date"]),
        "voucher_no": e["voucher_no"],
        "memo": e["memo"],
        "accounts": accounts,
        "total": e["total_fen"],
        "source": e["source"],
        "reversed": e.get("reversed_by_id") is not None,
        "is_reversal": e["reverses_id"] is not None,
    }


# ---- one voucher ---------------------------------------------------------------------------------------


@router.get("/web/orgs/{org_id}/vouchers/by-number")
def voucher_by_number(
    org_id: int, user: WebUser, engine: EngineDep, no: Annotated[str, Query(max_length=32)]
) -> Response:
    """The voucher page of a voucher number (the 明细账 and a source link name vouchers by number)."""
    books_org(user, engine, org_id)
    with read_tx(engine) as conn:
        found, _total = list_entries(conn, org_id, EntryFilter(voucher_no=no), limit=1)
    if not found:
        raise StarletteHTTPException(404)
    return RedirectResponse(f"/web/orgs/{org_id}/vouchers/{found[0]['id']}", status_code=303)


def _source_link(org_id: int, entry: dict[str, Any]) -> tuple[str, str | None]:
    """What the entry came from, and the page that shows it where there is one."""
    ref = entry["source_ref"] or ""
    source = entry["source"]
    if source == "reversal" and ref:
        return ref, f"/web/orgs/{org_id}/vouchers/by-number?" + urlencode({"no": ref})
    if ref.startswith("stmt:"):
        return ref, f"/web/orgs/{org_id}/statements"
    if source == "lease" or ref.startswith(("accrual:", "receipt:", "deposit:", "credit:")):
        return ref, f"/web/orgs/{org_id}/leases"
    return ref, None


def _voucher_view(conn: Connection, org: Any, entry_id: int, lang: str) -> dict[str, Any]:
    entry = get_entry(conn, org.id, entry_id)  # 404 unless it is this org's
    names = account_names(conn, org.id)
    choices = choices_of(conn, org)
    lines = [
        {
            "memo": ln["memo"],
            "code": ln["account"],
            "account": names[ln["account"]].full_name if ln["account"] in names else ln["account_name"],
            "debit": ln["debit_fen"],
            "credit": ln["credit_fen"],
            "dims": [
                (d, choices.label(d, ln[f"{d}_id"])) for d in DIMENSIONS if ln.get(f"{d}_id") is not None
            ],
        }
        for ln in entry["lines"]
    ]
    linked = {
        what: get_entry(conn, org.id, entry[what]) if entry.get(what) else None
        for what in ("reverses_id", "reversed_by_id")
    }
    related = {what: e["voucher_no"] if e else None for what, e in linked.items()}
    # 红字冲销 says why: the red voucher's 摘要 (冲销 记-… <reason>) beside the link to it
    reversed_by = linked["reversed_by_id"]
    related["reversal_memo"] = reversed_by["memo"] if reversed_by else None
    author = find_user(conn, entry["created_by"]).username if entry["created_by"] else None
    debit = sum(ln["debit_fen"] for ln in entry["lines"])
    return {
        "entry": entry,
        "lines": lines,
        "related": related,
        "author": author,
        "debit": debit,
        "credit": sum(ln["credit_fen"] for ln in entry["lines"]),
        "in_words": amount_in_words(debit),
        "source": _source_link(org.id, entry),
        "through": periods.closed_through(conn, org.id),
    }


@router.get("/web/orgs/{org_id}/vouchers/{entry_id}")
def voucher_page(
    request: Request, org_id: int, entry_id: EntryId, user: WebUser, engine: EngineDep
) -> Response:
    """One voucher: its lines and dimensions, source, place in the chain, who posted it, its reversal."""
    org = books_org(user, engine, org_id)
    with read_tx(engine) as conn:
        view = _voucher_view(conn, org, entry_id, session_of(request).lang)
    return render(
        request, "voucher.html", user=user, org=org, can_write=user.role in ("admin", "officer"), **view
    )


@router.get("/web/orgs/{org_id}/vouchers/{entry_id}/voucher.pdf")
def voucher_pdf(
    request: Request, org_id: int, entry_id: EntryId, user: WebUser, engine: EngineDep
) -> Response:
    """The voucher printed in the 记账凭证 layout (the ``vouchers`` report of its month, for this one)."""
    books_org(user, engine, org_id)
    with read_tx(engine) as conn:
        entry = get_entry(conn, org_id, entry_id)
        rendered = render_report(
            conn,
            "vouchers",
            org_id,
            parse_report_period(entry["period"], None, None),
            "pdf",
            lang=session_of(request).lang,
            options={"voucher": entry["voucher_no"]},
        )
    return attachment(rendered.content, rendered.media_type, f"{entry['voucher_no']}.pdf")


def _reverse_form(
    request: Request,
    user: Principal,
    engine: Engine,
    org: Any,
    entry_id: EntryId,
    *,
    day: str | None = None,
    reason: str = "",
    key: str | None = None,
    error: FormRefused | None = None,
) -> HTMLResponse:
    with read_tx(engine) as conn:
        view = _voucher_view(conn, org, entry_id, session_of(request).lang)
        entry = view["entry"]
        if day is None:  # its own day while its month is open (red beside black), else the first open day
            original = entry["entry_date"]
            original = original if isinstance(original, date) else date.fromisoformat(str(original))
            through = periods.closed_through(conn, org.id)
            if through is not None and periods.period_of(original) <= through:
                original = periods.period_bounds(periods.next_period(through))[0]
            day = original.isoformat()
    return render(
        request,
        "voucher_reverse.html",
        error.status_code if error else 200,
        user=user,
        org=org,
        day=day,
        reason=reason,
        key=key or _new_key(),
        error=error.view() if error else None,
        **view,
    )


@router.get("/web/orgs/{org_id}/vouchers/{entry_id}/reverse")
def reverse_confirm(
    request: Request, org_id: int, entry_id: EntryId, user: WebUser, engine: EngineDep
) -> Response:
    """红字冲销, step one: the voucher, the day and a reason; the officer confirms on this page."""
    org = books_org(user, engine, org_id, write=True)
    return _reverse_form(request, user, engine, org, entry_id)


@router.post("/web/orgs/{org_id}/vouchers/{entry_id}/reverse")
def reverse_voucher(
    request: Request,
    org_id: int,
    entry_id: EntryId,
    user: WebUser,
    engine: EngineDep,
    entry_date: Annotated[str, Form(alias="date", max_length=10)],
    reason: Annotated[str, Form(max_length=200)] = "",
    confirm: Annotated[str, Form(max_length=3)] = "",
    form_key: FormKey = None,
) -> Response:
    """红字冲销, step two: through ``bookkeeping.reverse_entry``, as ``POST …/entries/{id}/reverse``."""
    org = books_org(user, engine, org_id, write=True)
    with read_tx(engine) as conn:
        voucher_no = get_entry(conn, org_id, entry_id)["voucher_no"]  # 404 unless it is this org's
    t = translator(session_of(request).lang)
    try:
        if not reason.strip():
            raise ValidationError("say why the voucher is reversed", field="reason")
        if confirm != "yes":
            raise ValidationError("tick the box to confirm the reversal", field="confirm")
        day = periods.parse_date(entry_date, "date")
        memo = f"冲销 {voucher_no} {reason.strip()}"  # the reason stays with the red voucher
        write = bookkeeping.reverse_entry(
            user,
            org_id,
            entry_id,
            entry_date=day,
            memo=memo,
            key=form_key,
            answer=lambda conn, posted: [{"id": p.id, "voucher_no": p.voucher_no} for p in posted],
            request={"reverse": [org_id, entry_id, day.isoformat(), memo]},
        )
        done = carry_out(engine, user, write, key=form_key, remote_addr=client_addr(request))
    except LedgerError as exc:
        if exc.http_status in (401, 403) or (isinstance(exc, NotFound) and exc.field != "date"):
            raise
        if isinstance(exc, PeriodClosed):
            with read_tx(engine) as conn:
                message = t("v_err_period_closed", through=periods.closed_through(conn, org_id) or "")
        elif exc.field == "confirm":
            message = t("v_err_confirm")
        elif exc.field == "reason":
            message = t("v_err_reason")
        elif exc.field == "date":
            message = t("v_err_date")
        elif isinstance(exc, IdempotencyConflict):
            message = t("v_err_key")
        elif exc.field == "reverses_id":  # already reversed, or itself a reversal
            message = t("v_err_not_reversible")
        else:
            message = t("v_err_reverse", reason=error_text(exc, t))
        status = 409 if exc.http_status == 409 else 422
        place = exc.field if exc.field in ("date", "reason", "confirm") else "_form"
        error = FormRefused("reverse", {place: message}, status)
        return _reverse_form(
            request, user, engine, org, entry_id, day=entry_date, reason=reason, key=form_key, error=error
        )
    first = done.body[0]
    key = N_("v_reversed_replayed") if done.replayed else N_("v_reversed")
    flash(request, key, voucher=first["voucher_no"])
    return RedirectResponse(f"/web/orgs/{org_id}/vouchers/{first['id']}", status_code=303)
