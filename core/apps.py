from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared pieces without models: API errors, pagination, access, template tags."""

    name = "core"
    verbose_name = "Switchboard core"
