"""Encryption at rest for account-connection credentials.

Values are JSON objects encrypted with Fernet (AES-128-CBC + HMAC-SHA256).
Keys come from ``settings.CREDENTIAL_KEYS``, newest first: the newest one
encrypts, every listed one can decrypt, which is what makes rotation possible.
The stored text is ``v1:<key id>:<token>``; the key id is a short fingerprint
of the key, so a value whose key is missing fails loudly, naming the id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

FORMAT_VERSION = "v1"


class CredentialDecryptionError(Exception):
    """A stored credential cannot be decrypted with the configured keys."""


@dataclass(frozen=True)
class Keyring:
    """The configured Fernet keys, newest first, indexed by key id."""

    by_id: dict[str, Fernet]
    newest_id: str
    multi: MultiFernet


def key_id(key: str) -> str:
    """A short, non-secret fingerprint that identifies a key."""
    return hashlib.sha256(key.strip().encode()).hexdigest()[:8]


@sensitive_variables("keys")
def _build_keyring(keys: tuple[str, ...]) -> Keyring:
    if not keys:
        raise ImproperlyConfigured(
            "CREDENTIAL_KEYS is empty: set it to one or more Fernet keys (newest first)."
        )
    by_id: dict[str, Fernet] = {}
    fernets = []
    for key in keys:
        try:
            fernet = Fernet(key.strip().encode())
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                f"CREDENTIAL_KEYS holds an invalid Fernet key (id {key_id(key)})."
            ) from exc
        by_id[key_id(key)] = fernet
        fernets.append(fernet)
    return Keyring(by_id=by_id, newest_id=key_id(keys[0]), multi=MultiFernet(fernets))


@lru_cache(maxsize=4)
def _keyring_for(keys: tuple[str, ...]) -> Keyring:
    return _build_keyring(keys)


def keyring_keys() -> list[str]:
    """The configured keys, newest first."""
    return list(settings.CREDENTIAL_KEYS)


def keyring() -> Keyring:
    return _keyring_for(tuple(keyring_keys()))


def generate_key() -> str:
    return Fernet.generate_key().decode()


@sensitive_variables("value", "plaintext")
def encrypt_json(value: Any) -> str:
    """Encrypt a JSON-serialisable value under the newest key."""
    ring = keyring()
    plaintext = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    token = ring.by_id[ring.newest_id].encrypt(plaintext).decode()
    return f"{FORMAT_VERSION}:{ring.newest_id}:{token}"


def stored_key_id(stored: str) -> str:
    """The id of the key a stored value was encrypted with."""
    _version, kid, _token = _split(stored)
    return kid


def _split(stored: str) -> tuple[str, str, str]:
    parts = stored.split(":", 2)
    if len(parts) != 3 or parts[0] != FORMAT_VERSION:
        raise CredentialDecryptionError("Stored credentials are not in the v1 encrypted format.")
    return parts[0], parts[1], parts[2]


@sensitive_variables("plaintext")
def decrypt_json(stored: str) -> Any:
    """Decrypt a stored value; raise loudly when its key is not configured."""
    _version, kid, token = _split(stored)
    ring = keyring()
    fernet = ring.by_id.get(kid)
    if fernet is None:
        raise CredentialDecryptionError(
            f"Credentials were encrypted with key id {kid}, which is not in CREDENTIAL_KEYS."
        )
    try:
        plaintext = fernet.decrypt(token.encode())
    except InvalidToken as exc:
        raise CredentialDecryptionError(
            f"Credentials failed authentication under key id {kid} (corrupt or tampered)."
        ) from exc
    return json.loads(plaintext)


def reencrypt(stored: str) -> str:
    """Re-encrypt a stored value under the newest key (for key rotation)."""
    return encrypt_json(decrypt_json(stored))
