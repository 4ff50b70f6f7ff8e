"""URLs for table rows, reversed once per route instead of once per row."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from django.urls import get_script_prefix, reverse

_PK_PLACEHOLDER = "00000000-0000-4000-8000-00000000abcd"


@lru_cache(maxsize=256)
def _url_pattern(name: str, script_prefix: str) -> tuple[str, str]:
    """The route's URL split around its ``pk``: what comes before and after it."""
    head, _, tail = reverse(name, kwargs={"pk": _PK_PLACEHOLDER}).partition(_PK_PLACEHOLDER)
    return head, tail


def pk_url(name: str, pk: object) -> str:
    """``reverse(name, kwargs={"pk": pk})``, the route reversed once per process
    (and script prefix), then the id substituted: a page of 50 rows reversed
    ~250 URLs, a third of its rendering time."""
    head, tail = _url_pattern(name, get_script_prefix())
    return f"{head}{pk}{tail}"


def pk_urls(name: str) -> Callable[[object], str]:
    """``pk_url`` for one route and many ids: the script prefix (a thread-local
    lookup) is read once, not once per row and route."""
    head, tail = _url_pattern(name, get_script_prefix())
    return lambda pk: f"{head}{pk}{tail}"
