"""Reading jobs: a person sees their own; a superuser sees everyone's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.cache import caches
from django.db.models import QuerySet

from jobs.models import Job, JobState
from jobs.services import progress_key

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


def with_live_progress(jobs: list[Job]) -> list[Job]:
    """``jobs`` with the progress that work inside a transaction keeps in the cache
    (``jobs.services.job_progress``) laid over their rows, where it is newer."""
    running = [job for job in jobs if job.state == JobState.RUNNING]
    if not running:
        return jobs
    marks = caches["jobs"].get_many([progress_key(job.pk) for job in running])
    for job in running:
        mark = marks.get(progress_key(job.pk))
        if not mark:
            continue
        beat = datetime.fromisoformat(mark["heartbeat"])
        if job.heartbeat_at is None or beat > job.heartbeat_at:
            job.done, job.heartbeat_at = mark["done"], beat
    return jobs
