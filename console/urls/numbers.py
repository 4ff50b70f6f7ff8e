"""/numbers/: the inventory, a number's detail, inline edits, bulk assignment, CSV."""

from __future__ import annotations

from django.urls import path

from console import number_edits, numbers

app_name = "numbers"


urlpatterns = [
    path("", numbers.inventory, name="list"),
    path("export.csv", numbers.export_csv, name="export"),
    path("bulk/agent", number_edits.bulk_assign_agent, name="bulk_agent"),
    path("bulk/agent-options", number_edits.bulk_agent_options, name="bulk_agent_options"),
    path("<uuid:pk>/", numbers.detail, name="detail"),
    path("<uuid:pk>/agent-options", number_edits.agent_options, name="agent_options"),
]
for field in ("label", "agent"):
    urlpatterns += [
        path(f"<uuid:pk>/{field}", number_edits.save_field, {"field": field}, name=f"save_{field}"),
        path(
            f"<uuid:pk>/{field}/edit",
            number_edits.edit_field,
            {"field": field},
            name=f"edit_{field}",
        ),
        path(
            f"<uuid:pk>/{field}/show",
            number_edits.show_field,
            {"field": field},
            name=f"show_{field}",
        ),
    ]
