"""``/metrics`` for Prometheus: requests, databases and what the apps above core register.

Three kinds of figures, each gathered where it is cheapest:

- Requests (``MetricsMiddleware``): a latency histogram and a response counter, by
  method, view and status. Two metric updates per request. The labels are bounded by
  the code, never by the client: ``view`` is the URL pattern's name (``numbers:list``),
  never the path, whose ids and query strings would make a series per object; a
  method outside the standard ones is ``other``.
- Databases (collected at scrape time): up, state and replica lag per alias, as
  ``/healthz`` reports them: the primary by its own ``SELECT 1``, each replica from
  ``core.replicas.database_states()``.
- Apps above core (collected at scrape time): core cannot import ``jobs``, so an app
  registers a collector here at start-up (``jobs.apps.JobsConfig.ready``), as it
  registers a probe in ``core.health``.

gunicorn runs several worker processes, and a scrape reaches one of them. With
``PROMETHEUS_MULTIPROC_DIR`` set (an empty directory per app server, made before
gunicorn starts), every worker writes its request metrics to files there and the
scrape adds up all the workers' files (``prometheus_client.multiprocess``); a worker
that exits is marked dead by gunicorn's ``child_exit`` hook (``gunicorn.conf.py``).
Scrape-time figures come from the scraping worker alone: they describe the databases
and the queue, which every worker sees alike.

Protected: ``METRICS_TOKEN`` unset, the endpoint does not exist (404); set, a scrape
needs ``Authorization: Bearer <token>`` (missing 401, wrong 403, compared in constant
time, no figure in either answer). Exempt from the SSL redirect (settings), as
``/healthz`` is, for a scraper on plain HTTP inside the network.

Never 500: a collector that raises (the database is down, a statement timed out) is
reported as ``switchboard_metrics_collector_up{collector=...} 0``, logged by its class
only (a message may name a host), and the answer stays 200 with everything else.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from core import dbtimeouts, health, replicas

log = logging.getLogger("switchboard.metrics")

# One `_created` series beside every counter and histogram doubles what a scrape
# carries for a timestamp nobody graphs.
disable_created_metrics()

# Anything else (a made-up method is legal HTTP) is "other": one series, not one per word.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Answered before routing (static files, the SSL redirect, the query-string guard)
# or matching no URL pattern.
NO_VIEW = "none"
# From a cached API answer (~2 ms) to gunicorn's worker timeout (30 s).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
DATABASE_STATES = ("ok", "lagging", "down")

REQUEST_SECONDS = Histogram(
    "switchboard_http_request_duration_seconds",
    "Time from the request's arrival to its response's headers, by method and view.",
    ["method", "view"],
    buckets=LATENCY_BUCKETS,
)
RESPONSES = Counter(
    "switchboard_http_responses",
    "Responses by method, view and status code.",
    ["method", "view", "status"],
)

Collect = Callable[[], Iterable[Metric]]
# name -> (collect, run in a bounded transaction on the primary?)
_collectors: dict[str, tuple[Collect, bool]] = {}


class MetricsMiddleware:
    """Times every request and counts its response (first in MIDDLEWARE: the whole stack).

    The time ends when the response object is returned: for a streamed CSV export that
    is the first byte, not the last.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        method = request.method if request.method in METHODS else "other"
        # Set by URL resolution, the pattern's name: bounded by the URLconf.
        match = request.resolver_match
        view = match.view_name if match is not None else NO_VIEW
        REQUEST_SECONDS.labels(method, view).observe(elapsed)
        RESPONSES.labels(method, view, str(response.status_code)).inc()
        return response


def register(name: str, collect: Collect, *, bounded: bool = True) -> None:
    """Run ``collect()`` at every scrape and expose the metric families it returns.

    ``name`` labels ``switchboard_metrics_collector_up``. A collector builds families
    from prometheus_client.core (GaugeMetricFamily...) with bounded label values.
    ``bounded``: in one transaction under the ``healthz`` timeouts (core.dbtimeouts),
    as ``core.health`` runs its probes; off for a collector that bounds its own queries.
    """
    _collectors[name] = (collect, bounded)


