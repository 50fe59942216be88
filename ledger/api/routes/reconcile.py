"""Reconciliation over HTTP: statement accounts, uploads, proposals, decisions, rule postings, outputs.

Thin: each route checks the caller's scope (an officer of the street writes; a community user reads its own
org; anyone else gets 404), calls ``ledger.reconcile`` in one transaction, audits writes, and returns
amounts as decimal strings. A write answers with its service's own JSON (``ledger.reconcile.services``),
the one a page or the CLI gets for the same key; the models here describe it for the OpenAPI document.
An upload is parsed before the write transaction starts (parsing a large file must not hold SQLite's
write lock) and stored all or nothing.
"""

import hashlib
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from ledger.access.auth import Principal
from ledger.access.messages import Day, MoneyOut, RequestModel
from ledger.api.deps import CurrentUser, EngineDep
from ledger.api.errors import PROBLEMS_SHOWN
from ledger.api.fields import fields_of, from_row
from ledger.api.periods import month_param
from ledger.api.writes import Door, WriteDoor
from ledger.books.errors import LedgerError, ValidationError
from ledger.books.money import format_amount
from ledger.books.orgs import require_books
from ledger.books.periods import period_bounds
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import IdempotencyRecord
from ledger.http import content_disposition
from ledger.reconcile import matching, outputs, refusals, services, store
from ledger.reconcile.importers import StatementParseError, parse_statement

router = APIRouter(prefix="/api/v1", tags=["reconcile"])

_CHUNK = 1 << 20
idem_t = IdempotencyRecord.__table__


class UploadTooLarge(ValidationError):
    """The uploaded file is larger than ``settings.max_upload_bytes``."""

    code = "upload_too_large"
    http_status = 413


Strict = RequestModel  # unknown fields refused; dates in the books' years (ledger.access.messages)


class StatementAccountIn(Strict):
    ledger_account: str = Field(min_length=1, max_length=32, description="e.g. 1002, 102, 101201")
    kind: Literal["bank", "wechat", "alipay"]
    name: str = Field(min_length=1, max_length=100)
    account_no: str = Field(default="", max_length=64)


class StatementAccountOut(BaseModel):
    id: int
    org_id: int
    ledger_account: str
    kind: str
    name: str
    account_no: str


class ImportOut(BaseModel):
    import_id: int
    statement_account_id: int
    source: str
    encoding: str
    file_name: str
    sha256: str
    line_count: int
    new_count: int
    duplicate_count: int
    file_account_no: str = ""
    account_override: str = ""


class StatementLineOut(BaseModel):
    id: int
    statement_account_id: int
    import_id: int
    source: str
    line_no: int
    occurred_at: Any
    amount: MoneyOut
    fee: MoneyOut
    balance: MoneyOut | None
    reference: str
    merchant_ref: str
    counterparty: str
    counterparty_account: str
    memo: str
    kind: str


@fields_of(matching.ProposeResult, leaving_out={"match_ids"})
class ProposeOut(BaseModel):
    pass


class ReasonOut(BaseModel):
    code: str
    text: str
    points: int


class MatchItemOut(BaseModel):
    role: str
    statement_line_id: int | None
    journal_line_id: int | None
    amount: MoneyOut


class MatchOut(BaseModel):
    id: int
    statement_account_id: int
    status: str
    kind: str
    score: int
    conflict: bool
    fee: MoneyOut
    note: str
    entry_id: int | None
    supersedes_id: int | None
    created_by: int | None
    created_at: Any
    reasons: list[ReasonOut]
    items: list[MatchItemOut]


class DecisionIn(Strict):
    note: str = Field(default="", max_length=500)


class ManualMatchIn(Strict):
    account: int
    statement_line_ids: list[int] = Field(min_length=1, max_length=1000)
    journal_line_ids: list[int] = Field(min_length=1, max_length=1000)
    note: str = Field(default="", max_length=500)


class RuleIn(Strict):
    rule: str | None = Field(default=None, max_length=64)


class RulePostingOut(BaseModel):
    match_id: int
    entry_id: int
    voucher_no: str
    rule: str


class TieOut(BaseModel):
    name: str
    label: str
    subledger: MoneyOut
    ledger: MoneyOut
    difference: MoneyOut
    details: list[dict[str, Any]]


