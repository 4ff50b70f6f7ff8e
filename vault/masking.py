"""The one place that decides what a person may see of a secret.

Every page, API response, admin screen, CSV and audit entry shows secrets
through these functions. A masked value is a fixed run of dots plus, for long
values only, the last four characters: it never reveals the length.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit, urlunsplit

# The version of the masking rule below. Stored JSON renderings of agents and
# connections (``agents.fragments``) record the version they were masked under and
# are rendered again when it differs: any change to what this module masks bumps
# it (tests/vault/test_rule_version.py fails until it is bumped).
RULE_VERSION = 1

DOTS = "\u2022" * 8
VISIBLE_TAIL = 4
TAIL_MIN_LENGTH = 16

# The secret rule for JSON fields and URL fields (plain text such as a
# description or a prompt's content is never scanned: it is shown as written).
#
# A key names a secret when one of its words (snake_case, kebab-case,
# camelCase, any casing; trailing digits dropped: "apiKey2", "password1") is a
# secret word or ends in one, plural or not: "apiKeys", "ACCESS-TOKENS",
# "clientSecrets", "Authorization", "signingkey". Words are whole words:
# "keywords", "monkey", "author" and "tokenizer" are not secrets, and only the
# run-together key names listed below count ("hotkey" and "turkey" do not).
# "session" names a secret alone, last or before "id" ("session_id", but not
# "session_timeout"); "assertion" after "client" (OAuth's client_assertion).
# A quantity is not a secret: a key with a measure word beside its secret
# word ("token_count", "max_tokens", "password_min_length") holds a number
# about secrets, and for tokens the LLM usage words say the same
# ("prompt_tokens", "completion_tokens").
_SECRET_WORDS = frozenset(
    {
        "key",
        "keys",
        "token",
        "tokens",
        "secret",
        "secrets",
        "password",
        "passwords",
        "passwd",
        "pwd",
        "pw",
        "pass",
        "passcode",
        "passcodes",
        "passphrase",
        "pin",
        "pins",
        "credential",
        "credentials",
        "creds",
        "signature",
        "sig",
        "auth",
        "authorization",
        "bearer",
        "cookie",
        "cookies",
        "jwt",
        "dsn",
        "sessionid",
    }
)
# Run-together words that end in a secret word: "accesstoken", "clientsecret",
# "awsaccesskey". For "key" only these: most words ending in "key" are not keys.
_KEY_NAMES = (
    "apikey",
    "authkey",
    "signingkey",
    "masterkey",
    "privatekey",
    "secretkey",
    "accesskey",
)
_SECRET_SUFFIXES = (
    "token",
    "tokens",
    "secret",
    "secrets",
    "password",
    "passwords",
    *_KEY_NAMES,
    *(name + "s" for name in _KEY_NAMES),
)
_TOKEN_WORDS = frozenset({"token", "tokens"})
_MEASURE_WORDS = frozenset(
    {"count", "counts", "max", "min", "limit", "limits", "num", "total", "length", "size"}
)
_LLM_USAGE_WORDS = frozenset(
    {"prompt", "completion", "input", "output", "cached", "reasoning", "usage", "budget", "per"}
)
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")

# Values that are credentials whatever their key is called: an Authorization
# header's value, the well-known provider prefixes (OpenAI/Stripe sk-, Slack
# xox?-, GitHub ghp_, AWS AKIA...), JSON Web Tokens, PEM private keys, and a
# password in a connection string ("...;Password=...;", "?user=u&password=...",
# "postgres://u:pw@h" inside a longer text). Dots never match: a masked value
# is not a credential again.
_CREDENTIAL_VALUE = re.compile(
    r"""
    \b(?:bearer|basic)\s+[A-Za-z0-9._~+/-]{16,}=*
  | (?<![^?&;\s])(?:password|passwd|pwd)\s*=[^&;\s'"\u2022]+
  | \b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:[^\s/@\u2022]+@
  | \b(?:sk|rk)[-_][A-Za-z0-9_-]{20,}
  | \bxox[abposr]-[A-Za-z0-9-]{10,}
  | \bgh[pousr]_[A-Za-z0-9]{20,}
  | \bgithub_pat_[A-Za-z0-9_]{20,}
  | \b(?:AKIA|ASIA)[0-9A-Z]{16}\b
  | \bAIza[0-9A-Za-z_-]{35}
  | \bwhsec_[A-Za-z0-9]{16,}
  | \bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}
  | \beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*
  | -----BEGIN[A-Z ]*PRIVATE\ KEY-----
    """,
    re.VERBOSE | re.IGNORECASE,
)
_URL_START = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# "Basic " and 8 to 15 characters is a credential when it is base64 of "user:password".
_SHORT_BASIC = re.compile(r"\bbasic\s+([A-Za-z0-9+/]{8,15}={0,2})(?![A-Za-z0-9+/=])", re.IGNORECASE)
# A name/value pair ({"name": "X-Api-Key", "value": "..."}): the entries that name it.
PAIR_NAME_KEYS = ("name", "key", "header")


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


def _words(name: str) -> list[str]:
    """The words of a key, each without trailing digits ("apiKey2" is "api", "key")."""
    split = _WORD_SPLIT.split(_CAMEL_BOUNDARY.sub("_", str(name)).lower())
    return [w for w in (w.rstrip("0123456789") for w in split) if w]


def _phrase_hits(words: list[str]) -> set[str]:
    hits = set()
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else None
        if word == "session" and following in (None, "id"):
            hits.add(word)
        if word == "assertion" and i > 0 and words[i - 1] == "client":
            hits.add(word)
    return hits


@lru_cache(maxsize=4096)  # a few dozen distinct keys are asked about on every page
def is_secret_key(name: str) -> bool:
    """True when a JSON key's name says it holds a secret (api_key, authToken...)."""
    words = _words(name)
    hits = {w for w in words if w in _SECRET_WORDS or w.endswith(_SECRET_SUFFIXES)}
    hits |= _phrase_hits(words)
    if not hits:
        return False
    if any(w in _MEASURE_WORDS for w in words):
        return False
    return not (all(h in _TOKEN_WORDS for h in hits) and any(w in _LLM_USAGE_WORDS for w in words))


