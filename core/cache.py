"""Django's Redis cache backend, made fail-soft.

With ``CACHE_URL=redis://...`` the cache holds what several app servers share:
the API's page cache, background jobs' progress marks and the replicas'
read-your-writes pins (core.replicas). None of it may take a request down with
it: when Redis cannot be reached, reads are misses, writes are dropped, one
warning is logged per outage window, and for ``OUTAGE_BACKOFF_SECONDS`` this
process does not try again (no connect timeout paid by every call of every
request). ``reachable()`` tells callers for whom a miss is not the same as
"nothing stored": a read-your-writes pin cannot be trusted while Redis is away,
so every read then goes to the primary.

The same Redis, reached by its own client, counts the API's rate limits
(api.throttling): it fails open on its own terms.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from django.core.cache import BaseCache
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger("switchboard.cache")

OUTAGE_BACKOFF_SECONDS = 5.0
# Per Redis location, shared by the per-thread cache objects of this process.
_down_until: dict[str, float] = {}


def reachable(cache: BaseCache) -> bool:
    """False while ``cache`` is a Redis this process has just failed to reach."""
    if not isinstance(cache, ResilientRedisCache):
        return True
    return time.monotonic() >= _down_until.get(cache.location, 0.0)


def _note_outage(location: str, exc: Exception) -> None:
    _down_until[location] = time.monotonic() + OUTAGE_BACKOFF_SECONDS
    log.warning(
        "cache unreachable (%s): cache misses and read pins off for %.0f s; "
        "reads go to the primary database",
        exc.__class__.__name__,
        OUTAGE_BACKOFF_SECONDS,
    )


def _fail_soft(fallback: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(self: ResilientRedisCache, *args: Any, **kwargs: Any) -> Any:
            result = fallback(args, kwargs) if callable(fallback) else fallback
            if not reachable(self):
                return result
            try:
                return method(self, *args, **kwargs)
            except redis.RedisError as exc:
                _note_outage(self.location, exc)
                return result

        return wrapper

    return decorate


def _default(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    # get(key, default=None, version=None)
    return kwargs.get("default", args[1] if len(args) > 1 else None)


class ResilientRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` that degrades to misses."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self.location = server

    get = _fail_soft(_default)(RedisCache.get)
    get_many = _fail_soft(lambda args, kwargs: {})(RedisCache.get_many)
    has_key = _fail_soft(False)(RedisCache.has_key)
    add = _fail_soft(False)(RedisCache.add)
    set = _fail_soft(None)(RedisCache.set)
    set_many = _fail_soft(lambda args, kwargs: list(args[0]) if args else [])(RedisCache.set_many)
    touch = _fail_soft(False)(RedisCache.touch)
    delete = _fail_soft(False)(RedisCache.delete)
    delete_many = _fail_soft(None)(RedisCache.delete_many)
    clear = _fail_soft(False)(RedisCache.clear)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        """As Django's: ValueError when the key is missing, as it is while Redis is away."""
        if not reachable(self):
            raise ValueError(f"Key {key!r} not found (cache unreachable).")
        try:
            return super().incr(key, delta, version)
        except redis.RedisError as exc:
            _note_outage(self.location, exc)
            raise ValueError(f"Key {key!r} not found (cache unreachable).") from None
