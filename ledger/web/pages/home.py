"""The dashboard, login and the org page with its month close."""

from collections.abc import Callable, Iterable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, RedirectResponse, Response

from ledger.access import bookkeeping
from ledger.access.auth import Principal, audit, login_candidate, password_matches, principal_for_user
from ledger.books import county_time, periods
from ledger.books.errors import LedgerError
from ledger.books.journal import latest_period
from ledger.books.orgs import all_org_ids, get_org
from ledger.books.trial_balance import trial_balance
from ledger.community import welfare
from ledger.community.leases import rentroll
from ledger.db.engine import read_tx, run_write
from ledger.http import EngineDep, client_addr
from ledger.params import month_param
from ledger.reconcile import matching, store
from ledger.web.i18n import N_, translator
from ledger.web.login_limits import login_limits
from ledger.web.pages.common import (
    STATIC_FILES,
    FormKey,
    FormRefused,
    WebUser,
    carry,
    current_period,
    first_open_period,
    refused,
    render,
    router,
    safe_next,
    session_of,
)
from ledger.web.security import (
    login_throttle,
)
from ledger.web.templating import TEMPLATES_DIR
from pos import shifts, stores
from reports import registry

# ---- the workflows' figures on the dashboard -----------------------------------------------------------


def _open_shifts(conn: Any, user: Principal, org: Any) -> int | None:
    """Shifts still open (not yet handed over, 未交班) in the company's stores."""
    if org.kind != "company":
        return None
    return sum(
        len(shifts.list_shifts(conn, user, s.id, "open")) for s in stores.list_stores(conn, user, org.id)
    )


def _unmatched_lines(conn: Any, user: Principal, org: Any) -> int | None:
    """Statement lines of every statement account of the org not yet in a confirmed match."""
    accounts = store.list_statement_accounts(conn, org.id)
    if not accounts:
        return None
    return sum(
        len(matching.statement_lines(conn, org.id, a["id"], unmatched=True, limit=100_000)) for a in accounts
    )


def _last_reconciliation(conn: Any, user: Principal, org: Any) -> str | None:
    """The day of the latest confirmed match in any of the org's statement accounts."""
    stamps = [
        m["created_at"]
        for a in store.list_statement_accounts(conn, org.id)
        for m in matching.list_matches(conn, org.id, a["id"], status="confirmed", limit=100_000)
    ]
    return county_time.business_date(max(stamps)).isoformat() if stamps else None


def _arrears(conn: Any, user: Principal, org: Any) -> int | None:
    """Rent past due and unpaid today (every aging bucket but "current", which is not yet due).

    The one sum on these pages: the rent roll gives totals per aging bucket, not their total.
    """
    if org.standard != "collective":
        return None
    rows = rentroll.rent_roll(conn, [org.id], county_time.today())
    if not rows:
        return None
    return sum(fen for bucket, fen in rentroll.aging_totals(rows).items() if bucket != "current")


# Dashboard columns beyond the core:
# (label key, figure(conn, user, org) -> value or None where it does not apply, kind).
WORKFLOW_COLUMNS: tuple[tuple[str, Callable[..., Any], str], ...] = (
    (N_("open_shifts"), _open_shifts, "count"),
    ("unmatched_lines", _unmatched_lines, "count"),
    (N_("last_reconciliation"), _last_reconciliation, "text"),
    (N_("arrears"), _arrears, "money"),
)


def _period_to_close(conn: Any, org_id: int, closed_through: str | None) -> str:
    """The month the officer closes next (``common.first_open_period``)."""
    return first_open_period(conn, org_id)


def _org_rows(conn: Any, user: Principal, orgs: Iterable[Any]) -> list[dict]:
    rows = []
    for org in orgs:
        if org.standard is None:  # streets and the county keep no books of their own
            continue
        through = periods.closed_through(conn, org.id)
        extra = {}
        for key, fn, kind in WORKFLOW_COLUMNS:
            try:
                extra[key] = (kind, fn(conn, user, org))
            except LedgerError as exc:
                extra[key] = ("text", exc.message)
        rows.append(
            {
                "id": org.id,
                "name": org.name,
                "kind": org.kind,
                "collective": org.standard == "collective",
                "closed_through": through,
                "open_period": _period_to_close(conn, org.id, through),
                "extra": extra,
            }
        )
    return rows


