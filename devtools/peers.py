"""What ``make bench`` compares the API with: DRF views as the DRF guide writes them.

Routed under ``/v1/_bench/`` (``devtools.urls``, installed with devtools only), so
a peer's request goes through the same middleware, bearer-token authentication and
throttle as ours, and the comparison is of what the views do:

- ``book``: nested ``ModelSerializer``s, ``select_related`` + ``prefetch_related``,
  DRF's ``CursorPagination`` (the issue's "DRF view written by the book");
- ``pages``: the same with ``PageNumberPagination`` (a deep page by number);
- ``naive``: the same serializers without ``select_related`` (a query per object);
- ``lean``: the token lookup and the throttle, then a constant body (the ceiling
  a loaded server can reach for a request that does no work of its own).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.decorators import api_view
from rest_framework.pagination import CursorPagination, PageNumberPagination

from agents.models import AccountConnection, Action, Agent, Prompt, PromptTemplate, Webhook
from phone_numbers.models import PhoneNumber


class _TemplateS(serializers.ModelSerializer):
    class Meta:
        model = PromptTemplate
        fields = ["id", "user_id", "required_context_keys", "label"]


class _PromptS(serializers.ModelSerializer):
    prompt_template = _TemplateS()

    class Meta:
        model = Prompt
        fields = [
            "id",
            "user_id",
            "label",
            "description",
            "content",
            "context_endpoint",
            "collect_fields",
            "type",
            "tags",
            "prompt_template",
        ]


class _ActionS(serializers.ModelSerializer):
    class Meta:
        model = Action
        fields = ["id", "user_id", "type", "label", "description", "config", "action_trigger"]


class _WebhookS(serializers.ModelSerializer):
    class Meta:
        model = Webhook
        fields = ["id", "user_id", "subscriptions", "url", "method", "label", "description"]


class _ConnS(serializers.ModelSerializer):
    credentials = serializers.JSONField(source="credentials_preview")

    class Meta:
        model = AccountConnection
        fields = [
            "id",
            "user_id",
            "label",
            "description",
            "type",
            "credentials",
            "steering_pool",
            "account_supports_any_caller_id",
        ]


class _AgentS(serializers.ModelSerializer):
    user_id = serializers.UUIDField(read_only=True)
    prompt = _PromptS()
    actions = _ActionS(many=True)
    webhook = _WebhookS()
    openai_account_connection = _ConnS()

    class Meta:
        model = Agent
        exclude = ["user", "created_at", "updated_at", "version", "number_count"]


class _NumberS(serializers.ModelSerializer):
    inbound_agent = _AgentS()
    telephony_account_connection = _ConnS()
    inbound_agent_name = serializers.CharField(source="inbound_agent.name", default=None)

    class Meta:
        model = PhoneNumber
        fields = [
            "id",
            "user_id",
            "number",
            "active",
            "label",
            "inbound_agent_name",
            "outbound_only",
            "example_context",
            "telephony_provider",
            "telephony_account_connection",
            "description",
            "inbound_agent",
        ]


class _Cursor(CursorPagination):
    ordering = ("number", "id")
    page_size_query_param = "size"
    max_page_size = 100


class _Pages(PageNumberPagination):
    page_size_query_param = "size"
    max_page_size = 100


@extend_schema(exclude=True)  # not part of the API: out of its OpenAPI schema
class _Numbers(generics.ListAPIView):
    """The token owner's numbers; authentication and throttling from settings."""

    serializer_class = _NumberS
    optimised = True

    def get_queryset(self) -> Any:
        queryset = PhoneNumber.objects.filter(user=self.request.user).order_by("number", "id")
        if self.optimised:
            queryset = queryset.select_related(
                "telephony_account_connection",
                "inbound_agent__prompt__prompt_template",
                "inbound_agent__webhook",
                "inbound_agent__openai_account_connection",
            ).prefetch_related("inbound_agent__actions")
        return queryset


book = _Numbers.as_view(pagination_class=_Cursor)
pages = _Numbers.as_view(pagination_class=_Pages)
naive = _Numbers.as_view(pagination_class=_Pages, optimised=False)

LEAN_BODY = b'{"items":[],"page":1,"size":10,"has_more":false}'


@extend_schema(exclude=True)
@api_view(["GET"])
def lean(request: HttpRequest) -> HttpResponse:
    """Authenticated and throttled like every API view, then nothing: a constant body."""
    return HttpResponse(LEAN_BODY, content_type="application/json")
