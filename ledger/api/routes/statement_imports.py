"""Statement imports over HTTP: list an account's imports, see an import's lines, void a wrong import.

Thin: reads call ``ledger.reconcile.voids``; the void is ``ledger.reconcile.services.void_import`` carried
out by the one write path (an officer or admin of the street; scope, key, write, audit). A void is final
and is itself the record: voiding again is a 409, never a second void.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from ledger.api.deps import CurrentUser, EngineDep, IdempotencyKey
from ledger.api.routes.reconcile import _save_upload
from ledger.api.writes import respond
from ledger.db.engine import read_tx
from ledger.reconcile import services, voids
from ledger.reconcile.importers import StatementParseError, parse_statement

router = APIRouter(prefix="/api/v1", tags=["reconcile"])


class VoidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, description="why the import is taken back")


class VoidOut(BaseModel):
    import_id: int
    statement_account_id: int
    file_name: str
    line_count: int
    withdrawn: int
    reason: str


class ImportRecordOut(BaseModel):
    id: int
    statement_account_id: int
    file_name: str
    sha256: str
    source: str
    encoding: str
    line_count: int
    new_count: int
    imported_by: int | None
    imported_at: Any
    file_account_no: str
    account_override: str
    voided: bool
    void_reason: str | None
    voided_by: int | None
    voided_at: Any


@router.get("/orgs/{org_id}/statement-accounts/{account_id}/imports", response_model=list[ImportRecordOut])
def list_imports_route(org_id: int, account_id: int, user: CurrentUser, engine: EngineDep) -> list[Any]:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        rows = voids.list_imports(conn, org_id, account_id)
    return [ImportRecordOut(**{k: r[k] for k in ImportRecordOut.model_fields}) for r in rows]


@router.get("/orgs/{org_id}/statement-imports/{import_id}/lines", response_model=list[dict[str, Any]])
def import_lines_route(org_id: int, import_id: int, user: CurrentUser, engine: EngineDep) -> list[Any]:
    """Every line the import added, voided or not, amounts in fen as stored."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        rows = voids.import_lines(conn, org_id, import_id)
    return [{**r, "occurred_at": str(r["occurred_at"])} for r in rows]


@router.post("/orgs/{org_id}/statement-imports/{import_id}/void", response_model=VoidOut, status_code=201)
def void_import_route(
    org_id: int,
    import_id: int,
    body: VoidIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> Response:
    """作废导入 through the one write path (scope, key, write, audit); a retry under the same
    ``Idempotency-Key`` gets the first answer back, a second void without one is a 409."""
    write = services.void_import(user, org_id, import_id, reason=body.reason)
    return respond(engine, user, request, key, write)


@router.post("/orgs/{org_id}/statements/problems.csv", response_class=Response)
def statement_problems_route(
    org_id: int,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    file: Annotated[UploadFile, File()],
    source: Annotated[str | None, Form()] = None,
) -> Response:
    """Every problem of a statement file as CSV (line, column, message), for a file whose upload was
    refused with more problems than the 422 lists. Parses only; stores nothing. A file without problems
    gives the header row alone."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id, write=True)
    problems: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cunshe-upload-") as tmp:
        path = _save_upload(file, request.app.state.settings.max_upload_bytes, Path(tmp))
        try:
            parse_statement(path, source, file_name=file.filename or "statement")
        except StatementParseError as exc:
            problems = exc.problems
            if exc.problem_count > len(problems):
                more = exc.problem_count - len(problems)
                problems = [*problems, {"line": None, "column": None, "message": f"and {more} more"}]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "column", "message"])
    writer.writerows([p["line"] or "", p["column"] or "", p["message"]] for p in problems)
    return Response(
        ("\ufeff" + out.getvalue()).encode("utf-8"),  # with a BOM, so that Excel reads the Chinese
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="problems.csv"'},
    )
