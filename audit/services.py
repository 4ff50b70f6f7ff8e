"""Writing audit entries. Callers pass an ``Actor``; there are no signals.

Every service that changes data calls ``record`` inside its own transaction,
so a change and its entry are committed together or not at all.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from vault.masking import mask_all, mask_json

from .models import Action, AuditEntry, Source

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
    }
)


@dataclass(frozen=True)
class Actor:
    """Who is making a change, from where, in which request."""

    label: str
    source: str
    user: Any = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @classmethod
    def for_request(cls, request: Any, source: str) -> Actor:
        """The signed-in user, or the API token's prefix for API calls."""
        request_id = getattr(request, "request_id", "") or uuid.uuid4().hex
        token = getattr(request, "auth", None)
        if source == Source.API and token is not None and hasattr(token, "prefix"):
            return cls(
                f"token sb_{token.prefix}… ({request.user.email})", source, request.user, request_id
            )
        user = request.user if request.user.is_authenticated else None
        return cls(user.email if user else "anonymous", source, user, request_id)

    @classmethod
    def for_command(cls, command: str, source: str = Source.COMMAND) -> Actor:
        return cls(f"command {command}", source)


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
    """The audited state of an object: its fields, links by name, secrets masked."""
    state: dict[str, Any] = {}
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
    return state


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


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def record(
    *,
    actor: Actor,
    obj: models.Model,
    changes: dict[str, list[Any]],
    action: str = Action.UPDATE,
) -> AuditEntry | None:
    """Write one entry for one change of ``obj``; nothing when nothing changed."""
    if action == Action.UPDATE and not changes:
        return None
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
    )


def record_snapshot_change(
    *, actor: Actor, obj: models.Model, before: dict[str, Any] | None, action: str
) -> AuditEntry | None:
    """Record a create/update/delete from snapshots taken around the write."""
    after = {} if action == Action.DELETE else snapshot(obj)
    return record(actor=actor, obj=obj, changes=diff(before or {}, after), action=action)
