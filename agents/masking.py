"""The one place that decides what a person may see of a secret.

Every page, API response, admin screen, CSV and audit entry shows secrets
through these functions. A masked value is a fixed run of dots plus, for long
values only, the last four characters: it never reveals the length.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

DOTS = "\u2022" * 8
VISIBLE_TAIL = 4
TAIL_MIN_LENGTH = 16

# A JSON key names a secret when one of its words (snake_case, kebab-case or
# camelCase) is one of these. "keywords" or "monkey" do not match: the whole
# word must be the secret word.
_SECRET_WORDS = frozenset(
    {
        "key",
        "apikey",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "credential",
        "credentials",
        "signature",
        "auth",
    }
)
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")


def mask_secret(value: Any) -> str | None:
    """Mask one secret value: dots, plus the last 4 characters of long values.

    ``None`` stays ``None`` (there is nothing to hide). Every other value is
    masked as its string form, so numbers and booleans are hidden too.
    """
    if value is None:
        return None
    text = str(value)
    if len(text) >= TAIL_MIN_LENGTH:
        return DOTS + text[-VISIBLE_TAIL:]
    return DOTS


def is_masked(value: Any) -> bool:
    """True when ``value`` is the output of :func:`mask_secret`."""
    return isinstance(value, str) and value.startswith(DOTS)


def is_secret_key(name: str) -> bool:
    """True when a JSON key's name says it holds a secret (api_key, authToken...)."""
    words = _WORD_SPLIT.split(_CAMEL_BOUNDARY.sub("_", str(name)).lower())
    return any(word in _SECRET_WORDS for word in words)


def mask_all(value: Any) -> Any:
    """Mask every leaf of a structure, keeping its keys: used for credentials."""
    if isinstance(value, Mapping):
        return {str(k): mask_all(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_all(v) for v in value]
    return mask_secret(value)


def _masked_secret(value: Any) -> Any:
    # A value sealed at rest carries its own masked preview (agents.fields).
    if isinstance(value, Mapping) and "__sealed__" in value:
        return value.get("preview")
    return mask_all(value)


def mask_json(value: Any) -> Any:
    """Mask the values under secret-named keys anywhere in a JSON structure.

    Used for free-form settings (a voice's ``api_key``, an action config's
    ``signing_secret``); everything else passes through unchanged.
    """
    if isinstance(value, Mapping):
        return {
            str(k): _masked_secret(v) if is_secret_key(k) else mask_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_json(v) for v in value]
    return value
