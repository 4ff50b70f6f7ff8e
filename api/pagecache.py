"""The API's page cache: an account's answers, kept until the account's data changes.

API clients poll the same pages (a list's first page, one number); rendering one
costs a few queries and milliseconds, answering it from memory costs nothing more
than the token lookup and the throttle every request pays. An answer is cached
under the account's ``inventory_version`` (``users.User``), which
``audit.services.record`` grows after every committed change to the account's
numbers or agent graph, and under the masking rule's version: a change makes the
next request miss and render afresh, so no cached answer outlives what it shows.
Entries also expire after ``API_PAGE_CACHE_SECONDS``, a bound for the rare write
made around the write paths (a hand-run SQL fix: ``rebuild_fragments`` then bumps
every account).

Only the token's own account's answers are cached, keyed by its id: one account's
answer is never another's. The version is read with the token (primary database);
the page's rows are read after it, so a cached answer is never older than the
version it is filed under. On a read replica the version is read again from the
replica, the database the rows come from: the primary's newer version would file
the replica's older rows under it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse
from rest_framework.request import Request

from core.replicas import PRIMARY, read_alias
from users.models import User
from vault.masking import RULE_VERSION

from .etags import etag_for, render_json

CACHE_ALIAS = "api_pages"


def answer(request: Request, params: dict[str, Any], build: Callable[[], Any]) -> HttpResponse:
    """``build()``'s data as the JSON answer, from the cache when the account's data
    has not changed since it was cached (``params``: the validated query)."""
    if not settings.API_PAGE_CACHE:
        body = render_json(build())
        return _response(body, etag_for(body))
    account = request.user
    query = urlencode(sorted((name, str(value)) for name, value in params.items()))
    version = account.inventory_version
    if (alias := read_alias()) != PRIMARY:
        version = (
            User.objects.using(alias)
            .filter(pk=account.pk)
            .values_list("inventory_version", flat=True)
        ).first()
    key = f"v{RULE_VERSION}:{account.pk}:{version}:{request.path}?{query}"
    cache = caches[CACHE_ALIAS]
    hit = cache.get(key)
    if hit is None:
        body = render_json(build())
        hit = (body, etag_for(body))
        cache.set(key, hit, settings.API_PAGE_CACHE_SECONDS)
    return _response(*hit)


def _response(body: bytes, etag: str) -> HttpResponse:
    response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag  # api.etags.ApiETagMiddleware answers If-None-Match with it
    return response
