"""Schema migrations (Alembic), run from code: ``cunshe init``, the tests and the server call ``upgrade``."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config  # imported here: every command imports this module, few migrate

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


_ASSIGNED = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*(?:#.*)?$", re.MULTILINE)


def script_heads() -> frozenset[str] | None:
    """The newest revision of every branch, read from the version files' ``revision``/``down_revision``
    lines without importing Alembic or the migrations (a few ms); None if a file is not in that form (then
    Alembic decides). ``tests/test_migrations.py`` holds it equal to Alembic's own heads."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = dict(_ASSIGNED.findall(path.read_text(encoding="utf-8")))
        try:
            revision = ast.literal_eval(found["revision"])
            down = ast.literal_eval(found.get("down_revision", "None"))
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        parents.update([down] if isinstance(down, str) else (down or ()))
    return frozenset(revisions - parents) or None


def at_heads(engine: Engine) -> bool:
    """Whether the database's ``alembic_version`` holds exactly the scripts' heads (one cheap query)."""
    heads = script_heads()
    if heads is None:
        return False
    try:
        with engine.connect() as conn:
            stamped = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except DBAPIError:  # no alembic_version table yet: a new database
        return False
    return stamped == heads


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to the newest revision of every branch (each module owns a branch).

    Books already at every head are left alone without importing Alembic and the migration scripts
    (``cunshe serve`` checks at each start: ~0.2 s of CPU saved)."""
    if revision == "heads" and at_heads(engine):
        return
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
