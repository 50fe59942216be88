"""The county's published figures, and how the demo splits them among its orgs.

Published for the county (fen):

* the 27 communities' collective income — 经营收入 (501) + 投资收益 (502) — ¥2,377,500.00;
* the 5 supermarkets' turnover — the companies' 营业收入 (5001 主营业务收入, net of VAT, as the 利润表 and the
  六进 channel-sales report show it) — ¥2,430,000.00;
* their profit — the companies' 净利润 (利润表 line 32, after the small low-profit enterprise's 5 % income
  tax) — ¥432,000.00;
* brokerage (居间服务) — the communities' 50103 居间服务收入 — ¥1,029,800.00.

The demo never writes these totals in and books no plug. It splits each one over the orgs by largest
remainder with fixed weights (the profit by the companies' turnover), generates the year's ordinary
activity, and sizes ordinary transactions so that what the books sum to is exactly the published figure:
a store's last basket of the year (weighed rice and vegetables), a company's December utility bill, a
community's last brokerage deal and its yearly yard contract. ``ledger.demo.figures`` reads the four back
from the reports.
"""

from __future__ import annotations

from ledger.books.money import allocate_largest_remainder

COLLECTIVE_INCOME_FEN = 237_750_000
SUPERMARKET_TURNOVER_FEN = 243_000_000
SUPERMARKET_PROFIT_FEN = 43_200_000
BROKERAGE_FEN = 102_980_000
WORK_FUNDS_MIN_FEN = 10_000_000  # each community gets at least ¥100,000 of 工作经费 a year


def split(total: int, weights: list[int]) -> list[int]:
    return allocate_largest_remainder(total, weights)
