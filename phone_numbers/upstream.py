"""Client for the upstream ``GET /v1/numbers/list`` endpoint (used by import)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from django.views.decorators.debug import sensitive_variables


class UpstreamError(Exception):
    """The upstream API could not be read; the message says why."""


RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def _page_url(url: str, page: int, size: int) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update({"page": str(page), "size": str(size)})
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


@sensitive_variables("token", "request")
def fetch_page(
    url: str,
    token: str,
    *,
    timeout: float = 30.0,
    attempts: int = 5,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """GET one page, retrying 5xx, 429 and timeouts with exponential backoff."""
    if not url.startswith(("http://", "https://")):
        raise UpstreamError(f"{url} is not an http(s) URL.")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    last_problem = ""
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                body = response.read()
            try:
                return json.loads(body)
            except json.JSONDecodeError as exc:
                raise UpstreamError(f"{url} answered with invalid JSON: {exc}.") from None
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise UpstreamError(
                    f"The upstream API refused the token (HTTP {exc.code}); check the token "
                    "and its permissions."
                ) from None
            if exc.code not in RETRYABLE_STATUS:
                raise UpstreamError(f"{url} answered HTTP {exc.code}.") from None
            last_problem = f"HTTP {exc.code}"
        except (TimeoutError, urllib.error.URLError) as exc:
            last_problem = str(getattr(exc, "reason", exc)) or exc.__class__.__name__
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    raise UpstreamError(f"{url} failed {attempts} times; last: {last_problem}.")


@sensitive_variables("token")
def fetch_all_pages(url: str, token: str, *, size: int = 100, **kwargs: Any) -> Iterator[Any]:
    """Every page of the list endpoint, following ``has_more``."""
    page = 1
    while True:
        document = fetch_page(_page_url(url, page, size), token, **kwargs)
        if not isinstance(document, dict) or not isinstance(document.get("items"), list):
            raise UpstreamError(f'Page {page} is not a page object with an "items" list.')
        yield document
        has_more = document.get("has_more")
        if has_more is None:
            has_more = len(document["items"]) >= size
        if not has_more or not document["items"]:
            return
        page += 1