def _is_basic_credential(encoded: str) -> bool:
    try:
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


def looks_like_credential(value: Any) -> bool:
    """True when a string is a credential by its shape (sk-..., a JWT, Bearer ...)."""
    if not isinstance(value, str):
        return False
    if _CREDENTIAL_VALUE.search(value) is not None:
        return True
    return any(_is_basic_credential(m.group(1)) for m in _SHORT_BASIC.finditer(value))


_ASSIGNED = re.compile(r"((?:password|passwd|pwd)\s*=)(.*)", re.IGNORECASE | re.DOTALL)


def _mask_part(found: str) -> str:
    # "password=hunter2": the name stays and only the value is masked, so a long
    # name cannot lend the value a visible tail ("••••••••ter2").
    assigned = _ASSIGNED.fullmatch(found)
    if assigned:
        return assigned.group(1) + (mask_secret(assigned.group(2)) or "")
    return mask_secret(found) or ""


def _mask_found(text: str) -> str:
    """``text`` with each credential-shaped part masked (the rest of a URL stays readable)."""
    return _CREDENTIAL_VALUE.sub(lambda match: _mask_part(match.group(0)), text)


# A URL inside free text: up to the next space, quote or angle bracket.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s<>\"'`]+")


def mask_text(text: str) -> str:
    """Free text (a change's reason) with each secret in it masked, the rest as written.

    The value half of the secret rule, applied to the parts of a text: each
    credential-shaped part (``looks_like_credential``: ``Bearer …``, ``sk_live_…``,
    ``password=…``, ``Basic`` + base64 of ``user:password``) and, in each URL,
    its password and secret query values (``mask_url``). There are no keys in
    free text, so nothing is masked for its name.
    """

    def url(match: re.Match[str]) -> str:
        value = match.group(0)
        try:
            return mask_url(value) if url_has_secret(value) else value
        except ValueError:  # an unparseable URL-like run: its credential shapes still go
            return value

    masked = _mask_found(_URL_IN_TEXT.sub(url, text))
    return _SHORT_BASIC.sub(
        lambda m: (
            (mask_secret(m.group(0)) or "") if _is_basic_credential(m.group(1)) else m.group(0)
        ),
        masked,
    )


