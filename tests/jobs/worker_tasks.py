"""A test-only task a real worker imports and runs (tests/jobs/test_real_workers.py).

It stands in for all-or-nothing work (an import) until that work has a task of its
own: its writes happen inside one transaction, and its progress goes to the jobs
cache from in there, as ``jobs.services.job_progress`` asks of such work.
"""

from __future__ import annotations

from django.db import connection, transaction
from django_tasks import task

from jobs.services import job_progress, job_start, job_succeed
from phone_numbers.models import PhoneNumber


@task()
def add_numbers_in_one_transaction(job_id: str, owner_id: str, numbers: list[str]) -> None:
    """Insert ``numbers`` for the owner in one transaction: all of them, or none.

    Started (and a heartbeat) on the job's row first, outside the transaction; the
    progress from inside it goes to the cache. A worker run with
    ``pause_after_progress=1`` stops at that write, every row inserted and none
    committed."""
    if not job_start(job_id=job_id, total=len(numbers)):
        return
    with transaction.atomic():
        PhoneNumber.objects.bulk_create(
            PhoneNumber(user_id=owner_id, number=number, telephony_provider="twilio")
            for number in numbers
        )
        if not job_progress(job_id=job_id, done=len(numbers), in_work_transaction=True):
            transaction.set_rollback(True)
            return
    job_succeed(job_id=job_id, output="", result={"rows": len(numbers)})


@task()
def report_database_timeouts(job_id: str) -> None:
    """Succeed with the statement and lock timeouts (ms) the worker's connection has:
    long work must run under the ``command`` profile (core.dbtimeouts), not the few
    seconds a web request gets."""
    if not job_start(job_id=job_id, total=None):
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, setting FROM pg_settings"
            " WHERE name IN ('statement_timeout', 'lock_timeout')"
        )
        timeouts = {name: int(setting) for name, setting in cursor.fetchall()}
    job_succeed(job_id=job_id, output="", result=timeouts)
