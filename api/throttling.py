"""API rate limits per token: one fixed-window counter shared by every worker.

The rule: a token may make ``API_RATE_LIMIT`` requests (``3000/min``) per
window. A window opens at the token's first request and lasts the rate's
period; the request that goes over the limit is a 429 whose Retry-After is
the seconds left in the window.

Each request costs ONE atomic increment in a store every worker shares, never
a read-modify-write of a request history (DRF's SimpleRateThrottle read the
history from the per-process cache, so four gunicorn workers allowed four
times the limit):

- Redis, when ``RATELIMIT_REDIS_URL`` is set (or ``CACHE_URL`` is a Redis
  URL): ``SET NX PX`` + ``INCR`` + ``PTTL`` in one MULTI/EXEC round trip.
  Shared by every app server.
- Otherwise the database (``core.models.RateCounter``): one
  ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` (SQLite >= 3.35 and
  PostgreSQL). Shared by every worker and every server on that database.

Windows start at each token's first request rather than on the clock's
minute, so the clients that hit their limit do not all retry at :00, and the
database keeps one row per token instead of one per token and minute.

If the store cannot be reached, requests are ALLOWED (fail open) and a
warning is logged: a Redis outage must not take the API down with it.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections, router
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from core.models import RateCounter

log = logging.getLogger("switchboard.ratelimit")

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# After Redis fails, this process skips it (and allows requests) for a few
# seconds instead of paying a connect timeout on every request of the outage.
REDIS_BACKOFF_SECONDS = 5.0
_redis_skip_until = 0.0


@dataclass(frozen=True)
class Window:
    """A key's current window: requests counted so far, including this one."""

    count: int
    seconds_left: float


def parse_rate(rate: str) -> tuple[int, int]:
    """``"3000/min"`` -> (3000, 60): DRF's format (s, sec, m, min, h, hour, d, day)."""
    try:
        number, period = rate.split("/")
        return int(number), PERIODS[period.strip()[0]]
    except (ValueError, KeyError, IndexError):
        raise ImproperlyConfigured(f"Bad rate {rate!r}: expected e.g. '3000/min'.") from None


def count_request(key: str, period: int, now: float | None = None) -> Window | None:
    """Count one request for ``key`` in its current window; None if the store is down."""
    now = time.time() if now is None else now
    if settings.RATELIMIT_REDIS_URL:
        return _count_in_redis(key, period)
    return _count_in_database(key, period, now)


@cache
def _redis_client(url: str) -> redis.Redis:
    # Short timeouts: an unreachable Redis costs a request half a second at most.
    # Options in the URL (?socket_timeout=...) win over these.
    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)


def _count_in_redis(key: str, period: int) -> Window | None:
    global _redis_skip_until
    if time.monotonic() < _redis_skip_until:
        return None
    name = f"ratelimit:{key}"
    client = _redis_client(settings.RATELIMIT_REDIS_URL)
    try:
        # MULTI/EXEC: no other client's command runs between these three.
        pipe = client.pipeline(transaction=True)
        pipe.set(name, 0, px=period * 1000, nx=True)
        pipe.incr(name)
        pipe.pttl(name)
        _, count, ttl_ms = pipe.execute()
        if ttl_ms < 0:
            # Redis < 7 may expire the key between SET and INCR; INCR then makes
            # one without expiry, which would block the token for good.
            client.pexpire(name, period * 1000)
            ttl_ms = period * 1000
    except redis.RedisError as exc:
        # Fail open: pages and the API keep answering while Redis is away.
        _redis_skip_until = time.monotonic() + REDIS_BACKOFF_SECONDS
        log.warning(
            "rate limit store unreachable (%s): requests are not limited for %.0f s",
            exc.__class__.__name__,
            REDIS_BACKOFF_SECONDS,
        )
        return None
    return Window(count=int(count), seconds_left=ttl_ms / 1000)


def _count_in_database(key: str, period: int, now: float) -> Window | None:
    alias = router.db_for_write(RateCounter)
    connection = connections[alias]
    quote = connection.ops.quote_name
    table = quote(RateCounter._meta.db_table)
    key_col, end_col, count_col = (quote(name) for name in ("key", "window_end", "count"))
    # One statement, atomic in both databases: a missing or expired window
    # restarts at 1, a live one is incremented. SET expressions see the row
    # as it was before this update. Names come from the model; values are bound.
    sql = (
        f"INSERT INTO {table} ({key_col}, {end_col}, {count_col}) VALUES (%s, %s, 1) "  # noqa: S608
        f"ON CONFLICT ({key_col}) DO UPDATE SET "
        f"{count_col} = CASE WHEN {table}.{end_col} <= %s THEN 1 "
        f"ELSE {table}.{count_col} + 1 END, "
        f"{end_col} = CASE WHEN {table}.{end_col} <= %s THEN excluded.{end_col} "
        f"ELSE {table}.{end_col} END "
        f"RETURNING {count_col}, {end_col}"
    )
    # Requests run in autocommit (no ATOMIC_REQUESTS): the row lock that orders
    # concurrent increments lasts this one statement, not the whole request.
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, [key, now + period, now, now])
            count, window_end = cursor.fetchone()
            if count == 1:
                # A window opened: drop the expired ones (any key's), which mean
                # the same as no row. At most once per key per window.
                cursor.execute(f"DELETE FROM {table} WHERE {end_col} < %s", [now])  # noqa: S608
    except DatabaseError as exc:
        if connection.in_atomic_block:
            raise  # PostgreSQL has aborted the caller's transaction: no use going on
        # Fail open, as for Redis: a locked SQLite file must not become a 500.
        log.warning(
            "rate limit store unreachable (%s): request not limited", exc.__class__.__name__
        )
        return None
    return Window(count=count, seconds_left=window_end - now)


class TokenRateThrottle(BaseThrottle):
    """``DEFAULT_THROTTLE_RATES["token"]`` per API token (by its public prefix)."""

    scope = "token"
    THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES

    def __init__(self) -> None:
        try:
            rate = self.THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"No throttle rate for {self.scope!r}.") from None
        self.num_requests, self.period = parse_rate(rate) if rate else (None, None)
        self.retry_after: int | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        prefix = getattr(getattr(request, "auth", None), "prefix", None)
        if self.num_requests is None or prefix is None:
            return True  # unauthenticated requests are refused before they cost anything
        window = count_request(f"{self.scope}:{prefix}", self.period)
        if window is None or window.count <= self.num_requests:
            return True
        self.retry_after = max(1, math.ceil(window.seconds_left))
        return False

    def wait(self) -> int | None:
        return self.retry_after
