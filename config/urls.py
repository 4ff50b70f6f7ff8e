"""Top-level URLs: the dashboard, the API under /v1/, the admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("v1/", include("config.api_urls")),
    path("admin/", admin.site.urls),
]
