"""Forms of saved views and of the column chooser (``console.saved_views``)."""

from __future__ import annotations

from typing import Any

from django import forms

from console.models import validate_view_name
from console.number_columns import COLUMNS, REQUIRED
from core.limits import limit


class ViewNameField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_length=limit("view_name"),
            validators=[validate_view_name],
            label="Name",
            **kwargs,
        )


class SaveViewForm(forms.Form):
    """Save the list as it is: ``query`` is the list's query string (checked again by
    ``console.services.view_query``)."""

    name = ViewNameField()
    query = forms.CharField(required=False, widget=forms.HiddenInput)
    shared = forms.BooleanField(required=False, label="Share with the team")


class EditViewForm(forms.Form):
    name = ViewNameField()
    shared = forms.BooleanField(required=False, label="Shared with the team")
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class DeleteViewForm(forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class ColumnsForm(forms.Form):
    """Which columns show (``show``) and where (``pos_<key>``, 1 = first); ties keep
    the usual order. Works as a plain form: no JavaScript needed to reorder."""

    show = forms.MultipleChoiceField(
        choices=[(c.key, c.label) for c in COLUMNS.values()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    next = forms.CharField(required=False, max_length=limit("view_query"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for index, key in enumerate(COLUMNS, 1):
            self.fields[f"pos_{key}"] = forms.IntegerField(
                min_value=1, max_value=len(COLUMNS), required=False, initial=index
            )

    def chosen(self) -> tuple[str, ...]:
        """The columns to show, in the order asked for (the number always among them)."""
        shown = {*self.cleaned_data["show"], REQUIRED}
        order = list(COLUMNS)

        def position(key: str) -> tuple[int, int]:
            asked = self.cleaned_data.get(f"pos_{key}")
            return (asked or order.index(key) + 1, order.index(key))

        return tuple(sorted(shown, key=position))
