from __future__ import annotations

from django.urls import path

from . import edit_views, views

app_name = "numbers"


urlpatterns = [
    path("", views.inventory, name="list"),
    path("export.csv", views.export_csv, name="export"),
    path("bulk/agent", edit_views.bulk_assign_agent, name="bulk_agent"),
    path("bulk/agent-options", edit_views.bulk_agent_options, name="bulk_agent_options"),
    path("<uuid:pk>/", views.detail, name="detail"),
    path("<uuid:pk>/agent-options", edit_views.agent_options, name="agent_options"),
]
for field in ("label", "agent"):
    urlpatterns += [
        path(f"<uuid:pk>/{field}", edit_views.save_field, {"field": field}, name=f"save_{field}"),
        path(
            f"<uuid:pk>/{field}/edit", edit_views.edit_field, {"field": field}, name=f"edit_{field}"
        ),
        path(
            f"<uuid:pk>/{field}/show", edit_views.show_field, {"field": field}, name=f"show_{field}"
        ),
    ]
