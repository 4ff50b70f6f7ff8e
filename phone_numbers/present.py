"""How a number is shown: the upstream JSON shape (``GET /v1/numbers/list`` items).

The console's table rows are ``console.number_rows``."""

from __future__ import annotations

from typing import Any

from agents.present import agent_json, connection_json
from vault.masking import mask_json

from .models import PhoneNumber


def number_json(number: PhoneNumber) -> dict[str, Any]:
    """One number, from objects loaded by ``queries.with_number_graph``."""
    agent = number.inbound_agent
    return {
        "id": str(number.pk),
        "user_id": str(number.user_id),
        "number": number.number,
        "active": number.active,
        "label": number.label,
        "inbound_agent_name": agent.name if agent is not None else None,
        "outbound_only": number.outbound_only,
        "example_context": mask_json(number.example_context),
        "telephony_provider": number.telephony_provider,
        "telephony_account_connection": connection_json(number.telephony_account_connection),
        "description": number.description,
        "inbound_agent": agent_json(agent),
    }
