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

timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
