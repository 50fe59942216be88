"""Imported only as the last preload of the report pool's fork server (``reports.forkserver.PRELOAD``):
importing it renders a warm-up statement in that process, so each worker forked from it starts warm.
Nothing else imports it."""

from __future__ import annotations

import logging

from reports.builders_batch import warm_process

try:
    warm_process()
except Exception:  # the fork server must keep running: a worker then warms itself (``_start_worker``)
    logging.getLogger(__name__).exception("warming the report fork server failed")
