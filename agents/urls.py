from __future__ import annotations

from django.urls import path

from . import views

app_name = "agents"

urlpatterns = [
    path("agents/", views.agent_list, name="list"),
    path("agents/<uuid:pk>/", views.agent_detail, name="detail"),
    path("webhooks/", views.webhook_list, name="webhooks"),
    path("webhooks/<uuid:pk>/", views.webhook_detail, name="webhook"),
    path("connections/", views.connection_list, name="connections"),
    path("connections/<uuid:pk>/", views.connection_detail, name="connection"),
]
