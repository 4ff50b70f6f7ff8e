"""Admin page for the inventory: searchable by number digits and label."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from django.utils import timezone

from agents.admin import masked_json_display
from audit.admin import AuditedAdmin
from audit.models import Source
from audit.queries import last_change
from audit.services import Actor

from . import phone
from .models import PhoneNumber
from .services import EDITABLE_FIELDS, VersionConflict, phone_number_delete, phone_number_save


def conflict_message(number: PhoneNumber) -> str:
    """Who changed a number last, when and what: shown instead of overwriting it."""
    entry = last_change(number)
    if entry is None:
        return f"This number changed since you opened it (now version {number.version})."
    when = timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S %Z")
    fields = ", ".join(sorted(entry.changes)) or "no field"
    return (
        f"{entry.actor_label} changed this number at {when} ({fields}), after you opened "
        f"it; it is now at version {number.version}. Your input is kept below: review it "
        "against the current values and save again to apply it."
    )


class PhoneNumberAdminForm(forms.ModelForm):
    """Carries the version the page was opened at: a stale save is a conflict, not an
    overwrite (compare-and-set in phone_numbers.services.phone_number_save)."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = PhoneNumber
        fields = "__all__"  # noqa: DJ007 - the admin picks the fields (get_form)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
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
            current = PhoneNumber.objects.get(pk=self.instance.pk)
            if current.version != expected:
                # The next save, made knowingly, applies to the version shown now.
                self.data = self.data.copy()
                self.data[self.add_prefix("expected_version")] = str(current.version)
                raise forms.ValidationError(conflict_message(current), code="conflict")
        return cleaned


@admin.register(PhoneNumber)
class PhoneNumberAdmin(AuditedAdmin):
    list_display = (
        "number",
        "label",
        "user",
        "inbound_agent",
        "telephony_provider",
        "active",
        "outbound_only",
        "number_is_valid",
        "updated_at",
    )
    list_filter = ("telephony_provider", "active", "outbound_only", "number_is_valid")
    list_select_related = ("user", "inbound_agent")
    search_fields = ("number", "label")
    autocomplete_fields = ("user", "inbound_agent", "telephony_account_connection")
    readonly_fields = (
        "id",
        "version",
        "number_is_valid",
        "masked_example_context",
        "created_at",
        "updated_at",
    )
    # example_context may carry secrets: an editable JSON widget would show their
    # sealed envelopes (ciphertext) and take hand-written ones. Shown masked,
    # read-only, as agents.admin.OwnedAdmin does for secret JSON.
    exclude = ("example_context",)
    masked_example_context = staticmethod(masked_json_display("example_context"))
    show_full_result_count = False
    list_per_page = 50
    form = PhoneNumberAdminForm

    def get_readonly_fields(self, request: Any, obj: PhoneNumber | None = None) -> tuple[str, ...]:
        # Number admins change what the dashboard lets them change; the rest is upstream's.
        if request.user.is_superuser or obj is None:
            return self.readonly_fields
        editable = EDITABLE_FIELDS
        return (
            *self.readonly_fields,
            *(
                f.name
                for f in PhoneNumber._meta.fields
                if f.editable and f.name not in editable and f.name not in self.readonly_fields
            ),
        )

    def save_model(self, request: Any, obj: PhoneNumber, form: Any, change: bool) -> None:
        # The one write path: compare-and-set on version and the audit entry.
        phone_number_save(
            number=obj,
            actor=Actor.for_request(request, Source.ADMIN),
            expected_version=form.cleaned_data.get("expected_version") if change else None,
        )

    def delete_model(self, request: Any, obj: PhoneNumber) -> None:
        phone_number_delete(number=obj, actor=Actor.for_request(request, Source.ADMIN))

    def changeform_view(self, request: Any, object_id: Any = None, *args: Any, **kwargs: Any):
        try:
            return super().changeform_view(request, object_id, *args, **kwargs)
        except VersionConflict as conflict:
            # Changed between the form's check and the write (a few milliseconds):
            # nothing was written; say who did it and show the current values.
            messages.error(request, conflict_message(conflict.current))
            return HttpResponseRedirect(request.path)

    def get_search_results(
        self, request: Any, queryset: QuerySet[PhoneNumber], search_term: str
    ) -> tuple[QuerySet[PhoneNumber], bool]:
        # "(415) 555-01" finds +1415555...: search the digits as well as the text.
        digits = phone.search_digits(search_term)
        if digits and digits != search_term.strip():
            return queryset.filter(number__contains=digits), False
        return super().get_search_results(request, queryset, search_term)
