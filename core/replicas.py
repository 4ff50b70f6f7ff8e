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
from collections.abc import Callable, Iterable, Iterator
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


def streamed_in_request_database(make_chunks: Callable[[], Iterable[T]]) -> Iterator[T]:
    """``make_chunks()`` produced under the request's routing, though consumed after it.

    A streamed response's iterator runs when the middleware has already returned;
    each step re-enters the request's choice, and leaves it before yielding. If
    the replica fails before the first chunk left, the stream starts again on the
    primary; after that the download can only end short (the replica is marked
    down, and the error propagates: the client sees a broken transfer).
    """
    alias = _read_alias.get()  # now, in the request: the generator below runs later

    def produce() -> Iterator[T]:
        nonlocal alias
        iterator = iter(make_chunks())
        started = False
        while True:
            with reads_from(alias):
                try:
                    chunk = next(iterator)
                except StopIteration:
                    return
                except (OperationalError, InterfaceError) as exc:
                    if alias is None:
                        raise
                    mark_down(alias, exc.__class__.__name__)
                    if started:
                        raise
                    alias = None
                    iterator = iter(make_chunks())
                    continue
            started = True
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
_checking: set[str] = set()
# A replica found down is tried again after this long (a stalled host costs one
# request a connect timeout per interval, not every request).
DOWN_RETRY_SECONDS = 5.0

# The WAL receiver's columns are visible to superusers and pg_read_all_stats /
# pg_monitor only (others see its pid): grant the app's role pg_monitor. Without
# them, "received = replayed" stands in for "the primary has nothing newer".
LAG_SQL = """
SELECT pg_is_in_recovery(),
       pg_last_wal_replay_lsn() >= GREATEST(pg_last_wal_receive_lsn(), r.latest_end_lsn),
       r.pid IS NOT NULL AND COALESCE(r.status = 'streaming', true),
       EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8
FROM (SELECT 1) AS one
LEFT JOIN (SELECT pid, status, latest_end_lsn FROM pg_stat_wal_receiver LIMIT 1) AS r ON true
"""


def measure_lag(alias: str) -> float | None:
    """The replica's lag in seconds (see the module's docstring); None if unknown.

    Caught up (0): it has replayed all WAL it received and all the primary last
    told its receiver it has (``latest_end_lsn``), and the receiver is connected.
    Otherwise the age of the last transaction it replayed.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return 0.0  # a test mirror of the primary
    with dbtimeouts.bounded(dbtimeouts.HEALTHZ, using=alias), connection.cursor() as cursor:
        cursor.execute(LAG_SQL)
        in_recovery, replayed_all, connected, age = cursor.fetchone()
    if not in_recovery or (replayed_all and connected):
        return 0.0
    return None if age is None else max(0.0, float(age))


def _fresh(known: ReplicaState | None, now: float) -> bool:
    if known is None:
        return False
    interval = DOWN_RETRY_SECONDS if known.state == "down" else settings.REPLICA_CHECK_SECONDS
    return now - known.checked_at < interval


def check(alias: str, *, force: bool = False) -> ReplicaState:
    """``alias``'s state, measured at most every ``REPLICA_CHECK_SECONDS`` per process
    (every ``DOWN_RETRY_SECONDS`` once down), by one thread at a time."""
    known = _states.get(alias)
    if not force and _fresh(known, time.monotonic()):
        return known  # type: ignore[return-value]
    with _lock:
        if alias in _checking and known is not None:
            return known  # another thread is measuring: its last answer stands
        _checking.add(alias)
    try:
        try:
            lag = measure_lag(alias)
        except DatabaseError as exc:
            connections[alias].close_if_unusable_or_obsolete()
            state = ReplicaState("down", None, time.monotonic(), exc.__class__.__name__)
        else:
            # Stamped when the answer came: a slow probe must not look stale already.
            measured = time.monotonic()
            if lag is None or lag > settings.REPLICA_MAX_LAG_SECONDS:
                state = ReplicaState("lagging", lag, measured)
            else:
                state = ReplicaState("ok", lag, measured)
    finally:
        with _lock:
            _checking.discard(alias)
    with _lock:
        previous = _states.get(alias)
        _states[alias] = state
    if previous is None or previous.state != state.state:
        level = logging.INFO if state.state == "ok" else logging.WARNING
        log.log(level, "replica %s is %s (lag %s s)", alias, state.state, state.lag_seconds)
    return state


def mark_down(alias: str, reason: str) -> None:
    """A read just failed on ``alias``: skip it until it answers a check again."""
    with _lock:
        _states[alias] = ReplicaState("down", None, time.monotonic(), reason)
    log.warning("replica %s failed mid-request (%s): reads fall back to the primary", alias, reason)
    with suppress(DatabaseError):
        connections[alias].close()


def forget_states() -> None:
    """Drop what this process knows of its replicas (tests)."""
    with _lock:
        _states.clear()


def fit_to_serve(state: ReplicaState, now: float) -> bool:
    """Ok, and no staler now than a pin lasts.

    A replica ``lag`` seconds behind when measured is at most ``lag + elapsed``
    behind now. Kept within ``REPLICA_PIN_SECONDS``, every write older than its
    pin is on the replica: the writer, unpinned, still sees it.
    """
    if state.state != "ok" or state.lag_seconds is None:
        return False
    bound = min(settings.REPLICA_MAX_LAG_SECONDS, settings.REPLICA_PIN_SECONDS)
    return state.lag_seconds + (now - state.checked_at) <= bound


def choose_replica() -> str | None:
    """A replica fit to serve reads now, or None (then the primary serves)."""
    healthy = [
        alias
        for alias in settings.DATABASE_REPLICAS
        if fit_to_serve(check(alias), time.monotonic())
    ]
    return random.choice(healthy) if healthy else None


def database_states() -> dict[str, dict[str, Any]]:
    """Each replica's state for /healthz and the metrics, as this process last measured
    it (at most ``REPLICA_CHECK_SECONDS`` old): a probe answers within its own budget
    instead of waiting on every replica in turn."""
    return {alias: check(alias).as_dict() for alias in settings.DATABASE_REPLICAS}


# --- Read-your-writes pins --------------------------------------------------------
#
# A pin is a key in the shared cache, per API token (under a hash of the token) or
# per signed-in user, so it follows them to every app server. A user's pin is also
# a time in its session (in the primary database), which outlives a Redis outage.
# A pin written while the cache was unreachable is lost; the process that lost it
# then marks every pin untrusted for a pin's length as soon as the cache answers
# again, so nobody reads a replica that may not hold their write.

SESSION_PIN = "_replica_pin_until"
PINS_UNTRUSTED = PIN_PREFIX + "untrusted"
_pins_lost = False


def pin_key(request: Any) -> str | None:
    """The cache key of the request's pin: its bearer token's (a hash, never the
    token) or its signed-in user's; None for an anonymous request."""
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return PIN_PREFIX + "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    if _signed_in(request):
        return PIN_PREFIX + f"user:{request.user.pk}"
    return None


