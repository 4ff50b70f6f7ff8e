"""Every write of a job's state and progress.

Each is one ``UPDATE ... WHERE`` on the job's row, outside any long transaction,
so a person watching the page sees it move, and each names the state it expects:
a cancelled job is never set running again, and a worker learns that a job was
cancelled when its progress write touches no row.

Work that must be all or nothing (an import) reports progress from inside its own
transaction, where an ``UPDATE`` of the job's row would be seen only at the commit
(and on SQLite would wait for it). There progress and heartbeat go to the ``jobs``
cache instead (Redis when ``CACHE_URL`` is set, else files every process on this
machine shares), and ``jobs.queries.with_live_progress`` lays them over the row.
Cancelling also leaves a mark in that cache, which such work checks between batches.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.cache import caches
from django.db import DatabaseError
from django.utils import timezone

from audit.reasons import clean_reason
from jobs.models import Job, JobKind, JobState

ACTIVE = (JobState.QUEUED, JobState.RUNNING)
# How long a progress or cancel mark stays in the cache: longer than any job's
# heartbeat timeout, shorter than forever.
MARK_SECONDS = 24 * 3600


def progress_key(job_id: UUID | str) -> str:
    return f"job:{job_id}:progress"


def cancel_key(job_id: UUID | str) -> str:
    return f"job:{job_id}:cancel"


def _marks() -> Any:
    return caches["jobs"]


class JobCancelled(Exception):
    """Raised by work that learns between batches that its job was cancelled."""


def job_create(*, user: Any, kind: JobKind, params: dict[str, Any], reason: str = "") -> Job:
    """A queued job; ``ValidationError`` for a reason the trail would refuse."""
    return Job.objects.create(
        kind=kind, created_by=user, params=params, reason=clean_reason(reason)
    )


def job_start(*, job_id: UUID | str, total: int | None) -> bool:
    """Queued -> running; False when the job was cancelled (or ran) meanwhile."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id, state=JobState.QUEUED).update(
            state=JobState.RUNNING, total=total, started_at=now, heartbeat_at=now
        )
    )


def job_progress(*, job_id: UUID | str, done: int, in_work_transaction: bool = False) -> bool:
    """Rows done so far and a heartbeat; False when the job is no longer running
    (cancelled): the worker stops before its next batch.

    An ``UPDATE`` of the job's row; or, from inside the work's own transaction
    (``in_work_transaction``: all-or-nothing work), a mark in the ``jobs`` cache,
    since the row's change would show only at the commit."""
    if in_work_transaction:
        _marks().set(
            progress_key(job_id),
            {"done": done, "heartbeat": timezone.now().isoformat()},
            MARK_SECONDS,
        )
        if _marks().get(cancel_key(job_id)):
            return False
        return Job.objects.filter(pk=job_id, state=JobState.RUNNING).exists()
    return bool(
        Job.objects.filter(pk=job_id, state=JobState.RUNNING).update(
            done=done, heartbeat_at=timezone.now()
        )
    )


def job_succeed(*, job_id: UUID | str, output: str, result: dict[str, Any]) -> bool:
    """Running -> succeeded with its file's storage name."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id, state=JobState.RUNNING).update(
            state=JobState.SUCCEEDED,
            output=output,
            result=result,
            finished_at=now,
            heartbeat_at=now,
        )
    )


def job_fail(*, job_id: UUID | str, error: str) -> bool:
    """Queued or running -> failed, saying why."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id, state__in=ACTIVE).update(
            state=JobState.FAILED, error=error[:2000], finished_at=now
        )
    )


def job_cancel(*, job_id: UUID | str) -> bool:
    """Queued or running -> cancelled; a running job stops between batches.
    False when it had already finished.

    The cache mark comes first: work inside a long transaction reads it between
    batches even where the row's update must wait (SQLite, while an import holds
    the database's one write lock); the worker then marks the job cancelled itself
    after rolling back (``job_stopped``)."""
    _marks().set(cancel_key(job_id), True, MARK_SECONDS)
    try:
        return bool(
            Job.objects.filter(pk=job_id, state__in=ACTIVE).update(
                state=JobState.CANCELLED, finished_at=timezone.now()
            )
        )
    except DatabaseError:
        # The row is locked by the work itself (SQLite): the mark stops it.
        return Job.objects.filter(pk=job_id, state__in=ACTIVE).exists()


def job_stopped(*, job_id: UUID | str) -> bool:
    """Running -> cancelled, written by the worker after it rolled back its work."""
    return bool(
        Job.objects.filter(pk=job_id, state__in=ACTIVE).update(
            state=JobState.CANCELLED, finished_at=timezone.now()
        )
    )
