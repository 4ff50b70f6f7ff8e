"""The audit trail in the admin: readable by staff with the permission, never editable.

``AuditedAdmin`` is mixed into every admin page of an audited model, so an
edit in the admin writes its entry in the same transaction as the change.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models, transaction

from core.limits import BoundedJSONFormField

from .models import Action, AuditEntry, Source
from .services import Actor, diff, record, record_snapshot_change, snapshot


class AuditedAdmin(admin.ModelAdmin):
    """Audits saves, deletes and many-to-many changes made in the admin."""

    # JSON is parsed within core.limits: deep nesting is a form error, not a 500.
    formfield_overrides = {models.JSONField: {"form_class": BoundedJSONFormField}}

    def _actor(self, request: Any) -> Actor:
        return Actor.for_request(request, Source.ADMIN)

    def save_model(self, request: Any, obj: models.Model, form: Any, change: bool) -> None:
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            record_snapshot_change(
                actor=self._actor(request),
                obj=obj,
                before=before,
                action=Action.UPDATE if change else Action.CREATE,
            )

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        obj = form.instance
        m2m = [f.name for f in obj._meta.many_to_many]
        before = {name: sorted(map(str, getattr(obj, name).all())) for name in m2m}
        super().save_related(request, form, formsets, change)
        after = {name: sorted(map(str, getattr(obj, name).all())) for name in m2m}
        record(actor=self._actor(request), obj=obj, changes=diff(before, after))

    def delete_model(self, request: Any, obj: models.Model) -> None:
        before = snapshot(obj)
        with transaction.atomic():
            record_snapshot_change(
                actor=self._actor(request), obj=obj, before=before, action=Action.DELETE
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "actor_label",
        "source",
        "action",
        "object_type",
        "object_label",
        "fields",
    )
    list_filter = ("source", "action", "object_type")
    search_fields = ("actor_label", "object_label", "=object_id", "=request_id")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
