"""Parsing of the inventory's query string. Bad values fall back to defaults, with a notice."""

from __future__ import annotations

from typing import Any

from django import forms

from agents.models import AccountConnection, Agent, Language, Prompt, Webhook
from console.lists import ListForm
from console.number_columns import parse_columns
from phone_numbers.health import HEALTH_FINDINGS
from phone_numbers.models import TelephonyProvider
from phone_numbers.queries import CONNECTION_ROLES, NUMBER_SORTS, NumberFilters

YES_NO = [("", "Any"), ("yes", "Yes"), ("no", "No")]


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


class DependencyField(forms.ModelChoiceField):
    """A filter by what numbers depend on ("which numbers use this webhook?"), given by id.

    The object is read while the form is checked, one query, and the chip names it
    from there; a malformed or unknown id is invalid, so the list machinery drops it
    and its notice names the filter (a stale link must not look like an empty list).
    The field is never rendered: its choices are never listed.
    """

    def __init__(self, queryset: Any, **kwargs: Any) -> None:
        super().__init__(queryset, required=False, **kwargs)


class ColumnsField(forms.CharField):
    """``?cols=number,label``: the columns a link or a saved view shows
    (``console.number_columns``); unknown or repeated keys make it invalid (dropped,
    with the notice), and absent means the user's own choice."""

    def to_python(self, value: Any) -> tuple[str, ...] | None:
        text = super().to_python(value)
        if not text:
            return None
        keys = parse_columns(text)
        if keys is None:
            raise forms.ValidationError("Unknown columns.", code="invalid")
        return keys


class NumberFilterForm(ListForm):
    sort_columns = tuple(NUMBER_SORTS)
    default_sort = "number"

    q = forms.CharField(max_length=100, required=False, label="Search")
    owner = forms.UUIDField(required=False)
    agent = DependencyField(Agent.objects.only("id", "name"))
    prompt = DependencyField(Prompt.objects.only("id", "label"))
    webhook = DependencyField(Webhook.objects.only("id", "label", "url"))
    connection = DependencyField(AccountConnection.objects.only("id", "label", "type"))
    connection_role = forms.ChoiceField(
        choices=[("", "Any use"), *CONNECTION_ROLES.items()],
        required=False,
        label="Connection use",
    )
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
    cols = ColumnsField(max_length=200, required=False, label="Columns")

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
            prompt=self.value("prompt"),
            webhook=self.value("webhook"),
            connection=self.value("connection"),
            connection_role=self.value("connection_role", ""),
        )
