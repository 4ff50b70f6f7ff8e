"""Admin page for the inventory: searchable by number digits and label."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet

from agents.admin import masked_json_display, scope_autocompletes_to_owner
from audit.admin import AuditedAdmin

from . import phone
from .models import PhoneNumber
from .services import EDITABLE_FIELDS, phone_number_delete, phone_number_save


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

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        return scope_autocompletes_to_owner(super().get_form(request, obj, change, **kwargs), obj)

    def write(
        self, request: Any, obj: PhoneNumber, expected_version: int | None, related: Any
    ) -> None:
        # The one write path: compare-and-set on version and the audit entry.
        phone_number_save(number=obj, actor=self.actor(request), expected_version=expected_version)

    def delete_model(self, request: Any, obj: PhoneNumber) -> None:
        phone_number_delete(number=obj, actor=self.actor(request))

    def get_search_results(
        self, request: Any, queryset: QuerySet[PhoneNumber], search_term: str
    ) -> tuple[QuerySet[PhoneNumber], bool]:
        # "(415) 555-01" finds +1415555...: search the digits as well as the text.
        digits = phone.search_digits(search_term)
        if digits and digits != search_term.strip():
            return queryset.filter(number__contains=digits), False
        return super().get_search_results(request, queryset, search_term)
