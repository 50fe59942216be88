"""The hash chain's canonical bytes never change: every stored hash depends on them.

``reference_bytes`` is the encoding as first written (``json.dumps`` with sorted keys, per entry); the
faster encoder in ``ledger.books.chain`` must give the same bytes for any entry, and the posting code must
store hashes that this reference recomputes from the stored rows, on both databases.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from ledger.books import chain
from ledger.books.chain import GENESIS, LINE_FIELDS, canonical_bytes, chain_hash, entry_bytes, posted_hash
from ledger.books.posting import Draft, Line, post_entries
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import Account, JournalEntry, JournalLine
from tests.factories.county import County


def reference_bytes(entry: dict[str, Any], lines: list[dict[str, Any]]) -> bytes:
    """The canonical bytes exactly as ``ledger.books.chain`` first computed them."""
    created_at = entry["created_at"]
    if isinstance(created_at, datetime):
        created_at = created_at.astimezone(UTC).isoformat()
    entry_date = entry["entry_date"]
    if isinstance(entry_date, date):
        entry_date = entry_date.isoformat()
    doc = {
        "id": entry["id"],
        "org": entry["org_id"],
        "seq": entry["seq"],
        "date": entry_date,
        "period": entry["period"],
        "voucher": entry["voucher_no"],
        "memo": entry["memo"],
        "source": entry["source"],
        "source_ref": entry["source_ref"],
        "created_by": entry["created_by"],
        "created_at": created_at,
        "idempotency_key": entry["idempotency_key"],
        "link": entry["link_id"],
        "reverses": entry["reverses_id"],
        "lines": [[line[f] for f in LINE_FIELDS] for line in lines],
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


RENT = {
    "id": 7,
    "org_id": 3,
    "seq": 7,
    "entry_date": date(2025, 3, 5),
    "period": "2025-03",
    "voucher_no": "记-2025-03-0007",
    "memo": '收三月租金 "押金"\\ \t\n\u2028',
    "source": "manual",
    "source_ref": None,
    "created_by": 2,
    "created_at": datetime(2025, 3, 5, 18, 30, 1, 250000, tzinfo=timezone(timedelta(hours=8))),
    "idempotency_key": "till1-42",
    "link_id": None,
    "reverses_id": None,
}
RENT_LINES = [
    dict(zip(LINE_FIELDS, [1, "102", 10500, 0, "", 4, None, None, 9, None, None], strict=True)),
    dict(
        zip(LINE_FIELDS, [2, "50102", 0, 10000, "租金", None, 1, "school", None, None, "蔬菜"], strict=True)
    ),
]


def test_a_known_entry_hashes_as_it_always_has() -> None:
    # Computed with the first implementation (json.dumps per entry), before any change to the encoder.
    assert chain_hash(GENESIS, RENT, RENT_LINES) == (
        "00e30c7347c4aeec81d7babee735554cc15752151fb27b0d074070e512aa3d13"
    )
    assert canonical_bytes(RENT, RENT_LINES).startswith(b'{"created_at":"2025-03-05T10:30:01.250000+00:00",')


def test_the_attachment_count_leaves_old_hashes_alone_and_is_hashed_when_stated() -> None:
    # 附单据数 (0009_core): an entry of 0 documents, as every entry before the column, hashes as it did.
    old = chain_hash(GENESIS, RENT, RENT_LINES)
    assert chain_hash(GENESIS, {**RENT, "attachments": 0}, RENT_LINES) == old
    two = chain_hash(GENESIS, {**RENT, "attachments": 2}, RENT_LINES)
    assert two != old and two != chain_hash(GENESIS, {**RENT, "attachments": 3}, RENT_LINES)
    assert b'"attachments":2' in canonical_bytes({**RENT, "attachments": 2}, RENT_LINES)


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
maybe_int = st.none() | st.integers(min_value=-(2**53), max_value=2**53)
maybe_text = st.none() | text
line = st.fixed_dictionaries(
    {
        "line_no": st.integers(1, 1000),
        "account_code": st.from_regex(r"[0-9]{3,7}", fullmatch=True),
        "debit_fen": st.integers(-(10**15), 10**15),
        "credit_fen": st.integers(-(10**15), 10**15),
        "memo": text,
        "counterparty_id": maybe_int,
        "store_id": maybe_int,
        "channel": maybe_text,
        "contract_id": maybe_int,
        "welfare_post_id": maybe_int,
        "product_category": maybe_text,
    }
)
entry = st.fixed_dictionaries(
    {
        "id": st.integers(1, 2**62),
        "org_id": st.integers(1, 10**6),
        "seq": st.integers(1, 2**62),
        "entry_date": st.dates() | st.dates().map(date.isoformat),
        "period": text,
        "voucher_no": text,
        "memo": text,
        "source": text,
        "source_ref": maybe_text,
        "created_by": maybe_int,
        "created_at": st.datetimes(timezones=st.timezones()) | text,
        "idempotency_key": maybe_text,
        "link_id": maybe_text,
        "reverses_id": maybe_int,
    }
)


def posting_code_hash(
    prev: str, e: dict[str, Any], lines: list[tuple[Any, ...]], attachments: int = 0
) -> str:
    """``posted_hash`` (the posting code's own) called as ``post_entries`` calls it, from ``e``'s values."""
    created_at, entry_date = e["created_at"], e["entry_date"]
    return posted_hash(
        prev,
        entry_id=e["id"],
        org_id=e["org_id"],
        seq=e["seq"],
        entry_date=entry_date.isoformat() if isinstance(entry_date, date) else entry_date,
        period=e["period"],
        voucher_no=e["voucher_no"],
        memo=e["memo"],
        source=e["source"],
        source_ref=e["source_ref"],
        created_by=e["created_by"],
        created_at=created_at.astimezone(UTC).isoformat() if isinstance(created_at, datetime) else created_at,
        idempotency_key=e["idempotency_key"],
        link_id=e["link_id"],
        reverses_id=e["reverses_id"],
        attachments=attachments,
        lines=lines,
    )


def test_the_posting_codes_hash_is_the_chains_with_and_without_attachments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    as_tuples = [tuple(ln[f] for f in LINE_FIELDS) for ln in RENT_LINES]
    for attachments in (0, 2, 999):
        expected = chain_hash(GENESIS, {**RENT, "attachments": attachments}, RENT_LINES)
        assert posting_code_hash(GENESIS, RENT, as_tuples, attachments) == expected
        with monkeypatch.context() as m:  # where json's C accelerator is missing: the encoder's own encode
            m.setattr(chain, "_CHUNKS", None)
            assert posting_code_hash(GENESIS, RENT, as_tuples, attachments) == expected


@given(entry, st.lists(line, min_size=0, max_size=5))
def test_canonical_bytes_are_the_first_encoding_byte_for_byte(e: dict, lines: list[dict]) -> None:
    expected = reference_bytes(e, lines)
    assert canonical_bytes(e, lines) == expected
    as_tuples = [tuple(ln[f] for f in LINE_FIELDS) for ln in lines]
    assert entry_bytes(e, as_tuples) == expected
    prev = "ab" * 32
    digest = hashlib.sha256(prev.encode("ascii") + expected).hexdigest()
    assert posting_code_hash(prev, e, as_tuples) == digest


def test_posted_hashes_recompute_with_the_first_encoding(sub_accounts: County) -> None:
    """What post_entries stores verifies with the encoding as first written (old chains, new code)."""
    org = sub_accounts.ids["dingzikou"]
    drafts = [
        Draft(
            org,
            date(2025, 3, 5),
            '收三月租金 "押金"\\',
            [
                Line("102", debit_fen=10_500, memo="转账\t到账"),
                Line("50102", credit_fen=10_000, channel="school", product_category="蔬菜"),
                Line("214", credit_fen=500),
            ],
            idempotency_key="rent-2025-03",
        ),
        Draft(
            org, date(2025, 4, 1), "", [Line("101", debit_fen=1), Line("503", credit_fen=1)], source="import"
        ),
    ]
    with write_tx(sub_accounts.engine) as conn:
        posted = post_entries(conn, drafts, user_id=None)
    entry_t, line_t, account_t = JournalEntry.__table__, JournalLine.__table__, Account.__table__
    prev = GENESIS
    with read_tx(sub_accounts.engine) as conn:
        for p in posted:
            row = conn.execute(select(entry_t).where(entry_t.c.id == p.id)).one()._asdict()
            lines = [
                dict(r)
                for r in conn.execute(
                    select(line_t, account_t.c.code.label("account_code"))
                    .join(account_t, account_t.c.id == line_t.c.account_id)
                    .where(line_t.c.entry_id == p.id)
                    .order_by(line_t.c.line_no)
                ).mappings()
            ]
            assert row["prev_hash"] == prev
            expected = hashlib.sha256(prev.encode("ascii") + reference_bytes(row, lines)).hexdigest()
            assert row["hash"] == p.hash == expected
            prev = row["hash"]
