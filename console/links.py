"""URLs for table rows, reversed once per route instead of once per row."""

from __future__ import annotations

from functools import lru_cache

from django.urls import get_script_prefix, reverse

_PK_PLACEHOLDER = "00000000-0000-4000-8000-00000000abcd"


@lru_cache(maxsize=256)
def _url_pattern(name: str, script_prefix: str) -> str:
    return reverse(name, kwargs={"pk": _PK_PLACEHOLDER})


def pk_url(name: str, pk: object) -> str:
    """``reverse(name, kwargs={"pk": pk})``, the route reversed once per process
    (and script prefix), then the id substituted: a page of 50 rows reversed
    ~250 URLs, a third of its rendering time."""
    return _url_pattern(name, get_script_prefix()).replace(_PK_PLACEHOLDER, str(pk))
