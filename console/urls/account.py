"""A staff member's own account: the second factor's pages."""

from __future__ import annotations

from django.urls import path

from console import account

app_name = "account"

urlpatterns = [
    path("", account.account_detail, name="detail"),
    path("second-factor/", account.second_factor_verify, name="verify"),
    path("second-factor/setup/", account.second_factor_setup, name="setup"),
]
