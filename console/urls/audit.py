"""/audit/: the trail and its CSV export."""

from __future__ import annotations

from django.urls import path

from console import audit

app_name = "audit"

urlpatterns = [
    path("", audit.audit_list, name="list"),
    path("export.csv", audit.audit_export, name="export"),
]
