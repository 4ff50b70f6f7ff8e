"""The agents API: ``/v1/agents/list`` and ``/v1/agents?id=``, for scripts that assign agents."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from agents import queries
from agents.fragments import agents_json
from api import pagecache
from api.base import page_envelope, validate
from api.params import list_params
from api.schema import AgentOut, AgentPageOut, ErrorOut, ValidationErrorOut

AgentListParams = list_params(list(queries.AGENT_SORTS), "name")
# 400: a malformed query string (core.middleware.RequestGuardMiddleware).
ERRORS = {400: ValidationErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}


class AgentIdParam(serializers.Serializer):
    id = serializers.UUIDField()


@extend_schema(
    operation_id="agents_list",
    summary="List your agents",
    parameters=[AgentListParams],
    responses={200: AgentPageOut, **ERRORS},
)
@api_view(["GET"])
def agent_list(request: Request) -> HttpResponse:
    params = validate(AgentListParams, request.query_params, "query")
    queryset = queries.agent_list(
        owner=request.user, sort=params["sort_column"], desc=params["sort_desc"]
    )
    return pagecache.answer(
        request, params, lambda: page_envelope(queryset.values("id"), params, agents_json)
    )


@extend_schema(
    operation_id="agents_get",
    summary="Get one of your agents",
    parameters=[AgentIdParam],
    responses={200: AgentOut, **ERRORS},
)
@api_view(["GET"])
def agent_detail(request: Request) -> HttpResponse:
    params = validate(AgentIdParam, request.query_params, "query")

    def one() -> Any:
        agent = queries.agent_for_owner(owner=request.user, agent_id=params["id"])
        if agent is None:
            raise NotFound("Agent not found.")
        return agents_json([{"id": agent.pk}])[0]

    return pagecache.answer(request, params, one)
