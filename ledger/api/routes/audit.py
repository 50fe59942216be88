"""The audit log, read-only: who did what, when and from where. Officers read their street's; admins all."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from ledger.api.deps import CurrentUser, EngineDep
from ledger.api.fields import from_row
from ledger.books.orgs import subtree_ids
from ledger.db.engine import read_tx
from ledger.db.models import AuditLog, UserAccount

router = APIRouter(prefix="/api/v1", tags=["audit"])
audit_t = AuditLog.__table__
user_t = UserAccount.__table__


class AuditOut(BaseModel):
    id: int
    at: datetime
    user: str | None
    org_id: int | None
    action: str
    detail: str
    remote_addr: str | None


@router.get("/orgs/{org_id}/audit", response_model=list[AuditOut])
def audit_log(
    org_id: int,
    user: CurrentUser,
    engine: EngineDep,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before_id: int | None = None,
) -> list[AuditOut]:
    """The audit entries of an org and every org below it (a street's, for its officer), newest first."""
    user.require_role("admin", "officer")
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        orgs = subtree_ids(conn, org_id)
        stmt = (
            select(audit_t, user_t.c.username)
            .join(user_t, user_t.c.id == audit_t.c.user_id, isouter=True)
            .where(audit_t.c.org_id.in_(orgs))
            .order_by(audit_t.c.id.desc())
            .limit(limit)
        )
        if action:
            stmt = stmt.where(audit_t.c.action == action)
        if before_id:
            stmt = stmt.where(audit_t.c.id < before_id)
        rows = conn.execute(stmt).all()
    return [from_row(AuditOut, r, user=r.username) for r in rows]
