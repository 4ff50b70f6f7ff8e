from __future__ import annotations

from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Agents and connections"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .tenancy import ensure_sqlite_triggers

        # Schema upkeep, not business logic: SQLite loses triggers on table rebuilds.
        post_migrate.connect(ensure_sqlite_triggers, dispatch_uid="agents.same_owner_triggers")
