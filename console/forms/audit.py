"""Parsing of the audit trail's query string, and the revert form.

Bad filter values are dropped and named in an error notice (``ListForm``).
"""

from __future__ import annotations

import re

from django import forms
from django.apps import apps
from django.utils.text import capfirst

from audit.models import Source
from audit.queries import AuditFilters, object_types
from audit.reasons import ReasonField
from console.lists import ListForm
from phone_numbers import phone

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
# A search that reads as a phone number: digits with the usual punctuation
# ("(415) 555-0123", "+1 415 555 0123", "415.555.0123"), at least 3 digits.
_PHONE_LIKE = re.compile(r"\+?[\d\s().\-/]*\d[\d\s().\-/]*")
_MIN_DIGITS = 3
# The largest id a bigint primary key holds: beyond it a lookup is an error.
_MAX_ID = 2**63 - 1


def _object_type_choices() -> list[tuple[str, str]]:
    choices = [("", "Any object")]
    for label in object_types():
        model = apps.get_model(label)
        choices.append((label, capfirst(str(model._meta.verbose_name))))
    return choices


def _field_choices() -> list[tuple[str, str]]:
    return [("", "Any field"), *((f, capfirst(f.replace("_", " "))) for f in FIELDS)]


def number_digits(q: str) -> str:
    """The digits of a search that reads as a phone number, else "" (a name, a token)."""
    if not _PHONE_LIKE.fullmatch(q):
        return ""
    # Without a national trunk prefix or an 00 exit code: "020 7946 0958" is
    # stored as +44 20 7946 0958.
    digits = phone.search_digits(q).lstrip("0")
    return digits if len(digits) >= _MIN_DIGITS else ""


class AuditFilterForm(ListForm):
    sort_columns = ()
    default_sort = ""

    q = forms.CharField(max_length=100, required=False, label="Search")
    actor = forms.CharField(max_length=100, required=False)
    source = forms.ChoiceField(choices=[("", "Any source"), *Source.choices], required=False)
    object_type = forms.ChoiceField(
        choices=_object_type_choices, required=False, label="Object type"
    )
    object_id = forms.CharField(max_length=64, required=False, label="Object id")
    owner = forms.UUIDField(required=False, label="Account")
    entry = forms.IntegerField(min_value=1, max_value=_MAX_ID, required=False, label="Entry")
    field = forms.ChoiceField(choices=_field_choices, required=False)
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def filters(self) -> AuditFilters:
        q = self.value("q", "").strip()
        return AuditFilters(
            q=q,
            q_digits=number_digits(q),
            entry=self.value("entry"),
            actor=self.value("actor", "").strip(),
            source=self.value("source", ""),
            object_type=self.value("object_type", ""),
            object_id=self.value("object_id", "").strip(),
            owner=self.value("owner"),
            field=self.value("field", ""),
            since=self.value("since"),
            until=self.value("until"),
        )


class RevertForm(forms.Form):
    """Reverting an entry: the one thing asked is why."""

    reason = ReasonField()
