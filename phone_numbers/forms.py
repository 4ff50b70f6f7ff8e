"""Parsing of the inventory's query string. Bad values fall back to defaults, with a notice."""

from __future__ import annotations

from typing import Any

from django import forms

from agents.models import Language

from .models import TelephonyProvider
from .queries import HEALTH_FILTERS, NUMBER_SORTS, NumberFilters

PAGE_SIZES = (25, 50, 100)
YES_NO = [("", "Any"), ("yes", "Yes"), ("no", "No")]


def _sort_choices(columns: Any) -> list[tuple[str, str]]:
    return [(c, c) for c in columns] + [(f"-{c}", f"-{c}") for c in columns]


class ListForm(forms.Form):
    """Sort, page and page size, shared by every dashboard list."""

    sort_columns: tuple[str, ...] = ()
    default_sort = ""

    page = forms.IntegerField(min_value=1, required=False)
    # Keyset links (core.lists.list_page): signed cursors, checked when used.
    after = forms.CharField(max_length=2000, required=False)
    before = forms.CharField(max_length=2000, required=False)
    last = forms.BooleanField(required=False)
    size = forms.TypedChoiceField(
        choices=[(str(s), str(s)) for s in PAGE_SIZES],
        coerce=int,
        required=False,
        label="Per page",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sort"] = forms.ChoiceField(
            choices=_sort_choices(self.sort_columns), required=False
        )
        self.is_valid()  # fills cleaned_data with the valid fields only

    def dropped_notice(self) -> str:
        """The house rule for a console query string: an invalid value is dropped and
        a visible notice names it (never the value, which may be anything)."""
        names = [str(self.fields[name].label or name).capitalize() for name in self.errors]
        if not names:
            return ""
        return f"Ignored an invalid value for: {', '.join(names)}."

    def value(self, name: str, default: Any = None) -> Any:
        """A field's cleaned value, or ``default`` when absent or invalid."""
        value = self.cleaned_data.get(name)
        return default if value in (None, "") else value

    @property
    def sort(self) -> tuple[str, bool]:
        sort = self.value("sort", self.default_sort)
        return sort.lstrip("-"), sort.startswith("-")

    @property
    def page_number(self) -> int:
        return self.value("page", 1)

    @property
    def page_size(self) -> int:
        return self.value("size", PAGE_SIZES[0])


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
        choices=[("", "Any health"), *((k, v[0]) for k, v in HEALTH_FILTERS.items())],
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
