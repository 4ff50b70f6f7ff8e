"""The public API under /v1/, compatible with the upstream platform's."""

from __future__ import annotations

from django.urls import path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from api import agents as agents_api
from api import numbers as numbers_api
from api.base import api_not_found

app_name = "api"

urlpatterns = [
    path("numbers/list", numbers_api.number_list, name="numbers_list"),
    path("numbers/update", numbers_api.number_update, name="numbers_update"),
    path("numbers", numbers_api.number_detail, name="numbers_get"),
    path("agents/list", agents_api.agent_list, name="agents_list"),
    path("agents", agents_api.agent_detail, name="agents_get"),
    path(
        "openapi.json",
        SpectacularJSONAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="schema",
    ),
    path(
        "docs",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", authentication_classes=[], permission_classes=[]
        ),
        name="docs",
    ),
    re_path(r"^.*$", api_not_found),
]
