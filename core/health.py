"""What ``/healthz`` reports beside the database: probes the apps above core register.

core sits below every app, so it cannot ask ``jobs`` how deep its queue is; instead
an app registers a probe at start-up (``jobs.apps.JobsConfig.ready``) and healthz
runs whatever is registered. A probe informs, it never decides: the status code
depends only on the primary database (a load balancer that takes an app server out
because a worker is idle or Redis is down would turn a slow queue into an outage).
So a probe that raises is reported as ``{"status": "error", "error": <its class>}``
(never the message, which may name a host) and the answer stays 200.

Each probe runs in its own transaction under the ``healthz`` timeouts
(``core.dbtimeouts.bounded``): a slow count costs at most the probe's bound, and a
failed statement rolls back without spoiling the connection for the next request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from core import dbtimeouts

log = logging.getLogger("switchboard.health")

Probe = Callable[[], dict[str, Any]]

_probes: dict[str, Probe] = {}


def primary_answers() -> bool:
    """Whether the primary database answers a ``SELECT 1`` within the healthz bounds:
    what decides /healthz's status, and /metrics' ``database_up`` for the primary.
    A connection the failure broke is closed, so the next request connects afresh."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with dbtimeouts.bounded(dbtimeouts.HEALTHZ), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        connection.close_if_unusable_or_obsolete()
        return False
    return True


def register(name: str, probe: Probe) -> None:
    """Report ``probe()`` under ``name`` in every healthz answer (idempotent per name)."""
    _probes[name] = probe


def unregister(name: str) -> None:
    """Stop reporting ``name`` (tests that register a probe of their own)."""
    _probes.pop(name, None)


def report() -> dict[str, dict[str, Any]]:
    """Every registered probe's answer, ``{"status": "ok", ...}`` or the error's class."""
    results: dict[str, dict[str, Any]] = {}
    for name, probe in list(_probes.items()):
        try:
            with dbtimeouts.bounded(dbtimeouts.HEALTHZ):
                results[name] = {"status": "ok", **probe()}
        # Whatever a probe raises (a missing table, a statement timeout, a cache
        # server that refuses connections) must not reach the load balancer.
        except Exception as exc:
            # The probe's block rolled back its failed statement; a connection that
            # broke is closed by Django when the request ends (closing it here would
            # also end a caller's own transaction).
            log.warning("health probe %s failed: %s", name, type(exc).__name__)
            results[name] = {"status": "error", "error": type(exc).__name__}
    return results
