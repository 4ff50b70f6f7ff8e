"""Parsing of the agents list's query string. Bad values fall back to defaults."""

from __future__ import annotations

from django import forms

from agents.models import Language
from agents.queries import AGENT_SORTS
from console.lists import ListForm


class AgentFilterForm(ListForm):
    sort_columns = tuple(AGENT_SORTS)
    default_sort = "name"

    q = forms.CharField(max_length=100, required=False, label="Search")
    owner = forms.UUIDField(required=False)
    language = forms.ChoiceField(choices=[("", "Any language"), *Language.choices], required=False)
    provider = forms.CharField(max_length=64, required=False)


class DependentNumbersForm(ListForm):
    """The paging of a detail page's dependent numbers (the inventory's order:
    by number); their filters are the page's object, not the query string."""

    sort_columns = ("number",)
    default_sort = "number"
