"""Forms of the inventory's bulk changes (``console.number_bulk``).

A bulk change posts one form (``#bulk``) at each step: the selection (ticked
rows, or all that match the list's filters), the change and its value, and at
the end the signed plan with a reason.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django import forms
from django.http import QueryDict

from agents.models import Agent
from audit.reasons import ReasonField
from console.forms.number_edits import (
    AGENT_CHOICES_LIMIT,
    NO_AGENT,
    agent_search_outcome,
    uuid_or_none,
)
from phone_numbers.bulk import BulkChange
from phone_numbers.models import PhoneNumber

KIND_LABELS = {
    "inbound_agent": "Assign an agent",
    "active": "Set active",
    "outbound_only": "Set outbound-only",
    "label_prefix": "Prefix labels",
}
YES_NO = {"yes": True, "no": False}
# The change's value as the plan is signed with it, by kind (an agent: its id or None).
VALUE_FIELDS = ("agent", "agent_q", "active", "outbound_only", "label_prefix")


def selected_ids(data: QueryDict) -> list[str]:
    """The ticked rows' ids (invalid ones dropped): at most a page's worth, since the
    rows are one page of the list (the body's field limit bounds them anyway)."""
    ids = (uuid_or_none(raw) for raw in data.getlist("ids"))
    return list(dict.fromkeys(i for i in ids if i))


class BulkChangeForm(forms.Form):
    """What to change on every selected number: an agent (of the selection's
    customers, or none), active, outbound-only, or a label prefix.

    ``owner_ids``: the selection's customers; the agent list offers their agents
    only. An agent chosen in the list is believed only when the search box still
    names it (Enter in the search box is a search, as in the inline picker).
    """

    kind = forms.ChoiceField(choices=list(KIND_LABELS.items()))
    agent = forms.CharField(required=False)
    agent_q = forms.CharField(required=False, max_length=100)
    active = forms.ChoiceField(
        choices=[("yes", "Active"), ("no", "Inactive")],
        required=False,
        widget=forms.RadioSelect,
    )
    outbound_only = forms.ChoiceField(
        choices=[("yes", "Outbound only"), ("no", "Inbound and outbound")],
        required=False,
        widget=forms.RadioSelect,
    )
    label_prefix = forms.CharField(
        required=False,
        strip=False,  # "EU " keeps its space
        max_length=PhoneNumber._meta.get_field("label").max_length,
        label="Prefix",
    )

    change: BulkChange | None = None
    matches: list[Agent] | None = None  # a search's agents, when Enter searched

    def __init__(self, *args: Any, owner_ids: Collection[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner_ids = list(owner_ids)

    def value_of(self, name: str) -> str:
        """A field's value as posted, or its initial value."""
        source = self.data if self.is_bound else self.initial
        return str(source.get(name) or "")

    def query(self) -> str:
        return self.value_of("agent_q").strip()

    def agents(self, q: str = "") -> list[Agent]:
        """The selection's customers' agents (by customer, then name), searchable."""
        agents = (
            Agent.objects.filter(user_id__in=self.owner_ids)
            .select_related("user")
            .only("id", "name", "language", "user__email")
        )
        if q:
            agents = agents.filter(name__icontains=q)
        return list(agents.order_by("user__email", "name", "id")[:AGENT_CHOICES_LIMIT])

    def options(self) -> list[Agent]:
        return self.matches if self.matches is not None else self.agents(self.query())

    def selected(self) -> str:
        """The agent option shown chosen: never "No agent" unless the user chose it."""
        if self.matches is not None:
            return str(self.matches[0].pk) if len(self.matches) == 1 else ""
        return self.value_of("agent")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == "inbound_agent":
            self.change = BulkChange(kind, self._agent())
        elif kind in ("active", "outbound_only"):
            value = YES_NO.get(cleaned.get(kind) or "")
            if value is None:
                self.add_error(kind, "Choose one.")
            else:
                self.change = BulkChange(kind, value)
        elif kind == "label_prefix":
            prefix = cleaned.get("label_prefix") or ""
            if not prefix.strip():
                self.add_error("label_prefix", "Type the text to put before each label.")
            else:
                self.change = BulkChange(kind, prefix)
        return cleaned

    def _agent(self) -> Agent | None:
        value = self.value_of("agent").strip()
        q = self.query()
        if value == NO_AGENT:
            return None  # the confirmation step says that calls will go nowhere
        agent = (
            Agent.objects.filter(pk=uuid_or_none(value), user_id__in=self.owner_ids).first()
            if value
            else None
        )
        if value and agent is None:
            raise forms.ValidationError(
                "Choose an agent of the selected numbers' customers.", code="foreign"
            )
        if agent is not None and (not q or q.casefold() in agent.name.casefold()):
            return agent
        if not q:
            raise forms.ValidationError(
                "Choose an agent from the list, or “No agent: calls go nowhere”.",
                code="unchosen",
            )
        self.matches = self.agents(q)
        raise forms.ValidationError(
            agent_search_outcome(q, len(self.matches), step="Review"), code="search"
        )


class BulkApplyForm(forms.Form):
    """The confirmation: the signed plan (``console.number_bulk.sign_plan``) and why."""

    plan = forms.CharField(widget=forms.HiddenInput)
    reason = ReasonField()