def unregister(name: str) -> None:
    """Stop collecting ``name`` (tests that register a collector of their own)."""
    _collectors.pop(name, None)


def database_families() -> list[Metric]:
    """Up, state and replica lag of each database alias, as ``/healthz`` reports them."""
    states = _database_states()
    up = GaugeMetricFamily(
        "switchboard_database_up", "1 when the database answers, else 0.", labels=["alias"]
    )
    state = GaugeMetricFamily(
        "switchboard_database_state",
        "1 for the database's current state (ok, lagging: skipped for reads, down).",
        labels=["alias", "state"],
    )
    lag = GaugeMetricFamily(
        "switchboard_database_replica_lag_seconds",
        "Age of the last transaction a replica replayed (0 when it has replayed everything).",
        labels=["alias"],
    )
    for alias, figures in states.items():
        current = figures.get("state")
        current = current if current in DATABASE_STATES else "down"
        up.add_metric([alias], 0 if current == "down" else 1)
        for name in DATABASE_STATES:
            state.add_metric([alias, name], 1 if name == current else 0)
        seconds = figures.get("lag_seconds")
        if alias != DEFAULT_DB_ALIAS and isinstance(seconds, int | float):
            lag.add_metric([alias], float(seconds))
    return [up, state, lag]


def _database_states() -> dict[str, dict[str, Any]]:
    """The primary's state from the probe ``/healthz`` uses, each replica's as this
    process last measured it (``core.replicas.database_states``). Only the aliases in
    settings are kept: an alias is a label, a host never is."""
    primary = {DEFAULT_DB_ALIAS: {"state": "ok" if health.primary_answers() else "down"}}
    try:
        found = replicas.database_states()
    # The primary's figure is still worth giving; the replicas' series go missing,
    # which an alert on absent() sees.
    except Exception as exc:
        log.warning("replica states failed: %s", type(exc).__name__)
        return primary
    known = settings.DATABASE_REPLICAS
    return {**primary, **{alias: found[alias] for alias in found if alias in known}}


# Each database is measured under its own bound (a transaction on the primary would
# not bound a replica's query, and would fail before the primary could be called down).
register("databases", database_families, bounded=False)


class _ScrapeTime:
    """The registered collectors, run now; each one's success as a gauge of its own."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "switchboard_metrics_collector_up",
            "1 when the collector answered at this scrape, 0 when it raised.",
            labels=["collector"],
        )
        for name, (collect, bounded) in list(_collectors.items()):
            try:
                families = _run(collect, bounded=bounded)
            # Whatever a collector raises (the database away, a statement timeout, a
            # cache that refuses connections) must not cost the scrape its answer.
            except Exception as exc:
                log.warning("metrics collector %s failed: %s", name, type(exc).__name__)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


def _run(collect: Collect, *, bounded: bool) -> list[Metric]:
    """Every family built before any is shown: a collector that fails half-way shows
    nothing rather than half."""
    if not bounded:
        return list(collect())
    try:
        with dbtimeouts.bounded(dbtimeouts.HEALTHZ):
            return list(collect())
    except DatabaseError:
        connections[DEFAULT_DB_ALIAS].close_if_unusable_or_obsolete()
        raise


class _ThisProcess:
    """This process's own request metrics and runtime figures (no multiprocess directory)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def registry() -> CollectorRegistry:
    """What one scrape shows: every worker's request metrics and the scrape-time figures."""
    scrape = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(scrape)
    else:
        scrape.register(_ThisProcess())
    scrape.register(_ScrapeTime())
    return scrape


def _digest(value: str) -> bytes:
    # Equal lengths for compare_digest, whatever was sent.
    return hashlib.sha256(value.encode()).digest()


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus's text format, for a scraper holding ``METRICS_TOKEN``."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("metrics are off")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        response = HttpResponse("Unauthorized.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not hmac.compare_digest(_digest(given.strip()), _digest(token)):
        return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
