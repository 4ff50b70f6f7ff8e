"""Writing audit entries, and the one versioned write of a model a form has set.

Callers pass an ``Actor``; there are no signals. Every service that changes
data calls ``record`` inside its own transaction, so a change and its entry
are committed together or not at all. ``snapshot`` and ``diff`` are the one
way an entry's changes are built, and ``link_ids``/``ref_pairs`` the one way
its ``refs`` (the ids of the linked objects it names) are; ``audited_save`` is
the compare-and-set write that the numbers' and the agent graph's services
share. The actor carries the change's reason (``audit.reasons``).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models import F

from vault.crypto import CredentialDecryptionError
from vault.fields import plaintext
from vault.masking import mask_all, mask_json

from .models import Action, AuditEntry, Source
from .reasons import stored_reason

# Fields never recorded with their value: only "changed", with a masked preview.
SECRET_FIELDS = frozenset({"credentials", "secret_hash", "password"})
# Noise that changes with every write.
IGNORED_FIELDS = frozenset(
    {
        "updated_at",
        "created_at",
        "version",
        "credentials_preview",
        "number_is_valid",
        "last_used_at",
        "last_login",
        "session_version",
        # Kept by the write paths (phone_numbers.upkeep): consequences, not changes.
        "number_count",
        "telephony_number_count",
        "llm_number_count",
        "agent_without_webhook",
        "misconfigured",
        "inbound_agent_name",
        "owner_email",
    }
)


@dataclass(frozen=True)
class Actor:
    """Who is making a change, from where, in which request, and why.

    ``reason`` is what the person gave (``audit.reasons.clean_reason`` has
    checked it at the door); every entry written with this actor stores it.
    """

    label: str
    source: str
    user: Any = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    reason: str = ""

    @classmethod
    def for_request(cls, request: Any, source: str, reason: str = "") -> Actor:
        """The signed-in user, or the API token's prefix for API calls."""
        request_id = getattr(request, "request_id", "") or uuid.uuid4().hex
        token = getattr(request, "auth", None)
        if source == Source.API and token is not None and hasattr(token, "prefix"):
            label = f"token sb_{token.prefix}… ({request.user.email})"
            return cls(label, source, request.user, request_id, reason)
        user = request.user if request.user.is_authenticated else None
        return cls(user.email if user else "anonymous", source, user, request_id, reason)

    @classmethod
    def for_command(cls, command: str, source: str = Source.COMMAND, reason: str = "") -> Actor:
        return cls(f"command {command}", source, reason=reason)


def display(value: Any) -> Any:
    """A value as the audit trail shows it: objects by their name, not their id."""
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def snapshot(obj: models.Model) -> dict[str, Any]:
    """The audited state of an object: its fields, links by name, secrets masked,
    and its many-to-many links as sorted names (once it is saved)."""
    return observe(obj)[0]


def observe(obj: models.Model) -> tuple[dict[str, Any], dict[str, Any]]:
    """``snapshot(obj)`` and ``link_ids(obj)`` with its many-to-many ids, read together
    (each many-to-many link is read once for its names and its ids)."""
    state: dict[str, Any] = {}
    ids = link_ids(obj)
    if obj.pk is not None and not obj._state.adding:
        for f in obj._meta.many_to_many:
            linked = list(getattr(obj, f.name).all())
            state[f.name] = sorted(map(str, linked))
            ids[f.name] = sorted(str(o.pk) for o in linked)
    for f in obj._meta.concrete_fields:
        if f.primary_key or f.name in IGNORED_FIELDS:
            continue
        if f.name in SECRET_FIELDS:
            state[f.name] = secret_state(obj, f.name)
            continue
        if isinstance(f, models.JSONField):
            state[f.name] = mask_json(getattr(obj, f.attname))
            continue
        if f.is_relation:
            state[f.name] = display(getattr(obj, f.name)) if getattr(obj, f.attname) else None
        else:
            state[f.name] = display(getattr(obj, f.attname))
    return state, ids


def link_ids(obj: models.Model, names: Any = None) -> dict[str, str | None]:
    """The ids of ``obj``'s foreign keys (within ``names``) as text, by field name.

    An entry names a linked object (``changes``) and keeps its id beside it
    (``refs``): names are not unique, ids are.
    """
    ids: dict[str, str | None] = {}
    for f in obj._meta.concrete_fields:
        if f.is_relation and (names is None or f.name in names):
            value = getattr(obj, f.attname)
            ids[f.name] = None if value is None else str(value)
    return ids


def ref_pairs(
    before: dict[str, Any], after: dict[str, Any], changes: dict[str, Any]
) -> dict[str, list[Any]]:
    """``{field: [before id, after id]}`` for the linked objects ``changes`` names."""
    return {
        name: [before.get(name), after.get(name)]
        for name in changes
        if name in before or name in after
    }


def secret_state(obj: models.Model, name: str) -> dict[str, Any] | None:
    """A secret as the trail may hold it: the masked preview and a fingerprint of the
    ciphertext (new on every write), so a change shows even when the last 4 match."""
    stored = (
        type(obj).objects.filter(pk=obj.pk).values_list(name, flat=True).first()
        if obj.pk is not None
        else None
    )
    if stored is None:
        return None
    preview = getattr(obj, "credentials_preview", None) or {}
    fingerprint = hashlib.sha256(getattr(stored, "stored", str(stored)).encode()).hexdigest()
    return {**mask_all(preview), "_revision": fingerprint[:8]}


