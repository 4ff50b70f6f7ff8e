from __future__ import annotations

from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Agents and connections"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate, pre_migrate

        from .tenancy import drop_sqlite_triggers, ensure_sqlite_triggers

        # Schema upkeep, not business logic: SQLite table rebuilds and our
        # cross-table triggers do not mix, so they step aside during migrate.
        pre_migrate.connect(drop_sqlite_triggers, dispatch_uid="agents.drop_same_owner_triggers")
        post_migrate.connect(ensure_sqlite_triggers, dispatch_uid="agents.same_owner_triggers")
