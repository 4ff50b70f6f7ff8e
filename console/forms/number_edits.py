"""Forms of the dashboard's inline edits and bulk assignment."""

from __future__ import annotations

from typing import Any

from django import forms

from agents.models import Agent
from phone_numbers.models import PhoneNumber

SLOTS = ("row", "panel")


class EditForm(forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    slot = forms.ChoiceField(choices=[(s, s) for s in SLOTS], widget=forms.HiddenInput)


class LabelForm(EditForm):
    label = forms.CharField(
        max_length=PhoneNumber._meta.get_field("label").max_length, required=False, strip=True
    )


class AgentForm(EditForm):
    """The inbound agent: one of the number's owner's agents, or none."""

    agent = forms.CharField(required=False)

    def __init__(self, *args: Any, number: PhoneNumber, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.number = number

    def clean_agent(self) -> Agent | None:
        value = self.cleaned_data["agent"]
        if value in ("", "none"):
            return None
        agent = Agent.objects.filter(pk=_uuid_or_none(value), user_id=self.number.user_id).first()
        if agent is None:
            # Another owner's agent is refused exactly like a missing one.
            raise forms.ValidationError("Choose one of this number's owner's agents.")
        return agent


class BulkAgentForm(forms.Form):
    """Not "agent": the bulk form posts with the filters, and agent is a filter."""

    ids = forms.CharField(required=False)  # read with getlist
    all = forms.BooleanField(required=False)
    assign_agent = forms.CharField(error_messages={"required": "Choose an agent, or “no agent”."})

    def clean_assign_agent(self) -> Agent | None:
        value = self.cleaned_data["assign_agent"]
        if value == "none":
            return None
        agent = Agent.objects.filter(pk=_uuid_or_none(value)).select_related("user").first()
        if agent is None:
            raise forms.ValidationError("Choose an agent, or “no agent”.")
        return agent


def _uuid_or_none(value: str) -> str | None:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
