"""Posting by rule: an unmatched statement line becomes an entry by a rule, matched to it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from ledger.books.errors import Conflict, NotFound, ValidationError
from ledger.books.orgs import get_org, require_books
from ledger.books.posting import Draft, Line, post_entries
from ledger.reconcile.matching.decisions import get_statement_line, resolve_posting_account
from ledger.reconcile.matching.loading import matched_ids, parse_statement_time
from ledger.reconcile.matching.match_rows import reasons_json, write_matches
from ledger.reconcile.matching.records import Reason
from ledger.reconcile.matching.rulebook import rules
from ledger.reconcile.matching.tables import line_t
from ledger.reconcile.store import get_statement_account


@dataclass(frozen=True)
class RulePosting:
    match_id: int
    entry_id: int
    voucher_no: str
    rule: str
    created: bool


def post_by_rule(
    conn: Connection,
    org_id: int,
    statement_line_id: int,
    user_id: int | None = None,
    *,
    rule_name: str | None = None,
) -> RulePosting:
    """Turn an unmatched statement line into an entry by a rule (银行手续费 → 5603 / 513) and match them.

    Idempotent per statement line: the entry's idempotency key is the line's, so a retry returns the
    original entry, and a line already matched is a conflict.
    """
    line = get_statement_line(conn, org_id, statement_line_id)
    account = get_statement_account(conn, org_id, line.statement_account_id, lock=True)
    standard = require_books(get_org(conn, org_id))
    s_done, _ = matched_ids(conn, org_id)
    if line.id in s_done:
        raise Conflict(f"statement line {line.id} is already matched", field="statement_line")
    candidates = rules()
    if rule_name is not None:
        chosen = next((r for r in candidates if r.name == rule_name), None)
        if chosen is None:
            raise NotFound(f"no rule {rule_name!r}", field="rule")
        if not chosen.applies(line):
            raise ValidationError(f"rule {rule_name!r} does not fit this line", field="rule")
    else:
        chosen = next((r for r in candidates if r.applies(line)), None)
        if chosen is None:
            raise ValidationError("no rule fits this line; post an entry by hand", field="rule")
    if standard not in chosen.accounts:
        raise ValidationError(f"rule {chosen.name!r} has no account for {standard} books", field="rule")
    other = resolve_posting_account(conn, org_id, chosen.accounts[standard], chosen.sub_account)
    amount = abs(line.amount_fen)
    memo = f"{chosen.label} {line.memo}".strip()[:200]
    if line.amount_fen < 0:
        lines = [
            Line(other, debit_fen=amount, memo=memo),
            Line(account.ledger_account, credit_fen=amount, memo=memo),
        ]
    else:
        lines = [
            Line(account.ledger_account, debit_fen=amount, memo=memo),
            Line(other, credit_fen=amount, memo=memo),
        ]
    draft = Draft(
        org_id=org_id,
        entry_date=parse_statement_time(line.occurred_at).date(),
        memo=memo,
        lines=lines,
        source="import",
        source_ref=(line.reference or f"stmt:{line.id}")[:128],
        idempotency_key=f"statement-line:{line.id}",
    )
    posted = post_entries(conn, [draft], user_id=user_id)[0]
    book_line_no = 2 if line.amount_fen < 0 else 1
    book_line = conn.execute(
        select(line_t.c.id).where(line_t.c.entry_id == posted.id, line_t.c.line_no == book_line_no)
    ).scalar_one()
    reasons = [Reason("rule", 0, {"label": chosen.label, "name": chosen.name})]
    match_id = write_matches(
        conn,
        org_id,
        account.id,
        [
            {
                "status": "confirmed",
                "kind": "rule",
                "score": 100,
                "conflict": False,
                "reasons": reasons_json(reasons),
                "entry_id": posted.id,
                "created_by": user_id,
            }
        ],
        [[("statement", line.id, None, line.amount_fen), ("book", None, book_line, line.amount_fen)]],
    )[0]
    return RulePosting(match_id, posted.id, posted.voucher_no, chosen.name, posted.created)
