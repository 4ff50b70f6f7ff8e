"""Forms of the dashboard's inline edits (a number's label, its inbound agent)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms

from agents.models import Agent
from audit.reasons import ReasonField
from phone_numbers.models import PhoneNumber

SLOTS = ("row", "panel")
AGENT_CHOICES_LIMIT = 50  # agents offered at once; the search box finds the others
NO_AGENT = "none"  # the agent picker's explicit "No agent: calls go nowhere"


class EditForm(forms.Form):
    """What every inline edit posts besides its value: the version it opened at, where
    it is shown, and why (optional, kept in the history). Each form is made for one
    number (``number=``), so the views build any field's form the same way."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    slot = forms.ChoiceField(choices=[(s, s) for s in SLOTS], widget=forms.HiddenInput)
    reason = ReasonField()

    def __init__(self, *args: Any, number: PhoneNumber, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.number = number


class LabelForm(EditForm):
    label = forms.CharField(
        max_length=PhoneNumber._meta.get_field("label").max_length, required=False, strip=True
    )


def agent_search_outcome(q: str, matches: int, *, step: str = "Save") -> str:
    """What Enter in an agent search says: it searched, it saved nothing (issue 15:
    Enter on a query with no match used to save "No agent"). ``step``: the button
    that goes on with the chosen agent."""
    nothing = "nothing saved" if step == "Save" else "nothing chosen"
    if not matches:
        return f"No agent matches “{q}”: {nothing}."
    if matches == 1:
        return f"One agent matches “{q}”: it is now chosen in the list; {step} to use it."
    shown = f"{AGENT_CHOICES_LIMIT}+" if matches >= AGENT_CHOICES_LIMIT else str(matches)
    return f"{shown} agents match “{q}”: choose one, then {step}; {nothing} yet."


class AgentForm(EditForm):
    """The inbound agent: one the user chose from the number's owner's agents, or the
    explicit "No agent", confirmed.

    The search box and the list post together, so the list's value is believed only
    when it agrees with the search: Enter in the search box (its text no longer
    names the chosen agent) is a search, never a save. "No agent" makes calls go
    nowhere, so it is saved only with ``confirm_none`` (the confirmation step).
    """

    agent = forms.CharField(required=False)
    agent_q = forms.CharField(required=False, max_length=100)
    confirm_none = forms.BooleanField(required=False)

    # Set by clean(): "No agent" chosen, not confirmed yet (the form shows the step);
    # or the search's matches, shown with the outcome.
    asks_to_confirm = False
    matches: list[Agent] | None = None

    def query(self) -> str:
        """The search box's text, as posted (or typed into the live search)."""
        return (self.data.get("agent_q") or "").strip() if self.is_bound else ""

    def choices(self, q: str = "") -> list[Agent]:
        """The owner's agents the number may route to, searchable by name; the
        number's current agent too when it matches, so the list can show it chosen."""
        agents = Agent.objects.filter(user_id=self.number.user_id).only("id", "name", "language")
        if q:
            agents = agents.filter(name__icontains=q)
        found = list(agents.order_by("name", "id")[:AGENT_CHOICES_LIMIT])
        current = self.number.inbound_agent if self.number.inbound_agent_id else None
        if current is not None and current not in found and (not q or _names(q, current)):
            found.append(current)
        return found

    def selected(self) -> str:
        """The option the list shows chosen: never "No agent" by default."""
        if not self.is_bound:
            return str(self.initial.get("agent") or "")
        if self.matches is not None:  # a search: a single match is chosen, visibly
            return str(self.matches[0].pk) if len(self.matches) == 1 else ""
        return str(self.data.get("agent") or "")

    def options(self) -> list[Agent]:
        """The agents the list offers: a search's matches, or the owner's agents."""
        return self.matches if self.matches is not None else self.choices(self.query())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        value = (self.data.get("agent") or "").strip()
        q = self.query()
        if value == NO_AGENT:
            if not cleaned.get("confirm_none"):
                self.asks_to_confirm = True
                raise forms.ValidationError(
                    "Confirm that calls to this number should go nowhere.", code="confirm"
                )
            cleaned["agent"] = None
            return cleaned
        agent = self._owners_agent(value) if value else None
        if value and agent is None:
            # Another owner's agent is refused exactly like a missing one.
            self.add_error("agent", "Choose one of this number's owner's agents.")
            return cleaned
        if agent is not None and (not q or _names(q, agent)):
            cleaned["agent"] = agent
            return cleaned
        if not q:
            raise forms.ValidationError(
                "Choose an agent from the list, or “No agent: calls go nowhere”. Nothing saved.",
                code="unchosen",
            )
        self.matches = self.choices(q)
        raise forms.ValidationError(agent_search_outcome(q, len(self.matches)), code="search")

    def _owners_agent(self, value: str) -> Agent | None:
        # With its LLM connection: the saved row's health badges read it (no query then).
        return (
            Agent.objects.select_related("openai_account_connection")
            .defer("openai_account_connection__credentials")
            .filter(pk=uuid_or_none(value), user_id=self.number.user_id)
            .first()
        )


def _names(q: str, agent: Agent) -> bool:
    """Does the search ``q`` name ``agent`` (as the database's icontains would)?"""
    return q.casefold() in agent.name.casefold()


def uuid_or_none(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
