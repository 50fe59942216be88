"""The report pool's fork server: started as early as a server can, and warm before it forks a worker.

Every worker of the report pool (``reports.builders_batch.pool``) forks from one fork server process. Its
preloads import the report stack and WeasyPrint once and, last, ``reports.warm_fork_server`` renders a
warm-up statement there (``warm_process``: WeasyPrint's first layout, fontconfig, both weights of the CJK
font, the templates, then ``gc.freeze()``), so a worker is warm the moment it is forked and starts in
milliseconds instead of paying ~2 s of imports and ~0.5 s of warm-up.

``start()`` only spawns that process and returns: ``cunshe serve`` calls it before it imports the app, so
the fork server imports and warms on one core while the server imports FastAPI and the routes on the other,
and the pool the server starts once it listens is ready soon after (the first statement PDF after start
waits for neither). This module imports nothing heavy itself.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext

# The fork server imports these once (an ImportError is skipped there); the last one warms it.
PRELOAD = ["reports.builders_batch", "reports.registry", "weasyprint", "reports.warm_fork_server"]


def context() -> ForkServerContext:
    """The pool's multiprocessing context, its fork server preloading ``PRELOAD``."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def start() -> None:
    """Spawn the fork server now, if it is not running (it imports and warms in its own process; this
    returns at once). A pool started later in this process forks its workers from it."""
    context()
    forkserver.ensure_running()
