"""Month-close checkpoints (封账码): evidence of the books kept outside the database.

The hash chain proves the books are consistent with themselves, not that they are the books that were
kept: someone with the database owner's rights can rewrite an entry, patch the turnover and recompute
every hash after it, and ``cunshe verify`` finds nothing. So at each month close the books sign a
**checkpoint** with an Ed25519 key that lives outside the database (``ledger.access.signing_key``):

* the org (id, code, name) and the month;
* the chain head as the close found it: its position (``head_seq``) and hash;
* a digest of the month's trial balance, computed from the journal lines (each account code with its
  debit and credit turnover of the month, all sources), and the month's totals and entry count;
* the time of the close and the signing key's id.

The checkpoint is stored (``period_checkpoint``, append-only) and exported (``cunshe checkpoints export``,
JSON lines) to be kept elsewhere, by the street or the county. Its **code** — the first ten Crockford base32
characters of the SHA-256 of the signature — is printed on every statement of the month and opens the
public ``/verify/{code}`` page. ``compare`` tells whether the books still hold what a checkpoint says: the
entry at ``head_seq`` still has that hash, and the month's lines still give that digest. A rewrite of an
entry at or before a checkpoint's head position changes that entry's hash or one of its successors', so it
is caught once a checkpoint exists after it, and the month whose digest changed is the month rewritten.

This module never reads a key file; signing is a function handed in by the caller.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from ledger.books.chain import GENESIS
from ledger.books.errors import ValidationError
from ledger.books.orgs import get_org
from ledger.db.models import (
    Account,
    BookState,
    JournalEntry,
    JournalLine,
    PeriodCheckpoint,
    PeriodEvent,
)

checkpoint_t = PeriodCheckpoint.__table__
entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
account_t = Account.__table__
book_t = BookState.__table__
event_t = PeriodEvent.__table__

VERSION = 1
CODE_CHARS = 10
_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ")
# What a person may type for a code: Crockford's reading of look-alike letters, case-free, hyphens ignored.
_TYPED = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})
CODE_RE = re.compile(rf"[0-9A-HJKMNP-TV-Z]{{{CODE_CHARS}}}")

Signer = Callable[[bytes], bytes]


def canonical(payload: dict[str, Any]) -> bytes:
    """The bytes a checkpoint's signature covers: compact, key-sorted JSON (never change this)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def code_of(signature: bytes) -> str:
    """The short code printed on statements: 10 Crockford base32 characters of SHA-256(signature)."""
    digest = hashlib.sha256(signature).digest()
    return base64.b32encode(digest).decode("ascii").translate(_CROCKFORD)[:CODE_CHARS]


def parse_code(typed: str) -> str | None:
    """A code as a person typed it (any case, O for 0, hyphens) → the stored form, or None if it cannot be."""
    code = typed.strip().upper().translate(_TYPED)
    return code if CODE_RE.fullmatch(code) else None


def key_id_of(public_key: bytes) -> str:
    """A key's id: the first 16 hex digits of SHA-256 of its raw 32 bytes."""
    return hashlib.sha256(public_key).hexdigest()[:16]


# --- what a month holds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthFigures:
    """The month's trial balance as the journal lines give it: digest, totals, entry count."""

    digest: str
    debit_fen: int
    credit_fen: int
    entries: int


def month_figures(conn: Connection, org_id: int, period: str) -> MonthFigures:
    """Each account code's debit and credit turnover of the month, from the lines (all sources), hashed."""
    rows = conn.execute(
        select(account_t.c.code, func.sum(line_t.c.debit_fen), func.sum(line_t.c.credit_fen))
        .select_from(line_t)
        .join(account_t, account_t.c.id == line_t.c.account_id)
        .where(line_t.c.org_id == org_id, line_t.c.period == period)
        .group_by(account_t.c.code)
        .order_by(account_t.c.code)
    ).all()
    accounts = [[code, int(debit), int(credit)] for code, debit, credit in rows]
    digest = hashlib.sha256(canonical({"period": period, "accounts": accounts})).hexdigest()
    entries = conn.execute(
        select(func.count()).where(entry_t.c.org_id == org_id, entry_t.c.period == period)
    ).scalar_one()
    return MonthFigures(
        digest,
        sum(a[1] for a in accounts),
        sum(a[2] for a in accounts),
        int(entries),
    )


