"""A staff member's own account: the second factor's pages."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "account"

urlpatterns = [
    path("", views.account_detail, name="detail"),
    path("second-factor/", views.second_factor_verify, name="verify"),
    path("second-factor/setup/", views.second_factor_setup, name="setup"),
]
