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
import os
import threading
from collections.abc import Sequence
from multiprocessing import forkserver, resource_tracker, util
from multiprocessing.context import ForkServerContext
from typing import Any

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


def start_forked() -> None:
    """``start()``, with the fork server a fork of this process instead of a new interpreter: it keeps every
    module this process has imported (``cunshe serve`` imports SQLAlchemy, the tables and the report modules
    first, which the server needs anyway) and imports only the rest of ``PRELOAD``, about half a second of CPU
    less than a fresh interpreter importing it all, spent beside the server's own start.

    Only from a single-threaded process with no connection open (forking a threaded one is what the fork
    server exists to avoid); otherwise, and on platforms without ``fork``, it is ``start()``. The child keeps
    only the descriptors multiprocessing would have passed to a new interpreter, and runs the same command.
    """
    if not hasattr(os, "fork") or threading.active_count() != 1:
        start()
        return
    context()
    resource_tracker.ensure_running()  # a new interpreter, as usual: it must not be a fork of this one
    spawn = util.spawnv_passfds

    def fork_instead(path: bytes, args: Sequence[Any], passfds: Sequence[int]) -> int:
        pid = os.fork()
        if pid:
            return pid
        try:  # the fork server: nothing of the parent's but stdio and what it was given
            keep = sorted({0, 1, 2, *passfds})
            for low, high in zip(keep, [*keep[1:], os.sysconf("SC_OPEN_MAX")], strict=True):
                os.closerange(low + 1, high)
            # the command a new interpreter would run: from multiprocessing.forkserver import main; main(…)
            exec(str(args[list(args).index("-c") + 1]), {})
        except SystemExit:  # its parent ended: the fork server's normal end
            os._exit(0)
        except BaseException:
            import traceback

            traceback.print_exc()  # to the server's log, as a new interpreter's fork server would
            os._exit(1)
        os._exit(0)

    util.spawnv_passfds = fork_instead
    try:
        forkserver.ensure_running()
    finally:
        util.spawnv_passfds = spawn
