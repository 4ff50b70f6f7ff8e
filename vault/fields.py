"""``EncryptedJSONField``: a JSON object stored encrypted (see ``vault.crypto``)."""

from __future__ import annotations

import json
from typing import Any

from django.core import checks
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.views.decorators.debug import sensitive_variables

from core.limits import SEALED_KEY, walk_json

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


SEALED = SEALED_KEY  # "__sealed__": never accepted from input (core.limits)


def is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and SEALED in value


@sensitive_variables("value")
def _envelope(value: Any, preview: Any) -> dict[str, Any]:
    return {SEALED: crypto.encrypt_json(value), "preview": preview}


@sensitive_variables("value")
def seal_secrets(value: Any, key: Any = None) -> Any:
    """Encrypt every secret in a JSON tree, as ``vault.masking.secret_preview`` decides.

    Each becomes ``{"__sealed__": "v1:<kid>:<token>", "preview": "••••••••abcd"}``:
    the ciphertext for code that must use it, the masked preview for people.
    Values sealed already stay as they are.
    """
    from .masking import child_key, secret_preview

    if is_envelope(value):
        return value
    is_secret, preview = secret_preview(key, value)
    if is_secret:
        return _envelope(value, preview)
    if isinstance(value, dict):
        return {k: seal_secrets(v, child_key(value, k)) for k, v in value.items()}
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
    if isinstance(value, SealedURL | SealedCredentials):
        return value.reveal()
    return reveal_secrets(value)


def _rewrite(value: Any, visit: Any, key: Any = None) -> tuple[Any, int]:
    """Rebuild a JSON tree: ``visit(node, key)`` returns ``(replacement, count)`` for
    a node it handles, or None to descend into it. Returns the tree and the sum."""
    from .masking import child_key

    handled = visit(value, key)
    if handled is not None:
        return handled
    if isinstance(value, dict):
        total, out = 0, {}
        for k, v in value.items():
            out[k], n = _rewrite(v, visit, child_key(value, k))
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
    from .masking import PAIR_NAME_KEYS, child_key, secret_preview

    def visit(node: Any, key: Any) -> tuple[Any, int] | None:
        if isinstance(node, dict) and "value" in node and not is_envelope(node):
            # A name/value pair whose name an older rule sealed ("key" is a secret
            # word): judged by its plaintext name, which today's rule may show.
            names = {k: node[k] for k in PAIR_NAME_KEYS if is_envelope(node.get(k))}
            opened = {k: crypto.decrypt_json(v[SEALED]) for k, v in names.items()}
            candidate = {**node, **opened}
            if opened and child_key(candidate, "value") != "value":
                fresh, moved = _rewrite(candidate, visit, key)
                return fresh, moved + len(opened)
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


class KeptText(str):
    """A string that starts with the mask's dots and was stored that way, sent back
    unchanged: an ordinary value, not a masked secret (see ``masked_leftovers``)."""


def keep_stored_secrets(new: Any, old: Any, key: Any = None) -> Any:
    """``new``, with each secret written back as its masked form replaced by ``old``'s secret.

    A client that reads a masked value and sends it back unchanged (a GET, an
    edit of another key, a POST of the whole object; an export re-imported)
    keeps the stored secret. Anything else replaces it. Objects merge by key.
    Lists merge entry by entry (``_keep_in_list``): an entry keeps the secrets of
    the stored entry at its place when the list kept its length and that entry
    its visible content, else of the one stored entry with the same visible
    content; with none or several, nothing is kept and a masked value in it is
    refused. So deleting or moving an entry never hands its secret to another.
    """
    from .masking import child_key, is_masked, secret_preview

    if old is None or new is None or is_envelope(new):
        return new
    stored_preview = old.get("preview") if is_envelope(old) else secret_preview(key, old)[1]
    if stored_preview is not None and new == stored_preview and new != old:
        return old
    if isinstance(new, str) and is_masked(new) and new == old:
        return KeptText(new)
    if isinstance(new, dict) and isinstance(old, dict) and not is_envelope(old):
        return {k: keep_stored_secrets(v, old.get(k), child_key(old, k)) for k, v in new.items()}
    if isinstance(new, list) and isinstance(old, list):
        return _keep_in_list(new, old)
    return new


def _visible(value: Any) -> Any:
    """What identifies a list entry: its masked form with every mask made alike, so
    a new secret in an entry does not make it another entry."""
    from .masking import DOTS, is_masked, mask_json

    def alike(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: alike(v) for k, v in node.items()}
        if isinstance(node, list):
            return [alike(v) for v in node]
        return DOTS if is_masked(node) else node

    return alike(mask_json(value))