# ---- pages -------------------------------------------------------------------------------------------


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/web/", status_code=303)


@router.get("/web/static/{name}")
def static(name: str) -> FileResponse:
    if name not in STATIC_FILES:
        raise StarletteHTTPException(404)
    return FileResponse(
        TEMPLATES_DIR / name, media_type=STATIC_FILES[name], headers={"Cache-Control": "max-age=3600"}
    )


@router.get("/web/login")
def login_form(request: Request, next: str | None = None) -> Response:
    session = session_of(request)
    if session.user_id is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next), username="", error=None)


@router.post("/web/login")
def login(
    request: Request,
    engine: EngineDep,
    username: Annotated[str, Form(max_length=150)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=500)] = "/web/",
) -> Response:
    throttle = login_throttle(request)
    addr = client_addr(request)
    limits = login_limits(request)
    limits.admit_request(request.scope, addr)  # counted by the LoginGate already, before the body was read
    throttle.check(username, addr)
    with read_tx(engine) as conn:
        candidate = login_candidate(conn, username)
    # argon2 at most login_hash_slots at once, in the pool's low-priority threads: the tills go first
    matched = limits.check_password(password_matches, candidate, password)
    if not matched or candidate.user_id is None:  # a match has a user; the check tells mypy so
        throttle.failed(username, addr)
        t = translator(session_of(request).lang)
        error = FormRefused("login", {"_form": t("login_failed")}, 401)
        typed = safe_next(next)
        return render(request, "login.html", 401, next=typed, username=username, error=error.view())
    with read_tx(engine) as conn:
        user = principal_for_user(conn, candidate.user_id)
    throttle.succeeded(username, addr)

    def record(conn: Any) -> None:
        audit(conn, user, "web.login", remote_addr=addr)

    run_write(engine, record)
    session_of(request).log_in(user.user_id)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/web/logout")
def logout(request: Request) -> Response:
    session = session_of(request)
    session.log_out()
    t = translator(session.lang)
    session.set_flash(t("logged_out"))
    return RedirectResponse("/web/login", status_code=303)


@router.get("/web/")
def dashboard(request: Request, user: WebUser, engine: EngineDep) -> Response:
    if user.role == "cashier":  # a cashier's work is the till (issue 18), not the books
        return RedirectResponse("/till/", status_code=303)
    if user.role == "community" and user.scope_org_id is not None:
        return _community_home(request, user, engine, user.scope_org_id)
    with read_tx(engine) as conn:
        visible = user.visible_orgs(conn)
        orgs = [
            get_org(conn, org_id) for org_id in sorted(visible if visible is not None else all_org_ids(conn))
        ]
        rows = _org_rows(conn, user, orgs)
    return render(
        request,
        "dashboard.html",
        user=user,
        rows=rows,
        columns=[(key, kind) for key, _fn, kind in WORKFLOW_COLUMNS],
        rollup_org=user.scope_org_id if user.role == "officer" else None,
    )


DISCLOSURE_MONTHS = 12  # the 财务公开榜 form offers this many recent months, and their quarters


def _recent_periods(latest: str) -> tuple[list[str], list[str]]:
    """The ``DISCLOSURE_MONTHS`` months up to ``latest`` (newest first) and the quarters they fall in."""
    months = [latest]
    for _ in range(DISCLOSURE_MONTHS - 1):
        months.append(periods.previous_period(months[-1]))
    quarters = list(dict.fromkeys(f"{m[:4]}-Q{(int(m[5:]) - 1) // 3 + 1}" for m in months))
    return months, quarters


