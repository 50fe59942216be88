"""Imports every module that defines tables, so SQLModel.metadata knows the whole schema.

Each workflow keeps its tables in its own ``models`` module and its migrations on its own Alembic branch
(``branch_labels``), rooted at the core revision; ``upgrade heads`` applies them all.
"""

from ledger.community import models as community_models
from ledger.db import models
from ledger.distribution import models as distribution_models
from ledger.reconcile import models as reconcile_models
from pos import models as pos_models

MODEL_MODULES = (models, pos_models, community_models, distribution_models, reconcile_models)
