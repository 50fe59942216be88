"""The migration graph: one root, and one head per workflow branch.

Each workflow keeps its migrations on its own Alembic branch rooted at the core revision. Two revisions
written in parallel from the same parent give a branch two heads; ``upgrade heads`` would still apply
both, in an order no one chose, so the graph is checked here instead of discovered in production.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from ledger.db.migrate import alembic_config, at_heads, script_heads, upgrade


def _branch_of(revision: str) -> str:
    """Revision ids are ``NNNN_<branch>`` (``0201_community``)."""
    return revision.split("_", 1)[1]


def test_one_root_and_one_head_per_branch() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_bases() == ["0001_core"]
    heads = script.get_heads()
    branches = [_branch_of(head) for head in heads]
    assert sorted(branches) == sorted(set(branches)), f"a branch has several heads: {sorted(heads)}"
    assert {"core", "pos", "community", "reconcile", "distribution"} <= set(branches)


def test_each_revision_follows_its_own_branch() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    for rev in script.walk_revisions():
        assert rev.path is not None
        assert rev.path.rsplit("/", 1)[-1].startswith(rev.revision), rev.path
        parents = rev.down_revision or ()
        for parent in (parents,) if isinstance(parents, str) else parents:
            if parent != "0001_core":
                assert _branch_of(parent) == _branch_of(rev.revision), f"{rev.revision} follows {parent}"


def test_the_heads_read_without_alembic_are_alembics() -> None:
    """``cunshe serve`` skips Alembic when the books are at these heads, so they must be Alembic's own."""
    script = ScriptDirectory.from_config(alembic_config())
    assert script_heads() == frozenset(script.get_heads())


def test_books_behind_a_head_are_upgraded_and_books_at_the_heads_are_left_alone(engine: Engine) -> None:
    assert at_heads(engine)  # the fixture's books are migrated
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0100_pos")  # the POS branch one revision behind its head
    assert not at_heads(engine)
    upgrade(engine)
    assert at_heads(engine)
    upgrade(engine)  # at the heads: nothing to do, and nothing fails


def test_a_new_database_is_not_at_the_heads(tmp_path: Path) -> None:
    from ledger.db.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    assert not at_heads(engine)
    upgrade(engine)
    assert at_heads(engine)
    engine.dispose()