def child_key(obj: Mapping[Any, Any], key: Any) -> Any:
    """The name the secret rule judges ``obj[key]`` by.

    In a name/value pair whose name is a secret's (``{"name": "X-Api-Key",
    "value": "..."}``; also ``key`` or ``header`` for ``name``), the value is
    judged by that name, so it is a secret, and the name itself is shown
    (judged by its shape only). Any other entry is judged by its own key.
    """
    if "value" not in obj:
        return key
    for name_key in PAIR_NAME_KEYS:
        name = obj.get(name_key)
        if isinstance(name, str) and is_secret_key(name):
            if key == "value":
                return name
            return None if key == name_key else key
    return key


def _secret_query(name: str, value: str) -> bool:
    return is_secret_key(name) or looks_like_credential(value)


def url_has_secret(url: Any) -> bool:
    """True when a URL carries a password or a secret-named query parameter."""
    if not isinstance(url, str) or not _URL_START.match(url):
        return False
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return False
    if password or looks_like_credential(url):
        return True
    pairs = parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(
        parts.fragment, keep_blank_values=True
    )
    return any(_secret_query(k, v) and v for k, v in pairs)


def mask_url(url: str) -> str:
    """The URL with its password and secret query values masked; the rest as written."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{DOTS}@{host}"

    def masked_query(query: str) -> str:
        if not query or "=" not in query:
            return query
        out = []
        for piece in query.split("&"):
            name, sep, value = piece.partition("=")
            decoded_name, decoded_value = unquote_plus(name), unquote_plus(value)
            if sep and decoded_value and _secret_query(decoded_name, decoded_value):
                piece = f"{name}={mask_secret(decoded_value)}"
            out.append(piece)
        return "&".join(out)

    masked = urlunsplit(
        (parts.scheme, netloc, parts.path, masked_query(parts.query), masked_query(parts.fragment))
    )
    # A credential-shaped user name or path segment (https://ghp_...@host/,
    # https://host/hook/sk_live_...): that part masked, the rest shown.
    return _mask_found(masked)


def secret_preview(key: Any, value: Any) -> tuple[bool, Any]:
    """Whether the JSON value under ``key`` is a secret, and how a person sees it.

    The one decision behind sealing (``vault.fields``) and masking: a
    secret-named key hides its whole value (keys of a nested object stay
    visible); a credential-shaped string or a URL with a password hides
    whatever its key is called. Returns ``(False, None)`` for everything else.
    """
    if value is None:
        return False, None
    if key is not None and is_secret_key(key):
        return True, mask_all(value)
    if isinstance(value, str):
        if url_has_secret(value):  # a URL: only its secret parts are hidden
            return True, mask_url(value)
        if looks_like_credential(value):
            return True, mask_secret(value)
    return False, None


def mask_all(value: Any) -> Any:
    """Mask every leaf of a structure, keeping its keys: used for credentials."""
    if isinstance(value, Mapping) and "__sealed__" in value:
        return value.get("preview")
    if isinstance(value, Mapping):
        return {str(k): mask_all(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_all(v) for v in value]
    return mask_secret(value)


def mask_json(value: Any, key: Any = None) -> Any:
    """A JSON structure as a person may see it: every secret masked (``secret_preview``).

    Used for free-form settings (a voice's ``api_key``, an action config's
    ``signing_secret``, a header's ``Bearer ...``). A value sealed at rest
    shows the preview stored with it; everything else passes through.
    """
    if isinstance(value, Mapping) and "__sealed__" in value:
        return value.get("preview")
    is_secret, preview = secret_preview(key, value)
    if is_secret:
        return preview
    if isinstance(value, Mapping):
        return {str(k): mask_json(v, child_key(value, k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_json(v) for v in value]
    return value
