"""The tables the matching's database layer reads and writes."""

from __future__ import annotations

from ledger.db.models import Account, Counterparty, JournalEntry, JournalLine
from ledger.reconcile.models import ReconcileMatch, ReconcileMatchItem, StatementAccount, StatementLineRow

match_t = ReconcileMatch.__table__
item_t = ReconcileMatchItem.__table__
sline_t = StatementLineRow.__table__
saccount_t = StatementAccount.__table__
line_t = JournalLine.__table__
entry_t = JournalEntry.__table__
account_t = Account.__table__
cp_t = Counterparty.__table__
