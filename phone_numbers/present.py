"""How a number is shown: the upstream JSON shape (``GET /v1/numbers/list`` items).

``numbers_json`` is the one read path of that shape (the API's list, detail and
update answers; exports): it builds no model instance. One query reads the
numbers' own columns, one more the stored JSON of their agents and telephony
connections (``agents.fragments``, rendered by ``agents.present`` when they are
written), embedded as pre-encoded JSON. The console's table rows are
``console.number_rows``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from agents import fragments
from vault.masking import mask_json

from .models import PhoneNumber

# The number's own columns the shape shows, read with values(): no instances.
COLUMNS = (
    "id",
    "user_id",
    "number",
    "active",
    "label",
    "inbound_agent_id",
    "inbound_agent_name",  # kept with the number (phone_numbers.upkeep), its sort key too
    "outbound_only",
    "example_context",
    "telephony_provider",
    "telephony_account_connection_id",
    "description",
)


def number_rows(queryset: QuerySet[PhoneNumber]) -> QuerySet[Any]:
    """``queryset`` as the rows ``documents`` renders (its order and filters kept)."""
    return queryset.values(*COLUMNS)


def documents(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``number_rows`` as the upstream shape, in their order; one query for
    the stored JSON of every agent and connection they point to."""
    stored = fragments.stored(
        {row["inbound_agent_id"] for row in rows if row["inbound_agent_id"] is not None},
        {
            row["telephony_account_connection_id"]
            for row in rows
            if row["telephony_account_connection_id"] is not None
        },
    )
    out = []
    for row in rows:
        agent = stored.get(row["inbound_agent_id"])
        connection = stored.get(row["telephony_account_connection_id"])
        out.append(
            {
                "id": str(row["id"]),
                "user_id": str(row["user_id"]),
                "number": row["number"],
                "active": row["active"],
                "label": row["label"],
                "inbound_agent_name": row["inbound_agent_name"],
                "outbound_only": row["outbound_only"],
                "example_context": mask_json(row["example_context"]),
                "telephony_provider": row["telephony_provider"],
                "telephony_account_connection": connection,
                "description": row["description"],
                "inbound_agent": agent,
            }
        )
    return out


def numbers_json(queryset: QuerySet[PhoneNumber]) -> list[dict[str, Any]]:
    """Every number of ``queryset``, in its order, as the upstream shape (two queries)."""
    return documents(list(number_rows(queryset)))
