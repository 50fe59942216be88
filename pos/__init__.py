"""The cashier system (POS) of the village–community joint supermarkets (村社联动超市), and only that.

Stores belong to a company; the catalogue, stock, customers and tax rates are the company's. A sale is a
POS record written in one short transaction (``pos.sales``); the books get ONE voucher per shift when the
cashier closes it (交班, ``pos.shifts``), posted through ``ledger.books.posting`` like every other entry.
Modules: ``models`` (tables), ``stores`` (who may touch which store), ``catalogue`` (products, tax rates,
customers, CSV/XLSX), ``stock`` (moving-average cost, purchases, counts, the 1405 tie), ``shifts``,
``sales`` (sales, refunds, offline batches, receipts), ``fastsql`` and ``writer`` (the hot path), ``api``
(HTTP), ``cli`` (``cunshe pos …``). Nothing here writes a journal entry except through ``post_entries``.
"""
