"""Every write of a job's state and progress.

Each is one ``UPDATE ... WHERE`` on the job's row, outside any long transaction,
so a person watching the page sees it move, and each names the state it expects:
a cancelled job is never set running again, and a worker learns that a job was
cancelled when its progress write touches no row.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from audit.reasons import clean_reason
from jobs.models import Job, JobKind, JobState

ACTIVE = (JobState.QUEUED, JobState.RUNNING)


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


def job_progress(*, job_id: UUID | str, done: int) -> bool:
    """Rows done so far and a heartbeat; False when the job is no longer running
    (cancelled): the worker stops before its next batch."""
    with transaction.atomic():  # its own short transaction, committed at once
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
    False when it had already finished."""
    return bool(
        Job.objects.filter(pk=job_id, state__in=ACTIVE).update(
            state=JobState.CANCELLED, finished_at=timezone.now()
        )
    )
