"""Every write on the agent graph: agents, prompts, templates, actions, webhooks, connections.

``graph_object_save`` is the one write path of these models (the admin and
the importer call it): validation, compare-and-set on ``version`` and one
audit entry in one transaction (``audit.services.audited_save``, shared with
numbers), so a stale admin form is a conflict, not an overwrite.

Deleting a part of the agent graph that others depend on, without a silent change:

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

from django.core.exceptions import ValidationError
from django.db import models, transaction

from audit.models import Action as AuditAction
from audit.services import Actor, audited_save, diff, record, snapshot

from . import fragments
from .models import AccountConnection, Action, Agent, Prompt, PromptTemplate, Webhook

SHOWN = 20
GRAPH_MODELS = (PromptTemplate, Prompt, Action, Webhook, AccountConnection, Agent)


# Listeners told of every graph write, in its transaction: (before, after). ``before``
# reads what the listener needs of the row before the write (under the row's lock);
# ``after`` gets the saved object and that reading (None for a new object). The
# numbers layer keeps its health flags and dependent counts this way
# (phone_numbers.upkeep), since this layer cannot import it.
Before = Callable[[models.Model], Any]
After = Callable[[models.Model, Any], None]
_WRITE_LISTENERS: list[tuple[Before, After]] = []


def register_write_listener(before: Before, after: After) -> None:
    """Be told of every write of the agent graph (called once per app, at start-up)."""
    if (before, after) not in _WRITE_LISTENERS:
        _WRITE_LISTENERS.append((before, after))


def graph_object_save(
    *,
    obj: models.Model,
    actor: Actor,
    expected_version: int | None = None,
    actions: list[Action] | None = None,
    clean: bool = True,
) -> models.Model:
    """Create or update one object of the agent graph, audited, with compare-and-set.

    ``expected_version`` is the version the writer read (a form's hidden field);
    a newer one raises ``audit.services.VersionConflict`` and writes nothing.
    ``actions`` (agents only) replaces the agent's actions, all its owner's.
    ``clean=False`` is for a caller that has just run ``full_clean`` itself.
    Raises ``ValidationError`` with nothing written.
    """
    if not isinstance(obj, GRAPH_MODELS):
        raise TypeError(f"{type(obj).__name__} is not part of the agent graph.")
    if clean:
        obj.full_clean(validate_constraints=False)
    related: dict[str, list[models.Model]] = {}
    if actions is not None:
        if not isinstance(obj, Agent):
            raise TypeError("Only agents have actions.")
        foreign = [str(a) for a in actions if a.user_id != obj.user_id]
        if foreign:
            raise ValidationError({"actions": f"Actions of another user: {', '.join(foreign)}."})
        related["actions"] = list(actions)
    with transaction.atomic():
        adding = obj._state.adding
        readings = [None if adding else before(obj) for before, _after in _WRITE_LISTENERS]
        audited_save(obj=obj, actor=actor, expected_version=expected_version, related=related)
        for (_before, after), reading in zip(_WRITE_LISTENERS, readings, strict=True):
            after(obj, reading)
        fragments.written(obj)
    return obj


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
    """Set one link of each object to None, each a versioned write with its audit entry."""
    for obj in objects:
        setattr(obj, name, None)
        graph_object_save(obj=obj, actor=actor, clean=False)


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
            kept = [a for a in agent.actions.all() if a.pk != action.pk]
            graph_object_save(obj=agent, actor=actor, actions=kept, clean=False)

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
