"""The inventory's CSV export as a background task (``django.tasks``, via the backport).

It lives in the console, not in ``jobs``, because what it exports is the console's:
the query string is parsed by the inventory's own ``NumberFilterForm`` and the rows
are the streamed export's (``console.numbers.csv_rows``: the chosen columns, cells
escaped for spreadsheets, credentials never selected). ``jobs`` owns what every job
shares: state, progress, cancellation between batches and the file in storage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.http import QueryDict
from django_tasks import task

from console.forms.numbers import NumberFilterForm
from console.number_columns import COLUMNS, DEFAULT_COLUMNS
from console.numbers import csv_rows
from jobs.models import Job, JobKind
from jobs.output import write_csv
from jobs.services import job_create, job_fail, job_start, job_succeed
from phone_numbers import queries

logger = logging.getLogger(__name__)


def export_params(query: str, columns: Sequence[str]) -> dict[str, Any]:
    """What a job keeps to export later exactly what the page showed."""
    return {"query": query, "columns": [c for c in columns if c in COLUMNS]}


def start_export(*, user: Any, query: str, columns: Sequence[str], reason: str = "") -> Job:
    """A queued export job and its task. The job's row is written first (autocommit,
    no request-wide transaction), so the worker that takes the task finds it."""
    job = job_create(
        user=user, kind=JobKind.EXPORT_CSV, params=export_params(query, columns), reason=reason
    )
    export_numbers_csv.enqueue(job_id=str(job.pk))
    return job


@task()
def export_numbers_csv(job_id: str) -> None:
    """Write the job's inventory view to ``exports/<job id>.csv``, in batches."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return
    try:
        _export(job)
    except Exception as exc:
        logger.exception("export job %s failed", job_id)
        job_fail(job_id=job_id, error=_error_text(exc))


def _export(job: Job) -> None:
    form = NumberFilterForm(QueryDict(job.params.get("query", "")))
    sort, desc = form.sort
    queryset = queries.inventory(filters=form.filters(), sort=sort, desc=desc)
    columns = tuple(c for c in job.params.get("columns", ()) if c in COLUMNS) or DEFAULT_COLUMNS
    if not job_start(job_id=job.pk, total=queryset.count()):
        return  # cancelled while queued
    rows = csv_rows(queryset, columns)
    header = next(rows)
    written = write_csv(job_id=job.pk, header=header, rows=rows, name=f"exports/{job.pk}.csv")
    if written is None:
        return  # cancelled between batches: nothing stored
    name, count = written
    job_succeed(job_id=job.pk, output=name, result={"rows": count})


def _error_text(exc: Exception) -> str:
    """What the job page says: a storage problem in its own words (a full disk, an
    unwritable directory), anything else by kind only (the log has the rest)."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"The file could not be written: {exc.strerror}."
    return f"The export failed ({type(exc).__name__}); the server log has the details."
