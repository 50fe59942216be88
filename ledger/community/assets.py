"""资产台账: the asset register of a community or village, and the idle assets of a street.

An asset is ``collective`` (集体自有) or ``state_entrusted`` (国有委托代管, held for an entrusting body that
must be named). Its status is ``idle``, ``leased`` or ``own_use``; lease contracts set ``leased`` and
termination sets it back to ``idle`` (``ledger.community.leases.contracts``). The register posts nothing: an
asset's book value is the bookkeeper's record, its purchase or transfer is an ordinary entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from ledger.books.errors import NotFound, ValidationError
from ledger.books.orgs import now
from ledger.community.leases.contracts import require_collective
from ledger.community.models import ASSET_STATUSES, OWNERSHIPS, CommunityAsset
from ledger.db.models import Org
from ledger.db.rows import insert_id

asset_t = CommunityAsset.__table__
org_t = Org.__table__


@dataclass(frozen=True, kw_only=True)
class NewAsset:
    """An asset as it is entered in the register: what ``create_asset`` checks and stores."""

    kind: str
    name: str
    location: str = ""
    area_milli_m2: int = 0
    ownership: str = "collective"
    entrusting_body: str = ""
    book_value_fen: int = 0
    status: str = "idle"
    certificate_no: str = ""
    documents: str = ""


def create_asset(conn: Connection, org_id: int, asset: NewAsset) -> int:
    require_collective(conn, org_id)
    if not asset.kind.strip():
        raise ValidationError("say what kind of asset it is (房屋, 土地, 门面 …)", field="kind")
    if not asset.name.strip():
        raise ValidationError("an asset needs a name", field="name")
    if asset.ownership not in OWNERSHIPS:
        raise ValidationError(f"ownership is one of {', '.join(OWNERSHIPS)}", field="ownership")
    if asset.ownership == "state_entrusted" and not asset.entrusting_body.strip():
        raise ValidationError(
            "name the body that entrusted the state asset (委托方)", field="entrusting_body"
        )
    if asset.status not in ASSET_STATUSES:
        raise ValidationError(f"status is one of {', '.join(ASSET_STATUSES)}", field="status")
    if asset.area_milli_m2 < 0:
        raise ValidationError("the area must not be negative", field="area")
    if asset.book_value_fen < 0:
        raise ValidationError("the book value must not be negative", field="book_value")
    return insert_id(
        conn,
        asset_t,
        org_id=org_id,
        kind=asset.kind.strip(),
        name=asset.name.strip(),
        location=asset.location,
        area_milli_m2=asset.area_milli_m2,
        ownership=asset.ownership,
        entrusting_body=asset.entrusting_body.strip(),
        book_value_fen=asset.book_value_fen,
        status=asset.status,
        certificate_no=asset.certificate_no,
        documents=asset.documents,
        created_at=now(),
    )


def set_status(conn: Connection, org_id: int, asset_id: int, status: str) -> None:
    if status not in ASSET_STATUSES:
        raise ValidationError(f"status is one of {', '.join(ASSET_STATUSES)}", field="status")
    done = conn.execute(
        update(asset_t).where(asset_t.c.org_id == org_id, asset_t.c.id == asset_id).values(status=status)
    )
    if done.rowcount == 0:
        raise NotFound(f"no asset {asset_id} in this org", field="asset_id")


def list_assets(
    conn: Connection, org_ids: Sequence[int], *, status: str | None = None
) -> list[dict[str, Any]]:
    """Assets of the orgs (with the org's code and name), by org then id; ``status`` filters."""
    stmt = (
        select(asset_t, org_t.c.code.label("org_code"), org_t.c.name.label("org_name"))
        .join(org_t, org_t.c.id == asset_t.c.org_id)
        .where(asset_t.c.org_id.in_(list(org_ids)))
        .order_by(asset_t.c.org_id, asset_t.c.id)
    )
    if status is not None:
        if status not in ASSET_STATUSES:
            raise ValidationError(f"status is one of {', '.join(ASSET_STATUSES)}", field="status")
        stmt = stmt.where(asset_t.c.status == status)
    return [dict(r) for r in conn.execute(stmt).mappings()]
