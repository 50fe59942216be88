"""ledger core: SQLite's entry guard checks its lines in one pass; the line guard only refuses late lines

Revision ID: 0003_core
Revises: 0002_core
Create Date: 2026-12-02

The guards refuse what they refused before (DESIGN §3), at less cost per row on SQLite:

- ``journal_entry_check`` reads the entry's lines once, joined to their accounts, into one aggregate, and
  raises the first rule broken, in the order and with the messages of 0001_core; it had run six scans
  of the lines. The checks of the accounts (closed, or a summary account with sub-accounts) move here
  from the line trigger, and it also refuses an account of another org (0001 left that to the foreign
  key alone). Every line reaches this check: lines go in before their entry, a line without an entry
  fails the deferred foreign key at commit, and a line after its entry is refused by the line guard.
- ``journal_line_check`` refuses a line added to a posted entry, one primary-key lookup per line.

PostgreSQL keeps its guards of 0001_core (one aggregate already).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_core"
down_revision: str | Sequence[str] | None = "0002_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ENTRY_GUARD = """CREATE TRIGGER journal_entry_check BEFORE INSERT ON journal_entry
BEGIN
    SELECT CASE
        WHEN d <> c THEN RAISE(ABORT, 'unbalanced_entry: debits and credits differ')
        WHEN n < 2 OR n <> NEW.line_count
            THEN RAISE(ABORT, 'unbalanced_entry: an entry needs at least two lines')
        WHEN d <> NEW.total_fen THEN RAISE(ABORT, 'unbalanced_entry: total does not match the lines')
        WHEN foreign_lines THEN RAISE(ABORT, 'account_not_postable: a line belongs to another org or period')
        WHEN negative AND NEW.reverses_id IS NULL
            THEN RAISE(ABORT, 'unbalanced_entry: negative amounts only in a reversal')
        WHEN not_postable THEN RAISE(ABORT, 'account_not_postable: closed or summary account')
        WHEN EXISTS (SELECT 1 FROM period WHERE org_id = NEW.org_id AND period = NEW.period
                     AND status = 'closed') THEN RAISE(ABORT, 'period_closed: the period is closed')
        WHEN substr(NEW.entry_date, 1, 7) <> NEW.period
            THEN RAISE(ABORT, 'invalid: entry date outside its period')
    END
    FROM (
        SELECT COUNT(*) AS n,
               COALESCE(SUM(line.debit_fen), 0) AS d,
               COALESCE(SUM(line.credit_fen), 0) AS c,
               MAX(line.org_id <> NEW.org_id OR line.period <> NEW.period
                   OR account.org_id <> NEW.org_id) AS foreign_lines,
               MAX(line.debit_fen < 0 OR line.credit_fen < 0) AS negative,
               MAX(account.is_closed
                   OR EXISTS (SELECT 1 FROM account AS child WHERE child.parent_id = account.id)) AS not_postable
        FROM journal_line AS line JOIN account ON account.id = line.account_id
        WHERE line.entry_id = NEW.id
    );
END"""

LINE_GUARD = """CREATE TRIGGER journal_line_check BEFORE INSERT ON journal_line
BEGIN
    SELECT RAISE(ABORT, 'immutable: lines cannot be added to a posted entry')
    WHERE EXISTS (SELECT 1 FROM journal_entry WHERE id = NEW.entry_id);
END"""

# 0001_core's two guards, for the downgrade.
OLD_ENTRY_GUARD = """CREATE TRIGGER journal_entry_check BEFORE INSERT ON journal_entry
    BEGIN
        SELECT RAISE(ABORT, 'unbalanced_entry: debits and credits differ')
        WHERE (SELECT COALESCE(SUM(debit_fen), 0) - COALESCE(SUM(credit_fen), 0)
               FROM journal_line WHERE entry_id = NEW.id) <> 0;
        SELECT RAISE(ABORT, 'unbalanced_entry: an entry needs at least two lines')
        WHERE (SELECT COUNT(*) FROM journal_line WHERE entry_id = NEW.id) < 2
           OR (SELECT COUNT(*) FROM journal_line WHERE entry_id = NEW.id) <> NEW.line_count;
        SELECT RAISE(ABORT, 'unbalanced_entry: total does not match the lines')
        WHERE (SELECT COALESCE(SUM(debit_fen), 0) FROM journal_line WHERE entry_id = NEW.id) <> NEW.total_fen;
        SELECT RAISE(ABORT, 'account_not_postable: a line belongs to another org or period')
        WHERE EXISTS (SELECT 1 FROM journal_line WHERE entry_id = NEW.id
                      AND (org_id <> NEW.org_id OR period <> NEW.period));
        SELECT RAISE(ABORT, 'unbalanced_entry: negative amounts only in a reversal')
        WHERE NEW.reverses_id IS NULL AND EXISTS (SELECT 1 FROM journal_line WHERE entry_id = NEW.id
                                                 AND (debit_fen < 0 OR credit_fen < 0));
        SELECT RAISE(ABORT, 'period_closed: the period is closed')
        WHERE EXISTS (SELECT 1 FROM period WHERE org_id = NEW.org_id AND period = NEW.period
                      AND status = 'closed');
        SELECT RAISE(ABORT, 'invalid: entry date outside its period')
        WHERE substr(NEW.entry_date, 1, 7) <> NEW.period;
    END"""

OLD_LINE_GUARD = """CREATE TRIGGER journal_line_check BEFORE INSERT ON journal_line
    BEGIN
        SELECT RAISE(ABORT, 'immutable: lines cannot be added to a posted entry')
        WHERE EXISTS (SELECT 1 FROM journal_entry WHERE id = NEW.entry_id);
        SELECT RAISE(ABORT, 'account_not_postable: closed or summary account')
        WHERE EXISTS (SELECT 1 FROM account WHERE id = NEW.account_id AND is_closed)
           OR EXISTS (SELECT 1 FROM account WHERE parent_id = NEW.account_id);
    END"""


def _replace_guards(entry_guard: str, line_guard: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS journal_entry_check")
    op.execute("DROP TRIGGER IF EXISTS journal_line_check")
    op.execute(entry_guard)
    op.execute(line_guard)


def upgrade() -> None:
    _replace_guards(ENTRY_GUARD, LINE_GUARD)


def downgrade() -> None:
    _replace_guards(OLD_ENTRY_GUARD, OLD_LINE_GUARD)
