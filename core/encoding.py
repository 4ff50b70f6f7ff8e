"""The API's JSON encoding: compact UTF-8 by orjson, in one place.

``api.etags``' renderer encodes every API answer with it, and ``agents.fragments``
encodes the stored agent and connection JSON with it, so a page assembled from
stored fragments is byte for byte what rendering the whole page would give.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def encode(data: Any, default: Any = None) -> bytes:
    """``data`` as compact JSON bytes (``orjson.Fragment`` values embedded as they are).

    U+2028 and U+2029 are escaped, as DRF's renderer escaped them: a client that
    embeds an answer in a script must not see a line break there. What orjson
    refuses (an integer beyond 64 bits, which a free-form JSON field can hold) is
    encoded by the standard library instead, the same way.
    """
    try:
        body = orjson.dumps(data, default=default)
    except orjson.JSONEncodeError:
        body = _slow(data, default)
    # Two searches, not one for their common prefix: every masked value has it (U+2022).
    if b"\xe2\x80\xa8" in body:
        body = body.replace(b"\xe2\x80\xa8", b"\\u2028")
    if b"\xe2\x80\xa9" in body:
        body = body.replace(b"\xe2\x80\xa9", b"\\u2029")
    return body


def _slow(data: Any, default: Any) -> bytes:
    def fallback(value: Any) -> Any:
        if isinstance(value, orjson.Fragment):
            return json.loads(value.contents)
        if default is None:
            raise TypeError(f"{type(value).__name__} is not JSON serializable")
        return default(value)

    text = json.dumps(data, default=fallback, ensure_ascii=False, separators=(",", ":"))
    return text.encode()
