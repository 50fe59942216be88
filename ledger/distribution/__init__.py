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

Decisions a reviewer should know (details in each module's docstring):

* The year close needs every open month's sources posted (the ``register_close_check`` registry) and
  the previous year closed; it posts one entry per step (``close:{year}:income|profit|transfers``).
* Reserve and earmark rates apply to the year's income after covering prior losses; a shareholders' or
  members' rate applies to what is still distributable after the steps before it (``plans``).
* The statutory reserve is exactly 10 % (Company Law art. 210), cut at 50 % of registered capital.
* The shareholder's side of a dividend is ``ledger.community.stakes.dividend_receivable_draft``; of paid-in
  capital, ``ledger.community.stakes.record_stake`` (``cunshe verify`` ties both to ``shareholding``).
* An execution is booked on 31 December, or on the resolution date when that is later.

This package writes only through ``ledger.books.posting.post_entries``; it never writes a journal row itself,
and never edits an entry: a wrong close or plan is reversed (红字冲销) and done again.
"""

from ledger.distribution import checks as _checks  # noqa: F401  (registers the verify ties)
