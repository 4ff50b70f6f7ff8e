"""Health flags and dependent-number counts, kept by the writes that change them.

What a number's health depends on lies partly in the agent graph (its agent's
webhook, its agent's LLM connection type, its telephony connection's type), and
what an agent, prompt, webhook or connection is used by lies in the numbers.
Computing either per request means joining or counting a million rows, so both
are stored and kept here, in the transaction of the write that changes them:

- a number's write (``phone_numbers.services``) that changes its agent, its
  telephony connection or its provider calls ``number_links_changed``;
- a write of the agent graph (``agents.services.graph_object_save``) tells the
  listener registered by ``register`` what it changed;
- the inventory's sort keys copied onto each number (its agent's name, its
  owner's email) follow the same writes, and an account's email change
  (``users.services.register_email_listener``);
- ``rebuild`` recomputes everything from scratch (the ``rebuild_health``
  command, and seeding), and ``drift`` lists what is not as a fresh computation
  says it should be (tests, ``rebuild_health --check``).

Locks are taken in one order everywhere, an account before graph rows before number
rows (the owner, agents, then connections, prompts, webhooks, then numbers), so
concurrent writers wait for each other instead of deadlocking, and a number's write
reads its agent's links under that agent's lock: an agent whose webhook changes
meanwhile waits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from agents.models import AccountConnection, Agent, Prompt, Webhook
from agents.services import register_write_listener
from users.models import User
from users.services import register_email_listener

from .health import KEPT, Links
from .models import PhoneNumber

# The number fields whose change moves counts or flags.
LINK_FIELDS = frozenset({"inbound_agent", "telephony_account_connection", "telephony_provider"})
# What each kind of link counts in: (model, counter column).
COUNTERS: dict[str, tuple[Any, str]] = {
    "agent": (Agent, "number_count"),
    "prompt": (Prompt, "number_count"),
    "webhook": (Webhook, "number_count"),
    "llm": (AccountConnection, "llm_number_count"),
    "telephony": (AccountConnection, "telephony_number_count"),
}
# Lock order among graph rows (numbers come last).
_ORDER = {"agent": 0, "llm": 1, "telephony": 1, "prompt": 2, "webhook": 3}


def counted(links: Links) -> Counter[tuple[str, Any]]:
    """The counters a number with these links adds one to."""
    return Counter({(kind, getattr(links, kind)): 1 for kind in COUNTERS if getattr(links, kind)})


def flags(links: Links) -> dict[str, bool]:
    """The kept health columns of a number with these links (``health.KEPT``)."""
    return {column: finding.derive(links) for column, finding in KEPT.items()}  # type: ignore[misc]


Ids = tuple[Any, Any, str]  # (agent id, telephony connection id, provider)


def ids_of(number: PhoneNumber) -> Ids:
    return (
        number.inbound_agent_id,
        number.telephony_account_connection_id,
        number.telephony_provider,
    )


@dataclass
class _Batch:
    """Within ``batch()``: links already read (their rows stay locked until the
    transaction ends) and count deltas not yet written."""

    links: dict[Ids, Links] = field(default_factory=dict)
    deltas: Counter[tuple[str, Any]] = field(default_factory=Counter)


_batch: ContextVar[_Batch | None] = ContextVar("upkeep_batch", default=None)


@contextmanager
def batch() -> Iterator[None]:
    """Many number writes in one transaction (a bulk change's batch): each graph
    row is read and locked once, and each counter written once, at the end."""
    if _batch.get() is not None:
        yield
        return
    current = _Batch()
    token = _batch.set(current)
    try:
        yield
    finally:
        _batch.reset(token)
    apply_counts(current.deltas)


def lock_links(*numbers: Ids | None) -> list[Links | None]:
    """What numbers with these ids depend on, their graph rows locked in one order
    (agents, then connections, each by id); None stays None (no number)."""
    pending = _batch.get()
    if pending is not None and all(n is None or n in pending.links for n in numbers):
        return [None if n is None else pending.links[n] for n in numbers]
    agent_ids = sorted({str(n[0]) for n in numbers if n and n[0] is not None})
    agents = {
        str(row[0]): row[1:]
        for row in Agent.objects.select_for_update(of=("self",))
        .filter(pk__in=agent_ids)
        .order_by("pk")
        .values_list(
            "pk",
            "prompt_id",
            "webhook_id",
            "openai_account_connection_id",
            "openai_account_connection__type",
            "name",
        )
    }
    connection_ids = sorted({str(n[1]) for n in numbers if n and n[1] is not None})
    connections = {
        str(pk): kind
        for pk, kind in AccountConnection.objects.select_for_update()
        .filter(pk__in=connection_ids)
        .order_by("pk")
        .values_list("pk", "type")
    }
    found: list[Links | None] = []
    for ids in numbers:
        if ids is None:
            found.append(None)
            continue
        agent_id, telephony_id, provider = ids
        prompt = webhook = llm = llm_type = agent_name = None
        if agent_id is not None and str(agent_id) in agents:
            prompt, webhook, llm, llm_type, agent_name = agents[str(agent_id)]
        links = Links(
            agent=agent_id,
            prompt=prompt,
            webhook=webhook,
            llm=llm,
            llm_type=llm_type,
            telephony=telephony_id,
            telephony_type=connections.get(str(telephony_id)),
            provider=provider,
            agent_name=agent_name,
        )
        if pending is not None:
            pending.links[ids] = links
        found.append(links)
    return found


def number_moved(before: Ids | None, after: Ids | None) -> dict[str, Any]:
    """A number's links go from ``before`` to ``after`` (None: no number): lock the
    graph rows, move the counts, and return the number's new kept columns (the
    health flags and its agent's name, read under the agent's lock)."""
    old, new = lock_links(before, after)
    kept: dict[str, Any] = number_links_changed(old, new)
    if new is not None:
        kept["inbound_agent_name"] = new.agent_name
    return kept


# Every column a number keeps from elsewhere: what a write copies from the locked
# row when the number's links did not move (phone_numbers.services).
KEPT_COLUMNS = (*KEPT, "inbound_agent_name", "owner_email")


def kept_of(number: PhoneNumber) -> dict[str, Any]:
    return {column: getattr(number, column) for column in KEPT_COLUMNS}


def lock_owner(user_id: Any) -> str:
    """The owner's email, its row locked against an email change until the transaction
    ends (taken before graph and number rows: an email change locks the account,
    then its numbers).

    A share lock: writes of one account's numbers do not wait for each other (an
    exclusive one would queue every edit of a customer behind a bulk change of its
    numbers); only a write of the account row itself waits for them."""
    queryset = User.objects.filter(pk=user_id).values_list("email", flat=True)
    if connection.vendor != "postgresql":  # SQLite: one writer at a time anyway
        return queryset.first() or ""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} FOR SHARE", params)
        row = cursor.fetchone()
    return row[0] if row else ""


def apply_counts(deltas: Counter[tuple[str, Any]]) -> None:
    """Add each delta to its counter, in the lock order (graph rows before numbers);
    within ``batch()``, at its end."""
    pending = _batch.get()
    if pending is not None:
        pending.deltas.update(deltas)
        return
    for (kind, pk), delta in sorted(
        deltas.items(), key=lambda item: (_ORDER[item[0][0]], str(item[0][1]))
    ):
        if delta:
            model, column = COUNTERS[kind]
            model.objects.filter(pk=pk).update(**{column: F(column) + delta})


def number_links_changed(before: Links | None, after: Links | None) -> dict[str, bool]:
    """Move the counts from ``before`` to ``after`` (None: no number); the new flags."""
    deltas: Counter[tuple[str, Any]] = Counter()
    if after is not None:
        deltas.update(counted(after))
    if before is not None:
        deltas.subtract(counted(before))
    apply_counts(deltas)
    return flags(after) if after is not None else {}


def refresh_flags(numbers: QuerySet[PhoneNumber]) -> int:
    """Recompute the stored flags of ``numbers`` from the graph; how many rows changed."""
    changed = 0
    for column, finding in KEPT.items():
        condition = finding.derived
        changed += numbers.filter(condition, **{column: False}).update(**{column: True})
        changed += numbers.filter(**{column: True}).exclude(condition).update(**{column: False})
    return changed


# --- Writes of the agent graph ---------------------------------------------------

AGENT_LINKS = {
    "prompt": "prompt_id",
    "webhook": "webhook_id",
    "llm": "openai_account_connection_id",
}


def _graph_written(obj: Any, before: dict[str, Any] | None) -> None:
    """A write of the agent graph, after it is saved, in its transaction."""
    if before is None:
        return  # a new object: nothing depends on it yet
    if isinstance(obj, Agent) and before["name"] != obj.name:
        # Its numbers' sort key; the agent's row is locked (_graph_before), then theirs.
        PhoneNumber.objects.filter(inbound_agent_id=obj.pk).update(inbound_agent_name=obj.name)
    if isinstance(obj, Agent):
        moved = {
            kind: (before[attname], getattr(obj, attname))
            for kind, attname in AGENT_LINKS.items()
            if before[attname] != getattr(obj, attname)
        }
        if not moved:
            return
        routed = Agent.objects.filter(pk=obj.pk).values_list("number_count", flat=True).get()
        deltas: Counter[tuple[str, Any]] = Counter()
        for kind, (old, new) in moved.items():
            if old is not None:
                deltas[(kind, old)] -= routed
            if new is not None:
                deltas[(kind, new)] += routed
        apply_counts(deltas)
        if {"webhook", "llm"} & set(moved):
            refresh_flags(PhoneNumber.objects.filter(inbound_agent_id=obj.pk))
    elif isinstance(obj, AccountConnection) and before["type"] != obj.type:
        refresh_flags(
            PhoneNumber.objects.filter(
                Q(telephony_account_connection_id=obj.pk)
                | Q(inbound_agent__openai_account_connection_id=obj.pk)
            )
        )


def _graph_before(obj: Any) -> dict[str, Any] | None:
    """What a graph write must know of the row before it changes (read under its lock)."""
    if isinstance(obj, Agent):
        fields = [*AGENT_LINKS.values(), "name"]
    elif isinstance(obj, AccountConnection):
        fields = ["type"]
    else:
        return {}
    return (
        type(obj).objects.select_for_update(of=("self",)).filter(pk=obj.pk).values(*fields).first()
    )


def _email_changed(user: User) -> None:
    """An account's email changed (its row locked, in the change's transaction)."""
    PhoneNumber.objects.filter(user_id=user.pk).update(owner_email=user.email)


def register() -> None:
    """Called from ``NumbersConfig.ready``: the graph and accounts cannot import numbers."""
    register_write_listener(_graph_before, _graph_written)
    register_email_listener(_email_changed)


# --- From scratch ------------------------------------------------------------------


def _fresh_counts() -> dict[str, Any]:
    """Each counter as a fresh count, as an expression per (model, column)."""

    def count(**lookup: Any) -> Any:
        numbers = (
            PhoneNumber.objects.filter(**lookup)
            .order_by()
            .values(next(iter(lookup)))
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(numbers), Value(0))

    return {
        "agent": count(inbound_agent=OuterRef("pk")),
        "prompt": count(inbound_agent__prompt=OuterRef("pk")),
        "webhook": count(inbound_agent__webhook=OuterRef("pk")),
        "llm": count(inbound_agent__openai_account_connection=OuterRef("pk")),
        "telephony": count(telephony_account_connection=OuterRef("pk")),
    }


def refresh_sort_keys() -> int:
    """Recompute every number's copied sort keys (``owner_email``, ``inbound_agent_name``)
    where they differ; how many rows changed. One UPDATE ... FROM per key: a join,
    not a subquery per number (PostgreSQL and SQLite 3.33+ both have it)."""
    quote = connection.ops.quote_name
    numbers = quote(PhoneNumber._meta.db_table)
    users, agents = quote(User._meta.db_table), quote(Agent._meta.db_table)
    statements = [  # our table names only
        f"UPDATE {numbers} SET owner_email = u.email FROM {users} u "  # noqa: S608
        f"WHERE u.id = {numbers}.user_id AND {numbers}.owner_email <> u.email",
        f"UPDATE {numbers} SET inbound_agent_name = a.name FROM {agents} a "  # noqa: S608
        f"WHERE a.id = {numbers}.inbound_agent_id AND "
        f"({numbers}.inbound_agent_name IS NULL OR {numbers}.inbound_agent_name <> a.name)",
        f"UPDATE {numbers} SET inbound_agent_name = NULL "  # noqa: S608
        "WHERE inbound_agent_id IS NULL AND inbound_agent_name IS NOT NULL",
    ]
    changed = 0
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            changed += cursor.rowcount
    return changed


def stale_sort_keys() -> QuerySet[PhoneNumber]:
    """The numbers whose copied sort keys are not their owner's email and agent's name."""
    return PhoneNumber.objects.filter(
        ~Q(owner_email=F("user__email"))
        | Q(inbound_agent__isnull=True, inbound_agent_name__isnull=False)
        | Q(inbound_agent__isnull=False, inbound_agent_name__isnull=True)
        | Q(inbound_agent__isnull=False) & ~Q(inbound_agent_name=F("inbound_agent__name"))
    )


def rebuild() -> dict[str, int]:
    """Recompute every flag, sort key and counter; how many rows each part changed."""
    changed = {"flags": refresh_flags(PhoneNumber.objects.all())}
    changed["sort keys"] = refresh_sort_keys()
    for kind, fresh in _fresh_counts().items():
        model, column = COUNTERS[kind]
        changed[kind] = (
            model.objects.annotate(fresh=fresh)
            .exclude(**{column: F("fresh")})
            .update(**{column: fresh})
        )
    return changed


def drift(limit: int = 20) -> list[str]:
    """What differs from a fresh computation, one line each (empty when exact)."""
    lines: list[str] = []
    for column, finding in KEPT.items():
        should = set(PhoneNumber.objects.filter(finding.derived).values_list("pk", flat=True))
        stored = set(PhoneNumber.objects.filter(**{column: True}).values_list("pk", flat=True))
        wrong = PhoneNumber.objects.filter(pk__in=list(should ^ stored)[:limit])
        lines += [f"number {n}: {column} is wrong" for n in wrong.values_list("number", flat=True)]
    stale = stale_sort_keys().values_list("number", "owner_email", "inbound_agent_name")[:limit]
    lines += [f"number {n}: sort keys {email!r}, {name!r} are stale" for n, email, name in stale]
    for kind, fresh in _fresh_counts().items():
        model, column = COUNTERS[kind]
        rows = (
            model.objects.annotate(fresh=fresh)
            .exclude(**{column: F("fresh")})
            .values_list("pk", column, "fresh")[:limit]
        )
        lines += [f"{kind} {pk}: {column} is {stored}, counts {real}" for pk, stored, real in rows]
    return lines