def _match_out(m: dict[str, Any]) -> MatchOut:
    return from_row(
        MatchOut,
        m,
        conflict=bool(m["conflict"]),
        reasons=[ReasonOut(**r) for r in m["reasons"]],
        items=[from_row(MatchItemOut, i) for i in m["items"]],
    )


def _records(frame: Any) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict("records"):
        out.append({k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()})
    return out


# --------------------------------------------------------------------------------------------------------
# Statement accounts and uploads


@router.post("/orgs/{org_id}/statement-accounts", response_model=StatementAccountOut, status_code=201)
def create_statement_account_route(org_id: int, body: StatementAccountIn, door: Door) -> Response:
    write = services.create_statement_account(
        door.user,
        org_id,
        ledger_account=body.ledger_account,
        kind=body.kind,
        name=body.name,
        account_no=body.account_no,
    )
    return door.respond(write, body)


@router.get("/orgs/{org_id}/statement-accounts", response_model=list[StatementAccountOut])
def list_statement_accounts_route(
    org_id: int, user: CurrentUser, engine: EngineDep
) -> list[StatementAccountOut]:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        rows = store.list_statement_accounts(conn, org_id)
    return [from_row(StatementAccountOut, r) for r in rows]


def _save_upload(upload: UploadFile, limit: int, directory: Path) -> Path:
    """Copy the upload to ``directory`` (keeping its suffix: .xlsx / .xls / .csv), refusing past ``limit``."""
    suffix = Path(upload.filename or "statement").suffix.lower()[:8]
    path = directory / f"upload{suffix}"
    size = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                name = upload.filename or "the file"
                raise UploadTooLarge(f"{name} is larger than {limit} bytes", field="file")
            out.write(chunk)
    if size == 0:
        raise ValidationError("the file is empty", field="file")
    return path


