"""The asset register (资产台账) as services: add an asset, change its status. The register posts nothing."""

from __future__ import annotations

from sqlalchemy import Connection

from ledger.access.auth import Principal
from ledger.access.service import Write
from ledger.community import assets
from ledger.community.messages import AssetOut, asset_out
from ledger.community.services.base import on_collective


def _asset(conn: Connection, org_id: int, asset_id: int) -> AssetOut:
    return asset_out(next(a for a in assets.list_assets(conn, [org_id]) if a["id"] == asset_id))


def add_asset(
    actor: Principal,
    org_id: int,
    *,
    kind: str,
    name: str,
    location: str = "",
    area_milli_m2: int = 0,
    ownership: str = "collective",
    entrusting_body: str = "",
    book_value_fen: int = 0,
    status: str = "idle",
    certificate_no: str = "",
    documents: str = "",
) -> Write[AssetOut]:
    """Add an asset to the org's register; answers the asset as the register lists it."""

    def run(conn: Connection) -> AssetOut:
        asset_id = assets.create_asset(
            conn,
            org_id,
            kind=kind,
            name=name,
            location=location,
            area_milli_m2=area_milli_m2,
            ownership=ownership,
            entrusting_body=entrusting_body,
            book_value_fen=book_value_fen,
            status=status,
            certificate_no=certificate_no,
            documents=documents,
        )
        return _asset(conn, org_id, asset_id)

    asked = [kind, name, location, area_milli_m2, ownership, entrusting_body, book_value_fen, status]
    asked += [certificate_no, documents]
    return on_collective(actor, org_id, "asset.create", asked=asked, run=run, detail=name)


def set_asset_status(actor: Principal, org_id: int, asset_id: int, status: str) -> Write[AssetOut]:
    """An asset becomes idle, leased or own_use."""

    def run(conn: Connection) -> AssetOut:
        assets.set_status(conn, org_id, asset_id, status)
        return _asset(conn, org_id, asset_id)

    detail = f"{asset_id}:{status}"
    return on_collective(
        actor, org_id, "asset.status", asked=[asset_id, status], run=run, detail=detail, status=200
    )
