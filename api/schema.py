"""Serializers that document the API's shapes in the OpenAPI schema.

The responses themselves are built by the plain functions in ``present.py``
(about ten times cheaper per row than nested ModelSerializers); these
classes describe the same shapes, and the schemathesis test checks that
real responses conform to them.
"""

from __future__ import annotations

from rest_framework import serializers

from agents.models import (
    ActionType,
    ConnectionType,
    EndpointingSensitivity,
    InterruptSensitivity,
    IvrNavigationMode,
    Language,
    PromptType,
    WebhookEvent,
    WebhookMethod,
)
from phone_numbers.models import TelephonyProvider


class OwnedOut(serializers.Serializer):
    id = serializers.UUIDField()
    user_id = serializers.UUIDField()


class PromptTemplateOut(OwnedOut):
    required_context_keys = serializers.ListField(child=serializers.CharField())
    label = serializers.CharField()


class PromptOut(OwnedOut):
    label = serializers.CharField()
    description = serializers.CharField()
    content = serializers.CharField()
    context_endpoint = serializers.URLField(allow_null=True)
    collect_fields = serializers.ListField(child=serializers.JSONField())
    type = serializers.ChoiceField(choices=PromptType.choices)
    tags = serializers.ListField(child=serializers.CharField())
    prompt_template = PromptTemplateOut(allow_null=True)


class ActionOut(OwnedOut):
    type = serializers.ChoiceField(choices=ActionType.choices)
    label = serializers.CharField()
    description = serializers.CharField()
    config = serializers.DictField(help_text="Secret-named keys are masked.")
    action_trigger = serializers.DictField()


class WebhookOut(OwnedOut):
    subscriptions = serializers.ListField(child=serializers.ChoiceField(WebhookEvent.choices))
    url = serializers.URLField()
    method = serializers.ChoiceField(choices=WebhookMethod.choices)
    label = serializers.CharField()
    description = serializers.CharField()


class ConnectionOut(OwnedOut):
    label = serializers.CharField()
    description = serializers.CharField()
    type = serializers.ChoiceField(choices=ConnectionType.choices)
    credentials = serializers.DictField(
        help_text="Key names with masked values: 8 dots, plus the last 4 characters of "
        "values of 16 characters or more. Secrets are never returned."
    )
    steering_pool = serializers.ListField(child=serializers.CharField())
    account_supports_any_caller_id = serializers.BooleanField()


class AgentOut(OwnedOut):
    name = serializers.CharField()
    prompt = PromptOut(allow_null=True)
    language = serializers.ChoiceField(choices=Language.choices)
    actions = ActionOut(many=True)
    voice = serializers.DictField()
    initial_message = serializers.CharField()
    webhook = WebhookOut(allow_null=True)
    interrupt_sensitivity = serializers.ChoiceField(choices=InterruptSensitivity.choices)
    context_endpoint = serializers.URLField(allow_null=True)
    noise_suppression = serializers.BooleanField()
    endpointing_sensitivity = serializers.ChoiceField(choices=EndpointingSensitivity.choices)
    ivr_navigation_mode = serializers.ChoiceField(choices=IvrNavigationMode.choices)
    conversation_speed = serializers.FloatField(allow_null=True)
    initial_message_delay = serializers.IntegerField(allow_null=True, help_text="Milliseconds.")
    openai_model_name_override = serializers.CharField(allow_null=True)
    ask_if_human_present_on_idle = serializers.BooleanField()
    openai_account_connection = ConnectionOut(allow_null=True)
    run_do_not_call_detection = serializers.BooleanField()
    llm_fallback = serializers.DictField()
    deepgram_keywords = serializers.DictField(child=serializers.FloatField())
    idle_time_seconds = serializers.IntegerField(allow_null=True)
    llm_temperature = serializers.FloatField(allow_null=True)
    enable_recording = serializers.BooleanField()
    provider = serializers.CharField()
    model = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    transcriber = serializers.DictField()
    call_duration_sec = serializers.IntegerField(allow_null=True)
    max_idle_check_count = serializers.IntegerField(allow_null=True)


class NumberOut(OwnedOut):
    number = serializers.CharField(help_text="E.164")
    active = serializers.BooleanField()
    label = serializers.CharField()
    inbound_agent_name = serializers.CharField(allow_null=True)
    outbound_only = serializers.BooleanField()
    example_context = serializers.DictField(child=serializers.CharField())
    telephony_provider = serializers.ChoiceField(choices=TelephonyProvider.choices)
    telephony_account_connection = ConnectionOut(allow_null=True)
    description = serializers.CharField()
    inbound_agent = AgentOut(allow_null=True)


class PageOut(serializers.Serializer):
    page = serializers.IntegerField(min_value=1)
    size = serializers.IntegerField(min_value=1, max_value=100)
    has_more = serializers.BooleanField()
    total = serializers.IntegerField(min_value=0)
    total_is_estimated = serializers.BooleanField()


class NumberPageOut(PageOut):
    items = NumberOut(many=True)


class AgentPageOut(PageOut):
    items = AgentOut(many=True)


class ErrorItemOut(serializers.Serializer):
    loc = serializers.ListField(child=serializers.CharField())
    msg = serializers.CharField()
    type = serializers.CharField()


class ValidationErrorOut(serializers.Serializer):
    detail = ErrorItemOut(many=True)


class ErrorOut(serializers.Serializer):
    detail = serializers.CharField()
