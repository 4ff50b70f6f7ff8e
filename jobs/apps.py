from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Background jobs: what a person started, how far it got, what it produced."""

    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import health, metrics
        from jobs.metrics import collect
        from jobs.queries import health_probe

        # /healthz reports the queue (core cannot import jobs: it asks what registered).
        health.register("jobs", health_probe)
        # /metrics too, with the failures by kind (core.metrics, at scrape time).
        metrics.register("jobs", collect)
