"""Statement imports over HTTP: list an account's imports, see an import's lines, void a wrong import.

Thin: reads call ``ledger.reconcile.voids``; the void is ``ledger.reconcile.services.void_import`` carried
out by the one write path (an officer or admin of the street; scope, key, write, audit). A void is final
and is itself the record: voiding again is a 409, never a second void.
"""

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from ledger.api.deps import CurrentUser, EngineDep
from ledger.api.fields import from_row
from ledger.api.writes import Door
from ledger.db.engine import read_tx
from ledger.reconcile import services, voids

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
    return [from_row(ImportRecordOut, r) for r in rows]


@router.get("/orgs/{org_id}/statement-imports/{import_id}/lines", response_model=list[dict[str, Any]])
def import_lines_route(org_id: int, import_id: int, user: CurrentUser, engine: EngineDep) -> list[Any]:
    """Every line the import added, voided or not, amounts in fen as stored."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        rows = voids.import_lines(conn, org_id, import_id)
    return [{**r, "occurred_at": str(r["occurred_at"])} for r in rows]


@router.post("/orgs/{org_id}/statement-imports/{import_id}/void", response_model=VoidOut, status_code=201)
def void_import_route(org_id: int, import_id: int, body: VoidIn, door: Door) -> Response:
    """作废导入 through the one write path (scope, key, write, audit); a retry under the same
    ``Idempotency-Key`` gets the first answer back, a second void without one is a 409."""
    write = services.void_import(door.user, org_id, import_id, reason=body.reason)
    return door.respond(write, body)
