"""Reconciliation's state changes as services: each returns the ``Write`` that a door (the API, a page, the
CLI) carries out with ``ledger.access.service.perform`` — scope, key, write, audit, in that order.

A service names what the officer asked (its ``request``, hashed for retries), whose books it touches and who
may do it: an officer (or admin) of an org that keeps books. Its answer is the API's JSON (money as decimal
strings, times as ISO text; the shapes below), and that is what a retry at any door gets back: a key used
at the API and replayed by the CLI or a page (or the other way round) answers the same and writes once, so
no door reshapes an answer — the doors only render it (the API sends it, a page flashes from it, the CLI
prints from it), as ``ledger.community.services`` does.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Connection, select

from ledger.access.auth import Principal
from ledger.access.service import Write, org_write
from ledger.books.money import format_amount
from ledger.books.orgs import require_books
from ledger.books.periods import parse_period
from ledger.reconcile import matching, store, voids
from ledger.reconcile.importers import ParsedStatement


def _books_scope(actor: Principal, org_id: int) -> Any:
    return lambda conn: require_books(actor.require_org(conn, org_id, write=True))


def one_match(conn: Connection, org_id: int, match_id: int) -> dict[str, Any]:
    """A match record as the reviewer sees it: its pair or items, reasons and status."""
    row = conn.execute(
        select(matching.match_t).where(matching.match_t.c.id == match_id, matching.match_t.c.org_id == org_id)
    ).one()
    return matching.match_view(row, matching.match_items(conn, [row])[row.id])


# --------------------------------------------------------------------------------------------------------
# The answers: the API's JSON, whichever door carries the write out

STATEMENT_ACCOUNT_FIELDS = ("id", "org_id", "ledger_account", "kind", "name", "account_no")
PROPOSE_FIELDS = (
    "proposed",
    "auto_confirmed",
    "withdrawn",
    "statement_lines",
    "book_lines",
    "unmatched_statement_lines",
)


def statement_account_answer(row: Any) -> dict[str, Any]:
    return {k: row._mapping[k] for k in STATEMENT_ACCOUNT_FIELDS}


def import_answer(result: store.ImportResult) -> dict[str, Any]:
    return {**result.__dict__, "duplicate_count": result.duplicate_count}


def propose_answer(result: matching.ProposeResult) -> dict[str, Any]:
    return {k: getattr(result, k) for k in PROPOSE_FIELDS}


def match_answer(m: dict[str, Any]) -> dict[str, Any]:
    """A match record as the API shows it (``MatchOut``): fee and item amounts as decimal strings."""
    return {
        "id": m["id"],
        "statement_account_id": m["statement_account_id"],
        "status": m["status"],
        "kind": m["kind"],
        "score": m["score"],
        "conflict": bool(m["conflict"]),
        "fee": format_amount(m["fee_fen"]),
        "note": m["note"],
        "entry_id": m["entry_id"],
        "supersedes_id": m["supersedes_id"],
        "created_by": m["created_by"],
        "created_at": to_jsonable_python(m["created_at"]),  # as the API's models write a time: UTC is "Z"
        "reasons": [{"code": r["code"], "text": r["text"], "points": r["points"]} for r in m["reasons"]],
        "items": [
            {
                "role": i["role"],
                "statement_line_id": i["statement_line_id"],
                "journal_line_id": i["journal_line_id"],
                "amount": format_amount(i["amount_fen"]),
            }
            for i in m["items"]
        ],
    }


def rule_posting_answer(p: matching.RulePosting) -> dict[str, Any]:
    return {"match_id": p.match_id, "entry_id": p.entry_id, "voucher_no": p.voucher_no, "rule": p.rule}


# --------------------------------------------------------------------------------------------------------
# The writes


def create_statement_account(
    actor: Principal, org_id: int, *, ledger_account: str, kind: str, name: str, account_no: str = ""
) -> Write[Any]:
    """开设对账账户: a bank / WeChat Pay / Alipay account whose money is booked on ``ledger_account``."""
    args = {"ledger_account": ledger_account.strip(), "kind": kind, "name": name, "account_no": account_no}

    def run(conn: Connection) -> Any:
        account_id = store.create_statement_account(conn, org_id, **args)
        return store.get_statement_account(conn, org_id, account_id)

    return org_write(
        actor,
        org_id,
        "reconcile.account",
        run,
        scope=_books_scope(actor, org_id),
        answer=statement_account_answer,
        request={"statement_account": [org_id, args]},
        detail=name,
    )


def import_statement(
    actor: Principal,
    org_id: int,
    statement_account_id: int,
    parsed: ParsedStatement,
    *,
    sha256: str,
    file_name: str,
    account_override: str = "",
) -> Write[store.ImportResult]:
    """导入对账单: store a parsed statement's new lines, every line or none (parse before the write).

    A file of another account than the statement account's number is refused unless ``account_override``
    says why; the reason is kept on the import and in the audit row."""

    def scope(conn: Connection) -> None:
        require_books(actor.require_org(conn, org_id, write=True))
        store.get_statement_account(conn, org_id, statement_account_id)

    def run(conn: Connection) -> store.ImportResult:
        return store.store_statement(
            conn,
            org_id,
            statement_account_id,
            parsed,
            file_name=file_name,
            sha256=sha256,
            user_id=actor.recorded_id,
            account_override=account_override,
        )

    def detail(result: store.ImportResult) -> str:
        text = f"{result.file_name}: {result.new_count}/{result.line_count} new"
        if result.account_override:
            text += f"; account {result.file_account_no} overridden: {result.account_override}"
        return text

    request: list[Any] = [org_id, statement_account_id, parsed.source, sha256]
    if account_override:
        request.append(account_override)
    return org_write(
        actor,
        org_id,
        "reconcile.import",
        run,
        scope=scope,
        answer=import_answer,
        request={"import": request},
        detail=detail,
        status=lambda result: 201 if result.new_count else 200,
    )


def void_import(actor: Principal, org_id: int, import_id: int, *, reason: str) -> Write[voids.VoidResult]:
    """作废导入: an import none of whose lines is matched stops counting; the file may be imported again."""
    return org_write(
        actor,
        org_id,
        "reconcile.import.void",
        lambda conn: voids.void_import(conn, org_id, import_id, reason=reason, user_id=actor.recorded_id),
        scope=_books_scope(actor, org_id),
        answer=lambda result: dict(result.__dict__),
        request={"void_import": [org_id, import_id, reason]},
        detail=lambda r: f"import {import_id} ({r.file_name}, {r.line_count} lines): {r.reason}",
    )


def propose(
    actor: Principal,
    org_id: int,
    statement_account_id: int,
    period: str,
    *,
    window_days: int = matching.DEFAULT_WINDOW_DAYS,
    auto_confirm_exact: bool = False,
) -> Write[Any]:
    """提出匹配建议 for the period's unmatched statement lines (replacing open proposals)."""

    def run(conn: Connection) -> Any:
        parse_period(period)  # after the scope: an outsider is told 404 whatever it sends
        return matching.propose_matches(
            conn,
            org_id,
            statement_account_id,
            period,
            actor.recorded_id,
            window_days=window_days,
            auto_confirm_exact=auto_confirm_exact,
        )

    return org_write(
        actor,
        org_id,
        "reconcile.propose",
        run,
        scope=_books_scope(actor, org_id),
        answer=propose_answer,
        request={"propose": [org_id, statement_account_id, period, window_days, auto_confirm_exact]},
        detail=lambda r: (
            f"account {statement_account_id} {period}: {r.proposed} proposed, {r.auto_confirmed} auto"
        ),
        status=200,
    )


