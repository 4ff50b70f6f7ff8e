"""The upstream JSON shape of agents and their parts, secrets masked.

Plain functions over already-loaded objects: no queries here, and no
decryption (credentials come from the stored masked preview).
"""

from __future__ import annotations

from typing import Any

from vault.masking import mask_json

from .models import AccountConnection, Action, Agent, Prompt, PromptTemplate, Webhook


def _ids(obj: Any) -> dict[str, str]:
    return {"id": str(obj.pk), "user_id": str(obj.user_id)}


def prompt_template_json(template: PromptTemplate | None) -> dict[str, Any] | None:
    if template is None:
        return None
    return {
        **_ids(template),
        "required_context_keys": template.required_context_keys,
        "label": template.label,
    }


def prompt_json(prompt: Prompt | None) -> dict[str, Any] | None:
    if prompt is None:
        return None
    return {
        **_ids(prompt),
        "label": prompt.label,
        "description": prompt.description,
        "content": prompt.content,
        "context_endpoint": prompt.context_endpoint,
        "collect_fields": prompt.collect_fields,
        "type": prompt.type,
        "tags": prompt.tags,
        "prompt_template": prompt_template_json(prompt.prompt_template),
    }


def action_json(action: Action) -> dict[str, Any]:
    return {
        **_ids(action),
        "type": action.type,
        "label": action.label,
        "description": action.description,
        "config": mask_json(action.config),
        "action_trigger": mask_json(action.action_trigger),
    }


def webhook_json(webhook: Webhook | None) -> dict[str, Any] | None:
    if webhook is None:
        return None
    return {
        **_ids(webhook),
        "subscriptions": webhook.subscriptions,
        "url": webhook.url,
        "method": webhook.method,
        "label": webhook.label,
        "description": webhook.description,
    }


def connection_json(conn: AccountConnection | None) -> dict[str, Any] | None:
    """A connection with its credentials' key names and masked values only."""
    if conn is None:
        return None
    return {
        **_ids(conn),
        "label": conn.label,
        "description": conn.description,
        "type": conn.type,
        "credentials": dict(conn.credentials_preview or {}),
        "steering_pool": conn.steering_pool,
        "account_supports_any_caller_id": conn.account_supports_any_caller_id,
    }


def agent_json(agent: Agent | None) -> dict[str, Any] | None:
    """An agent as upstream's ``inbound_agent``; its actions must be prefetched."""
    if agent is None:
        return None
    return {
        **_ids(agent),
        "name": agent.name,
        "prompt": prompt_json(agent.prompt),
        "language": agent.language,
        "actions": [action_json(a) for a in agent.actions.all()],
        "voice": mask_json(agent.voice),
        "initial_message": agent.initial_message,
        "webhook": webhook_json(agent.webhook),
        "interrupt_sensitivity": agent.interrupt_sensitivity,
        "context_endpoint": agent.context_endpoint,
        "noise_suppression": agent.noise_suppression,
        "endpointing_sensitivity": agent.endpointing_sensitivity,
        "ivr_navigation_mode": agent.ivr_navigation_mode,
        "conversation_speed": agent.conversation_speed,
        "initial_message_delay": agent.initial_message_delay,
        "openai_model_name_override": agent.openai_model_name_override,
        "ask_if_human_present_on_idle": agent.ask_if_human_present_on_idle,
        "openai_account_connection": connection_json(agent.openai_account_connection),
        "run_do_not_call_detection": agent.run_do_not_call_detection,
        "llm_fallback": mask_json(agent.llm_fallback),
        "deepgram_keywords": agent.deepgram_keywords,
        "idle_time_seconds": agent.idle_time_seconds,
        "llm_temperature": agent.llm_temperature,
        "enable_recording": agent.enable_recording,
        "provider": agent.provider,
        "model": agent.model,
        "label": agent.label,
        "description": agent.description,
        "transcriber": mask_json(agent.transcriber),
        "call_duration_sec": agent.call_duration_sec,
        "max_idle_check_count": agent.max_idle_check_count,
    }
