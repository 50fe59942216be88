"""Public-welfare posts (公益性岗位): register, list, end; the stipend run and one post's month; payments to
a holder; facility spending (公益设施)."""

from datetime import date
from typing import Annotated

from fastapi import Query
from fastapi.responses import JSONResponse
from pydantic import Field

from ledger.access.messages import Amount
from ledger.api.deps import CurrentUser, EngineDep
from ledger.api.fields import record_from
from ledger.api.routes.community.common import MoneyIn, Strict, community_router
from ledger.api.writes import Door
from ledger.community import services, welfare
from ledger.community.messages import EntryRef, PostOut, StipendRunOut, post_out
from ledger.db.engine import read_tx

router = community_router()


class PostIn(Strict):
    post: str = Field(min_length=1, max_length=32, description="保洁员, 护路员, 治安巡逻员, 社区服务专干 …")
    holder: str = Field(min_length=1, max_length=100)
    monthly_stipend: Amount
    start: date
    end: date | None = None


@router.post("/orgs/{org_id}/welfare-posts", response_model=PostOut, status_code=201)
def create_post_route(org_id: int, body: PostIn, door: Door) -> JSONResponse:
    """Register a public-welfare post (公益性岗位) and its holder."""
    write = services.add_post(door.user, org_id, record_from(welfare.NewPost, body))
    return door.respond(write, body)


@router.get("/orgs/{org_id}/welfare-posts", response_model=list[PostOut])
def list_posts_route(org_id: int, user: CurrentUser, engine: EngineDep) -> list[PostOut]:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        return [post_out(conn, org_id, pid) for pid in welfare.post_ids(conn, org_id)]


class EndPostIn(Strict):
    end: date


@router.post("/orgs/{org_id}/welfare-posts/{post_id}/end", response_model=PostOut)
def end_post_route(org_id: int, post_id: int, body: EndPostIn, door: Door) -> JSONResponse:
    write = services.end_post(door.user, org_id, post_id, last_day=body.end)
    return door.respond(write, body)


@router.post("/orgs/{org_id}/welfare-posts/stipends", response_model=StipendRunOut)
def stipend_run_route(
    org_id: int, door: Door, through: Annotated[str, Query(description="YYYY-MM")]
) -> JSONResponse:
    """The monthly stipend run of an org or a street (idempotent per post and month)."""
    return door.respond(services.stipends(door.user, org_id, through))


class StipendIn(Strict):
    period: str


@router.post("/orgs/{org_id}/welfare-posts/{post_id}/stipends", response_model=StipendRunOut, status_code=201)
def post_stipend_route(org_id: int, post_id: int, body: StipendIn, door: Door) -> JSONResponse:
    """One post's stipend for one month (refused for a month the post is not held)."""
    write = services.post_stipend(door.user, org_id, post_id, body.period)
    return door.respond(write, body)


class PaymentIn(Strict):
    amount: Amount | None = Field(default=None, description="default: all that is owed")
    date: date
    cash_account: str = "102"


@router.post("/orgs/{org_id}/welfare-posts/{post_id}/payments", response_model=EntryRef, status_code=201)
def pay_stipend_route(org_id: int, post_id: int, body: PaymentIn, door: Door) -> JSONResponse:
    write = services.pay_stipend(
        door.user,
        org_id,
        post_id,
        amount_fen=body.amount,
        paid_on=body.date,
        cash_account=body.cash_account,
        idempotency_key=door.key,
    )
    return door.respond(write, body)


class FacilityIn(MoneyIn):
    memo: str = Field(min_length=1, max_length=500)


@router.post("/orgs/{org_id}/welfare-facilities", response_model=EntryRef, status_code=201)
def facility_route(org_id: int, body: FacilityIn, door: Door) -> JSONResponse:
    """公益设施 spending: Dr 51402 / Cr 102."""
    write = services.facility(
        door.user,
        org_id,
        amount_fen=body.amount,
        spent_on=body.date,
        memo=body.memo,
        cash_account=body.cash_account,
        idempotency_key=door.key,
    )
    return door.respond(write, body)
