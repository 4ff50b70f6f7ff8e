"""Every write on a phone number that carries rules.

The dashboard, the API, the admin and bulk edits all write through here:
validation, then compare-and-set on ``version`` in one transaction, so a
writer that read an old version gets a conflict instead of silently
overwriting someone else's change.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import PhoneNumber

# The fields staff and API clients may change; everything else is upstream's.
EDITABLE_FIELDS = frozenset(
    {"label", "description", "inbound_agent", "outbound_only", "example_context", "active"}
)


class VersionConflict(Exception):
    """The number changed since the writer read it; nothing was written."""

    def __init__(self, current: PhoneNumber) -> None:
        super().__init__(f"{current.number} is now at version {current.version}.")
        self.current = current


def phone_number_update(
    *,
    number: PhoneNumber,
    changes: dict[str, Any],
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
    if "label" in changes and isinstance(changes["label"], str):
        changes = {**changes, "label": changes["label"].strip()}
    expected = number.version if expected_version is None else expected_version

    effective = {k: v for k, v in changes.items() if getattr(number, k) != v}
    if not effective:
        if expected != number.version:
            raise VersionConflict(PhoneNumber.objects.get(pk=number.pk))
        return number

    for field, value in effective.items():
        setattr(number, field, value)
    number.full_clean(
        exclude=[f.name for f in PhoneNumber._meta.fields if f.name not in effective],
        validate_unique=False,
        validate_constraints=False,
    )

    now = timezone.now()
    columns = {
        PhoneNumber._meta.get_field(f).attname: getattr(
            number, PhoneNumber._meta.get_field(f).attname
        )
        for f in effective
    }
    with transaction.atomic():
        written = PhoneNumber.objects.filter(pk=number.pk, version=expected).update(
            **columns, version=F("version") + 1, updated_at=now
        )
        if not written:
            raise VersionConflict(PhoneNumber.objects.get(pk=number.pk))
    number.version = expected + 1
    number.updated_at = now
    return number
