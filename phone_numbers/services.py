"""Every write on a phone number that carries rules.

The dashboard, bulk edits, the API and the admin all write through here:
validation, then compare-and-set on ``version`` and the audit entry, in one
transaction. A writer that read an old version gets ``VersionConflict``
instead of silently overwriting someone else's change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agents.models import Agent
from audit.models import Action
from audit.services import (
    Actor,
    VersionConflict,
    audited_save,
    diff,
    display,
    record,
    snapshot,
)
from core.limits import sealed_key_problems
from vault.crypto import CredentialDecryptionError
from vault.fields import plaintext
from vault.masking import mask_json

from .models import PhoneNumber

# What staff and API clients may change; everything else is upstream's.
EDITABLE_FIELDS = frozenset(
    {"label", "description", "inbound_agent", "outbound_only", "example_context", "active"}
)
BULK_LIMIT = 10_000


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
) -> PhoneNumber:
    """Apply ``changes`` if the number is still at ``expected_version``.

    ``expected_version`` defaults to the version ``number`` was read at.
    Raises ``ValidationError`` (nothing written) or ``VersionConflict``.
    Returns the number, updated in place; unchanged values write nothing.
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
        written = PhoneNumber.objects.filter(pk=number.pk, version=expected).update(
            **columns, version=F("version") + 1, updated_at=now
        )
        if not written:
            raise VersionConflict(PhoneNumber.objects.get(pk=number.pk))
        record(
            actor=actor,
            obj=number,
            changes={k: [before[k], _audited(getattr(number, k))] for k in effective},
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
    audited_save(obj=number, actor=actor, expected_version=expected_version)
    return number


def phone_number_delete(*, number: PhoneNumber, actor: Actor) -> None:
    """Delete a number, with its last state in the audit trail."""
    with transaction.atomic():
        record(actor=actor, obj=number, changes=diff(snapshot(number), {}), action=Action.DELETE)
        number.delete()


class BulkRejected(Exception):
    """A bulk change that would break a rule for some numbers; nothing was written."""

    def __init__(self, message: str, numbers: list[str]) -> None:
        super().__init__(message)
        self.numbers = numbers


def phone_numbers_assign_agent(*, numbers: Iterable[Any], agent: Agent | None, actor: Actor) -> int:
    """Route every number to ``agent`` (or to none), all or nothing.

    A number whose owner does not own the agent is named in ``BulkRejected``
    and nothing is written. Each changed number gets its own audit entry.
    Returns how many numbers changed.
    """
    with transaction.atomic():
        locked = list(
            PhoneNumber.objects.select_for_update(of=("self",))
            .select_related("inbound_agent")
            .filter(pk__in=[getattr(n, "pk", n) for n in numbers])
            .order_by("number", "id")
        )
        if len(locked) > BULK_LIMIT:
            raise BulkRejected(
                f"{len(locked):,} numbers are selected; bulk changes are limited to "
                f"{BULK_LIMIT:,} at a time. Narrow the filters.",
                [],
            )
        if agent is not None:
            foreign = [n.number for n in locked if n.user_id != agent.user_id]
            if foreign:
                shown = ", ".join(foreign[:20]) + (" …" if len(foreign) > 20 else "")
                raise BulkRejected(
                    f"{len(foreign)} of the selected numbers belong to another customer than "
                    f"agent {agent.name}: {shown}. Nothing was changed.",
                    foreign,
                )
        changed = 0
        now = timezone.now()
        for number in locked:
            if number.inbound_agent_id == (agent.pk if agent else None):
                continue
            before = display(number.inbound_agent)
            PhoneNumber.objects.filter(pk=number.pk).update(
                inbound_agent=agent, version=F("version") + 1, updated_at=now
            )
            record(
                actor=actor,
                obj=number,
                changes={"inbound_agent": [before, display(agent)]},
                action=Action.UPDATE,
            )
            changed += 1
    return changed