def head_now(conn: Connection, org_id: int) -> tuple[int, str]:
    """The org's chain head: (position, hash); (0, GENESIS) for books with no entries."""
    row = conn.execute(select(book_t.c.last_seq, book_t.c.head_hash).where(book_t.c.org_id == org_id)).first()
    return (int(row.last_seq), row.head_hash) if row is not None else (0, GENESIS)


def hash_at(conn: Connection, org_id: int, seq: int) -> str | None:
    """The hash of the org's entry at chain position ``seq`` now (GENESIS at 0, None if there is none)."""
    if seq == 0:
        return GENESIS
    return conn.execute(
        select(entry_t.c.hash).where(entry_t.c.org_id == org_id, entry_t.c.seq == seq)
    ).scalar_one_or_none()


# --- making and keeping checkpoints -----------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint: its payload, the signature over ``canonical(payload)``, and the public key."""

    payload: dict[str, Any]
    signature: bytes
    public_key: bytes

    @property
    def code(self) -> str:
        return code_of(self.signature)

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    def signature_holds(self, public_key: bytes) -> bool:
        """The signature is good under ``public_key`` (a trusted one: the checkpoint's own proves nothing)."""
        # Imported here: reports and doors import this module; only a check needs the cryptography.
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(self.signature, canonical(self.payload))
        except (InvalidSignature, ValueError):
            return False
        return True

    def export_line(self) -> str:
        """One line of ``cunshe checkpoints export``."""
        return json.dumps(
            {
                "code": self.code,
                "payload": self.payload,
                "signature": base64.b64encode(self.signature).decode("ascii"),
                "key_id": self.key_id,
                "public_key": base64.b64encode(self.public_key).decode("ascii"),
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_export_line(cls, line: str, where: str = "line") -> Checkpoint:
        try:
            doc = json.loads(line)
            payload = doc["payload"]
            if not isinstance(payload, dict):
                raise TypeError("payload is not an object")
            return cls(
                payload,
                base64.b64decode(doc["signature"], validate=True),
                base64.b64decode(doc["public_key"], validate=True),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError(f"{where} is not an exported checkpoint: {exc}", field=where) from None


def make_payload(
    conn: Connection, org_id: int, period: str, key_id: str, at: datetime | None = None
) -> dict[str, Any]:
    """What a close of ``period`` signs (see the module docstring)."""
    org = get_org(conn, org_id)
    seq, head = head_now(conn, org_id)
    figures = month_figures(conn, org_id, period)
    return {
        "v": VERSION,
        "org_id": org_id,
        "org": org.code,
        "org_name": org.name,
        "period": period,
        "head_seq": seq,
        "head_hash": head,
        "tb_sha256": figures.digest,
        "debit_fen": figures.debit_fen,
        "credit_fen": figures.credit_fen,
        "entries": figures.entries,
        "closed_at": (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
        "key_id": key_id,
    }


def sign_close(conn: Connection, org_id: int, period: str, sign: Signer, public_key: bytes) -> Checkpoint:
    """Sign the checkpoint of a month just closed and store it (in the close's transaction)."""
    payload = make_payload(conn, org_id, period, key_id_of(public_key))
    checkpoint = Checkpoint(payload, sign(canonical(payload)), public_key)
    conn.execute(
        insert(checkpoint_t).values(
            org_id=org_id,
            period=period,
            code=checkpoint.code,
            payload=canonical(payload).decode("utf-8"),
            signature=base64.b64encode(checkpoint.signature).decode("ascii"),
            key_id=checkpoint.key_id,
            public_key=base64.b64encode(public_key).decode("ascii"),
            created_at=datetime.now(UTC),
        )
    )
    return checkpoint


def _from_row(row: Any) -> Checkpoint:
    return Checkpoint(
        json.loads(row.payload), base64.b64decode(row.signature), base64.b64decode(row.public_key)
    )


def stored(conn: Connection, org_ids: Iterable[int] | None = None) -> list[Checkpoint]:
    """Every stored checkpoint (of these orgs), in the order they were made."""
    query = select(checkpoint_t).order_by(checkpoint_t.c.id)
    if org_ids is not None:
        query = query.where(checkpoint_t.c.org_id.in_(list(org_ids)))
    return [_from_row(r) for r in conn.execute(query)]


def by_code(conn: Connection, code: str) -> Checkpoint | None:
    row = conn.execute(select(checkpoint_t).where(checkpoint_t.c.code == code)).first()
    return _from_row(row) if row is not None else None


def current_code(conn: Connection, org_id: int, period: str) -> str | None:
    """The code of the checkpoint that stands for a closed month now: its latest close's, unless the month
    was reopened after it (then no code: the month's figures are no longer sealed)."""
    row = conn.execute(
        select(checkpoint_t.c.code, checkpoint_t.c.created_at)
        .where(checkpoint_t.c.org_id == org_id, checkpoint_t.c.period == period)
        .order_by(checkpoint_t.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    reopened = conn.execute(
        select(func.max(event_t.c.at)).where(
            event_t.c.org_id == org_id, event_t.c.period == period, event_t.c.action == "reopen"
        )
    ).scalar_one()
    if reopened is not None and _aware(reopened) >= _aware(row.created_at):
        return None
    return str(row.code)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- whose signature counts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrustedKey:
    """A public key a check believes, and where the belief comes from (said in every answer): a key the
    installation keeps (``ledger.access.signing_key``), or one given by whoever runs the check. A key
    retired at ``retired_at`` (rotated away) still vouches for what it signed before then, not after."""

    key_id: str
    public_key: bytes
    source: str
    retired_at: str | None = None


class Trust:
    """The keys a check believes, looked up by the key id a checkpoint's payload names (the id is under the
    signature). Never the public key a checkpoint carries with it, unless its SHA-256 starts with one of the
    ``fingerprints`` given (hex, 16 digits at least): then it is the key the fingerprint names."""

    def __init__(self, keys: Iterable[TrustedKey] = (), fingerprints: Iterable[str] = ()) -> None:
        self.keys = {k.key_id: k for k in keys}
        self.fingerprints = tuple(f.lower() for f in fingerprints)

    def describe(self) -> str:
        named = [f"{k.key_id} ({k.source})" for k in self.keys.values()]
        named += [f"fingerprint {f}" for f in self.fingerprints]
        return ", ".join(named) or "none"

    def key_for(self, checkpoint: Checkpoint) -> tuple[TrustedKey | None, Difference | None]:
        """The trusted key that signed ``checkpoint``, or None and why not."""
        p = checkpoint.payload
        signer = str(p.get("key_id", ""))
        key = self.keys.get(signer)
        if key is None:
            fingerprint = hashlib.sha256(checkpoint.public_key).hexdigest()
            given = next((f for f in self.fingerprints if fingerprint.startswith(f)), None)
            if given is not None and key_id_of(checkpoint.public_key) == signer:
                key = TrustedKey(signer, checkpoint.public_key, f"fingerprint {given} given")
        if key is None:
            return None, Difference("key_not_trusted", {"signer": signer or "?", "trusted": self.describe()})
        if key.retired_at is not None and str(p.get("closed_at", "")) > key.retired_at:
            return None, Difference("key_retired", {"signer": signer, "retired_at": key.retired_at})
        return key, None


# --- checking the books against a checkpoint --------------------------------------------------------------


# How each difference reads in the domain's English (the CLI's words); the /verify page words the same code
# and values through the catalogues (``vf_diff_<code>``, ``ledger.web.verify_page``).
DIFFERENCE_TEXT = {
    "payload_incomplete": "the payload lacks org_id, period or head_seq",
    "key_not_trusted": "the signature is not checked: it is signed by key {signer}, which is not a "
    "trusted key ({trusted})",
    "key_retired": "the signature is not checked: it is signed by key {signer} after that key was retired "
    "({retired_at})",
    "signature_invalid": "the signature does not hold under key {key_id} ({source})",
    "chain_entry_gone": "the chain has no entry at position {seq} any more",
    "chain_rewritten": "the chain entry at position {seq} is {head_now}…, the checkpoint says {head_then}…: "
    "an entry at or before it was rewritten",
    "figures_differ": "the trial balance of {period} differs: debits {debit_fen} fen, credits {credit_fen} "
    "fen, {entries} entries now; the checkpoint says {debit_fen_then}, {credit_fen_then}, {entries_then}",
}


@dataclass(frozen=True)
class Difference:
    """One way the books (or the signature) no longer agree with a checkpoint: a code of
    ``DIFFERENCE_TEXT`` and the values its sentence names (``str()`` is the English sentence)."""

    code: str
    values: Mapping[str, object]

    def __str__(self) -> str:
        return DIFFERENCE_TEXT[self.code].format(**self.values)


@dataclass(frozen=True)
class Comparison:
    """What the books hold now against one checkpoint; ``differences`` empty when they agree."""

    checkpoint: Checkpoint
    signature_ok: bool
    head_hash_now: str | None
    figures_now: MonthFigures | None
    differences: tuple[Difference, ...]
    key: TrustedKey | None = None  # the trusted key the signature was checked under

    @property
    def agrees(self) -> bool:
        return self.signature_ok and not self.differences

    @property
    def head_differs(self) -> bool:
        return self.head_hash_now != self.checkpoint.payload.get("head_hash")

    @property
    def figures_differ(self) -> bool:
        return self.figures_now is None or self.figures_now.digest != self.checkpoint.payload.get("tb_sha256")


def first_differing(compared: Iterable[Comparison]) -> Comparison | None:
    """The checkpoint that names the first changed month: the earliest (by org, month) whose figures
    differ, else the earliest that differs at all (a rewritten memo moves only the chain head)."""
    differing = [c for c in compared if not c.agrees]
    return next((c for c in differing if c.figures_differ), differing[0] if differing else None)


def compare(conn: Connection, checkpoint: Checkpoint, trust: Trust) -> Comparison:
    """Does the signature hold under the trusted key that made it (``trust``: never the key the checkpoint
    carries on its own word), and do the books still hold the chain head at its position and the month's
    trial-balance digest?"""
    p = checkpoint.payload
    key, untrusted = trust.key_for(checkpoint)
    signature_ok = key is not None and checkpoint.signature_holds(key.public_key)
    try:
        org_id, period, seq = int(p["org_id"]), str(p["period"]), int(p["head_seq"])
    except (KeyError, TypeError, ValueError):
        return Comparison(checkpoint, signature_ok, None, None, (Difference("payload_incomplete", {}),), key)
    differences = []
    if untrusted is not None:
        differences.append(untrusted)
    elif not signature_ok:
        assert key is not None
        differences.append(Difference("signature_invalid", {"key_id": key.key_id, "source": key.source}))
    head = hash_at(conn, org_id, seq)
    if head is None:
        differences.append(Difference("chain_entry_gone", {"seq": seq}))
    elif head != p.get("head_hash"):
        then = str(p.get("head_hash"))[:16]
        differences.append(
            Difference("chain_rewritten", {"seq": seq, "head_now": head[:16], "head_then": then})
        )
    figures = month_figures(conn, org_id, period)
    if figures.digest != p.get("tb_sha256"):
        values = {"period": period, "debit_fen": figures.debit_fen, "credit_fen": figures.credit_fen}
        values |= {"entries": figures.entries, "debit_fen_then": p.get("debit_fen")}
        values |= {"credit_fen_then": p.get("credit_fen"), "entries_then": p.get("entries")}
        differences.append(Difference("figures_differ", values))
    return Comparison(checkpoint, signature_ok, head, figures, tuple(differences), key)


def compare_all(conn: Connection, checkpoints: Iterable[Checkpoint], trust: Trust) -> list[Comparison]:
    """Every checkpoint compared, ordered by org and month (then signing time), so the first that differs
    names the earliest month that no longer holds."""

    def order(c: Checkpoint) -> tuple[str, str, str]:
        p = c.payload
        return (str(p.get("org", "")), str(p.get("period", "")), str(p.get("closed_at", "")))

    return [compare(conn, c, trust) for c in sorted(checkpoints, key=order)]