def decide(actor: Principal, org_id: int, match_id: int, decision: str, *, note: str = "") -> Write[Any]:
    """确认 or 拒绝 a proposal (a new record that supersedes it); a confirmed settlement posts its entry."""
    act = {"confirm": matching.confirm_match, "reject": matching.reject_match}[decision]

    def run(conn: Connection) -> dict[str, Any]:
        return one_match(conn, org_id, act(conn, org_id, match_id, actor.recorded_id, note=note))

    return org_write(
        actor,
        org_id,
        f"reconcile.{decision}",
        run,
        scope=_books_scope(actor, org_id),
        answer=match_answer,
        request={decision: [org_id, match_id, note]},
        detail=lambda m: f"match {match_id} → {m['id']}" + (f": {note}" if note else ""),
    )


def confirm_many(actor: Principal, org_id: int, match_ids: list[int], *, note: str = "") -> Write[list[int]]:
    """Confirm several proposals at once, all or none."""
    return org_write(
        actor,
        org_id,
        "reconcile.confirm_many",
        lambda conn: matching.confirm_matches(conn, org_id, match_ids, actor.recorded_id, note=note),
        scope=_books_scope(actor, org_id),
        answer=lambda records: {"confirmed": len(records), "records": records},
        request={"confirm_many": [org_id, match_ids, note]},
        detail=lambda records: f"{len(records)} matches",
    )


def manual_match(
    actor: Principal,
    org_id: int,
    statement_account_id: int,
    statement_line_ids: list[int],
    journal_line_ids: list[int],
    *,
    note: str = "",
) -> Write[Any]:
    """手工匹配: statement lines and journal lines whose totals agree."""

    def run(conn: Connection) -> dict[str, Any]:
        record = matching.manual_match(
            conn,
            org_id,
            statement_account_id,
            statement_line_ids,
            journal_line_ids,
            actor.recorded_id,
            note=note,
        )
        return one_match(conn, org_id, record)

    return org_write(
        actor,
        org_id,
        "reconcile.manual",
        run,
        scope=_books_scope(actor, org_id),
        answer=match_answer,
        request={"manual": [org_id, statement_account_id, statement_line_ids, journal_line_ids, note]},
        detail=lambda m: f"match {m['id']}",
    )


def post_by_rule(actor: Principal, org_id: int, line_id: int, rule: str | None) -> Write[Any]:
    """对账单生成凭证: an unmatched statement line becomes an entry by a rule, matched to it."""
    return org_write(
        actor,
        org_id,
        "reconcile.post_by_rule",
        lambda conn: matching.post_by_rule(conn, org_id, line_id, actor.recorded_id, rule_name=rule),
        scope=_books_scope(actor, org_id),
        answer=rule_posting_answer,
        request={"post_by_rule": [org_id, line_id, rule]},
        detail=lambda p: f"statement line {line_id} → {p.voucher_no} ({p.rule})",
    )
