from __future__ import annotations

from django.urls import path

from . import views

app_name = "numbers"

urlpatterns = [
    path("", views.inventory, name="list"),
    path("export.csv", views.export_csv, name="export"),
    path("<uuid:pk>/", views.detail, name="detail"),
]
