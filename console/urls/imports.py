"""/imports/: upload a file for a previewed import, and apply a preview (console.imports)."""

from __future__ import annotations

from django.urls import path

from console import imports

app_name = "imports"

urlpatterns = [
    path("new", imports.import_new, name="new"),
    path("<uuid:pk>/apply", imports.import_apply, name="apply"),
]
