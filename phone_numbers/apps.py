from __future__ import annotations

from django.apps import AppConfig


class NumbersConfig(AppConfig):
    # The package is phone_numbers because a top-level package named "numbers"
    # would shadow Python's standard library module; everything else is "numbers".
    name = "phone_numbers"
    label = "numbers"
    verbose_name = "Phone numbers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import dependents, upkeep

        # Deleting an agent or a connection unlinks the numbers that use it first,
        # each a versioned, audited write (agents.services.graph_object_delete).
        dependents.register()
        # A write of the agent graph keeps the numbers' health columns and the
        # dependent counts (phone_numbers.upkeep).
        upkeep.register()
