"""``EncryptedJSONField``: a JSON object stored encrypted (see ``agents.crypto``)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.query_utils import DeferredAttribute
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
def _envelope(value: Any, preview: Any) -> dict[str, Any]:
    return {SEALED: crypto.encrypt_json(value), "preview": preview}


@sensitive_variables("value")
def seal_secrets(value: Any, key: Any = None) -> Any:
    """Encrypt every secret in a JSON tree, as ``agents.masking.secret_preview`` decides.

    Each becomes ``{"__sealed__": "v1:<kid>:<token>", "preview": "••••••••abcd"}``:
    the ciphertext for code that must use it, the masked preview for people.
    Values sealed already stay as they are.
    """
    from .masking import secret_preview

    if is_envelope(value):
        return value
    is_secret, preview = secret_preview(key, value)
    if is_secret:
        return _envelope(value, preview)
    if isinstance(value, dict):
        return {k: seal_secrets(v, k) for k, v in value.items()}
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


@sensitive_variables()
def plaintext(value: Any) -> Any:
    """A field value as compared for "did it change": secrets by their plaintext.

    Re-sealing gives new ciphertext every time, and a masked value written back
    merges into the stored envelope or ``SealedURL``: what must not change is
    the secret itself.
    """
    if isinstance(value, SealedURL):
        return value.reveal()
    return reveal_secrets(value)


def _rewrite(value: Any, visit: Any, key: Any = None) -> tuple[Any, int]:
    """Rebuild a JSON tree: ``visit(node, key)`` returns ``(replacement, count)`` for
    a node it handles, or None to descend into it. Returns the tree and the sum."""
    handled = visit(value, key)
    if handled is not None:
        return handled
    if isinstance(value, dict):
        total, out = 0, {}
        for k, v in value.items():
            out[k], n = _rewrite(v, visit, k)
            total += n
        return out, total
    if isinstance(value, list):
        total, items = 0, []
        for v in value:
            item, n = _rewrite(v, visit)
            items.append(item)
            total += n
        return items, total
    return value, 0


@sensitive_variables()
def apply_secret_rule(value: Any) -> tuple[Any, int]:
    """Bring a stored tree in line with today's rule; return it and how many values moved.

    Seals what an older rule left in plaintext, unseals what it sealed wrongly
    (a ``token_count``), and refreshes previews the rule now draws differently.
    Used by the data migration after the rule changes.
    """
    from .masking import secret_preview

    def visit(node: Any, key: Any) -> tuple[Any, int] | None:
        if is_envelope(node):
            plain = crypto.decrypt_json(node[SEALED])
            is_secret, preview = secret_preview(key, plain)
            if not is_secret:
                return _rewrite(plain, visit, key)[0], 1
            if preview != node.get("preview"):
                return {**node, "preview": preview}, 1
            return node, 0
        is_secret, preview = secret_preview(key, node)
        return (_envelope(node, preview), 1) if is_secret else None

    return _rewrite(value, visit)


def keep_stored_secrets(new: Any, old: Any, key: Any = None) -> Any:
    """``new``, with each secret written back as its masked form replaced by ``old``'s secret.

    A client that reads a masked value and sends it back unchanged (a GET, an
    edit of another key, a POST of the whole object; an export re-imported)
    keeps the stored secret. Anything else replaces it.
    """
    from .masking import secret_preview

    if old is None or new is None or is_envelope(new):
        return new
    stored_preview = old.get("preview") if is_envelope(old) else secret_preview(key, old)[1]
    if stored_preview is not None and new == stored_preview and new != old:
        return old
    if isinstance(new, dict) and isinstance(old, dict) and not is_envelope(old):
        return {k: keep_stored_secrets(v, old.get(k), k) for k, v in new.items()}
    if isinstance(new, list) and isinstance(old, list):
        return [keep_stored_secrets(v, old[i] if i < len(old) else None) for i, v in enumerate(new)]
    return new


def masked_leftovers(value: Any, path: str) -> list[str]:
    """Paths where a masked value stands at a secret's place with no stored secret behind it.

    Sealing it would store the dots as the secret: refused instead, with the path.
    """
    from .masking import DOTS, is_masked, is_secret_key, url_has_secret

    found: list[str] = []
    stack: list[tuple[Any, str, bool]] = [(value, path, False)]
    while stack:
        node, where, under_secret = stack.pop()
        if is_envelope(node):
            continue
        if isinstance(node, dict):
            for k, v in node.items():
                stack.append((v, f"{where}.{k}", under_secret or is_secret_key(k)))
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]", under_secret) for i, v in enumerate(node))
        elif isinstance(node, str) and (
            (under_secret and is_masked(node)) or (DOTS in node and url_has_secret(node))
        ):
            found.append(where)
    return found


@sensitive_variables()
def envelope_problems(value: Any, path: str) -> list[str]:
    """Envelopes that were not made here: a hand-written ``__sealed__`` is refused."""
    problems: list[str] = []
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if is_envelope(node):
            if set(node) != {SEALED, "preview"} or not isinstance(node[SEALED], str):
                problems.append(f"{where}: {SEALED} is reserved for values sealed by Switchboard.")
                continue
            try:
                crypto.decrypt_json(node[SEALED])
            except crypto.CredentialDecryptionError:
                problems.append(
                    f"{where}: a sealed value that none of the configured keys opens "
                    f"(hand-written or from another installation)."
                )
        elif isinstance(node, dict):
            stack.extend((v, f"{where}.{k}") for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(node))
    return problems


class KeepSecretsDescriptor(DeferredAttribute):
    """Assigning a value merges it with the one loaded: masked secrets keep the stored ones.

    So every write path (services, admin forms, the importer) gets the rule
    without having to remember it.
    """

    def __set__(self, instance: models.Model, value: Any) -> None:
        old = instance.__dict__.get(self.field.attname)
        if old is not None:
            value = self.field.keep_stored(value, old)
        instance.__dict__[self.field.attname] = value


class SecretSealingJSONField(models.JSONField):
    """A JSON field whose secrets are encrypted at rest (see ``seal_secrets``)."""

    descriptor_class = KeepSecretsDescriptor

    def keep_stored(self, new: Any, old: Any) -> Any:
        return keep_stored_secrets(new, old)

    def validate(self, value: Any, model_instance: models.Model | None) -> None:
        super().validate(value, model_instance)
        problems = [
            f"{where}: a masked value with no stored secret behind it; "
            "send the real value, or the masked value unchanged to keep the stored one."
            for where in masked_leftovers(value, self.name)
        ] + envelope_problems(value, self.name)
        if problems:
            raise ValidationError(problems, code="secret")

    def get_prep_value(self, value: Any) -> Any:
        return super().get_prep_value(seal_secrets(value))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        # Keep the instance in its stored (sealed) form, so what code reads after
        # a save is what it would read from the database.
        value = seal_secrets(getattr(model_instance, self.attname))
        model_instance.__dict__[self.attname] = value
        return value


class SealedURL(str):
    """A URL whose password or secret query values are encrypted at rest.

    Its text is the masked URL, so every page, API answer, CSV and audit entry
    that shows it shows it masked; ``reveal()`` is the one door to the real URL.
    """

    sealed: str

    def __new__(cls, masked: str, sealed: str) -> SealedURL:
        obj = super().__new__(cls, masked)
        obj.sealed = sealed
        return obj

    @sensitive_variables()
    def reveal(self) -> str:
        return crypto.decrypt_json(self.sealed)

    def __reduce__(self) -> Any:
        return (SealedURL, (str.__str__(self), self.sealed))

    def __repr__(self) -> str:
        return f"<SealedURL {str.__str__(self)}>"


# Stored as "<masked url> sealed=<ciphertext>": a space cannot occur in a URL,
# so the two parts never mix, and a search over the column sees the masked URL.
URL_SEAL_MARK = " sealed="


def _sealed_url(stored: str) -> str:
    masked, mark, sealed = stored.rpartition(URL_SEAL_MARK)
    return SealedURL(masked, sealed) if mark else stored


class SecretURLField(HttpUrlField):
    """An http(s) URL whose password and secret query values are sealed at rest.

    A URL without secrets is stored as written. Stored as text: the sealed
    form is longer than the URL's own limit (``max_length``, checked on input).
    """

    descriptor_class = KeepSecretsDescriptor

    def get_internal_type(self) -> str:
        return "TextField"

    def keep_stored(self, new: Any, old: Any) -> Any:
        if isinstance(old, SealedURL) and type(new) is str and new == str.__str__(old):
            return old
        return new

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else _sealed_url(value)

    def to_python(self, value: Any) -> Any:
        if type(value) is str and URL_SEAL_MARK in value:
            return _sealed_url(value)
        return super().to_python(value)

    @sensitive_variables("value")
    def _seal(self, value: Any) -> Any:
        from .masking import mask_url, url_has_secret

        if type(value) is str and url_has_secret(value):
            return SealedURL(mask_url(value), crypto.encrypt_json(value))
        return value

    def get_prep_value(self, value: Any) -> Any:
        value = self._seal(value)
        if isinstance(value, SealedURL):
            return f"{str.__str__(value)}{URL_SEAL_MARK}{value.sealed}"
        return super().get_prep_value(value)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = self._seal(getattr(model_instance, self.attname))
        model_instance.__dict__[self.attname] = value
        return value

    def validate(self, value: Any, model_instance: models.Model | None) -> None:
        from .masking import DOTS

        super().validate(value, model_instance)
        if isinstance(value, str) and not isinstance(value, SealedURL) and DOTS in value:
            raise ValidationError(
                "This URL holds a masked value and no stored secret matches it: send the "
                "full URL, or the masked URL unchanged to keep the stored one.",
                code="secret",
            )

    def value_to_string(self, obj: models.Model) -> Any:
        return self.get_prep_value(self.value_from_object(obj))


def reseal(value: Any, newest_key_id: str) -> tuple[Any, int]:
    """Re-encrypt sealed values not under the newest key; return the tree and a count."""

    def visit(node: Any, key: Any) -> tuple[Any, int] | None:
        if not is_envelope(node):
            return None
        if crypto.stored_key_id(node[SEALED]) == newest_key_id:
            return node, 0
        return {**node, SEALED: crypto.reencrypt(node[SEALED])}, 1

    return _rewrite(value, visit)


def sealed_json_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field) that seals secrets in JSON, across the project."""
    from django.apps import apps

    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, SecretSealingJSONField)
    ]


def seal_existing_rows(model: type[models.Model], fields: list[str]) -> int:
    """Apply today's secret rule to ``fields`` of ``model`` (data migrations); rows changed."""
    changed = 0
    for field in fields:
        rows = model.objects.exclude(**{field: {}}).values_list("pk", field)
        for pk, value in rows.iterator(chunk_size=2000):
            fresh, moved = apply_secret_rule(value)
            if moved:
                model.objects.filter(pk=pk).update(**{field: fresh})
                changed += 1
    return changed


def seal_existing_urls(model: type[models.Model], fields: list[str]) -> int:
    """Seal the URLs stored in plaintext whose password or query is a secret (migrations)."""
    from .masking import url_has_secret

    changed = 0
    for field in fields:
        rows = model.objects.exclude(**{f"{field}__isnull": True}).values_list("pk", field)
        for pk, value in rows.iterator(chunk_size=2000):
            if type(value) is str and url_has_secret(value):
                # update() goes through SecretURLField.get_prep_value, which seals it.
                model.objects.filter(pk=pk).update(**{field: value})
                changed += 1
    return changed


def sealed_url_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field) that seals secrets in URLs, across the project."""
    from django.apps import apps

    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, SecretURLField)
    ]
