"""A community's business as services: each returns the ``Write`` a door (the API, the pages, the CLI)
carries out with ``ledger.access.service.perform`` — scope, key, write, audit, in that order — and answers
in the API's JSON (``ledger.community.messages``; money as decimal strings), so a key used at one door is
answered identically at another.

By sub-workflow: ``assets`` (资产台账), ``leases`` (contracts, the accrual run, rent and deposits),
``welfare`` (公益性岗位, 公益设施), ``brokerage`` (居间服务), ``holdings`` (补助收入, 参股); ``base`` is the
scope and request they share.
"""

from ledger.community.services.assets import add_asset, set_asset_status
from ledger.community.services.brokerage import receive_fee, record_deal
from ledger.community.services.holdings import receive_subsidy, record_stake
from ledger.community.services.leases import (
    accrue,
    add_contract,
    receive_deposit,
    receive_rent,
    refund_deposit,
    supersede,
    terminate,
)
from ledger.community.services.welfare import (
    add_post,
    end_post,
    facility,
    pay_stipend,
    post_stipend,
    stipends,
)

__all__ = [
    "accrue",
    "add_asset",
    "add_contract",
    "add_post",
    "end_post",
    "facility",
    "pay_stipend",
    "post_stipend",
    "receive_deposit",
    "receive_fee",
    "receive_rent",
    "receive_subsidy",
    "record_deal",
    "record_stake",
    "refund_deposit",
    "set_asset_status",
    "stipends",
    "supersede",
    "terminate",
]
