"""gunicorn's settings: read from ./gunicorn.conf.py when it starts in the repo root.

``timeout`` is the last bound on a request whose database stops answering on a
connection that was already open, where no client-side timeout can interrupt
psycopg's wait (core.dbtimeouts bounds new connections, statements and lock
waits). After GUNICORN_TIMEOUT seconds without news from a worker, gunicorn
kills it (its client gets gunicorn's bare 500) and starts a fresh one, whose
new connection then fails within DB_CONNECT_TIMEOUT as a 503. Command-line
flags (``--workers``, ``--bind``) still win over this file.
"""

from __future__ import annotations

import os
from typing import Any

timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))


def child_exit(server: Any, worker: Any) -> None:
    """A worker that exits (recycled, killed on timeout) leaves its metric files in
    PROMETHEUS_MULTIPROC_DIR: its counters still count in /metrics' sums (core.metrics),
    its live gauges must not. Without the directory there is nothing to mark."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
