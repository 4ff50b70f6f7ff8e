"""/audit/: the trail, its CSV export, and reverting an entry."""

from __future__ import annotations

from django.urls import path

from console import audit

app_name = "audit"

urlpatterns = [
    path("", audit.audit_list, name="list"),
    path("export.csv", audit.audit_export, name="export"),
    path("<int:pk>/revert", audit.revert_entry, name="revert"),
]
