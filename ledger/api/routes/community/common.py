"""What the community's routes share: strict request bodies, and an amount paid on a day."""

from datetime import date

from fastapi import APIRouter

from ledger.access.messages import Amount, RequestModel


def community_router() -> APIRouter:
    return APIRouter(prefix="/api/v1", tags=["community"])


Strict = RequestModel  # unknown fields refused; dates in the books' years (ledger.access.messages)


class MoneyIn(Strict):
    amount: Amount
    date: date
    cash_account: str = "102"
