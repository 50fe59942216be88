"""The asset register (资产台账) as services: add an asset, change its status. The register posts nothing."""

from __future__ import annotations

from sqlalchemy import Connection

from ledger.access.auth import Principal
from ledger.access.service import Write
from ledger.community import assets
from ledger.community.assets import NewAsset
from ledger.community.messages import AssetOut, asset_out
from ledger.community.services.base import fields_of, on_collective


def _asset(conn: Connection, org_id: int, asset_id: int) -> AssetOut:
    return asset_out(next(a for a in assets.list_assets(conn, [org_id]) if a["id"] == asset_id))


def add_asset(actor: Principal, org_id: int, asset: NewAsset) -> Write[AssetOut]:
    """Add an asset to the org's register; answers the asset as the register lists it."""

    def run(conn: Connection) -> AssetOut:
        return _asset(conn, org_id, assets.create_asset(conn, org_id, asset))

    return on_collective(actor, org_id, "asset.create", asked=fields_of(asset), run=run, detail=asset.name)


def set_asset_status(actor: Principal, org_id: int, asset_id: int, status: str) -> Write[AssetOut]:
    """An asset becomes idle, leased or own_use."""

    def run(conn: Connection) -> AssetOut:
        assets.set_status(conn, org_id, asset_id, status)
        return _asset(conn, org_id, asset_id)

    detail = f"{asset_id}:{status}"
    return on_collective(
        actor, org_id, "asset.status", asked=[asset_id, status], run=run, detail=detail, status=200
    )
