"""/jobs/: a person's background jobs, each with a page that follows its progress.

The page polls its own progress fragment with htmx every second until the job
finishes; the output downloads through ``job_download`` only (MEDIA_URL serves
nothing), for the job's owner only, until it expires. Starting an export is
``export_start``, a POST from the inventory carrying its query string; Retry
(``job_retry_view``) runs a failed, cancelled or stalled job again as a new job.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from console.access import staff_view
from console.export_tasks import EXPORT_KINDS, start_export
from console.forms.numbers import NumberFilterForm
from console.job_runners import may_rerun, runner_for
from console.lists import PAGE_PARAMS, wants_fragment
from console.queries import column_choice
from jobs.models import Job, JobKind, JobState
from jobs.queries import (
    LIST_LIMIT,
    job_owned_by,
    job_visible_to,
    jobs_visible_to,
    stalled_cutoff,
    with_live_progress,
)
from jobs.services import RETRYABLE, RetryRefused, job_cancel, job_fail, job_retry

log = logging.getLogger(__name__)

# A query string longer than this is not one the inventory made.
MAX_QUERY_LENGTH = 4_000
# A job's file as downloaded: its extension and content type, by the job's kind.
DOWNLOAD_TYPES: dict[str, tuple[str, str]] = {
    JobKind.EXPORT_CSV: ("csv", "text/csv"),
    JobKind.EXPORT_JSON: ("json", "application/json"),
}


def _visible_job(request: HttpRequest, pk: UUID) -> Job:
    job = job_visible_to(request.user, pk)
    if job is None:
        raise Http404("No such job.")
    return with_live_progress([job])[0]


def _timing(job: Job) -> dict[str, Any]:
    """Elapsed time and, while running, the time left at the rate so far."""
    if job.started_at is None:
        return {"elapsed": None, "remaining": None}
    elapsed = (job.finished_at or timezone.now()) - job.started_at
    remaining = None
    if job.state == JobState.RUNNING and job.total and 0 < job.done < job.total:
        remaining = elapsed * ((job.total - job.done) / job.done)
    return {"elapsed": _rounded(elapsed), "remaining": _estimate(remaining)}


def _rounded(delta: timedelta | None) -> timedelta | None:
    return None if delta is None else timedelta(seconds=round(delta.total_seconds()))


def _estimate(delta: timedelta | None) -> timedelta | None:
    """Time left as an estimate reads: to 5 s under two minutes, to the minute after
    (a countdown that jumps by a second each poll promises more than the rate knows)."""
    if delta is None:
        return None
    seconds = delta.total_seconds()
    step = 5 if seconds < 120 else 60
    return timedelta(seconds=max(step, step * round(seconds / step)))


@require_GET
@staff_view()
def job_list(request: HttpRequest) -> HttpResponse:
    """The signed-in user's jobs (a superuser's: everyone's), newest first."""
    jobs = with_live_progress(list(jobs_visible_to(request.user)[:LIST_LIMIT]))
    return render(request, "jobs/list.html", {"jobs": jobs, "limit": LIST_LIMIT})


def _expired(job: Job) -> bool:
    return job.expires_at is not None and job.expires_at <= timezone.now()


def _retry_offer(request: HttpRequest, job: Job) -> dict[str, bool]:
    """Whether the page offers Retry (failed, cancelled or stalled, and the viewer
    may start that kind), or says that this kind cannot be run again from here."""
    ended = job.state in RETRYABLE or job.stalled_since is not None
    return {
        "can_retry": ended and may_rerun(request.user, job.kind),
        "no_runner": ended and runner_for(job.kind) is None,
    }


@require_GET
@vary_on_headers("HX-Request")
@staff_view()
def job_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    """A job's page, or its progress fragment for the page's own polling."""
    job = _visible_job(request, pk)
    context = {
        "job": job,
        "owns": job.created_by_id == request.user.pk,
        # An import preview's Apply (console.imports): number admins only.
        "can_apply": request.user.has_perm("numbers.change_phonenumber"),
        "expired": _expired(job),
        **_retry_offer(request, job),
        **_timing(job),
    }
    if wants_fragment(request):
        return render(request, "jobs/_progress.html", context)
    visible = jobs_visible_to(request.user)
    context["retry_of"] = visible.filter(pk=job.retry_of_id).first() if job.retry_of_id else None
    context["retries"] = list(visible.filter(retry_of=job).order_by("created_at", "id"))
    return render(request, "jobs/detail.html", context)


