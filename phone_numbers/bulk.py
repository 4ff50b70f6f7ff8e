"""Bulk changes of numbers: plan (what would change, for a confirmation), then apply.

A bulk change is two steps, so that nobody changes 3,000 numbers by surprise:

1. ``plan_bulk`` reads the targets once and records ``(id, version)`` of each,
   with how many numbers of how many customers change and how many are
   already so. An agent of another customer than some targets refuses the
   whole change here, naming those numbers, before anything is written.
2. ``apply_bulk`` writes the plan in batches of ``(id, expected version)``:
   each number through ``phone_number_update`` (compare-and-set and its audit
   entry), so a number changed since the plan was confirmed is refused alone,
   with its reason, and the others go on. Batches commit one by one, so a
   background job can run the same function over a larger plan unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from agents.models import Agent
from audit.services import Actor, VersionConflict

from . import upkeep
from .models import PhoneNumber
from .services import phone_number_update

BULK_LIMIT = 10_000  # numbers in one synchronous change (a web request)
# Numbers in one change run as a background job (console.bulk_tasks): the review
# reads this many (id, version) pairs in its request, about a second at the limit.
BULK_JOB_LIMIT = 200_000
BATCH = 500  # numbers per transaction when applying
NAMED = 20  # numbers named in a refusal, then "and N more"


class BulkRejected(Exception):
    """The whole change is refused before anything is written; ``numbers`` says which."""

    def __init__(self, message: str, numbers: list[str] | None = None) -> None:
        super().__init__(message)
        self.numbers = numbers or []


@dataclass(frozen=True)
class BulkChange:
    """One kind of change applied to every target: an agent, a flag, or a label prefix."""

    kind: str  # "inbound_agent", "active", "outbound_only" or "label_prefix"
    value: Any  # an Agent or None; True/False; the prefix

    KINDS = ("inbound_agent", "active", "outbound_only", "label_prefix")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"Unknown bulk change {self.kind!r}.")

    def describe(self) -> str:
        """The change as the confirmation and the result say it."""
        if self.kind == "inbound_agent":
            return f"route to {self.value.name}" if self.value else "route to no agent"
        if self.kind == "label_prefix":
            return f"prefix labels with “{self.value}”"
        noun = "active" if self.kind == "active" else "outbound-only"
        return f"set {noun}: {'yes' if self.value else 'no'}"

    def changes_for(self, number: PhoneNumber) -> dict[str, Any]:
        """The field changes for one number; empty when it is already so."""
        if self.kind == "inbound_agent":
            agent_id = self.value.pk if self.value else None
            return {} if number.inbound_agent_id == agent_id else {"inbound_agent": self.value}
        if self.kind == "label_prefix":
            if number.label.startswith(self.value):
                return {}
            return {"label": f"{self.value}{number.label}"}
        return {} if getattr(number, self.kind) == self.value else {self.kind: self.value}


@dataclass
class BulkPlan:
    """What a confirmed bulk change will write: the targets at the versions read."""

    change: BulkChange
    targets: list[tuple[uuid.UUID, int]]
    customers: int
    will_change: int

    @property
    def already(self) -> int:
        return len(self.targets) - self.will_change


@dataclass
class BulkResult:
    changed: int = 0
    already: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (number, why)
    stopped: bool = False  # cancelled between batches

    def summary(self, change: BulkChange) -> str:
        parts = [f"{_count(self.changed, 'number')} changed ({change.describe()})"]
        if self.already:
            parts.append(f"{_count(self.already, 'number')} already so")
        if self.refused:
            parts.append(f"{_count(len(self.refused), 'number')} refused")
        return "; ".join(parts) + "."


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _named(numbers: list[str]) -> str:
    shown = ", ".join(numbers[:NAMED])
    return shown + (f" and {len(numbers) - NAMED:,} more" if len(numbers) > NAMED else "")


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _queryset(numbers: Any) -> Any:
    """A queryset of numbers as it is, or their ids as a queryset."""
    if hasattr(numbers, "values_list"):
        return numbers
    return PhoneNumber.objects.filter(pk__in=list(numbers))


@dataclass(frozen=True)
class BulkSelection:
    """A selection before its change is chosen: how many numbers (up to the limit,
    plus one to tell that it is over) and whose they are (the agent picker offers
    only these customers' agents)."""

    count: int
    owner_ids: frozenset[Any]
    limit: int

    @property
    def over_limit(self) -> bool:
        return self.count > self.limit


def read_selection(*, numbers: Any, limit: int = BULK_LIMIT) -> BulkSelection:
    """Count the selected numbers (a queryset, or ids) and collect their owners, in
    one bounded read of owner ids; nothing is locked."""
    owners = list(_queryset(numbers).order_by().values_list("user_id", flat=True)[: limit + 1])
    return BulkSelection(count=len(owners), owner_ids=frozenset(owners), limit=limit)


def plan_bulk(*, numbers: Any, change: BulkChange, limit: int = BULK_LIMIT) -> BulkPlan:
    """Read the targets (a queryset of numbers, or their ids) for a confirmation.

    Refuses (``BulkRejected``) more than ``limit`` targets, counted before
    anything is locked or loaded whole, and an agent that is not every target
    owner's, naming those numbers.
    """
    queryset = _queryset(numbers)
    fields = ("pk", "version", "user_id", "number", "label", "inbound_agent_id")
    rows = list(
        queryset.order_by("number", "id").values_list(*fields, "active", "outbound_only")[
            : limit + 1
        ]
    )
    if len(rows) > limit:
        raise BulkRejected(
            f"More than {limit:,} numbers are selected; a bulk change is limited to "
            f"{limit:,} at a time. Narrow the filters. Nothing was changed."
        )
    if not rows:
        raise BulkRejected("No numbers are selected. Nothing was changed.")
    agent = change.value if change.kind == "inbound_agent" else None
    if agent is not None:
        foreign = [row[3] for row in rows if row[2] != agent.user_id]
        if foreign:
            raise BulkRejected(
                f"{_count(len(foreign), 'selected number')} belong to another customer "
                f"than agent {agent.name}: {_named(foreign)}. Nothing was changed.",
                foreign,
            )
    will_change = 0
    for pk, version, user_id, number, label, agent_id, active, outbound_only in rows:
        probe = PhoneNumber(
            pk=pk,
            version=version,
            user_id=user_id,
            number=number,
            label=label,
            inbound_agent_id=agent_id,
            active=active,
            outbound_only=outbound_only,
        )
        will_change += bool(change.changes_for(probe))
    return BulkPlan(
        change=change,
        targets=[(row[0], row[1]) for row in rows],
        customers=len({row[2] for row in rows}),
        will_change=will_change,
    )


def apply_bulk(
    *,
    targets: Iterable[tuple[Any, int]],
    change: BulkChange,
    actor: Actor,
    batch_size: int | None = None,
    progress: Callable[[int], bool] | None = None,
) -> BulkResult:
    """Write ``change`` to each ``(id, expected version)``, a batch per transaction.

    A number at another version than expected, deleted, or one the change
    would make invalid (a label over its limit) is refused alone, with the
    reason; the rest are written, each with its own audit entry.
    ``progress(targets done)`` runs after each committed batch; when it returns
    False (a cancelled job) the change stops there, ``result.stopped`` set: the
    batches written stay written, each number audited.
    """
    result = BulkResult()
    done = 0
    agent: Agent | None = change.value if change.kind == "inbound_agent" else None
    for batch in _batches(targets, batch_size or BATCH):
        expected = {str(pk): version for pk, version in batch}
        with transaction.atomic(), upkeep.batch():
            rows = {
                str(n.pk): n
                for n in PhoneNumber.objects.select_for_update(of=("self",))
                .select_related("inbound_agent")
                .filter(pk__in=list(expected))
                .order_by("number", "id")
            }
            missing = len(expected) - len(rows)
            if missing:
                result.refused.append(
                    (_count(missing, "number"), "deleted since the change was confirmed")
                )
            for pk, number in rows.items():
                if agent is not None and number.user_id != agent.user_id:
                    result.refused.append((number.number, "belongs to another customer"))
                    continue
                if number.version != expected[pk]:
                    result.refused.append(
                        (number.number, f"changed since you confirmed (now v{number.version})")
                    )
                    continue
                changes = change.changes_for(number)
                if not changes:
                    result.already += 1
                    continue
                try:  # refused before it writes anything, so no savepoint is needed
                    phone_number_update(
                        number=number, changes=changes, actor=actor, expected_version=expected[pk]
                    )
                except VersionConflict as conflict:
                    result.refused.append(
                        (number.number, f"changed meanwhile (now v{conflict.current.version})")
                    )
                except ValidationError as exc:
                    result.refused.append((number.number, " ".join(exc.messages)))
                else:
                    result.changed += 1
        done += len(batch)
        if progress is not None and not progress(done):
            result.stopped = True
            break
    return result
