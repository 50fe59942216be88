"""The asset register (资产台账): add, list, change an asset's status."""

from fastapi.responses import JSONResponse
from pydantic import Field

from ledger.access.messages import Amount, Quantity
from ledger.api.deps import CurrentUser, EngineDep
from ledger.api.fields import record_from
from ledger.api.routes.community.common import Strict, community_router
from ledger.api.writes import Door
from ledger.community import assets, services
from ledger.community.assets import NewAsset
from ledger.community.leases import contracts as leases
from ledger.community.messages import AssetOut, asset_out
from ledger.db.engine import read_tx

router = community_router()


class AssetIn(Strict):
    kind: str = Field(min_length=1, max_length=32, description="房屋, 土地, 门面, 厂房 …")
    name: str = Field(min_length=1, max_length=200)
    location: str = Field(default="", max_length=200)
    area: Quantity | None = Field(default=None, description="m², up to 3 decimals")
    ownership: str = Field(
        default="collective", description="collective (集体自有) | state_entrusted (国有委托代管)"
    )
    entrusting_body: str = Field(default="", max_length=200)
    book_value: Amount = 0
    status: str = "idle"
    certificate_no: str = Field(default="", max_length=128, description="确权 certificate number")
    documents: str = Field(default="", max_length=2000)


class StatusIn(Strict):
    status: str


@router.post("/orgs/{org_id}/assets", response_model=AssetOut, status_code=201)
def create_asset_route(org_id: int, body: AssetIn, door: Door) -> JSONResponse:
    """Add an asset to the register (资产台账)."""
    asset = record_from(NewAsset, body, area_milli_m2=body.area or 0)
    write = services.add_asset(door.user, org_id, asset)
    return door.respond(write, body)


@router.get("/orgs/{org_id}/assets", response_model=list[AssetOut])
def list_assets_route(
    org_id: int, user: CurrentUser, engine: EngineDep, status: str | None = None
) -> list[AssetOut]:
    """The register of an org, or of every collective org of a street; ``status=idle`` lists idle assets."""
    with read_tx(engine) as conn:
        org_ids = leases.collective_orgs_for(conn, user, org_id)
        return [asset_out(a) for a in assets.list_assets(conn, org_ids, status=status)]


@router.patch("/orgs/{org_id}/assets/{asset_id}", response_model=AssetOut)
def set_asset_status_route(org_id: int, asset_id: int, body: StatusIn, door: Door) -> JSONResponse:
    write = services.set_asset_status(door.user, org_id, asset_id, body.status)
    return door.respond(write, body)
