"""Every write on a phone number that carries rules.

The dashboard, bulk edits, the API and the admin all write through here:
validation, then compare-and-set on ``version`` and the audit entry, in one
transaction. A writer that read an old version gets ``VersionConflict``
instead of silently overwriting someone else's change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import capfirst

from agents.models import Agent
from audit.models import Action, AuditEntry
from audit.services import (
    Actor,
    VersionConflict,
    audited_save,
    diff,
    display,
    link_ids,
    observe,
    record,
    ref_pairs,
)
from core.limits import sealed_key_problems
from vault.crypto import CredentialDecryptionError
from vault.fields import plaintext
from vault.masking import mask_json

from . import upkeep
from .models import PhoneNumber

# What staff and API clients may change; everything else is upstream's.
EDITABLE_FIELDS = frozenset(
    {"label", "description", "inbound_agent", "outbound_only", "example_context", "active"}
)


def _audited(value: Any) -> Any:
    """A value as the trail shows it: names for links, secrets in JSON masked."""
    return mask_json(value) if isinstance(value, dict) else display(value)


def _keep_stored(name: str, value: Any, number: PhoneNumber) -> Any:
    keep = getattr(PhoneNumber._meta.get_field(name), "keep_stored", None)
    return keep(value, getattr(number, name)) if keep else value


def phone_number_update(
    *,
    number: PhoneNumber,
    changes: dict[str, Any],
    actor: Actor,
    expected_version: int | None = None,
    reverts: AuditEntry | None = None,
) -> PhoneNumber:
    """Apply ``changes`` if the number is still at ``expected_version``.

    ``expected_version`` defaults to the version ``number`` was read at.
    Raises ``ValidationError`` (nothing written) or ``VersionConflict``.
    Returns the number, updated in place; unchanged values write nothing.
    ``reverts`` is the entry this update undoes (``phone_number_revert``).
    """
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({f: "This field cannot be changed here." for f in sorted(unknown)})
    if isinstance(changes.get("label"), str):
        changes = {**changes, "label": changes["label"].strip()}
    expected = number.version if expected_version is None else expected_version

    sealed = {k: sealed_key_problems(v, k) for k, v in changes.items()}
    if any(sealed.values()):  # input never carries an envelope: see core.limits
        raise ValidationError({k: problems for k, problems in sealed.items() if problems})
    # A secret sent back in its masked form keeps the stored one (the field's rule).
    changes = {k: _keep_stored(k, v, number) for k, v in changes.items()}
    effective = {}
    for k, v in changes.items():
        try:
            if plaintext(getattr(number, k)) != plaintext(v):
                effective[k] = v
        except CredentialDecryptionError:
            # A stored secret that none of the configured keys opens: a refusal, not a 500.
            raise ValidationError(
                {k: "A secret stored here cannot be opened with the configured keys."}
            ) from None
    if not effective:
        if expected != number.version:
            raise VersionConflict(PhoneNumber.objects.get(pk=number.pk))
        return number

    before = {k: _audited(getattr(number, k)) for k in effective}
    before_ids = link_ids(number, effective)
    old_links = upkeep.ids_of(number)
    for name, value in effective.items():
        setattr(number, name, value)
    number.full_clean(
        exclude=[f.name for f in PhoneNumber._meta.fields if f.name not in effective],
        validate_unique=False,
        validate_constraints=False,
    )

    now = timezone.now()
    columns = {
        PhoneNumber._meta.get_field(name).attname: getattr(
            number, PhoneNumber._meta.get_field(name).attname
        )
        for name in effective
    }
    with transaction.atomic():
        if upkeep.LINK_FIELDS & effective.keys():
            # Its agent changed: counts move and the kept health columns follow,
            # the graph rows locked before this number's (phone_numbers.upkeep).
            kept = upkeep.number_moved(old_links, upkeep.ids_of(number))
            columns.update(kept)
            for column, value in kept.items():
                setattr(number, column, value)
        written = PhoneNumber.objects.filter(pk=number.pk, version=expected).update(
            **columns, version=F("version") + 1, updated_at=now
        )
        if not written:
            raise VersionConflict(PhoneNumber.objects.get(pk=number.pk))
        record(
            actor=actor,
            obj=number,
            changes={k: [before[k], _audited(getattr(number, k))] for k in effective},
            refs=ref_pairs(before_ids, link_ids(number, effective), effective),
            reverts=reverts,
        )
    number.version = expected + 1
    number.updated_at = now
    return number


def phone_number_save(
    *, number: PhoneNumber, actor: Actor, expected_version: int | None = None
) -> PhoneNumber:
    """Write a number whose fields a form or an import has set (the admin, the importer).

    A new number is created. An existing one is written only if it is still at
    ``expected_version`` (compare-and-set under a row lock), with its version
    bumped and one audit entry of what changed, in one transaction; otherwise
    ``VersionConflict`` and nothing is written (``audit.services.audited_save``,
    shared with the agent graph). The caller has validated ``number``.
    """
    new = upkeep.ids_of(number)

    def keep_health(current: PhoneNumber | None) -> None:
        old = None if current is None else upkeep.ids_of(current)
        # Counts move and the kept columns follow; links unchanged, the kept columns
        # are the locked row's (a graph write may have changed them since ``number``
        # was read).
        kept = upkeep.number_moved(old, new) if old != new else upkeep.kept_of(current)
        kept["owner_email"] = owner_email
        for column, value in kept.items():
            setattr(number, column, value)

    with transaction.atomic():
        owner_email = upkeep.lock_owner(number.user_id)  # the account first (upkeep)
        if not number._state.adding:
            stored = (
                PhoneNumber.objects.filter(pk=number.pk)
                .values_list(
                    "inbound_agent_id", "telephony_account_connection_id", "telephony_provider"
                )
                .first()
            )
            if stored != new:
                upkeep.lock_links(stored, new)  # graph rows before the number's (upkeep)
        audited_save(
            obj=number, actor=actor, expected_version=expected_version, before_write=keep_health
        )
    return number


def phone_number_delete(*, number: PhoneNumber, actor: Actor) -> None:
    """Delete a number, with its last state in the audit trail."""
    with transaction.atomic():
        upkeep.number_moved(upkeep.ids_of(number), None)  # its counts go with it
        state, ids = observe(number)
        changes = diff(state, {})
        record(
            actor=actor,
            obj=number,
            changes=changes,
            action=Action.DELETE,
            refs=ref_pairs(ids, {}, changes),
        )
        number.delete()


# Reverts. A number's entry is undone by writing its "before" values back,
# only while the number still holds its "after" values.

# The trail keeps these masked (secrets): what was there cannot be written back.
SECRET_VALUE_FIELDS = frozenset({"example_context"})


class RevertRefused(Exception):
    """This entry cannot be reverted, whatever the number holds now; nothing was written."""


@dataclass(frozen=True)
class Difference:
    """A field that moved on since the entry: what the entry left, what is there now."""

    field: str
    recorded: Any
    current: Any


class RevertConflict(Exception):
    """The number no longer holds the entry's "after" values; nothing was written."""

    def __init__(self, differences: list[Difference]) -> None:
        super().__init__(", ".join(d.field for d in differences) + " changed since.")
        self.differences = differences


