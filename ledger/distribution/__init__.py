"""Year-end close and profit distribution (年终结账与收益分配), DESIGN §6.

The pipeline, top down: shareholdings (``shareholders``) → year close (``yearend``: income and expense
into 本年收益 321 / 本年利润 3103, then into 收益分配 322 / 利润分配 3104) → a distribution plan
(``plans``: pure validation and dry run to the fen) → execution (``execute``: the org's entries and each
shareholder's Dr 112 / Cr 502, linked, in one transaction) → dividend payments → public-welfare funds
(``welfare_funds``) → the small-scale taxpayer's quarterly VAT exemption (``vat``).

Sub-accounts this package opens (``accounts``):

* ``small_enterprise``: 3104 利润分配 → 310401 提取法定盈余公积, 310402 提取任意盈余公积, 310403 应付利润,
  310404 未分配利润 (the textbook's 明细 of 利润分配); 3101 盈余公积 → 310101 法定盈余公积,
  310102 任意盈余公积. 3103 and 2232 stay leaves (2232 is sliced by the shareholder counterparty).
* ``collective`` (财会〔2023〕14号): 322 收益分配 → 32201 各项分配, 32202 未分配收益, 32203 其他转入
  (公积公益金 applied to public-welfare spending); 311 公积公益金 → 31101 公积金, 31102 公益性岗位,
  31103 公益设施 (DESIGN §6); 211 应付款 → 21102 应付收益分配 [member] (21101 is the leases' 押金).

Distribution entries debit the 分配 sub-accounts (310401–310403 / 32201); a second entry of the same
link (source ``close``) carries them into 未分配利润 / 未分配收益, as the closing voucher of the year does.

This package writes only through ``ledger.posting.post_entries``; it never writes a journal row itself.
"""

from ledger.distribution import checks as _checks  # noqa: F401  (registers the verify ties)