@require_POST
@staff_view()
def job_cancel_view(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Cancel a queued or running job (a running one stops before its next batch)."""
    job = _visible_job(request, pk)
    if job_cancel(job_id=job.pk):
        messages.success(request, "Job cancelled.")
    else:
        messages.info(request, "The job had already finished.")
    return redirect("jobs:detail", pk=job.pk)


@require_POST
@staff_view()
def job_retry_view(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Run a failed, cancelled or stalled job again as a new job, and go to its page.

    The job's owner or a superuser (anyone else: 404, as for its page); the new job
    is the retrying person's. A stalled job is first marked failed, unless it beat
    again meanwhile (``jobs.services.job_retry``). A kind without a runner, or a job
    that may not be retried, goes back to the job's page with a message saying why."""
    job = _visible_job(request, pk)
    runner = runner_for(job.kind)
    if runner is None:
        messages.error(
            request,
            f"A {job.get_kind_display()} job cannot be run again from here; start it anew.",
        )
        return redirect("jobs:detail", pk=job.pk)
    if not may_rerun(request.user, job.kind):
        raise PermissionDenied("Your account may not start this kind of job.")
    try:
        retry = job_retry(job_id=job.pk, user=request.user, stalled_before=stalled_cutoff())
    except RetryRefused as refusal:
        messages.info(request, refusal.message)
        return redirect("jobs:detail", pk=job.pk)
    try:
        runner(retry)
    # Whatever the queue raised (its table, Redis): the new job says so, not a 500.
    except Exception:
        log.exception("could not enqueue retry %s of job %s", retry.pk, job.pk)
        job_fail(job_id=retry.pk, error="The job could not be queued; try again in a moment.")
        messages.error(request, "The job could not be queued; try again in a moment.")
    else:
        messages.success(request, "Started again as a new job.")
    return redirect("jobs:detail", pk=retry.pk)


@require_GET
@staff_view()
def job_download(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The job's file, to its owner only, until it expires (then 410, and the file
    is never served, even before ``purge_exports`` has deleted it); anyone else,
    and a job without a file, 404."""
    job = job_owned_by(request.user, pk)
    if job is None or job.state != JobState.SUCCEEDED:
        raise Http404("No such file.")
    if _expired(job):
        return render(request, "jobs/expired.html", {"job": job}, status=410)
    if not job.output:
        raise Http404("No such file.")
    try:
        handle = default_storage.open(job.output.name, "rb")
    except FileNotFoundError as exc:
        raise Http404("The file is gone.") from exc
    stamp = job.created_at.strftime("%Y%m%d-%H%M%S")
    extension, content_type = DOWNLOAD_TYPES.get(job.kind, DOWNLOAD_TYPES[JobKind.EXPORT_CSV])
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"numbers-{stamp}.{extension}",
        content_type=content_type,
    )


@require_POST
@staff_view("numbers.view_phonenumber")
def export_start(request: HttpRequest) -> HttpResponse:
    """Start a background export of the inventory view in ``query`` (``format``: csv,
    the default, or json) and go to its page."""
    query = request.POST.get("query", "").lstrip("?")
    kind = EXPORT_KINDS.get(request.POST.get("format") or "csv")
    if kind is None:
        messages.error(request, "Choose CSV or JSON to export.")
        return redirect("numbers:list")
    if len(query) > MAX_QUERY_LENGTH:
        messages.error(request, "That view's address is too long to export.")
        return redirect("numbers:list")
    params = _without_paging(query)
    form = NumberFilterForm(params)
    columns = form.value("cols") or column_choice(request.user)
    # Re-encoded, never echoed: a NUL or a line break stays %-escaped in the stored
    # JSON (PostgreSQL refuses \u0000) and in the Location header.
    query = params.urlencode()
    try:
        job = start_export(
            user=request.user,
            query=query,
            columns=columns,
            reason=request.POST.get("reason", ""),
            kind=kind,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(f"{reverse('numbers:list')}?{query}")
    return redirect("jobs:detail", pk=job.pk)


def _without_paging(query: str) -> QueryDict:
    """The query string as a QueryDict, less its paging: an export is every page."""
    params = QueryDict(query, mutable=True)
    for name in PAGE_PARAMS:
        params.pop(name, None)
    return params