def _community_home(request: Request, user: Principal, engine: Any, org_id: int) -> Response:
    """A community's own view: its books read-only — its statements, 财务公开榜 by month or quarter, its
    rent roll and its welfare posts — under its own name, not the street's workbench."""
    with read_tx(engine) as conn:
        org = user.require_org(conn, org_id)
        if org.standard is None:
            raise StarletteHTTPException(404)
        through = periods.closed_through(conn, org_id)
        latest = latest_period(conn, [org_id], not_after=current_period()) or current_period()
        posts = [welfare.get_post(conn, org_id, i) for i in welfare.post_ids(conn, org_id)]
        owed = {p.id: welfare.stipend_owed(conn, p.id) for p in posts}
        rows = rentroll.rent_roll(conn, [org_id], county_time.today())
        totals = rentroll.roll_totals(rows)
        specs = [s for s in registry.reports_for(org) if not s.options]
    months, quarters = _recent_periods(latest)
    lang = session_of(request).lang
    return render(
        request,
        "community.html",
        user=user,
        org=org,
        closed_through=through,
        period=latest,
        months=months,
        quarters=quarters,
        reports=[
            {"name": s.name, "title": s.title_en if lang == "en" else s.file_title(org.standard, "zh")}
            for s in specs
            if s.name != "disclosure"
        ],
        has_disclosure=any(s.name == "disclosure" for s in specs),
        posts=[
            {
                "post": p.post,
                "holder": p.holder,
                "monthly": p.monthly_stipend_fen,
                "start": p.start_date.isoformat(),
                "end": p.end_date.isoformat() if p.end_date else "",
                "owed": owed[p.id],
            }
            for p in posts
        ],
        contracts=len(rows),
        rent_totals=totals,
    )


@router.get("/web/orgs/{org_id}")
def org_page(
    request: Request, org_id: int, user: WebUser, engine: EngineDep, period: str | None = None
) -> Response:
    return _org_page(request, user, engine, org_id, period)


def _org_page(
    request: Request,
    user: Principal,
    engine: Any,
    org_id: int,
    period: str | None,
    *,
    error: FormRefused | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    with read_tx(engine) as conn:
        org = user.require_org(conn, org_id)  # 404 outside the user's scope
        if org.standard is None:
            raise StarletteHTTPException(404)
        through = periods.closed_through(conn, org_id)
        to_close = _period_to_close(conn, org_id, through)
        closing_first = periods.open_months_before(conn, org_id, to_close)  # the form names them: no surprise
        shown = month_param(conn, org_id, period) if period else to_close  # in the org's years
        tb = trial_balance(conn, org_id, shown, None)
    rows = [
        {
            "code": r.code,
            "name": r.name,
            "level": r.level,
            "opening": abs(r.opening_fen),
            "opening_side": "平" if r.opening_fen == 0 else ("借" if r.opening_fen > 0 else "贷"),
            "debit": r.debit_fen,
            "credit": r.credit_fen,
            "closing": abs(r.closing_fen),
            "side": r.side,
        }
        for r in tb
        if r.opening_fen or r.debit_fen or r.credit_fen or r.closing_fen
    ]
    top = [r for r in tb if r.level == 1]
    return render(
        request,
        "org.html",
        error.status_code if error else 200,
        user=user,
        org=org,
        period=shown,
        closed_through=through,
        is_closed=through is not None and shown <= through,
        to_close=to_close,
        closing_first=closing_first,
        rows=rows,
        total_debit=sum(r.debit_fen for r in top),
        total_credit=sum(r.credit_fen for r in top),
        can_write=user.role in ("admin", "officer"),
        error=error.view() if error else None,
        form=form or {},
    )


@router.post("/web/orgs/{org_id}/close")
def close_period(
    request: Request,
    org_id: int,
    user: WebUser,
    engine: EngineDep,
    period: Annotated[str, Form(max_length=40)],
    including: Annotated[str, Form(max_length=240)] = "",
    form_key: FormKey = None,
) -> Response:
    # ``including``: the earlier open months the form listed and the officer confirmed
    named = [m.strip() for m in including.split(",") if m.strip()]
    try:
        answer = carry(
            request, user, engine, bookkeeping.close_period(user, org_id, period, including=named), form_key
        )
    except LedgerError as exc:
        error = refused(request, exc, "close", {"period": "period", "including": "period"})
        return _org_page(request, user, engine, org_id, None, error=error, form={"period": period})
    closed = answer.get("closed") if isinstance(answer, dict) else None
    t = translator(session_of(request).lang)
    session_of(request).set_flash(t("closed_ok", period="、".join(closed or [period])))
    return RedirectResponse(f"/web/orgs/{org_id}?" + urlencode({"period": period}), status_code=303)


# ---- bank and payment statements (ledger.reconcile) ---------------------------------------------------
