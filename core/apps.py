from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What needs no domain app: pagination, limits, timeouts, middleware, rate-limit counters."""

    name = "core"
    verbose_name = "Switchboard core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from core import dbtimeouts, replicas

        # Statement and lock timeouts on every new connection (issue 13).
        connection_created.connect(dbtimeouts.on_connection_created, dispatch_uid="core.dbtimeouts")
        # A replica's statements end when it stops answering (issue 20).
        connection_created.connect(
            replicas.guard_replica_connection, dispatch_uid="core.replicas.watchdog"
        )
