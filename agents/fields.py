"""``EncryptedJSONField``: a JSON object stored encrypted (see ``agents.crypto``)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import models
from django.views.decorators.debug import sensitive_variables

from . import crypto


class SealedCredentials:
    """An encrypted value as loaded from the database, decrypted only on demand.

    Loading a row never decrypts: list pages and the API show the stored
    masked preview instead. ``reveal()`` is the one door to the plaintext, and
    neither ``str()`` nor ``repr()`` shows any of it.
    """

    __slots__ = ("stored",)

    def __init__(self, stored: str) -> None:
        self.stored = stored

    @property
    def key_id(self) -> str:
        return crypto.stored_key_id(self.stored)

    @sensitive_variables()
    def reveal(self) -> Any:
        return crypto.decrypt_json(self.stored)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SealedCredentials) and other.stored == self.stored

    def __hash__(self) -> int:
        return hash(self.stored)

    def __repr__(self) -> str:
        return f"<SealedCredentials key_id={self.key_id}>"

    __str__ = __repr__


def reveal(value: Any) -> Any:
    """The plaintext of a field value, whether freshly assigned or loaded."""
    if isinstance(value, SealedCredentials):
        return value.reveal()
    return value


class EncryptedJSONField(models.TextField):
    """A JSON value encrypted at rest with the configured Fernet keys.

    Assign a plain dict; read back a :class:`SealedCredentials`. Lookups other
    than ``isnull`` are refused: filtering on ciphertext would be meaningless
    and filtering on plaintext would need decrypting every row.
    """

    description = "Encrypted JSON"

    def get_lookup(self, lookup_name: str):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        return None

    def get_transform(self, lookup_name: str):
        return None

    def from_db_value(self, value: str | None, expression, connection) -> SealedCredentials | None:
        if value is None:
            return None
        return SealedCredentials(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith(f"{crypto.FORMAT_VERSION}:"):
            return SealedCredentials(value)
        return value

    @sensitive_variables("value")
    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, SealedCredentials):
            return value.stored
        return crypto.encrypt_json(value)

    def value_to_string(self, obj: models.Model) -> str | None:
        # Serialisation (dumpdata) carries ciphertext only.
        return self.get_prep_value(self.value_from_object(obj))

    def formfield(self, **kwargs: Any) -> None:
        # Never an editable plaintext widget by default; forms declare their own
        # write-only field (see agents.admin).
        return None

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        if self.db_index or self.unique:
            errors.append(checks.Error("EncryptedJSONField cannot be indexed.", obj=self))
        return errors


class HttpUrlField(models.URLField):
    """An http(s) URL; forms assume https when the scheme is left out."""

    default_validators = []

    def formfield(self, **kwargs: Any) -> Any:
        kwargs.setdefault("assume_scheme", "https")
        return super().formfield(**kwargs)
