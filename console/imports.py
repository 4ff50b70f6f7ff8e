"""/imports/: upload a file, read its preview on the job's page, apply it.

Number admins only (``numbers.change_phonenumber``). The upload is stored and its
dry run queued as a job (``jobs.imports``); the job page shows the preview when it
finishes, and Apply queues an apply job that writes exactly that, or nothing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from console.access import staff_view
from console.forms.imports import ImportApplyForm, ImportUploadForm
from jobs.imports import ApplyRefused, start_apply, start_preview
from jobs.models import JobKind
from jobs.queries import job_owned_by

VIEW = "numbers.view_phonenumber"
CHANGE = "numbers.change_phonenumber"


@csrf_exempt  # checked below, after the size: the CSRF check would read the whole body
@require_http_methods(["GET", "POST"])
@staff_view(VIEW, CHANGE)
def import_new(request: HttpRequest) -> HttpResponse:
    """The upload form; a valid upload starts its preview and goes to the job's page.

    A body larger than the limit (by its Content-Length) is refused before a byte
    of it is read: a 5 GB upload costs the server its headers. A body without a
    length is read, to a temporary file, and refused by the form.
    """
    if request.method == "POST" and _declared_length(request) > settings.IMPORT_MAX_BYTES + 65_536:
        refusal = (
            f"The file is larger than the most an import takes "
            f"({filesizeformat(settings.IMPORT_MAX_BYTES)}). Split it into several files."
        )
        context = {**_context(ImportUploadForm()), "upload_error": refusal}
        response = render(request, "imports/new.html", context, status=413)
        response["Connection"] = "close"  # the unread body is not this server's to drain
        return response
    return csrf_protect(_import_new)(request)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _import_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = start_preview(
                    user=request.user,
                    upload=upload,
                    fmt=form.cleaned_data["format"],
                    filename=upload.name or "",
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                form.add_error("reason", exc)
            else:
                return redirect("jobs:detail", pk=job.pk)
        status = 400
    else:
        form = ImportUploadForm()
        status = 200
    return render(request, "imports/new.html", _context(form), status=status)


def _context(form: ImportUploadForm) -> dict[str, Any]:
    return {"form": form, "section": "jobs", "max_bytes": settings.IMPORT_MAX_BYTES}


@require_POST
@staff_view(VIEW, CHANGE)
def import_apply(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Apply a finished preview of the user's own (once)."""
    preview = job_owned_by(request.user, pk)
    if preview is None or preview.kind != JobKind.IMPORT_PREVIEW:
        raise Http404("No such preview.")
    form = ImportApplyForm(request.POST)
    form.is_valid()
    try:
        job = start_apply(
            user=request.user,
            preview=preview,
            skip_refused=form.cleaned_data.get("skip_refused", False),
        )
    except ApplyRefused as refused:
        messages.error(request, str(refused))
        return redirect("jobs:detail", pk=preview.pk)
    return redirect("jobs:detail", pk=job.pk)
