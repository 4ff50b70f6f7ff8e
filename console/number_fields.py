"""The fields of a number that staff edit in place, declared once each.

The inventory row and the detail panel edit a number's label and its inbound
agent through the same views (``console.number_edits``) and routes
(``console.urls.numbers``). Everything that differs from one field to the next
is declared here, so a view looks a field up instead of testing its name, and
another editable field is one more entry in ``INLINE_FIELDS`` (plus its column
in ``console/jinja2/numbers/_rows.jinja``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from console.forms.number_edits import AgentForm, EditForm, LabelForm
from console.links import pk_url
from phone_numbers.models import PhoneNumber

CHANGE = "numbers.change_phonenumber"


@dataclass(frozen=True)
class InlineField:
    """One field of a number edited in place.

    ``key`` names its routes (``numbers:edit_<key>``, ``numbers:save_<key>``,
    ``numbers:show_<key>``), its form field and its panel cell
    (``#panel-<key>-<number id>``).
    """

    key: str
    title: str  # its heading in the detail panel
    form_class: type[EditForm]
    input_template: str  # its inputs (Jinja2), inside numbers/_edit_form.jinja
    permission: str  # needed to open its form and to save it
    model_field: str  # the field phone_numbers.services.phone_number_update changes
    initial: Callable[[PhoneNumber], Any]  # the form's value, read from the loaded number
    shows: Callable[[PhoneNumber], Any]  # its value in the detail panel (text or safe HTML)
    edit_text: str  # the panel's edit link: its text
    edit_aria: str  # and its accessible name

    def url(self, action: str, pk: Any) -> str:
        """Its ``edit``, ``save`` or ``show`` URL for the number ``pk``."""
        return pk_url(f"numbers:{action}_{self.key}", pk)

    def changes(self, value: Any) -> dict[str, Any]:
        """The change a valid form's value makes, for ``phone_number_update``."""
        return {self.model_field: value}

    def panel_cell(self, number: PhoneNumber, *, can_edit: bool) -> SafeString:
        """Its cell in the detail panel: the value, and an edit link for those who may.

        Built here rather than in a template because two engines show it: the
        detail page (Django templates) and every edit response (Jinja2,
        ``numbers/_edit.jinja``); each prints it as it is.
        """
        value = format_html("{}", self.shows(number))
        if not can_edit:
            return value
        # The link is the detail page with this field's form (without JavaScript);
        # htmx swaps the form into the cell instead.
        edit_url = self.url("edit", number.pk)
        return format_html(
            '{} <a href="{}" class="edit" hx-get="{}?slot=panel" '
            'hx-target="closest [data-cell]" aria-label="{}">{}</a>',
            value,
            edit_url,
            edit_url,
            self.edit_aria,
            self.edit_text,
        )


def _agent_shows(number: PhoneNumber) -> SafeString:
    if number.inbound_agent_id is None:
        return mark_safe('<span class="badge muted">no agent</span>')
    return format_html(
        '<a href="{}">{}</a>',
        pk_url("agents:detail", number.inbound_agent_id),
        number.inbound_agent.name,
    )


INLINE_FIELDS: dict[str, InlineField] = {
    f.key: f
    for f in (
        InlineField(
            key="label",
            title="Label",
            form_class=LabelForm,
            input_template="numbers/_label_input.jinja",
            permission=CHANGE,
            model_field="label",
            initial=lambda number: number.label,
            shows=lambda number: number.label or "—",
            edit_text="✎ edit",
            edit_aria="Edit label",
        ),
        InlineField(
            key="agent",
            title="Inbound agent",
            form_class=AgentForm,
            input_template="numbers/_agent_input.jinja",
            permission=CHANGE,
            model_field="inbound_agent",
            # Its current agent, or nothing chosen: never "No agent" (issue 15).
            initial=lambda number: str(number.inbound_agent_id or ""),
            shows=_agent_shows,
            edit_text="✎ change",
            edit_aria="Change inbound agent",
        ),
    )
}


def panel_cells(number: PhoneNumber, user: Any) -> list[tuple[InlineField, SafeString]]:
    """Every inline field with its detail-panel cell: the detail page shows them, and
    a row save sends them out of band to the panel, if it is open."""
    return [
        (f, f.panel_cell(number, can_edit=user.has_perm(f.permission)))
        for f in INLINE_FIELDS.values()
    ]
