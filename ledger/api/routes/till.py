"""What the browser till reads from the POS API (/api/v1/pos): its catalogue, a receipt, ESC/POS bytes.

Thin adapters over ``pos.till`` and ``pos.escpos``; the till's writes are the POS API's own (sales,
``sales:batch``, refunds, shifts), so a sale made in the browser is exactly one made by any other till.
"""

from fastapi import APIRouter, Path, Response

from ledger.api.deps import CurrentUser, EngineDep
from ledger.api.routes.pos import json_answer
from ledger.db.engine import read_tx
from pos import escpos, till

router = APIRouter(prefix="/api/v1/pos", tags=["pos"])


@router.get("/stores/{store_id}/till")
def till_data_route(store_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    """The till's offline copy: active products with pinyin initials, tax rates, customers, the open shift."""
    with read_tx(engine) as conn:
        return json_answer(till.till_data(conn, user, store_id))


@router.get("/stores/{store_id}/receipts/{code}")
def find_receipt_route(
    store_id: int, user: CurrentUser, engine: EngineDep, code: str = Path(min_length=1, max_length=128)
) -> Response:
    """A sale by its receipt number (or the idempotency key an offline receipt shows), with what remains
    refundable of each line."""
    with read_tx(engine) as conn:
        return json_answer(till.find_receipt(conn, user, store_id, code))


@router.get("/sales/{sale_id}/receipt.escpos")
def escpos_receipt_route(sale_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    """The 58 mm receipt as ESC/POS bytes (GB18030), for a thermal printer's raw queue."""
    with read_tx(engine) as conn:
        sale = till.get_receipt_sale(conn, user, sale_id)
    return Response(
        content=escpos.receipt_bytes(sale),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="receipt-{sale_id}.bin"'},
    )
