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


SEALED = "__sealed__"


def is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and SEALED in value


@sensitive_variables("value")
def seal_secrets(value: Any) -> Any:
    """Encrypt every value under a secret-named key (api_key, token...) in a JSON tree.

    Each becomes ``{"__sealed__": "v1:<kid>:<token>", "preview": "••••••••abcd"}``:
    the ciphertext for code that must use it, the masked preview for people.
    """
    from .masking import is_secret_key, mask_all

    if isinstance(value, dict):
        if is_envelope(value):
            return value
        return {
            k: (
                v
                if is_envelope(v) or v is None
                else {SEALED: crypto.encrypt_json(v), "preview": mask_all(v)}
            )
            if is_secret_key(k)
            else seal_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [seal_secrets(v) for v in value]
    return value


@sensitive_variables()
def reveal_secrets(value: Any) -> Any:
    """The plaintext tree (for code that must use the secrets, and for comparisons)."""
    if is_envelope(value):
        return crypto.decrypt_json(value[SEALED])
    if isinstance(value, dict):
        return {k: reveal_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal_secrets(v) for v in value]
    return value


class SecretSealingJSONField(models.JSONField):
    """A JSON field whose secret-named values are encrypted at rest (see seal_secrets)."""

    def get_prep_value(self, value: Any) -> Any:
        return super().get_prep_value(seal_secrets(value))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        # Keep the instance in its stored (sealed) form, so what code reads after
        # a save is what it would read from the database.
        value = seal_secrets(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value


def reseal(value: Any, newest_key_id: str) -> tuple[Any, int]:
    """Re-encrypt sealed values not under the newest key; return the tree and a count."""
    if is_envelope(value):
        if crypto.stored_key_id(value[SEALED]) == newest_key_id:
            return value, 0
        return {**value, SEALED: crypto.reencrypt(value[SEALED])}, 1
    if isinstance(value, dict):
        total, out = 0, {}
        for k, v in value.items():
            out[k], n = reseal(v, newest_key_id)
            total += n
        return out, total
    if isinstance(value, list):
        total, items = 0, []
        for v in value:
            item, n = reseal(v, newest_key_id)
            items.append(item)
            total += n
        return items, total
    return value, 0


def sealed_json_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field) that seals secrets in JSON, across the project."""
    from django.apps import apps

    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, SecretSealingJSONField)
    ]


def has_plain_secret(value: Any) -> bool:
    """True when a JSON tree holds a secret-named value that is not sealed yet."""
    from .masking import is_secret_key

    if isinstance(value, dict):
        return any(
            (is_secret_key(k) and v is not None and not is_envelope(v)) or has_plain_secret(v)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return any(has_plain_secret(v) for v in value)
    return False


def seal_existing_rows(model: type[models.Model], fields: list[str]) -> int:
    """Seal plain secrets already stored in ``fields`` of ``model`` (data migrations)."""
    sealed = 0
    for field in fields:
        rows = model.objects.exclude(**{field: {}}).values_list("pk", field)
        for pk, value in rows.iterator(chunk_size=2000):
            if has_plain_secret(value):
                model.objects.filter(pk=pk).update(**{field: seal_secrets(value)})
                sealed += 1
    return sealed
