"""Reading jobs: a person sees their own; a superuser sees everyone's.

"Stalled" is read here, not stored: a running job whose last sign of life (its
row's heartbeat, or the cache mark of work inside a transaction) is older than
``JOBS_HEARTBEAT_TIMEOUT``. Its worker may have died (``kill -9``, a lost machine)
or may only be slow; a stored state would have to be undone when it beats again,
a derived one simply stops being true.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from jobs.models import Job, JobState
from jobs.services import progress_key, read_marks

# A list page shows the latest jobs; older ones stay reachable by their URL.
LIST_LIMIT = 100


def jobs_visible_to(user: Any) -> QuerySet[Job]:
    """The jobs ``user`` may see, newest first (superusers: all)."""
    queryset = Job.objects.select_related("created_by").order_by("-created_at", "-id")
    return queryset if user.is_superuser else queryset.filter(created_by=user)


def job_visible_to(user: Any, pk: Any) -> Job | None:
    """One job, or None when it does not exist or is someone else's."""
    return jobs_visible_to(user).filter(pk=pk).first()


def job_owned_by(user: Any, pk: Any) -> Job | None:
    """One job of ``user``'s own: what its download needs (owner only, even for superusers)."""
    return Job.objects.filter(pk=pk, created_by=user).first()


def stalled_cutoff(now: datetime | None = None) -> datetime:
    """A running job with no sign of life since this moment is stalled."""
    return (now or timezone.now()) - timedelta(seconds=settings.JOBS_HEARTBEAT_TIMEOUT)


def last_sign_of_life(job: Job) -> datetime:
    """The job's heartbeat; a row without one (never started) counts from its start
    or its creation, so it too can be seen stalled."""
    return job.heartbeat_at or job.started_at or job.created_at


def with_live_progress(jobs: list[Job], *, now: datetime | None = None) -> list[Job]:
    """``jobs`` with the progress that work inside a transaction keeps in the cache
    (``jobs.services.job_progress``) laid over their rows, where it is newer; and
    each job's ``stalled_since``: for a running job silent since before the cutoff,
    its last sign of life; else None."""
    cutoff = stalled_cutoff(now)
    for job in jobs:
        job.stalled_since = None
    running = [job for job in jobs if job.state == JobState.RUNNING]
    if not running:
        return jobs
    marks = read_marks([progress_key(job.pk) for job in running])
    for job in running:
        mark = marks.get(progress_key(job.pk))
        if mark:
            beat = datetime.fromisoformat(mark["heartbeat"])
            if job.heartbeat_at is None or beat > job.heartbeat_at:
                job.done, job.heartbeat_at = mark["done"], beat
        last = last_sign_of_life(job)
        job.stalled_since = last if last < cutoff else None
    return jobs


def health_probe() -> dict[str, Any]:
    """What ``/healthz`` says of the jobs (registered in ``jobs.apps``): how many
    wait and for how long the oldest has, how many run and how many of those stalled.

    One aggregate over the jobs table, then the stalled candidates only (running,
    row heartbeat older than the cutoff: normally none) checked against the cache,
    so a healthy queue never touches the cache at all."""
    now = timezone.now()
    cutoff = stalled_cutoff(now)
    queued = Q(state=JobState.QUEUED)
    figures = Job.objects.aggregate(
        queued=Count("pk", filter=queued),
        oldest=Min("created_at", filter=queued),
        running=Count("pk", filter=Q(state=JobState.RUNNING)),
    )
    candidates = list(
        Job.objects.filter(state=JobState.RUNNING)
        .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
        .only("pk", "state", "heartbeat_at", "started_at", "created_at", "done")
    )
    stalled = sum(job.stalled_since is not None for job in with_live_progress(candidates, now=now))
    oldest = figures["oldest"]
    return {
        "queued": figures["queued"],
        "oldest_queued_seconds": None
        if oldest is None
        else max(0, int((now - oldest).total_seconds())),
        "running": figures["running"],
        "stalled": stalled,
    }
