"""API rate limits per token (429 with Retry-After, from DRF)."""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Counts requests per API token (by its public prefix), in the cache.

    With the default in-process cache each app server counts on its own; set
    CACHE_URL to a shared cache (Redis) to enforce one limit across servers.
    """

    scope = "token"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        token = getattr(request, "auth", None)
        prefix = getattr(token, "prefix", None)
        if prefix is None:
            return None  # unauthenticated requests are refused before they cost anything
        return self.cache_format % {"scope": self.scope, "ident": prefix}
