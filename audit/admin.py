"""The audit trail in the admin: readable by staff with the permission, never editable.

``AuditedAdmin`` is mixed into every admin page of an audited model, so an
edit in the admin writes its entry in the same transaction as the change.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import BadRequest, ValidationError
from django.db import models, transaction

from core.limits import BoundedJSONFormField

from .models import Action, AuditEntry, Source
from .services import Actor, diff, record, record_snapshot_change, snapshot

# Date parts a changelist filter may name (date_hierarchy's created_at__year,
# created_at__month, created_at__day, or any field__year__gte typed in the URL).
_DATE_PARTS = frozenset(
    {"year", "iso_year", "quarter", "month", "week", "week_day", "iso_week_day", "day"}
    | {"hour", "minute", "second"}
)
_DATE_PART_VALUE = re.compile(r"[0-9]{1,4}")


class ChangelistGuard(admin.ModelAdmin):
    """A changelist that answers odd input with a message or a 400, never a 500.

    Two holes in Django's admin: an action posted with an id that is not one
    (``_selected_action=not-a-uuid``: a ValidationError from the queryset), and
    a date part too large for a date (``created_at__year=99999999999``: an
    OverflowError building the date hierarchy's bounds, or the lookup's SQL).
    """

    def response_action(self, request: Any, queryset: Any) -> Any:
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        valid = []
        for value in selected:
            try:
                self.model._meta.pk.to_python(value)
            except ValidationError:
                continue
            valid.append(value)
        if len(valid) != len(selected):
            post = request.POST.copy()
            post.setlist(helpers.ACTION_CHECKBOX_NAME, valid)
            request.POST = post
            dropped = len(selected) - len(valid)
            self.message_user(
                request,
                f"{dropped} selected value(s) ignored: not valid ids.",
                messages.WARNING,
            )
        return super().response_action(request, queryset)

    def get_changelist_instance(self, request: Any) -> Any:
        for name, values in request.GET.lists():
            if not _DATE_PARTS.intersection(name.split("__")[1:]):
                continue
            pieces = [piece for value in values for piece in value.split(",")]
            if not all(_DATE_PART_VALUE.fullmatch(piece) for piece in pieces):
                raise BadRequest("A date part in the filters is not a number of at most 4 digits.")
        return super().get_changelist_instance(request)


class AuditedAdmin(ChangelistGuard):
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
class AuditEntryAdmin(ChangelistGuard):
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
