"""The audit trail in the admin: readable by staff with the permission, never editable.

``AuditedAdmin`` is the base of every admin page of an audited model: its
saves go through the model's service, so an edit in the admin is
version-checked and writes its entry in the same transaction as the change.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import BadRequest, ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.utils import timezone

from core.limits import BoundedJSONFormField

from .models import AuditEntry, Source
from .queries import last_change
from .reasons import ReasonField
from .services import Actor, VersionConflict

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


def conflict_message(obj: models.Model) -> str:
    """Who changed an object last, when and what: shown instead of overwriting it."""
    noun = obj._meta.verbose_name
    version = obj.version  # type: ignore[attr-defined]
    entry = last_change(obj)
    if entry is None:
        return f"This {noun} changed since you opened it (now version {version})."
    when = timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S %Z")
    fields = ", ".join(sorted(entry.changes)) or "no field"
    return (
        f"{entry.actor_label} changed this {noun} at {when} ({fields}), after you opened "
        f"it; it is now at version {version}. Your input is kept below: review it "
        "against the current values and save again to apply it."
    )


class VersionedAdminForm(forms.ModelForm):
    """Carries the version the page was opened at: a stale save is a conflict, not an
    overwrite (compare-and-set in ``audit.services.audited_save``), and the optional
    reason the entry records (``AuditedAdmin.actor``)."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = ReasonField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and not self.instance._state.adding:
            # Required on change: a post without it would skip compare-and-set.
            self.fields["expected_version"].initial = self.instance.version
            self.fields["expected_version"].required = True
            self.fields["expected_version"].error_messages["required"] = (
                "This form lacks the version it was opened at: reload the page."
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        expected = cleaned.get("expected_version")
        if self.instance.pk is not None and expected is not None:
            current = type(self.instance)._default_manager.filter(pk=self.instance.pk).first()
            if current is not None and current.version != expected:
                # The next save, made knowingly, applies to the version shown now.
                self.data = self.data.copy()
                self.data[self.add_prefix("expected_version")] = str(current.version)
                raise forms.ValidationError(conflict_message(current), code="conflict")
        return cleaned


class AuditedAdmin(ChangelistGuard):
    """An admin page whose saves and deletes go through the model's service.

    The form carries the version it was opened at (``VersionedAdminForm``);
    ``write`` and ``delete_model`` call the model's one write path, which
    compares versions and records the audit entry in the same transaction.
    The object and its many-to-many links are written together, in
    ``save_related``, so they make one version and one entry.
    """

    form = VersionedAdminForm
    # JSON is parsed within core.limits: deep nesting is a form error, not a 500.
    formfield_overrides = {models.JSONField: {"form_class": BoundedJSONFormField}}

    def actor(self, request: Any) -> Actor:
        """The signed-in user, with the reason the saved form gave (``save_related``)."""
        return Actor.for_request(
            request, Source.ADMIN, reason=getattr(request, "change_reason", "")
        )

    def write(
        self,
        request: Any,
        obj: Any,
        expected_version: int | None,
        related: dict[str, list[Any]],
    ) -> None:
        """Save ``obj`` through its model's service (each admin names its own)."""
        raise NotImplementedError(f"{type(self).__name__} must write through a service.")

    def save_model(self, request: Any, obj: models.Model, form: Any, change: bool) -> None:
        pass  # written with its many-to-many links in save_related, through the service

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        obj = form.instance
        related = {
            f.name: list(form.cleaned_data[f.name])
            for f in obj._meta.many_to_many
            if f.name in form.cleaned_data
        }
        expected = form.cleaned_data.get("expected_version") if change else None
        # Per request, never on self: one admin instance serves every request.
        request.change_reason = form.cleaned_data.get("reason", "")
        self.write(request, obj, expected, related)
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def changeform_view(self, request: Any, object_id: Any = None, *args: Any, **kwargs: Any):
        try:
            return super().changeform_view(request, object_id, *args, **kwargs)
        except VersionConflict as conflict:
            # Changed between the form's check and the write (a few milliseconds):
            # nothing was written; say who did it and show the current values.
            messages.error(request, conflict_message(conflict.current))
            return HttpResponseRedirect(request.path)


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
        "reason",
    )
    list_filter = ("source", "action", "object_type")
    search_fields = ("actor_label", "object_label", "reason", "=object_id", "=request_id")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
