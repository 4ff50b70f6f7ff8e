"""Parsing of the audit trail's query string. Bad values fall back to defaults."""

from __future__ import annotations

from django import forms

from audit.models import Source
from audit.queries import AuditFilters, object_types
from console.lists import ListForm

FIELDS = [
    "label",
    "description",
    "inbound_agent",
    "active",
    "outbound_only",
    "example_context",
    "credentials",
    "name",
    "prompt",
    "webhook",
    "actions",
    "url",
    "content",
]


class AuditFilterForm(ListForm):
    sort_columns = ()
    default_sort = ""

    q = forms.CharField(max_length=100, required=False, label="Search")
    actor = forms.CharField(max_length=100, required=False)
    source = forms.ChoiceField(choices=[("", "Any source"), *Source.choices], required=False)
    object_type = forms.ChoiceField(
        choices=[("", "Any object"), *((t, t.split(".")[1]) for t in object_types())],
        required=False,
        label="Object type",
    )
    object_id = forms.CharField(max_length=64, required=False, label="Object id")
    field = forms.ChoiceField(
        choices=[("", "Any field"), *((f, f) for f in FIELDS)], required=False
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> AuditFilters:
        return AuditFilters(
            q=self.value("q", "").strip(),
            actor=self.value("actor", "").strip(),
            source=self.value("source", ""),
            object_type=self.value("object_type", ""),
            object_id=self.value("object_id", "").strip(),
            field=self.value("field", ""),
            since=self.value("since"),
            until=self.value("until"),
        )
