"""Admin page for the inventory: searchable by number digits and label."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet

from audit.admin import AuditedAdmin

from . import phone
from .models import PhoneNumber
from .services import EDITABLE_FIELDS


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
    readonly_fields = ("id", "version", "number_is_valid", "created_at", "updated_at")
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

    def save_model(self, request: Any, obj: PhoneNumber, form: Any, change: bool) -> None:
        if change:
            obj.version += 1  # an admin edit is a change like any other: stale editors conflict
        super().save_model(request, obj, form, change)

    def get_search_results(
        self, request: Any, queryset: QuerySet[PhoneNumber], search_term: str
    ) -> tuple[QuerySet[PhoneNumber], bool]:
        # "(415) 555-01" finds +1415555...: search the digits as well as the text.
        digits = phone.search_digits(search_term)
        if digits and digits != search_term.strip():
            return queryset.filter(number__contains=digits), False
        return super().get_search_results(request, queryset, search_term)
