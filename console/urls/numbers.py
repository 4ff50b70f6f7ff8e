"""/numbers/: the inventory, a number's detail, inline edits, bulk changes, CSV."""

from __future__ import annotations

from django.urls import path

from console import jobs, number_bulk, number_edits, numbers, saved_views
from console.number_fields import INLINE_FIELDS

app_name = "numbers"


urlpatterns = [
    path("", numbers.inventory, name="list"),
    path("export.csv", numbers.export_csv, name="export"),
    # The same export as a background job (console.jobs), for views too big to stream.
    path("export-job", jobs.export_start, name="export_job"),
    # A bulk change's steps (console.number_bulk): choose, review, apply.
    path("bulk/", number_bulk.bulk_choose, name="bulk"),
    path("bulk/review", number_bulk.bulk_review, name="bulk_review"),
    path("bulk/apply", number_bulk.bulk_apply, name="bulk_apply"),
    path("bulk/agent-options", number_bulk.bulk_agent_options, name="bulk_agent_options"),
    # Saved views and the column chooser (console.saved_views).
    path("views/", saved_views.view_save, name="view_save"),
    path("views/<uuid:pk>/", saved_views.view_edit, name="view_edit"),
    path("views/<uuid:pk>/delete", saved_views.view_delete, name="view_delete"),
    path("columns", saved_views.columns, name="columns"),
    path("<uuid:pk>/", numbers.detail, name="detail"),
    path("<uuid:pk>/agent-options", number_edits.agent_options, name="agent_options"),
]
# One save, edit and show route per declared inline field (console.number_fields).
for field in INLINE_FIELDS.values():
    urlpatterns += [
        path(
            f"<uuid:pk>/{field.key}",
            number_edits.save_field,
            {"key": field.key},
            name=f"save_{field.key}",
        ),
        path(
            f"<uuid:pk>/{field.key}/edit",
            number_edits.edit_field,
            {"key": field.key},
            name=f"edit_{field.key}",
        ),
        path(
            f"<uuid:pk>/{field.key}/show",
            number_edits.show_field,
            {"key": field.key},
            name=f"show_{field.key}",
        ),
    ]
