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
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, replace
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


# --- A replica that stops answering -------------------------------------------------
#
# A standby that accepts connections and then answers nothing (a frozen host, a
# stopped process) cannot enforce its own statement_timeout, and the kernel still
# acknowledges TCP, so keepalives never fire: a read would wait until gunicorn
# killed the worker, and with every worker waiting the balancer would find no app
# server answering while the primary is fine. On replica connections a watchdog
# thread (one per process) shuts the socket of a statement still running after
# ``REPLICA_STALL_SECONDS`` (a little past the web statement timeout, which a
# healthy replica enforces first); psycopg then raises OperationalError, the
# replica is marked down and the view runs again on the primary. Connecting is
# bounded by ``connect_timeout``. Rows fetched later from a server-side cursor
# (``.iterator()``) are not covered: a streamed export on a replica that freezes
# mid-stream waits for gunicorn's timeout.

_stall_seconds: ContextVar[float | None] = ContextVar("replica_stall_seconds", default=None)


class _Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[int, tuple[float, int]] = {}
        self._pid = 0

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():  # first use in this (forked) worker process
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="replica-watchdog", daemon=True).start()

    @contextmanager
    def guard(self, fd: int, seconds: float) -> Iterator[None]:
        key = threading.get_ident()
        with self._lock:
            self._ensure_thread()
            self._deadlines[key] = (time.monotonic() + seconds, fd)
        try:
            yield
        finally:
            with self._lock:
                self._deadlines.pop(key, None)

    def _run(self) -> None:
        while True:
            time.sleep(0.2)
            now = time.monotonic()
            # Under the lock: the statement's thread cannot leave guard() (and its
            # connection cannot close, freeing the descriptor for another) meanwhile.
            with self._lock:
                expired = [(k, fd) for k, (due, fd) in self._deadlines.items() if due <= now]
                for key, fd in expired:
                    self._deadlines.pop(key, None)
                    log.warning("replica statement past its deadline: closing its connection")
                    # shutdown() acts on the socket itself, not this duplicate of its
                    # descriptor: psycopg's wait on it ends at once.
                    with suppress(OSError), socket.socket(fileno=os.dup(fd)) as stalled:
                        stalled.shutdown(socket.SHUT_RDWR)


_watchdog = _Watchdog()


def _guarded_execute(execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
    raw = context["connection"].connection
    fileno = getattr(raw, "fileno", None)
    if fileno is None:
        return execute(sql, params, many, context)
    seconds = _stall_seconds.get() or settings.REPLICA_STALL_SECONDS
    with _watchdog.guard(fileno(), seconds):
        return execute(sql, params, many, context)


def guard_replica_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver (core.apps): a replica's statements get the watchdog."""
    if (
        connection.alias in settings.DATABASE_REPLICAS
        and connection.vendor == "postgresql"
        and _guarded_execute not in connection.execute_wrappers
    ):
        connection.execute_wrappers.append(_guarded_execute)


# --- Replica state, per process -------------------------------------------------


@dataclass(frozen=True)
class ReplicaState:
    state: str  # "ok", "lagging" or "down"
    lag_seconds: float | None
    checked_at: float  # time.monotonic()
    detail: str = ""
    failures: int = 0  # checks in a row that found it down

    def down_after(self, previous: ReplicaState | None) -> ReplicaState:
        """This "down" state, counting the downs before it."""
        before = previous.failures if previous and previous.state == "down" else 0
        return replace(self, failures=before + 1)

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"state": self.state, "lag_seconds": self.lag_seconds}
        if self.detail:
            answer["detail"] = self.detail
        return answer


_states: dict[str, ReplicaState] = {}
_lock = threading.Lock()
_checking: set[str] = set()
# A replica found down is tried again after 5 s, then 10, 20, at most 30 while it
# stays down: a frozen host costs one request a connect timeout per interval.
DOWN_RETRY_SECONDS = 5.0
DOWN_RETRY_MAX_SECONDS = 30.0
# A probe's own bound: a little past the healthz statement timeout (1 s).
PROBE_STALL_SECONDS = 1.5

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
    token = _stall_seconds.set(PROBE_STALL_SECONDS)
    try:
        with dbtimeouts.bounded(dbtimeouts.HEALTHZ, using=alias), connection.cursor() as cursor:
            cursor.execute(LAG_SQL)
            in_recovery, replayed_all, connected, age = cursor.fetchone()
    finally:
        _stall_seconds.reset(token)
    if not in_recovery or (replayed_all and connected):
        return 0.0
    return None if age is None else max(0.0, float(age))


def _fresh(known: ReplicaState | None, now: float) -> bool:
    if known is None:
        return False
    if known.state == "down":
        interval = min(DOWN_RETRY_MAX_SECONDS, DOWN_RETRY_SECONDS * 2 ** (known.failures - 1))
    else:
        interval = settings.REPLICA_CHECK_SECONDS
    return now - known.checked_at < interval


def check(alias: str, *, force: bool = False, probe: bool = True) -> ReplicaState:
    """``alias``'s state, measured at most every ``REPLICA_CHECK_SECONDS`` per process
    (less often while it stays down), by one thread at a time. ``probe=False``: what
    was last measured, if anything was."""
    known = _states.get(alias)
    if known is not None and not probe:
        return known
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
        if state.state == "down":
            state = state.down_after(previous)
        _states[alias] = state
    if previous is None or previous.state != state.state:
        level = logging.INFO if state.state == "ok" else logging.WARNING
        log.log(level, "replica %s is %s (lag %s s)", alias, state.state, state.lag_seconds)
    return state


def mark_down(alias: str, reason: str) -> None:
    """A read just failed on ``alias``: skip it until it answers a check again."""
    with _lock:
        down = ReplicaState("down", None, time.monotonic(), reason)
        _states[alias] = down.down_after(_states.get(alias))
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
    it, with the measurement's age: a load balancer's probe never waits on a replica
    (a frozen one would make every app server look down while the primary is fine).
    Measured now only if this process never has."""
    now = time.monotonic()
    states = {}
    for alias in settings.DATABASE_REPLICAS:
        state = check(alias, probe=False)
        states[alias] = {**state.as_dict(), "checked_seconds_ago": round(now - state.checked_at, 1)}
    return states


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
