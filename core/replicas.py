"""Read replicas: which database each read goes to.

The primary (``default``) takes every write and every read that decides one.
PostgreSQL streaming standbys (``DATABASE_REPLICA_URLS`` -> ``replica1``...) take
the reads of read-only requests, chosen per request by
``ReplicaRoutingMiddleware`` (below):

- Only GET/HEAD/OPTIONS requests read from a replica; anything else, and
  everything outside a request (management commands, task workers), uses the
  primary. ``ReplicaRouter`` sends a read to the request's replica unless it
  runs inside a transaction on the primary (a read inside a write's
  transaction belongs to it) or its model is in ``PRIMARY_ONLY_APPS``
  (sessions, users and tokens, lockouts, second factors, rate counters, jobs):
  the reads that authenticate a request or decide a write.
- Read-your-writes: a request that is not a read pins its user (session) or
  API token (a hash of it) to the primary for ``REPLICA_PIN_SECONDS``. The pin
  lives in the shared cache (Redis), so it follows the user to every app
  server; while the cache cannot be reached, pins cannot be trusted and every
  read goes to the primary.
- A replica that is down or lags more than ``REPLICA_MAX_LAG_SECONDS`` is
  skipped (each process looks again every ``REPLICA_CHECK_SECONDS``); a read
  that fails on a replica mid-request is retried once on the primary (the
  middleware runs the view again).

Lag, in seconds: 0 when the standby has replayed everything it received and
its WAL receiver is streaming (the primary has nothing newer it knows of);
otherwise the age of the last transaction it replayed. An idle primary thus
never makes a healthy replica look stale, and a standby whose replay is paused
or cut off from the primary ages until it is skipped.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connections,
)
from django.http import HttpRequest, HttpResponse

from . import dbtimeouts
from .cache import reachable

log = logging.getLogger("switchboard.replicas")

PRIMARY = DEFAULT_DB_ALIAS
# Apps whose reads stay on the primary even in a read-only request: who is asking
# (sessions, users, tokens, second factors), lockouts and rate counters, and the
# background jobs whose state a page shows while a worker writes it.
PRIMARY_ONLY_APPS = frozenset(
    {
        "sessions",
        "auth",
        "contenttypes",
        "users",
        "axes",
        "otp_totp",
        "otp_static",
        "django_otp",
        "core",
        "jobs",
        "django_tasks_db",
    }
)
PIN_PREFIX = "replica-pin:"
T = TypeVar("T")

# The replica this request reads from; None: the primary.
_read_alias: ContextVar[str | None] = ContextVar("switchboard_read_alias", default=None)


@contextmanager
def reads_from(alias: str | None) -> Iterator[None]:
    """Route the block's reads to ``alias`` (None: the primary)."""
    token = _read_alias.set(alias)
    try:
        yield
    finally:
        _read_alias.reset(token)


def read_alias() -> str:
    """The database this request's routed reads use: a replica's alias or ``default``."""
    return _read_alias.get() or PRIMARY


def fall_back_to_primary() -> None:
    """From now on in this request (or ``reads_from`` block), read from the primary."""
    _read_alias.set(None)


def streamed_in_request_database(chunks: Iterator[T]) -> Iterator[T]:
    """``chunks`` produced under the request's routing, though consumed after it.

    A streamed response's iterator runs when the middleware has already returned;
    each step re-enters the request's choice, and leaves it before yielding.
    """
    alias = _read_alias.get()  # now, in the request: the generator below runs later

    def produce() -> Iterator[T]:
        iterator = iter(chunks)
        while True:
            with reads_from(alias):
                try:
                    chunk = next(iterator)
                except StopIteration:
                    return
            yield chunk

    return produce()


class ReplicaRouter:
    """``DATABASE_ROUTERS``: writes and migrations on the primary; reads as above."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        alias = _read_alias.get()
        if alias is None or model._meta.app_label in PRIMARY_ONLY_APPS:
            return PRIMARY
        if connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return alias

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # every alias holds the same data

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY  # a standby replays the primary's migrations


# --- Replica state, per process -------------------------------------------------


@dataclass(frozen=True)
class ReplicaState:
    state: str  # "ok", "lagging" or "down"
    lag_seconds: float | None
    checked_at: float  # time.monotonic()
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"state": self.state, "lag_seconds": self.lag_seconds}
        if self.detail:
            answer["detail"] = self.detail
        return answer


_states: dict[str, ReplicaState] = {}
_lock = threading.Lock()

LAG_SQL = """
SELECT pg_is_in_recovery(),
       COALESCE(pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), false),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'),
       EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8
