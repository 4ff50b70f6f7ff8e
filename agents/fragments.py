"""Agents' and connections' upstream JSON, rendered once per write and stored.

A million numbers point to some tens of thousands of agents, and an agent's JSON
(its prompt and template, actions, webhook and LLM connection, masked) changes
only when one of those objects is written. So it is rendered then, in the write's
transaction, and a page of numbers is assembled from the stored renderings
(``phone_numbers.present``): one query for the numbers, one for the renderings
of their agents and telephony connections, embedded as pre-encoded JSON
(``orjson.Fragment``), with no model instance of the graph built per request.

Exactness, which the API's answers depend on:

- ``written(obj)`` is called by ``agents.services.graph_object_save`` (the one
  write path of the graph: admin, importer, the unlinks of a delete) after each
  write, and renders again every agent and connection whose JSON includes
  ``obj``; deleting an agent or connection deletes its rendering (CASCADE);
- bulk loading (seeding) calls ``rebuild()``;
- a rendering made under another masking rule (``vault.masking.RULE_VERSION``)
  is never served, nor is a missing one: ``stored()`` renders those on the spot
  and stores them, so a change of the masking rule, or a database migrated from
  before this table existed, needs no downtime (``rebuild_fragments`` renders
  them all ahead of time);
- ``drift()`` compares every stored rendering with a fresh one (tests, and
  ``rebuild_fragments --check``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from django.db import DatabaseError, connections, models, router, transaction

from core.encoding import encode
from core.replicas import reads_from
from vault.masking import RULE_VERSION

from .models import (
    AccountConnection,
    Action,
    Agent,
    AgentJSON,
    ConnectionJSON,
    Prompt,
    PromptTemplate,
    Webhook,
)
from .present import agent_json, connection_json
from .queries import with_agent_graph

log = logging.getLogger(__name__)

BATCH = 500


# --- Rendering and storing ---------------------------------------------------------


def _batches(ids: Iterable[Any]) -> Iterator[list[Any]]:
    pending: list[Any] = []
    for pk in ids:
        pending.append(pk)
        if len(pending) == BATCH:
            yield pending
            pending = []
    if pending:
        yield pending


def render_agents(ids: Iterable[Any]) -> list[AgentJSON]:
    """Fresh renderings of these agents (those that exist), in batches."""
    made = []
    for chunk in _batches(ids):
        for agent in with_agent_graph(Agent.objects.filter(pk__in=chunk)):
            body = encode(agent_json(agent)).decode()
            made.append(AgentJSON(agent_id=agent.pk, body=body, rule=RULE_VERSION))
    return made


def render_connections(ids: Iterable[Any]) -> list[ConnectionJSON]:
    made = []
    for chunk in _batches(ids):
        for conn in AccountConnection.objects.filter(pk__in=chunk).defer("credentials"):
            body = encode(connection_json(conn)).decode()
            made.append(ConnectionJSON(connection_id=conn.pk, body=body, rule=RULE_VERSION))
    return made


def _upsert(rows: list[Any], *, replace: bool) -> None:
    """Insert ``rows``; an existing rendering is replaced (a write's fresh one) or kept
    (a reader's: a concurrent write's rendering is newer than what a reader saw)."""
    if not rows:
        return
    model = type(rows[0])
    key = model._meta.pk.name
    fields = [f.name for f in model._meta.concrete_fields if not f.primary_key]
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        if replace:
            model.objects.bulk_create(
                chunk, update_conflicts=True, unique_fields=[key], update_fields=fields
            )
        else:
            model.objects.bulk_create(chunk, ignore_conflicts=True)


def refresh(agent_ids: Iterable[Any] = (), connection_ids: Iterable[Any] = ()) -> None:
    """Render these agents and connections again and store them (in the caller's
    transaction: a rolled-back write leaves the previous renderings).

    The stored rows are locked before rendering: two writes that touch one agent's
    JSON (its webhook edited while the agent is renamed) render one after the
    other, the second seeing the first's commit, so neither stores a rendering
    without the other's change. They are the last rows a graph write locks.
    """
    agent_ids, connection_ids = sorted(agent_ids, key=str), sorted(connection_ids, key=str)
    for chunk in _batches(agent_ids):
        list(AgentJSON.objects.select_for_update().filter(pk__in=chunk).order_by("pk").values("pk"))
        _upsert(render_agents(chunk), replace=True)
    for chunk in _batches(connection_ids):
        rows = ConnectionJSON.objects.select_for_update().filter(pk__in=chunk).order_by("pk")
        list(rows.values("pk"))
        _upsert(render_connections(chunk), replace=True)


def including(obj: models.Model) -> tuple[Any, list[Any]]:
    """The agents (a queryset of ids) and connections (ids) whose JSON includes ``obj``."""
    agents = Agent.objects.none()
    connections: list[Any] = []
    if isinstance(obj, Agent):
        agents = Agent.objects.filter(pk=obj.pk)
    elif isinstance(obj, Prompt):
        agents = Agent.objects.filter(prompt=obj)
    elif isinstance(obj, PromptTemplate):
        agents = Agent.objects.filter(prompt__prompt_template=obj)
    elif isinstance(obj, Action):
        agents = Agent.objects.filter(actions=obj)
    elif isinstance(obj, Webhook):
        agents = Agent.objects.filter(webhook=obj)
    elif isinstance(obj, AccountConnection):
        agents = Agent.objects.filter(openai_account_connection=obj)
        connections = [obj.pk]
    return agents.order_by("pk").values_list("pk", flat=True), connections


def written(obj: models.Model) -> None:
    """``obj`` was just saved (created or changed): render what includes it again."""
    agents, connections = including(obj)
    refresh(list(agents), connections)


def rebuild() -> dict[str, int]:
    """Render every agent and connection again (seeding, ``rebuild_fragments``)."""
    counts = {"agents": 0, "connections": 0}
    agent_ids = Agent.objects.order_by("pk").values_list("pk", flat=True)
    for chunk in _batches(agent_ids.iterator(chunk_size=BATCH * 4)):
        with transaction.atomic():
            rows = render_agents(chunk)
            _upsert(rows, replace=True)
        counts["agents"] += len(rows)
    conn_ids = AccountConnection.objects.order_by("pk").values_list("pk", flat=True)
    for chunk in _batches(conn_ids.iterator(chunk_size=BATCH * 4)):
        with transaction.atomic():
            rows = render_connections(chunk)
            _upsert(rows, replace=True)
        counts["connections"] += len(rows)
    return counts


# --- Reading -----------------------------------------------------------------------


def stored(agent_ids: Iterable[Any], connection_ids: Iterable[Any]) -> dict[Any, Any]:
    """{id: orjson.Fragment} for these agents and connections, in one query; one
    missing or masked under another rule is rendered now and stored."""
    agent_ids, connection_ids = set(agent_ids), set(connection_ids)
    found: dict[Any, Any] = {}
    if agent_ids or connection_ids:
        for pk, body in _read(agent_ids, connection_ids):
            found[pk] = orjson.Fragment(body)
    missing_agents = agent_ids - found.keys()
    missing_connections = connection_ids - found.keys()
    if missing_agents or missing_connections:
        found.update(_render_missing(missing_agents, missing_connections))
    return found


def _read(agent_ids: set[Any], connection_ids: set[Any]) -> list[tuple[Any, str]]:
    """The stored rows, in one statement written out: the ORM's union of two querysets
    cost more to build than the query takes to run (a page's hot path)."""
    db = router.db_for_read(AgentJSON)
    conn = connections[db]
    field = AgentJSON._meta.pk
    parts, params = [], []
    for model, key, ids in (
        (AgentJSON, "agent_id", agent_ids),
        (ConnectionJSON, "connection_id", connection_ids),
    ):
        if ids:
            marks = ", ".join(["%s"] * len(ids))
            table = conn.ops.quote_name(model._meta.db_table)
            parts.append(  # names are ours, values are parameters
                f"SELECT {key}, body FROM {table} WHERE {key} IN ({marks}) AND rule = %s"  # noqa: S608
            )
            params += [field.get_db_prep_value(pk, conn) for pk in ids] + [RULE_VERSION]
    with conn.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    to_python = field.to_python
    return [(to_python(pk), body) for pk, body in rows]


def agents_json(rows: list[dict[str, Any]]) -> list[Any]:
    """Rows of agent ids ({"id": ...}) as the upstream agent shape, in their order."""
    found = stored({row["id"] for row in rows}, ())
    return [found[row["id"]] for row in rows if row["id"] in found]


def _render_missing(agent_ids: set[Any], connection_ids: set[Any]) -> dict[Any, Any]:
    # Rendered from the primary, even in a request reading from a replica: what is
    # stored here is served to every reader until the agent changes again, and a
    # lagging replica's older agent must never be stored under the current rule.
    with reads_from(None):
        agents = render_agents(sorted(agent_ids, key=str))
        connections = render_connections(sorted(connection_ids, key=str))
    try:
        with transaction.atomic():
            # Replace a rendering of another rule; keep one a concurrent write stored.
            AgentJSON.objects.filter(
                agent_id__in=[r.agent_id for r in agents], rule__lt=RULE_VERSION
            ).delete()
            ConnectionJSON.objects.filter(
                connection_id__in=[r.connection_id for r in connections], rule__lt=RULE_VERSION
            ).delete()
            _upsert(agents, replace=False)
            _upsert(connections, replace=False)
    except DatabaseError:  # a read-only database: serve the rendering, store it later
        log.warning("Could not store %d fresh JSON renderings", len(agents) + len(connections))
    found: dict[Any, Any] = {row.agent_id: orjson.Fragment(row.body) for row in agents}
    found.update({row.connection_id: orjson.Fragment(row.body) for row in connections})
    return found


def drift(limit: int = 20) -> list[str]:
    """Stored renderings that differ from a fresh one, or are missing, one line each."""
    lines: list[str] = []
    stored_agents = dict(AgentJSON.objects.values_list("agent_id", "body"))
    for fresh in render_agents(Agent.objects.order_by("pk").values_list("pk", flat=True)):
        if stored_agents.get(fresh.agent_id) != fresh.body:
            state = "missing" if fresh.agent_id not in stored_agents else "stale"
            lines.append(f"agent {fresh.agent_id}: stored JSON is {state}")
    stored_conns = dict(ConnectionJSON.objects.values_list("connection_id", "body"))
    ids = AccountConnection.objects.order_by("pk").values_list("pk", flat=True)
    for fresh in render_connections(ids):
        if stored_conns.get(fresh.connection_id) != fresh.body:
            state = "missing" if fresh.connection_id not in stored_conns else "stale"
            lines.append(f"connection {fresh.connection_id}: stored JSON is {state}")
    return lines[:limit]
