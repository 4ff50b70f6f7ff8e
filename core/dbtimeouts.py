"""Statement and lock timeouts per kind of work, so a stalled database costs seconds.

Issue 13: with PostgreSQL accepting connections and answering nothing, every
request waited until gunicorn killed its worker. Each way of waiting now has
a bound, and the error it ends in is an ``OperationalError`` that
``core.views`` answers with 503 + Retry-After:

- connecting: libpq's ``connect_timeout`` (settings, ``DB_CONNECT_TIMEOUT``);
- a statement, and a wait for a lock: ``statement_timeout`` and
  ``lock_timeout`` from a profile in ``settings.DATABASE_TIMEOUTS``: ``web``
  (seconds: a person or an API client is waiting), ``command`` (long: a
  migration, an import or a key rotation runs for minutes and may wait for a
  lock a deploy holds) and ``healthz`` (the probe's own, shorter bound);
- a dead network path under an open connection: TCP keepalives (settings);
- a server that stops answering on a connection already open: on the primary,
  gunicorn's ``timeout`` (``gunicorn.conf.py``) kills the worker and starts a
  fresh one; on a replica, ``core.replicas``' watchdog closes the connection
  after ``REPLICA_STALL_SECONDS`` and the read runs again on the primary.

How: a ``connection_created`` receiver gives each new connection its
profile's values with one ``SELECT set_config(...)``. Not the ``options``
startup parameter, because PgBouncer refuses it (issue 20); and being
ordinary settings, the same values can live on the role instead
(``ALTER ROLE switchboard SET statement_timeout = '5s'``):
``DB_TIMEOUTS_PER_SESSION=false`` stops the session SETs, as PgBouncer in
transaction mode needs (a session's SET would stay on a server connection
that other clients then get). ``bounded()`` uses ``SET LOCAL``, which is
safe behind any pooler.

Which profile: ``command`` inside ``long_running()``, which
``LongRunningCommand`` wraps around our long commands' ``execute`` (a future
background worker wraps it around its loop), and in a process started as
``manage.py <name>`` for a name in ``LONG_RUNNING_COMMANDS`` (commands we do
not subclass); ``web`` everywhere else. Entering and leaving
``long_running()`` re-apply the values to connections already open.
A ``long_running()`` entered inside a transaction that then rolls back loses
its SET with it: enter it outside transactions, as ``execute`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from .commandline import started_as

WEB = "web"
COMMAND = "command"
HEALTHZ = "healthz"
# Started as `manage.py <name>` (or `switchboard <name>`): Django's migrate (an index build on a big
# table takes minutes), the benchmark, which VACUUMs the whole database, and the task
# workers (django-tasks-db's db_worker, django-rq's rqworker, whose forked work horses
# inherit the profile), whose jobs count and read whole inventories.
LONG_RUNNING_COMMANDS = frozenset({"migrate", "bench", "db_worker", "rqworker"})

_profile: ContextVar[str] = ContextVar("db_timeout_profile", default=WEB)


def current_profile() -> str:
    """``command`` inside ``long_running()`` or in a long command's process, else ``web``."""
    if _profile.get() == COMMAND or started_as() in LONG_RUNNING_COMMANDS:
        return COMMAND
    return WEB


def apply(connection: BaseDatabaseWrapper, profile: str, *, local: bool = False) -> None:
    """Set a profile's timeouts on an open connection: for its session, or its transaction."""
    if connection.vendor != "postgresql":
        return
    if not local and not settings.DATABASE_TIMEOUTS_PER_SESSION:
        return
    values = settings.DATABASE_TIMEOUTS[profile]
    statement, lock = (f"{int(values[name])}ms" for name in ("statement_timeout", "lock_timeout"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, %s), set_config('lock_timeout', %s, %s)",
            [statement, local, lock, local],
        )


def on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Every new connection starts with the current profile's timeouts (core.apps connects it)."""
    apply(connection, current_profile())


def _reapply() -> None:
    """Give the connections already open the current profile's values."""
    profile = current_profile()
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            continue
        try:
            apply(connection, profile)
        except DatabaseError:
            connection.close()  # its next connection starts with the right values


@contextmanager
def long_running() -> Iterator[None]:
    """Run the block under the ``command`` profile, then restore the previous one."""
    token = _profile.set(COMMAND)
    try:
        _reapply()
        yield
    finally:
        _profile.reset(token)
        _reapply()


@contextmanager
def bounded(profile: str, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block in one transaction under a profile's timeouts (``SET LOCAL``).

    The session keeps its own values afterwards, and nothing outlives the
    transaction, so it works behind PgBouncer in any mode.
    """
    with transaction.atomic(using=using):
        apply(connections[using], profile, local=True)
        yield


class LongRunningCommand(BaseCommand):
    """A management command whose statements run under the ``command`` profile."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        with long_running():
            return super().execute(*args, **options)
