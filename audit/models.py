"""The audit trail: one immutable entry per change, written with the change."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class Source(models.TextChoices):
    DASHBOARD = "dashboard", "Dashboard"
    BULK = "bulk", "Bulk edit"
    ADMIN = "admin", "Admin"
    API = "api", "API"
    IMPORT = "import", "Import"
    COMMAND = "command", "Management command"


class Action(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    DELETE = "delete", "Deleted"


class ImmutableEntry(Exception):
    """Audit entries are never changed or deleted."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableEntry("Audit entries cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableEntry("Audit entries cannot be deleted.")


class AuditEntry(models.Model):
    """Who changed what, when, from where: the before and after of each field.

    ``changes`` maps a field name to ``[before, after]`` as a person reads
    them (an agent's name, not its id); credentials appear only as masked
    previews. ``refs`` keeps the ids of the linked objects named there, so a
    change can be traced to the exact object and undone. ``fields`` repeats
    the changed field names as ``,a,b,`` so that "entries that changed label"
    is a portable LIKE query. ``reason`` says why; ``reverts`` links a revert
    to the entry it undid; ``owner`` is the account whose object it is.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=255, db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices, db_index=True)
    request_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.UPDATE)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    object_label = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict)
    fields = models.CharField(max_length=1024, blank=True)
    # Why (audit.reasons): free text or a ticket reference, credentials masked.
    reason = models.TextField(blank=True, default="")
    # The ids of linked objects beside the names in ``changes``:
    # {"inbound_agent": [old_id, new_id]}. Empty in entries older than the column.
    refs = models.JSONField(default=dict, blank=True)
    # The entry this one undid (phone_numbers.services.phone_number_revert).
    reverts = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reverted_by"
    )
    # The id of the account that owns the object (its ``user``; an account owns
    # itself), so a customer's recent changes are one index range scan. A value,
    # not a foreign key: an entry outlives the account and is never updated.
    owner = models.UUIDField(null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(
                fields=["object_type", "object_id", "-created_at"], name="audit_object_recent"
            ),
            models.Index(fields=["-created_at", "-id"], name="audit_recent"),
            models.Index(fields=["owner", "-created_at", "-id"], name="audit_owner_recent"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_label}"
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableEntry("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableEntry("Audit entries cannot be deleted.")