def diff(before: dict[str, Any], after: dict[str, Any], only: Any = None) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for every field that differs (within ``only``)."""
    names = set(before) | set(after) if only is None else set(only)
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(names)
        if before.get(name) != after.get(name)
    }


def owner_of(obj: models.Model) -> Any:
    """The id of the account ``obj`` belongs to: its ``user``, or itself for an account
    (None for what no account owns, such as a staff group)."""
    if obj._meta.label == settings.AUTH_USER_MODEL:
        return obj.pk
    return getattr(obj, "user_id", None)


class _Bump:
    """An on-commit callback that grows one account's ``inventory_version`` by one."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner

    def __call__(self) -> None:
        accounts = apps.get_model(settings.AUTH_USER_MODEL).objects
        accounts.filter(pk=self.owner).update(inventory_version=F("inventory_version") + 1)


def bump_inventory_version(owner: Any) -> None:
    """After the current transaction commits, grow the account's ``inventory_version``
    (once per transaction, however many changes it records).

    After, not within: inside the transaction the account's row would stay locked
    until the commit, and every other writer of that account would wait for it. A
    reader between the commit and the bump caches the new data under the old
    version, which is harmless; never old data under the new one. A callback of a
    savepoint that is rolled back is dropped with it (Django's on_commit), so the
    check for a pending bump below is exact.
    """
    connection = transaction.get_connection()
    pending = getattr(connection, "run_on_commit", [])
    if any(getattr(entry[1], "owner", None) == owner for entry in pending):
        return
    transaction.on_commit(_Bump(owner))


def record(
    *,
    actor: Actor,
    obj: models.Model,
    changes: dict[str, list[Any]],
    action: str = Action.UPDATE,
    refs: dict[str, list[Any]] | None = None,
    reverts: AuditEntry | None = None,
) -> AuditEntry | None:
    """Write one entry for one change of ``obj``; nothing when nothing changed.

    ``refs`` holds the ids of the linked objects ``changes`` names (``ref_pairs``);
    ``reverts`` is the entry this change undid. The actor's reason is stored
    with credential-shaped text masked (``audit.reasons.stored_reason``); the
    object's owner (``owner_of``) finds it among that account's changes.
    """
    if action == Action.UPDATE and not changes:
        return None
    owner = owner_of(obj)
    if owner is not None:
        bump_inventory_version(owner)
    return AuditEntry.objects.create(
        actor=actor.user if getattr(actor.user, "pk", None) else None,
        actor_label=actor.label[:255],
        source=actor.source,
        request_id=actor.request_id[:64],
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_label=str(obj)[:255],
        changes=changes,
        fields="," + ",".join(sorted(changes)) + "," if changes else "",
        reason=stored_reason(actor.reason),
        refs=refs or {},
        reverts=reverts,
        owner=owner,
    )


class VersionConflict(Exception):
    """The object changed since the writer read it; nothing was written."""

    def __init__(self, current: models.Model) -> None:
        super().__init__(f"{current} is now at version {current.version}.")  # type: ignore[attr-defined]
        self.current = current


def _differs(field: models.Field, old: Any, new: Any) -> bool:
    """Whether a field's value changed: secrets by their plaintext, not their ciphertext."""
    try:
        return plaintext(old) != plaintext(new)
    except CredentialDecryptionError:
        return True  # a stored secret no configured key opens: anything written replaces it


def audited_save(
    *,
    obj: models.Model,
    actor: Actor,
    expected_version: int | None = None,
    related: dict[str, list[models.Model]] | None = None,
    before_write: Any = None,
) -> models.Model:
    """Create or update ``obj`` (its fields set by a form or an import) with one audit entry.

    An existing object is written only if it is still at ``expected_version``
    (the version the writer read; compared under a row lock), else
    ``VersionConflict`` and nothing is written. ``related`` sets many-to-many
    links (``{"actions": [...]}``) in the same transaction and the same entry.
    The version grows by one on every change; unchanged values write nothing.
    The caller has validated ``obj`` (``full_clean``: a ModelForm, the importer
    and the services do). ``before_write(current)`` runs just before the write,
    in its transaction, with the row as stored (None for a new object): a
    service sets what it derives there.
    """
    model = type(obj)
    related = related or {}
    with transaction.atomic():
        if obj._state.adding:
            obj.version = 1  # type: ignore[attr-defined]
            if before_write is not None:
                before_write(None)
            obj.save(force_insert=True)
            for name, values in related.items():
                getattr(obj, name).set(values)
            state, ids = observe(obj)
            changes = diff({}, state)
            record(
                actor=actor,
                obj=obj,
                changes=changes,
                action=Action.CREATE,
                refs=ref_pairs({}, ids, changes),
            )
            return obj
        current = model._default_manager.select_for_update().get(pk=obj.pk)
        if expected_version is not None and current.version != expected_version:
            raise VersionConflict(current)
        changed = [
            f.name
            for f in model._meta.concrete_fields
            if f.editable  # not the id, version, timestamps or derived flags
            and _differs(f, getattr(current, f.attname), getattr(obj, f.attname))
        ]
        before, before_ids = observe(current)
        links = {
            name: values
            for name, values in related.items()
            if {v.pk for v in values} != set(getattr(current, name).values_list("pk", flat=True))
        }
        if not changed and not links:
            obj.version = current.version  # type: ignore[attr-defined]
            return obj
        obj.version = current.version + 1  # type: ignore[attr-defined]
        if before_write is not None:
            before_write(current)
        obj.save()
        for name, values in links.items():
            getattr(obj, name).set(values)
        after, after_ids = observe(obj)
        changes = diff(before, after, [*changed, *links])
        record(
            actor=actor, obj=obj, changes=changes, refs=ref_pairs(before_ids, after_ids, changes)
        )
    return obj