@router.post("/orgs/{org_id}/statements", response_model=ImportOut, status_code=201)
def upload_statement_route(
    org_id: int,
    door: Door,
    file: Annotated[UploadFile, File()],
    account: Annotated[int, Form()],
    source: Annotated[str | None, Form()] = None,
    account_override: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Upload a bank / WeChat / Alipay statement into a statement account: every line or none.

    Lines already held (same key) are skipped; ``new_count`` says how many were added (200 if none).
    A plain (threadpool) route: parsing is CPU work and must not block the event loop.
    """
    with read_tx(door.engine) as conn:
        require_books(door.user.require_org(conn, org_id, write=True))
        store.get_statement_account(conn, org_id, account)
    limit = door.request.app.state.settings.max_upload_bytes
    file_name = file.filename or "statement"
    try:
        with tempfile.TemporaryDirectory(prefix="cunshe-upload-") as tmp:
            path = _save_upload(file, limit, Path(tmp))
            parsed = parse_statement(path, source, file_name=file_name)
            sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        write = services.import_statement(
            door.user,
            org_id,
            account,
            parsed,
            sha256=sha256,
            file_name=file_name,
            account_override=account_override,
        )
        # The body as the path-and-body fingerprint saw it; that version took no override, so a request
        # with one is not a retry of a request it stored.
        as_before = None if account_override else {"account": account, "source": source, "sha256": sha256}
        return door.respond(write, as_before)
    except LedgerError as exc:
        _keep_problems(door.engine, door.user, org_id, account, file_name, exc)
        raise


def _keep_problems(
    engine: Engine, user: Principal, org_id: int, account: int, file_name: str, exc: LedgerError
) -> None:
    """Where a refusal has more problems than its answer shows, keep them all (in a transaction of their
    own: the import's rolled back) and link the download from the answer (``problems_url``)."""
    if not isinstance(exc, StatementParseError):  # the one refusal that lists its problems
        return
    problems = exc.problems
    count = exc.problem_count
    if not problems or count <= PROBLEMS_SHOWN:
        return
    with write_tx(engine) as conn:
        token = refusals.keep_refusal(
            conn,
            org_id,
            account,
            file_name=file_name,
            problems=problems,
            problem_count=count,
            user_id=user.recorded_id,
        )
    exc.problems_url = f"/api/v1/orgs/{org_id}/statement-refusals/{token}.csv"


@router.get("/orgs/{org_id}/statement-refusals/{token}.csv")
def refusal_problems_route(org_id: int, token: str, user: CurrentUser, engine: EngineDep) -> Response:
    """Every problem of a refused statement file (line, column, message) as CSV, for a week after."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        file_name, data = refusals.refusal_csv(conn, org_id, token)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": content_disposition(
                "statement-problems.csv", f"{Path(file_name).stem}-problems.csv"
            )
        },
    )


@router.get("/orgs/{org_id}/statement-accounts/{account_id}/lines", response_model=list[StatementLineOut])
def statement_lines_route(
    org_id: int,
    account_id: int,
    user: CurrentUser,
    engine: EngineDep,
    unmatched: bool = False,
    period: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[StatementLineOut]:
    first = last = None
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        if period is not None:
            first, last = period_bounds(month_param(conn, org_id, period))
        store.get_statement_account(conn, org_id, account_id)
        rows = matching.statement_lines(
            conn, org_id, account_id, unmatched=unmatched, first=first, last=last, limit=limit, offset=offset
        )
    return [from_row(StatementLineOut, r) for r in rows]


# --------------------------------------------------------------------------------------------------------
# Matching


@router.post("/orgs/{org_id}/reconcile/propose", response_model=ProposeOut)
def propose_route(
    org_id: int,
    door: Door,
    account: int,
    period: str,
    window_days: Annotated[int, Query(ge=0, le=31)] = matching.DEFAULT_WINDOW_DAYS,
    auto_confirm_exact: bool = False,
) -> Response:
    """Propose matches for the period's unmatched statement lines (replacing open proposals)."""
    write = services.propose(
        door.user, org_id, account, period, window_days=window_days, auto_confirm_exact=auto_confirm_exact
    )
    return door.respond(write)


@router.get("/orgs/{org_id}/reconcile/matches", response_model=list[MatchOut])
def list_matches_route(
    org_id: int,
    user: CurrentUser,
    engine: EngineDep,
    account: int,
    status: Literal["proposed", "confirmed", "rejected"] | None = None,
    history: bool = False,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[MatchOut]:
    """Current matches of an account (``history=true``: every record, superseded ones too)."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        store.get_statement_account(conn, org_id, account)
        rows = matching.list_matches(
            conn, org_id, account, status=status, current_only=not history, limit=limit, offset=offset
        )
    return [_match_out(m) for m in rows]


@router.get("/orgs/{org_id}/reconcile/matches/{match_id}/history", response_model=list[dict[str, Any]])
def match_history_route(org_id: int, match_id: int, user: CurrentUser, engine: EngineDep) -> list[dict]:
    """Every record of one match, from the first proposal to the current decision."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        chain = matching.match_history(conn, org_id, match_id)
    return _money_strings([{**m, "reasons": matching.reasons_view(m["reasons"])} for m in chain])


def _decide(org_id: int, match_id: int, body: DecisionIn, door: WriteDoor, action: str) -> Response:
    write = services.decide(door.user, org_id, match_id, action, note=body.note)
    return door.respond(write, body)


@router.post("/orgs/{org_id}/reconcile/matches/{match_id}/confirm", response_model=MatchOut, status_code=201)
def confirm_route(org_id: int, match_id: int, door: Door, body: DecisionIn | None = None) -> Response:
    """Confirm a proposal (a new record that supersedes it). A settlement posts its entry."""
    return _decide(org_id, match_id, body or DecisionIn(), door, "confirm")


@router.post("/orgs/{org_id}/reconcile/matches/{match_id}/reject", response_model=MatchOut, status_code=201)
def reject_route(org_id: int, match_id: int, door: Door, body: DecisionIn | None = None) -> Response:
    """Reject a proposal, or undo a confirmed match (needs a note): a new record that supersedes it."""
    return _decide(org_id, match_id, body or DecisionIn(), door, "reject")


class BulkConfirmIn(Strict):
    ids: list[int] = Field(min_length=1, max_length=100_000)
    note: str = Field(default="", max_length=500)


class BulkConfirmOut(BaseModel):
    confirmed: int
    records: list[int]


@router.post("/orgs/{org_id}/reconcile/confirm", response_model=BulkConfirmOut, status_code=201)
def confirm_many_route(org_id: int, body: BulkConfirmIn, door: Door) -> Response:
    """Confirm several proposals at once, all or none (e.g. every exact match the officer has reviewed)."""

    write = services.confirm_many(door.user, org_id, body.ids, note=body.note)
    return door.respond(write, body)


@router.post("/orgs/{org_id}/reconcile/matches", response_model=MatchOut, status_code=201)
def manual_match_route(org_id: int, body: ManualMatchIn, door: Door) -> Response:
    """Match statement lines and journal lines by hand (their totals must be equal)."""

    write = services.manual_match(
        door.user, org_id, body.account, body.statement_line_ids, body.journal_line_ids, note=body.note
    )
    return door.respond(write, body)


@router.post(
    "/orgs/{org_id}/statement-lines/{line_id}/post-by-rule", response_model=RulePostingOut, status_code=201
)
def post_by_rule_route(org_id: int, line_id: int, door: Door, body: RuleIn | None = None) -> Response:
    """Turn an unmatched statement line into an entry by a rule (rules.toml) and match the two."""

    body = body or RuleIn()  # as the path-and-body fingerprint saw a request without one
    write = services.post_by_rule(door.user, org_id, line_id, body.rule)
    return door.respond(write, body)


@router.get("/reconcile/rules", response_model=list[dict[str, Any]])
def rules_route(user: CurrentUser) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "label": r.label,
            "memo": r.pattern.pattern,
            "direction": r.direction,
            "account": r.accounts,
        }
        for r in matching.rules()
    ]


# --------------------------------------------------------------------------------------------------------
# Outputs


@router.get("/orgs/{org_id}/reconcile/reconciliation-statement", response_model=None)
def reconciliation_statement_route(
    org_id: int,
    user: CurrentUser,
    engine: EngineDep,
    account: int,
    period: str,
    as_of: Day | None = None,
    format: Literal["json", "xlsx", "pdf", "html"] = "json",
) -> Any:
    """银行存款余额调节表: JSON (amounts as decimal strings), or XLSX / PDF / HTML via the report pipeline."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        rec = outputs.bank_reconciliation(conn, org_id, account, period, as_of=as_of)
        if format != "json":
            data = outputs.render_reconciliation(conn, rec, format)
            media = {
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "pdf": "application/pdf",
                "html": "text/html; charset=utf-8",
            }[format]
            name = f"reconciliation-{org_id}-{account}-{period}.{format}"
            return Response(
                data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
            )
    return _money_strings(rec.to_dict())


def _money_strings(doc: Any) -> Any:
    """``*_fen`` ints → decimal strings under the name without ``_fen`` (the API's money convention)."""
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for k, v in doc.items():
            if k.endswith("_fen") and isinstance(v, int) and not isinstance(v, bool):
                out[k[:-4]] = format_amount(v)
            elif k.endswith("_fen") and v is None:
                out[k[:-4]] = None
            else:
                out[k] = _money_strings(v)
        return out
    if isinstance(doc, list):
        return [_money_strings(v) for v in doc]
    return doc


@router.get("/orgs/{org_id}/reconcile/ties", response_model=list[TieOut])
def ties_route(org_id: int, user: CurrentUser, engine: EngineDep) -> list[TieOut]:
    """Sub-ledger ties (stock = 1405, leases = 112, customers = 1122), each with its differences."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        ties = outputs.subledger_ties(conn, org_id)
    return [from_row(TieOut, t, details=_money_strings(_records(outputs.tie_details(t)))) for t in ties]


@router.get("/orgs/{org_id}/reconcile/inter-org", response_model=list[dict[str, Any]])
def inter_org_route(org_id: int, user: CurrentUser, engine: EngineDep) -> list[dict[str, Any]]:
    """The company's payable per shareholder org against that org's receivable from the company."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        frame = outputs.inter_org(conn, org_id)
        visible = user.visible_orgs(conn)
    rows = _records(frame)
    if visible is not None:  # a shareholder outside the caller's scope is shown without its name
        rows = [r if r["org_id"] in visible else {**r, "org_name": ""} for r in rows]
    return _money_strings(rows)


@router.get("/orgs/{org_id}/reconcile/shift-cash", response_model=list[dict[str, Any]])
def shift_cash_route(
    org_id: int,
    user: CurrentUser,
    engine: EngineDep,
    store_id: int | None = None,
    business_date: Annotated[Day | None, Query(alias="date")] = None,
) -> list[dict[str, Any]]:
    """Per closed shift: expected cash, counted, variance (empty without the POS module)."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        frame = outputs.shift_cash(conn, org_id, store_id=store_id, business_date=business_date)
    rows = [{k: (None if v != v else v) for k, v in r.items()} for r in _records(frame)]  # NaN → None
    return _money_strings(rows)
