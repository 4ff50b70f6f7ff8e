from __future__ import annotations

from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """``seed_demo``, ``demo_logins`` and ``bench``: development only, no models."""

    name = "devtools"
    verbose_name = "Development tools"
