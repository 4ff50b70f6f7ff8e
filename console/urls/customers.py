"""/customers/: one customer account's page."""

from __future__ import annotations

from django.urls import path

from console import customers

app_name = "customers"

urlpatterns = [
    path("<uuid:pk>/", customers.customer_detail, name="detail"),
]
