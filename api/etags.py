"""ETags for the API: a client can ask "has it changed?" and send If-Match safely.

A number's JSON embeds its agent graph (prompt, actions, webhook,
connections), and editing the agent does not bump the number's ``version``:
so the ETag is a hash of the whole answer, not a version. ``If-None-Match``
with the current ETag answers 304 without a body. ``POST /v1/numbers/update``
accepts the GET's ETag in ``If-Match`` (``api.numbers``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from rest_framework.renderers import JSONRenderer
from rest_framework.utils import encoders

from core.encoding import encode


def etag_for(body: bytes) -> str:
    """The strong ETag of an answer's bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class CompactJSONRenderer(JSONRenderer):
    """The API's only renderer: compact whatever the Accept header asks (DRF's would
    indent for ``Accept: application/json; indent=2``), so one answer has one ETag
    and ``If-Match`` can compare it.

    It encodes with ``core.encoding`` (orjson), which embeds the stored agent JSON
    of a page as it is (``agents.fragments``); what orjson does not know (a lazy
    translation, a Decimal) goes through DRF's own encoder."""

    def get_indent(self, accepted_media_type: Any, renderer_context: Any) -> None:
        return None

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        return encode(data, default=_drf_default)


_drf_encoder = encoders.JSONEncoder()


def _drf_default(value: Any) -> Any:
    return _drf_encoder.default(value)


def render_json(data: Any) -> bytes:
    """``data`` as the API answers it (the same renderer, bytes)."""
    return CompactJSONRenderer().render(data)


def etag_of_data(data: Any) -> str:
    """The ETag that ``data`` has when the API answers it."""
    return etag_for(render_json(data))


class ApiETagMiddleware:
    """Adds the ETag to every successful GET under /v1/ and answers If-None-Match."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.method not in ("GET", "HEAD")
            or not request.path_info.startswith("/v1/")
            or response.status_code != 200
            or response.streaming
        ):
            return response
        etag = response.get("ETag")  # a cached answer comes with its ETag (api.pagecache)
        if etag is None:
            etag = etag_for(response.content)
            response["ETag"] = etag
        return get_conditional_response(request, etag=etag, response=response)
