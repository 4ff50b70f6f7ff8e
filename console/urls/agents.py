"""Agents, webhooks and account connections (mounted at the site root)."""

from __future__ import annotations

from django.urls import path

from console import agents

app_name = "agents"

urlpatterns = [
    path("agents/", agents.agent_list, name="list"),
    path("agents/<uuid:pk>/", agents.agent_detail, name="detail"),
    path("webhooks/", agents.webhook_list, name="webhooks"),
    path("webhooks/<uuid:pk>/", agents.webhook_detail, name="webhook"),
    path("connections/", agents.connection_list, name="connections"),
    path("connections/<uuid:pk>/", agents.connection_detail, name="connection"),
]
