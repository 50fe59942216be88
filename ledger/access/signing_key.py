"""The Ed25519 key that signs month-close checkpoints (``ledger.books.checkpoints``), kept outside the
database.

Where it lives (the first that applies):

1. ``CUNSHE_SIGNING_KEY_FILE``: the key file's path.
2. Beside the session secret (``ledger.access.secrets``): ``<database file>.signing-key`` for SQLite
   (``./cunshe.db`` → ``./cunshe.db.signing-key``), ``./<database name>.signing-key`` in the working
   directory for PostgreSQL.

``cunshe init`` writes a new key there when it is missing (PEM, PKCS#8, owner-only 0600, created
exclusively) and never overwrites one. Whoever can read the file can sign checkpoints: keep it off the
database server's backups, or at least apart from them.

A month close refuses without the key (``SigningKeyMissing``, naming the file), unless development mode
is set (``CUNSHE_DEV_MODE=1``): then the month closes unsigned, with a warning, and its statements print no
checkpoint code.

**The keyring** (``CUNSHE_SIGNING_KEYRING_FILE``, else ``<key file>.pub``; public, JSON lines) keeps the
public half of every key that signed here, by key id, with when it was added and retired. ``cunshe init``
(or a key's first close) records the key; ``cunshe checkpoints rotate-key`` (``rotate_key``) makes a new key
that signs from then on and marks the old one retired: its private half is gone, its public half still
vouches for the checkpoints it signed before it was retired, never for one dated later. Checks
(``installation_trust``: ``cunshe verify --checkpoints``, ``/verify/{code}``) believe these keys — never the
public key a checkpoint carries, which whoever rewrote the database could have put there.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.access.secrets import default_secret_path
from ledger.books.checkpoints import Trust, TrustedKey, key_id_of
from ledger.books.errors import LedgerError
from ledger.settings import get_settings

log = logging.getLogger("cunshe.signing_key")

SUFFIX = ".signing-key"
KEYRING_SUFFIX = ".pub"
INSTALLATION_KEYRING = "the installation's keyring"  # said by checks (the public page names no file)


class SigningKeyMissing(LedgerError):
    """No usable checkpoint signing key: a month cannot close without its evidence (an operator's fix)."""

    code = "signing_key_missing"
    http_status = 503


@dataclass(frozen=True)
class SigningKey:
    """The private key and its raw public half."""

    private: Ed25519PrivateKey
    path: Path

    @property
    def public_bytes(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_bytes)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def default_key_path(database_url: str) -> Path:
    """Beside the secret file of the same database: ``cunshe.db.secret`` → ``cunshe.db.signing-key``."""
    secret = default_secret_path(database_url)
    return secret.with_name(secret.name.removesuffix(".secret") + SUFFIX)


def key_path(key_file: Path | str | None, database_url: str) -> Path:
    return Path(key_file) if key_file else default_key_path(database_url)


def configured_key_path(database_url: str) -> Path:
    """The key file for this database under the current settings."""
    return key_path(get_settings().signing_key_file, database_url)


def ensure_key_file(path: Path, private: Ed25519PrivateKey | None = None) -> bool:
    """Write a new Ed25519 key (or ``private``) to ``path`` unless it exists (0600, created exclusively);
    True if written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = (private or Ed25519PrivateKey.generate()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def load_key(path: Path) -> SigningKey:
    """The key in ``path``, or ``SigningKeyMissing`` saying what to do."""
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise SigningKeyMissing(
            f"no checkpoint signing key: {path} does not exist; run `cunshe init` (it writes one there) "
            "or set CUNSHE_SIGNING_KEY_FILE"
        ) from None
    except OSError as exc:
        raise SigningKeyMissing(f"the checkpoint signing key {path} cannot be read: {exc}") from None
    if path.stat().st_mode & 0o077:
        log.warning("%s can be read by others; chmod 600 it", path)
    try:
        private = serialization.load_pem_private_key(pem, password=None)
    except ValueError as exc:
        raise SigningKeyMissing(f"{path} is not a PEM private key: {exc}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningKeyMissing(f"{path} holds a key that is not Ed25519")
    return SigningKey(private, path)


def key_for_close(database_url: str) -> SigningKey | None:
    """The key a month close signs with; None in development mode without one (the month closes unsigned)."""
    path = configured_key_path(database_url)
    try:
        key = load_key(path)
    except SigningKeyMissing:
        if not get_settings().dev_mode:
            raise
        log.warning("development mode: %s is missing, the month closes without a signed checkpoint", path)
        return None
    ring = keyring_path(database_url)
    try:  # a key made before keyrings were kept is recorded by its first close
        if not ring.exists():
            record_public_key(ring, key)
    except (OSError, SigningKeyMissing) as exc:
        log.warning("the checkpoint keyring %s cannot be written: %s", ring, exc)
    return key


# --- the keyring: every key that signed here, by its id ----------------------------------------------------


def keyring_path(database_url: str) -> Path:
    """The public keys' file: ``CUNSHE_SIGNING_KEYRING_FILE``, else ``<key file>.pub``."""
    settings = get_settings()
    if settings.signing_keyring_file:
        return Path(settings.signing_keyring_file)
    key = configured_key_path(database_url)
    return key.with_name(key.name + KEYRING_SUFFIX)


def read_keyring(path: Path, source: str = INSTALLATION_KEYRING) -> list[TrustedKey]:
    """The keys in a keyring file (JSON lines ``{key_id, public_key, added_at, retired_at}``); none if it
    does not exist. A line whose key id is not its key's is refused (``SigningKeyMissing``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise SigningKeyMissing(f"the checkpoint keyring {path} cannot be read: {exc}") from None
    keys = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            public = base64.b64decode(doc["public_key"], validate=True)
            key_id = str(doc["key_id"])
            retired = doc.get("retired_at")
        except (ValueError, KeyError, TypeError) as exc:
            raise SigningKeyMissing(f"{path}:{n} is not a keyring line: {exc}") from None
        if len(public) != 32 or key_id_of(public) != key_id:
            raise SigningKeyMissing(f"{path}:{n}: key {key_id} is not the id of the key on that line")
        keys.append(TrustedKey(key_id, public, source, str(retired) if retired else None))
    return keys


def _line(key: TrustedKey, added_at: str | None) -> str:
    doc = {
        "key_id": key.key_id,
        "public_key": base64.b64encode(key.public_key).decode("ascii"),
        "added_at": added_at,
        "retired_at": key.retired_at,
    }
    return json.dumps(doc, sort_keys=True)


def _added_at(path: Path) -> dict[str, str | None]:
    try:
        return {
            (d := json.loads(line))["key_id"]: d.get("added_at")
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        }
    except FileNotFoundError:
        return {}


def _write_keyring(path: Path, keys: list[TrustedKey], added: dict[str, str | None]) -> None:
    """Replace the keyring in one step (a temporary file renamed over it), readable by all: it is public."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(_line(k, added.get(k.key_id)) + "\n" for k in keys), encoding="utf-8")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_public_key(path: Path, key: SigningKey) -> bool:
    """Add ``key``'s public half to the keyring at ``path`` unless it is there; True if added."""
    keys = read_keyring(path)
    if any(k.key_id == key.key_id for k in keys):
        return False
    added = _added_at(path)
    added[key.key_id] = _now()
    _write_keyring(path, [*keys, TrustedKey(key.key_id, key.public_bytes, INSTALLATION_KEYRING)], added)
    return True


def installation_keys(database_url: str) -> list[TrustedKey]:
    """The keys this installation believes: its keyring, and the current key's public half (a key made
    before keyrings were kept is in no keyring yet)."""
    keys = read_keyring(keyring_path(database_url))
    try:
        current = load_key(configured_key_path(database_url))
    except SigningKeyMissing:
        return keys
    if all(k.key_id != current.key_id for k in keys):
        keys.append(TrustedKey(current.key_id, current.public_bytes, "the installation's signing key"))
    return keys


def installation_trust(database_url: str) -> Trust:
    return Trust(installation_keys(database_url))


@dataclass(frozen=True)
class Rotation:
    old_id: str
    new_id: str
    key_file: Path
    keyring: Path


def rotate_key(database_url: str) -> Rotation:
    """A new key signs from now on. The old key's public half stays in the keyring, marked retired now (it
    still vouches for the checkpoints it signed, not for any dated later); its private half is gone once
    the new file has replaced it."""
    path = configured_key_path(database_url)
    old = load_key(path)
    ring = keyring_path(database_url)
    record_public_key(ring, old)
    new_private = Ed25519PrivateKey.generate()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    tmp.unlink(missing_ok=True)
    if not ensure_key_file(tmp, new_private):
        raise SigningKeyMissing(f"{tmp} appeared while rotating; remove it and rotate again")
    new = SigningKey(new_private, path)
    # The new public half is recorded before the private one takes over, and the old key is marked retired
    # only after: a crash in between leaves a spare public key in the keyring or an old key not yet marked
    # retired — never a signer the keyring lacks, nor a close by the old key dated after its retirement.
    record_public_key(ring, new)
    os.replace(tmp, path)
    retired = _now()
    keys = [
        TrustedKey(k.key_id, k.public_key, k.source, retired if k.key_id == old.key_id else k.retired_at)
        for k in read_keyring(ring)
    ]
    _write_keyring(ring, keys, _added_at(ring))
    return Rotation(old.key_id, new.key_id, path, ring)
