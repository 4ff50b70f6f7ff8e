"""/jobs/: a person's background jobs, each with a page that follows its progress.

The page polls its own progress fragment with htmx every second until the job
finishes; the output downloads through ``job_download`` only (MEDIA_URL serves
nothing), for the job's owner only. Starting an export is ``export_start``, a POST
from the inventory carrying its query string.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from console.access import staff_view
from console.export_tasks import start_export
from console.forms.numbers import NumberFilterForm
from console.lists import PAGE_PARAMS, wants_fragment
from console.queries import column_choice
from jobs.models import Job, JobState
from jobs.queries import (
    LIST_LIMIT,
    job_owned_by,
    job_visible_to,
    jobs_visible_to,
    with_live_progress,
)
from jobs.services import job_cancel

# A query string longer than this is not one the inventory made.
MAX_QUERY_LENGTH = 4_000


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
    return {"elapsed": _rounded(elapsed), "remaining": _rounded(remaining)}


def _rounded(delta: timedelta | None) -> timedelta | None:
    return None if delta is None else timedelta(seconds=round(delta.total_seconds()))


@require_GET
@staff_view()
def job_list(request: HttpRequest) -> HttpResponse:
    """The signed-in user's jobs (a superuser's: everyone's), newest first."""
    jobs = with_live_progress(list(jobs_visible_to(request.user)[:LIST_LIMIT]))
    return render(request, "jobs/list.html", {"jobs": jobs, "limit": LIST_LIMIT})


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
        **_timing(job),
    }
    if wants_fragment(request):
        return render(request, "jobs/_progress.html", context)
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


@require_GET
@staff_view()
def job_download(request: HttpRequest, pk: UUID) -> FileResponse:
    """The job's file, to its owner only; anyone else, and a job without a file, 404."""
    job = job_owned_by(request.user, pk)
    if job is None or job.state != JobState.SUCCEEDED or not job.output:
        raise Http404("No such file.")
    try:
        handle = default_storage.open(job.output.name, "rb")
    except FileNotFoundError as exc:
        raise Http404("The file is gone.") from exc
    stamp = job.created_at.strftime("%Y%m%d-%H%M%S")
    return FileResponse(
        handle, as_attachment=True, filename=f"numbers-{stamp}.csv", content_type="text/csv"
    )


@require_POST
@staff_view("numbers.view_phonenumber")
def export_start(request: HttpRequest) -> HttpResponse:
    """Start a background CSV export of the inventory view in ``query`` and go to its page."""
    query = request.POST.get("query", "").lstrip("?")
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