def _keep_in_list(new: list[Any], old: list[Any]) -> list[Any]:
    # Visible contents as text, indexed: a reordered list of thousands of entries
    # is matched in linear time.
    seen_old = [json.dumps(_visible(entry), sort_keys=True, default=str) for entry in old]
    by_content: dict[str, list[int]] = {}
    for index, seen in enumerate(seen_old):
        by_content.setdefault(seen, []).append(index)
    merged = []
    for index, entry in enumerate(new):
        seen = json.dumps(_visible(entry), sort_keys=True, default=str)
        if len(new) == len(old) and seen_old[index] == seen:
            match = old[index]
        else:
            same = by_content.get(seen, [])
            match = old[same[0]] if len(same) == 1 else None
        merged.append(keep_stored_secrets(entry, match))
    return merged


def masked_leftovers(value: Any, path: str) -> list[str]:
    """Paths where a masked value stands with no stored secret behind it.

    Anywhere in the tree, whatever its key: a masked value sent back under a
    renamed key, or in a list entry that moved, matches no stored secret, and
    sealing it would store the dots as the secret. Refused instead, with the
    path. Only dots stored as an ordinary value and sent back unchanged pass.
    """
    from .masking import DOTS, is_masked, url_has_secret

    return [
        where
        for node, where, _depth, is_key in walk_json(value, path, prune=is_envelope)
        if not is_key
        and isinstance(node, str)
        and not isinstance(node, KeptText)
        and (is_masked(node) or (DOTS in node and url_has_secret(node)))
    ]


@sensitive_variables()
def keep_stored_credentials(new: Any, old: Any, path: str, why: str) -> tuple[Any, list[str]]:
    """Credentials as sent, each masked value replaced by the stored value it masks.

    Every value of credentials is a secret (``mask_all`` masks each one), at
    any depth: objects merge by key, lists entry by entry while their length is
    unchanged. A masked value keeps the stored one only where it is exactly
    that value's mask; any other masked value is a problem naming its path
    (``why`` says what is stored). Returns the merged credentials and the problems.
    """
    from .masking import is_masked, mask_secret

    problems: list[str] = []

    def merge(node: Any, stored: Any, where: str) -> Any:
        if is_masked(node):
            # Kept only when it is exactly the mask of the value stored at its place.
            leaf = stored is not None and not isinstance(stored, dict | list)
            if leaf and mask_secret(stored) == node:
                return stored
            problems.append(f"{where}: is a masked value and {why}; the real value is needed.")
            return node
        if isinstance(node, dict):
            stored = stored if isinstance(stored, dict) else {}
            return {k: merge(v, stored.get(k), f"{where}.{k}") for k, v in node.items()}
        if isinstance(node, list):
            if not (isinstance(stored, list) and len(stored) == len(node)):
                stored = [None] * len(node)
            return [
                merge(v, s, f"{where}[{i}]")
                for i, (v, s) in enumerate(zip(node, stored, strict=True))
            ]
        return node

    return merge(new, old, path), problems


@sensitive_variables()
def envelope_problems(value: Any, path: str) -> list[str]:
    """Envelopes that were not made here: a hand-written ``__sealed__`` is refused."""
    problems: list[str] = []
    for node, where, _depth, is_key in walk_json(value, path, prune=is_envelope):
        if is_key or not is_envelope(node):
            continue
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

    # No to_python for the sealed form: only from_db_value builds a SealedURL. Text
    # from input holding " sealed=" (another row's ciphertext copied in) is a plain
    # string, refused by validate() and never written (get_prep_value).

    @sensitive_variables("value")
    def _seal(self, value: Any) -> Any:
        from .masking import mask_url, url_has_secret

        if type(value) is str and url_has_secret(value):
            return SealedURL(mask_url(value), crypto.encrypt_json(value))
        return value

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, str) and not isinstance(value, SealedURL) and URL_SEAL_MARK in value:
            # Stored as is, it would load as a SealedURL around someone else's ciphertext.
            raise ValueError(f"A URL cannot contain {URL_SEAL_MARK.strip()!r} after a space.")
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

        if isinstance(value, str) and not isinstance(value, SealedURL) and URL_SEAL_MARK in value:
            raise ValidationError(
                'Not a URL: it holds a space and "sealed=", which only Switchboard writes.',
                code="sealed",
            )
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
    return _fields_of_class(SecretSealingJSONField)


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
    return _fields_of_class(SecretURLField)


def _fields_of_class(cls: type[models.Field]) -> list[tuple[type[models.Model], str]]:
    from django.apps import apps

    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, cls)
    ]
