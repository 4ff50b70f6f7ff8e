"""Top-level URLs: the dashboard, the API under /v1/, the admin."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="numbers:list"), name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("numbers/", include("phone_numbers.urls")),
    path("audit/", include("audit.urls")),
    path("", include("agents.urls")),
    path("v1/", include("config.api_urls")),
    path("admin/", admin.site.urls),
]
