"""Imports every module that defines tables, so SQLModel.metadata knows the whole schema.

Each workflow keeps its tables in its own ``models`` module and its migrations on its own Alembic branch
(``branch_labels``), rooted at the core revision; ``upgrade heads`` applies them all.
"""

from importlib import import_module

from ledger.db import models  # noqa: F401
from ledger.modules import present

MODEL_MODULES = (
    "pos.models",
    "ledger.community.models",
    "ledger.distribution.models",
    "ledger.reconcile.models",
)

for _name in MODEL_MODULES:
    if present(_name):
        import_module(_name)
