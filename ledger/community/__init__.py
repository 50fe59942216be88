"""The community's own business (村集体经营): assets, leases, brokerage, subsidies, stakes, welfare posts.

A community or village collective (社区股份经济合作社) earns from its assets (资产台账, leased out under
承包 / 租赁 contracts), from brokerage (居间服务), from subsidies (补助收入) and from its stakes in the joint
company (参股分红), and pays its public-welfare posts (公益性岗位). This package keeps the registers of those
things (``models``) and turns each event into journal entries through ``ledger.books.posting.post_entries`` —
the only way anything is written to the books; it never writes a journal row itself.

Its sub-ledgers are tied to the books and checked by ``cunshe verify`` (``checks``): the open lease
charges less receipts equal each lease contract's 112 应收款 balance. A month cannot close while a lease
contract's rent or a welfare post's stipend for it has not been posted.

Sub-accounts opened on first use (DESIGN §5b): 501 → 50102 租赁收入, 50103 居间服务收入; 211 → 21101 押金;
514 → 51401 公益性岗位, 51402 公益设施. 503 补助收入 stays a leaf: the subsidy's source (工作经费 …) is
kept in the subsidy register and the line memo, because a sub-account cannot be opened under an account
that already has postings, and the source list is open-ended.
"""

from ledger.community import checks as _checks  # noqa: F401  (registers the verify and close checks)
from ledger.community.leases import contracts as _leases  # noqa: F401  (registers what a lease voucher's reversal records)
