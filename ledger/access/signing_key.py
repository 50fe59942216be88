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
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.access.secrets import default_secret_path
from ledger.books.checkpoints import key_id_of
from ledger.books.errors import LedgerError
from ledger.settings import get_settings

log = logging.getLogger("cunshe.signing_key")

SUFFIX = ".signing-key"


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


def ensure_key_file(path: Path) -> bool:
    """Write a new Ed25519 key to ``path`` unless it exists (0600, created exclusively); True if written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
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
        return load_key(path)
    except SigningKeyMissing:
        if not get_settings().dev_mode:
            raise
        log.warning("development mode: %s is missing, the month closes without a signed checkpoint", path)
        return None


def public_key_for(database_url: str) -> bytes | None:
    """The public half of the configured key, or None without a usable one (for checking, not signing)."""
    try:
        return load_key(configured_key_path(database_url)).public_bytes
    except SigningKeyMissing:
        return None
