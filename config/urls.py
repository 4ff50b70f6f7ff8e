"""Top-level URLs: the dashboard, the API under /v1/, the admin."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from console.overview import overview_page
from core import metrics as core_metrics
from core import views as core_views

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"


class FaviconView(RedirectView):
    """Browsers ask for /favicon.ico on pages that name no icon (the admin, error
    pages): the console's icon, by its hashed static URL (known at request time)."""

    permanent = False

    def get_redirect_url(self, *args: Any, **kwargs: Any) -> str:
        return static("favicon.svg")


urlpatterns = [
    # The benchmark's DRF peers, served like the API (devtools: development only).
    *([path("v1/_bench/", include("devtools.urls"))] if apps.is_installed("devtools") else []),
    path("healthz", core_views.healthz, name="healthz"),
    # Prometheus (core.metrics): off (404) unless METRICS_TOKEN is set; then bearer-only.
    path("metrics", core_metrics.metrics, name="metrics"),
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("", overview_page, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", include("console.urls.account")),
    path("numbers/", include("console.urls.numbers")),
    path("audit/", include("console.urls.audit")),
    path("jobs/", include("console.urls.jobs")),
    path("imports/", include("console.urls.imports")),
    path("customers/", include("console.urls.customers")),
    path("", include("console.urls.agents")),
    path("v1/", include("api.urls")),
    path("admin/", admin.site.urls),
]
