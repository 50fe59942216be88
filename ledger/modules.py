"""Which workflow modules are present: the app, the CLI and the schema mount those that exist."""

from __future__ import annotations

from importlib.util import find_spec


def present(name: str) -> bool:
    """True when the module can be imported; a missing parent package counts as absent."""
    try:
        return find_spec(name) is not None
    except ModuleNotFoundError:
        return False
