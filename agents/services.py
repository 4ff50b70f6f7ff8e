"""Deleting a part of the agent graph that others depend on, without a silent change.

Deleting an agent, prompt, template, webhook, connection or action that
numbers or agents use is refused with the list of what depends on it
(``DeleteRefused``), unless the caller confirms the impact; then every
dependent is unlinked first, each change an audited write of its own (a
number's is versioned, through ``phone_numbers.services``), and the object's
last state goes to the trail with its deletion, all in one transaction. The
links are PROTECT in the database, so no path can skip this.

Layers: numbers sit above agents, so this module cannot know numbers. The
numbers app registers what depends on an agent or a connection from its own
``AppConfig.ready`` (``register_dependents``); this module registers the
agent-level dependents itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction

from audit.models import Action as AuditAction
from audit.services import Actor, diff, record, snapshot

from .models import AccountConnection, Action, Agent, Prompt, PromptTemplate, Webhook

SHOWN = 20


@dataclass
class Dependents:
    """What depends on an object, what deleting it does to them, and how to unlink them."""

    summary: str  # "12 numbers will stop routing calls"
    count: int
    examples: list[models.Model]  # the first SHOWN, for the impact page
    unlink: Callable[[Actor], None] = field(repr=False)

    @property
    def more(self) -> int:
        """How many are not among the examples."""
        return max(0, self.count - len(self.examples))


Finder = Callable[[models.Model], Dependents | None]
_FINDERS: dict[type[models.Model], list[Finder]] = {}


def register_dependents(model: type[models.Model], finder: Finder) -> None:
    """Declare a kind of dependent of ``model`` (called once per app, at start-up)."""
    finders = _FINDERS.setdefault(model, [])
    if finder not in finders:
        finders.append(finder)


def dependents_of(obj: models.Model) -> list[Dependents]:
    found = (finder(obj) for finder in _FINDERS.get(type(obj), []))
    return [d for d in found if d is not None and d.count]


class DeleteRefused(Exception):
    """Others depend on the object; nothing was deleted."""

    def __init__(self, obj: models.Model, dependents: list[Dependents]) -> None:
        self.obj = obj
        self.dependents = dependents
        super().__init__(
            f"{obj} is in use: " + "; ".join(d.summary for d in dependents) + ". Nothing deleted."
        )


def graph_object_delete(*, obj: models.Model, actor: Actor, unlink: bool = False) -> None:
    """Delete ``obj``; with ``unlink``, unlink its dependents first (each audited).

    Without ``unlink`` an object something depends on raises ``DeleteRefused``.
    """
    with transaction.atomic():
        dependents = dependents_of(obj)
        if dependents and not unlink:
            raise DeleteRefused(obj, dependents)
        for dependent in dependents:
            dependent.unlink(actor)
        record(actor=actor, obj=obj, changes=diff(snapshot(obj), {}), action=AuditAction.DELETE)
        obj.delete()


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _unlink_field(objects: Iterable[models.Model], name: str, actor: Actor) -> None:
    """Set one link of each object to None, each with its own audit entry."""
    for obj in objects:
        before = snapshot(obj)
        setattr(obj, name, None)
        obj.save(update_fields=[name, "updated_at"])
        record(actor=actor, obj=obj, changes=diff(before, snapshot(obj)))


def link_finder(
    model: type[models.Model], link: str, what: str
) -> Callable[[models.Model], Dependents | None]:
    """Dependents that point at the object through ``model.link`` (a nullable FK)."""

    def find(obj: models.Model) -> Dependents | None:
        queryset = model.objects.filter(**{link: obj}).order_by("pk")
        count = queryset.count()
        if not count:
            return None
        noun = model._meta.verbose_name
        plural = model._meta.verbose_name_plural
        return Dependents(
            summary=f"{_plural(count, str(noun), str(plural))} will {what}",
            count=count,
            examples=list(queryset[:SHOWN]),
            unlink=lambda actor: _unlink_field(queryset.select_for_update(), link, actor),
        )

    return find


def _agents_with_action(action: models.Model) -> Dependents | None:
    agents = Agent.objects.filter(actions=action).order_by("pk")
    count = agents.count()
    if not count:
        return None

    def unlink(actor: Actor) -> None:
        for agent in agents.select_for_update():
            before = sorted(map(str, agent.actions.all()))
            agent.actions.remove(action)
            record(
                actor=actor,
                obj=agent,
                changes={"actions": [before, sorted(map(str, agent.actions.all()))]},
            )

    return Dependents(
        summary=f"{_plural(count, 'agent', 'agents')} will lose this action",
        count=count,
        examples=list(agents[:SHOWN]),
        unlink=unlink,
    )


register_dependents(PromptTemplate, link_finder(Prompt, "prompt_template", "lose their template"))
register_dependents(Prompt, link_finder(Agent, "prompt", "lose their prompt"))
register_dependents(Webhook, link_finder(Agent, "webhook", "stop sending events"))
register_dependents(
    AccountConnection,
    link_finder(Agent, "openai_account_connection", "lose their LLM connection"),
)
register_dependents(Action, _agents_with_action)


def impact(obj: Any) -> list[Dependents]:
    """What deleting ``obj`` would do, for a confirmation page."""
    return dependents_of(obj)