"""


def measure_lag(alias: str) -> float | None:
    """The replica's lag in seconds (see the module's docstring); None if unknown."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return 0.0  # a test mirror of the primary
    with dbtimeouts.bounded(dbtimeouts.HEALTHZ, using=alias), connection.cursor() as cursor:
        cursor.execute(LAG_SQL)
        in_recovery, replayed_all, streaming, age = cursor.fetchone()
    if not in_recovery or (replayed_all and streaming):
        return 0.0
    return None if age is None else max(0.0, float(age))


def check(alias: str, *, force: bool = False) -> ReplicaState:
    """``alias``'s state, measured at most every ``REPLICA_CHECK_SECONDS`` per process."""
    now = time.monotonic()
    known = _states.get(alias)
    if known and not force and now - known.checked_at < settings.REPLICA_CHECK_SECONDS:
        return known
    try:
        lag = measure_lag(alias)
    except DatabaseError as exc:
        connections[alias].close_if_unusable_or_obsolete()
        state = ReplicaState("down", None, now, exc.__class__.__name__)
    else:
        if lag is None or lag > settings.REPLICA_MAX_LAG_SECONDS:
            state = ReplicaState("lagging", lag, now)
        else:
            state = ReplicaState("ok", lag, now)
    with _lock:
        previous = _states.get(alias)
        _states[alias] = state
    if previous is None or previous.state != state.state:
        level = logging.INFO if state.state == "ok" else logging.WARNING
        log.log(level, "replica %s is %s (lag %s s)", alias, state.state, state.lag_seconds)
    return state


def mark_down(alias: str, reason: str) -> None:
    """A read just failed on ``alias``: skip it until the next check."""
    with _lock:
        _states[alias] = ReplicaState("down", None, time.monotonic(), reason)
    log.warning("replica %s failed mid-request (%s): reads fall back to the primary", alias, reason)
    with suppress(DatabaseError):
        connections[alias].close()


def forget_states() -> None:
    """Drop what this process knows of its replicas (tests)."""
    with _lock:
        _states.clear()


def choose_replica() -> str | None:
    """A replica fit to serve reads now, or None (then the primary serves)."""
    healthy = [alias for alias in settings.DATABASE_REPLICAS if check(alias).state == "ok"]
    return random.choice(healthy) if healthy else None


def database_states() -> dict[str, dict[str, Any]]:
    """Every database's state for /healthz and the metrics: the primary's as given by
    its caller's own probe, each replica's freshly measured."""
    return {alias: check(alias, force=True).as_dict() for alias in settings.DATABASE_REPLICAS}


# --- Read-your-writes pins --------------------------------------------------------


def principal(request: Any) -> str | None:
    """Who a pin is for: the API token (by a hash, never the token) or the signed-in user."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def pin(who: str) -> None:
    """Send ``who``'s reads to the primary for ``REPLICA_PIN_SECONDS``, on every server."""
    caches["default"].set(PIN_PREFIX + who, 1, settings.REPLICA_PIN_SECONDS)


def is_pinned(who: str | None) -> bool:
    """True when ``who`` wrote recently, or when that cannot be known (cache down)."""
    if who is None:
        return False
    store = caches["default"]
    try:
        pinned = store.get(PIN_PREFIX + who) is not None
    except Exception:  # a cache backend that raises: the pin cannot be trusted
        log.warning("read pin unknown (cache error): reading from the primary")
        return True
    return pinned or not reachable(store)


# --- The middleware ----------------------------------------------------------------

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Answers to load balancers and scrapers measure each database themselves.
UNROUTED_PATHS = frozenset({"/healthz", "/metrics"})


class ReplicaRoutingMiddleware:
    """Choose the database a request reads from; pin writers; retry a failed replica read.

    After AuthenticationMiddleware (a pin is per user). With no replicas configured
    it costs one settings lookup.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        alias = None
        reads_only = request.method in SAFE_METHODS
        who = None
        if settings.DATABASE_REPLICAS and request.path_info.rstrip("/") not in UNROUTED_PATHS:
            who = principal(request)
            if reads_only and not is_pinned(who):
                alias = choose_replica()
        with reads_from(alias):
            response = self.get_response(request)
            if settings.DB_ROUTING_HEADER:
                response["X-Read-Database"] = read_alias()
        if not reads_only and who is not None:
            # Pinned whatever the outcome: after a 409 the writer reloads and must
            # see the version that beat it, not an older one from a lagging replica.
            pin(who)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        """A replica failed under the view: mark it down and run the view again on the
        primary (a read-only request: running it twice changes nothing)."""
        alias = _read_alias.get()
        if alias is None or not isinstance(exception, OperationalError | InterfaceError):
            return None
        if not connections[alias].errors_occurred:
            return None  # the primary failed: nothing to fall back to
        mark_down(alias, exception.__class__.__name__)
        fall_back_to_primary()
        match = request.resolver_match
        if match is None:
            return None
        return match.func(request, *match.args, **match.kwargs)
