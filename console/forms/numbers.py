"""Parsing of the inventory's query string. Bad values fall back to defaults, with a notice."""

from __future__ import annotations

from django import forms

from agents.models import Language
from console.lists import ListForm
from phone_numbers.health import HEALTH_FINDINGS
from phone_numbers.models import TelephonyProvider
from phone_numbers.queries import NUMBER_SORTS, NumberFilters

YES_NO = [("", "Any"), ("yes", "Yes"), ("no", "No")]


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


class NumberFilterForm(ListForm):
    sort_columns = tuple(NUMBER_SORTS)
    default_sort = "number"

    q = forms.CharField(max_length=100, required=False, label="Search")
    owner = forms.UUIDField(required=False)
    agent = forms.UUIDField(required=False)
    provider = forms.ChoiceField(
        choices=[("", "Any provider"), *TelephonyProvider.choices], required=False
    )
    active = forms.ChoiceField(choices=YES_NO, required=False)
    outbound = forms.ChoiceField(choices=YES_NO, required=False, label="Outbound only")
    language = forms.ChoiceField(choices=[("", "Any language"), *Language.choices], required=False)
    health = forms.ChoiceField(
        choices=[("", "Any health"), *((k, f.label) for k, f in HEALTH_FINDINGS.items())],
        required=False,
    )

    def filters(self) -> NumberFilters:
        return NumberFilters(
            q=self.value("q", "").strip(),
            owner=self.value("owner"),
            agent=self.value("agent"),
            provider=self.value("provider", ""),
            active=_yes_no(self.value("active")),
            outbound_only=_yes_no(self.value("outbound")),
            language=self.value("language", ""),
            health=self.value("health", ""),
        )
