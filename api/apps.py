from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        from . import openapi_auth  # noqa: F401 - registers the OpenAPI bearer scheme