def field_label(name: str) -> str:
    """A number's field as the console names it ("Inbound agent")."""
    try:
        return capfirst(str(PhoneNumber._meta.get_field(name).verbose_name))
    except FieldDoesNotExist:
        return name.replace("_", " ").capitalize()


def revert_refusal(entry: AuditEntry) -> str | None:
    """Why ``entry`` can never be reverted, or None when it can be (while the number
    still holds its "after" values)."""
    if entry.object_type != PhoneNumber._meta.label_lower:
        return "Only changes of a number's fields can be reverted."
    if entry.action != Action.UPDATE:
        return f"It {entry.get_action_display().lower()} the number; only field changes revert."
    if not entry.changes:
        return "It changed no field."
    names = sorted(entry.changes)
    secret = [field_label(n) for n in names if n in SECRET_VALUE_FIELDS]
    if secret:
        return f"{', '.join(secret)} holds secrets, which the trail keeps masked only."
    upstream = [field_label(n) for n in names if n not in EDITABLE_FIELDS]
    if upstream:
        return f"{', '.join(upstream)}: set upstream, not changed from here."
    unknown_ids = [
        field_label(n)
        for n in names
        if PhoneNumber._meta.get_field(n).is_relation and n not in (entry.refs or {})
    ]
    if unknown_ids:
        return (
            f"Recorded before the trail kept ids: {', '.join(unknown_ids).lower()} is known "
            "by name only, and names are not unique."
        )
    return None


def revert_changes(*, number: PhoneNumber, entry: AuditEntry) -> dict[str, Any]:
    """The changes that revert ``entry`` on ``number``: its "before" values.

    ``RevertRefused`` when the entry cannot be reverted (``revert_refusal``, or
    its agent is gone); ``RevertConflict`` naming each field whose value is no
    longer the entry's "after" value.
    """
    problem = revert_refusal(entry)
    if problem:
        raise RevertRefused(problem)
    if entry.object_id != str(number.pk):
        raise RevertRefused("The entry is about another number.")
    differences: list[Difference] = []
    restore: dict[str, Any] = {}
    for name, (before, after) in sorted(entry.changes.items()):
        field = PhoneNumber._meta.get_field(name)
        if field.is_relation:
            before_id, after_id = entry.refs[name]
            current_id = getattr(number, field.attname)
            if (str(current_id) if current_id else None) != after_id:
                differences.append(Difference(name, after, _audited(getattr(number, name))))
            restore[name] = before_id
            continue
        current = _audited(getattr(number, name))
        if current != after:
            differences.append(Difference(name, after, current))
        restore[name] = before
    if differences:
        raise RevertConflict(differences)
    if restore.get("inbound_agent"):
        agent = Agent.objects.filter(pk=restore["inbound_agent"], user_id=number.user_id).first()
        if agent is None:
            raise RevertRefused(
                f"The agent {entry.changes['inbound_agent'][0]} it had before no longer exists."
            )
        restore["inbound_agent"] = agent
    return restore


def phone_number_revert(*, number: PhoneNumber, entry: AuditEntry, actor: Actor) -> PhoneNumber:
    """Undo ``entry`` on ``number``: its "before" values written back, audited as a revert.

    Only while the number still holds the entry's "after" values
    (``RevertConflict`` otherwise), as a compare-and-set on the version just
    checked (``VersionConflict`` when someone wrote in between). The new entry
    links the reverted one (``reverts``) and carries the actor's reason.
    """
    changes = revert_changes(number=number, entry=entry)
    return phone_number_update(
        number=number,
        changes=changes,
        actor=actor,
        expected_version=number.version,
        reverts=entry,
    )
