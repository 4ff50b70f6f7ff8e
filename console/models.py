"""The console's own preferences: saved views of the inventory and chosen columns.

They live here, in the delivery layer, and not in ``users``: what they hold is
the console's vocabulary (the inventory's query string, checked by
``console.forms.numbers.NumberFilterForm``; the column keys of
``console.number_columns``), which ``users`` sits below and must not know.
Nothing below the console reads them, and the API has no use for them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from audit.reasons import _REFUSED
from core.limits import LimitedModel, limit


def validate_view_name(value: str) -> None:
    """One line of text: no control characters, line breaks or direction overrides
    (a name is shown in lists and in the audit trail)."""
    if _REFUSED.search(value):
        raise ValidationError(
            "A name is one line of text: no line breaks, tabs, control characters "
            "or direction overrides.",
            code="invalid_name",
        )


class SavedView(LimitedModel, models.Model):
    """A named inventory query string: filters, search, sort and columns.

    Private to ``created_by`` until shared with the team (``shared``). Opening one is
    following ``/numbers/?<query>``: a plain URL, so a bookmark of it still works.
    ``query`` was checked by the inventory's own form when saved (only its fields,
    no paging, no empty values); what it names may go away later (a deleted agent),
    and the inventory then drops it with its usual notice. ``version`` makes an
    edit from a stale page a conflict, not a lost update. Names are unique per
    creator whatever their case. Every change goes through ``console.services``,
    which audits it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=limit("view_name"), validators=[validate_view_name])
    query = models.CharField(max_length=limit("view_query"), blank=True)
    shared = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "created_by",
                Lower("name"),
                name="console_view_name_per_creator",
                violation_error_message="You already have a view with this name.",
            )
        ]
        indexes = [models.Index(fields=["shared"], name="console_view_shared")]

    def __str__(self) -> str:
        return self.name


class ColumnChoice(models.Model):
    """The inventory columns one user shows, in order (keys of
    ``console.number_columns.COLUMNS``, comma-separated). No row: the default."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    columns = models.CharField(max_length=200)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.columns