def _signed_in(request: Any) -> bool:
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated and hasattr(request, "session")


def pin(request: Any) -> None:
    """Send this request's token's or user's reads to the primary for
    ``REPLICA_PIN_SECONDS``, on every app server."""
    global _pins_lost
    key = pin_key(request)
    if key is None:
        return
    store = caches["default"]
    store.set(key, 1, settings.REPLICA_PIN_SECONDS)
    if not reachable(store):
        _pins_lost = True
    if _signed_in(request) and not key.startswith(PIN_PREFIX + "token:"):
        request.session[SESSION_PIN] = time.time() + settings.REPLICA_PIN_SECONDS


def pin_user(user_id: Any) -> None:
    """Pin a user from outside its requests (a background job that wrote for it)."""
    if user_id is None or not settings.DATABASE_REPLICAS:
        return
    global _pins_lost
    store = caches["default"]
    store.set(PIN_PREFIX + f"user:{user_id}", 1, settings.REPLICA_PIN_SECONDS)
    if not reachable(store):
        _pins_lost = True


def is_pinned(request: Any) -> bool:
    """True when this request's token or user wrote recently, or when that cannot be
    known (the cache unreachable: no pin can be trusted then)."""
    global _pins_lost
    key = pin_key(request)
    if key is None:
        return False
    if key.startswith(PIN_PREFIX + "user:") and request.session.get(SESSION_PIN, 0) > time.time():
        return True
    store = caches["default"]
    try:
        if _pins_lost and reachable(store):
            store.set(PINS_UNTRUSTED, 1, settings.REPLICA_PIN_SECONDS)
            _pins_lost = not reachable(store)
        found = store.get_many([key, PINS_UNTRUSTED])
    except Exception:  # a cache backend that raises: the pin cannot be trusted
        log.warning("read pin unknown (cache error): reading from the primary")
        return True
    return bool(found) or not reachable(store)


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
        routed = bool(settings.DATABASE_REPLICAS) and (
            request.path_info.rstrip("/") not in UNROUTED_PATHS
        )
        writer = None
        if routed and reads_only and not is_pinned(request):
            alias = choose_replica()
        elif routed and not reads_only:
            writer = pin_key(request)  # who asked; signing in or out is no data write
        with reads_from(alias):
            response = self.get_response(request)
            if settings.DB_ROUTING_HEADER:
                response["X-Read-Database"] = read_alias()
        if writer is not None and pin_key(request) == writer:
            # Pinned whatever the outcome: after a 409 the writer reloads and must
            # see the version that beat it, not an older one from a lagging replica.
            pin(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        """A database failed under a replica-routed view: run the view again on the
        primary (a read-only request: running it twice changes nothing).

        Whichever database failed: if it was the primary, the second run fails too
        and answers 503 as before. The replica is marked down either way until it
        answers a check (a primary failure costs the replica one check interval).
        """
        alias = _read_alias.get()
        if alias is None or not isinstance(exception, OperationalError | InterfaceError):
            return None
        match = request.resolver_match
        if match is None:
            return None
        mark_down(alias, exception.__class__.__name__)
        fall_back_to_primary()
        return match.func(request, *match.args, **match.kwargs)
