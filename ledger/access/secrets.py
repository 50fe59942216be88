"""The session-signing secret: made at ``cunshe init`` into a file beside the database, never a default.

Where it lives (the first that applies):

1. ``CUNSHE_SECRET_KEY``: the secret itself (for a deployment that keeps secrets in its own store). It must
   be at least ``MIN_SECRET_CHARS`` long and not one of the defaults this project ever shipped.
2. ``CUNSHE_SECRET_FILE``: a file holding it.
3. Beside the database: ``<database file>.secret`` for SQLite (``./cunshe.db`` → ``./cunshe.db.secret``),
   ``./<database name>.secret`` in the working directory for PostgreSQL.

``cunshe init`` writes a random 256-bit secret to that file when it is missing (owner-only, 0600, created
exclusively so two inits never race each other to different secrets) and never overwrites one; ``cunshe
rotate-secret`` replaces it (every web session ends; API tokens are not signed with it and keep working).

``cunshe serve`` and the app factory refuse to start without a usable secret, unless development mode is
set explicitly (``CUNSHE_DEV_MODE=1`` or ``cunshe serve --dev``): then a missing secret falls back to the
well-known ``DEV_SECRET`` with a warning, which is only fit for a laptop.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from sqlalchemy import make_url

log = logging.getLogger("cunshe.secrets")

DEV_SECRET = "dev-only-change-me"
KNOWN_DEFAULTS = frozenset({DEV_SECRET, "", "changeme", "change-me", "secret"})
MIN_SECRET_CHARS = 32


class SecretMissing(RuntimeError):
    """No usable session secret: the server must not start (anyone could forge an admin's session)."""


def default_secret_path(database_url: str) -> Path:
    """The secret file that belongs to a database: beside the SQLite file, or named after the PG database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        name = url.database
        if not name or name == ":memory:":
            return Path.cwd() / "cunshe-memory.secret"
        return Path(name + ".secret").absolute()
    return Path.cwd() / f"{url.database or 'cunshe'}.secret"


def secret_path(secret_file: Path | str | None, database_url: str) -> Path:
    return Path(secret_file) if secret_file else default_secret_path(database_url)


def _write_new(path: Path, *, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32) + "\n"
    target = path.with_name(path.name + f".new-{os.getpid()}") if replace else path
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask said
        os.write(fd, value.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    if replace:
        os.replace(target, path)  # atomic: a reader sees the old secret or the new, never half of one


def ensure_secret_file(path: Path) -> bool:
    """Write a new random secret to ``path`` unless it exists; True when one was written."""
    try:
        _write_new(path, replace=False)
    except FileExistsError:
        return False
    return True


def rotate_secret_file(path: Path) -> None:
    """Replace the secret with a new random one (every signed web session becomes invalid)."""
    _write_new(path, replace=True)


def _usable(secret: str, where: str) -> str:
    secret = secret.strip()
    if secret in KNOWN_DEFAULTS:
        raise SecretMissing(f"the session secret in {where} is a published default; anyone could forge it")
    if len(secret) < MIN_SECRET_CHARS:
        raise SecretMissing(f"the session secret in {where} is shorter than {MIN_SECRET_CHARS} characters")
    return secret


def load_secret(
    secret_key: str | None, secret_file: Path | str | None, database_url: str, *, dev_mode: bool = False
) -> str:
    """The session secret (see the module docstring for where it is looked up); ``SecretMissing`` if none."""
    try:
        if secret_key is not None:
            return _usable(secret_key, "CUNSHE_SECRET_KEY")
        path = secret_path(secret_file, database_url)
        mode = path.stat().st_mode if path.exists() else None
        if mode is None:
            raise SecretMissing(
                f"no session secret: {path} does not exist; run `cunshe init` (it writes one there), "
                "or set CUNSHE_SECRET_FILE or CUNSHE_SECRET_KEY"
            )
        if mode & 0o077:
            log.warning("%s can be read by others (mode %o); chmod 600 it", path, mode & 0o777)
        return _usable(path.read_text(encoding="utf-8"), str(path))
    except SecretMissing:
        if not dev_mode:
            raise
        log.warning(
            "development mode: signing sessions with the public DEV_SECRET; never serve real books so"
        )
        return DEV_SECRET
