"""HTTP routes of a community's own business, one module a sub-workflow: ``assets`` (资产台账), ``leases``
(contracts, the accrual run, the rent roll, rent and deposits), ``welfare`` (公益性岗位, 公益设施),
``brokerage`` (居间服务), ``holdings`` (补助收入, 参股).

Thin: a write parses its body, calls its service in ``ledger.community.services`` (scope → key → write →
audit, the one the pages and the CLI call) and answers through its ``ledger.api.writes.Door``; a read checks
scope with ``Principal.require_org`` (an officer reaches the orgs of their street, a community user reads
its own) and answers a ``ledger.community.messages`` model. Where a route takes a street (or the county)
instead of a community, it covers every collective org below it that the caller may see: the accrual run,
the stipend run, the rent roll, the idle-asset list.
"""

from fastapi import APIRouter

from ledger.api.routes.community import assets, brokerage, holdings, leases, welfare

router = APIRouter()
for part in (assets, leases, welfare, brokerage, holdings):
    router.include_router(part.router)
