"""The inventory's exports as background tasks (``django.tasks``, via the backport).

They live in the console, not in ``jobs``, because what they export is the console's:
the query string is parsed by the inventory's own ``NumberFilterForm`` (filters,
search, sort). A CSV holds the streamed export's rows (``console.numbers.csv_rows``:
the chosen columns, cells escaped for spreadsheets, credentials never selected); a
JSON file holds every number of the view in the upstream page shape,
``{"items": [...]}`` as ``GET /v1/numbers/list`` answers and ``import_numbers``
takes back, rendered by the API's own read path (``phone_numbers.present``: masked,
the agents' and connections' stored JSON embedded as it is), a batch at a time.
``jobs`` owns what every job shares: state, progress, cancellation between batches
and the file in storage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django_tasks import task

from console.forms.numbers import NumberFilterForm
from console.number_columns import COLUMNS, DEFAULT_COLUMNS, csv_fields
from console.numbers import csv_lines, csv_rows
from core.encoding import encode
from jobs.models import Job, JobKind
from jobs.output import JSON_BATCH_ROWS, write_csv, write_csv_lines, write_json_items
from jobs.services import job_create, job_enqueue, job_start, job_succeed, run_job
from phone_numbers import queries
from phone_numbers.models import PhoneNumber
from phone_numbers.present import documents, number_rows

logger = logging.getLogger(__name__)

# The formats an export is offered in (the inventory's choice), each its job's kind.
EXPORT_KINDS: dict[str, JobKind] = {"csv": JobKind.EXPORT_CSV, "json": JobKind.EXPORT_JSON}


def export_params(query: str, columns: Sequence[str]) -> dict[str, Any]:
    """What a job keeps to export later exactly what the page showed."""
    return {"query": query, "columns": [c for c in columns if c in COLUMNS]}


def start_export(
    *,
    user: Any,
    query: str,
    columns: Sequence[str],
    reason: str = "",
    kind: JobKind = JobKind.EXPORT_CSV,
) -> Job:
    """A queued export job (``kind``: CSV or JSON) and its task. The job's row is
    written first (autocommit, no request-wide transaction), so the worker that
    takes the task finds it. A JSON export has every field: the columns are kept
    only so that the job records the view as it was shown."""
    if kind not in EXPORT_KINDS.values():
        raise ValueError(f"{kind!r} is not an export")
    job = job_create(user=user, kind=kind, params=export_params(query, columns), reason=reason)
    task = export_numbers_json if kind == JobKind.EXPORT_JSON else export_numbers_csv
    job_enqueue(job, task)
    return job


@task()
def export_numbers_csv(job_id: str) -> None:
    """Write the job's inventory view to ``exports/<job id>.csv``, in batches."""
    run_job(job_id, _export_csv, what="export")


@task()
def export_numbers_json(job_id: str) -> None:
    """Write the job's inventory view to ``exports/<job id>.json``, in batches."""
    run_job(job_id, _export_json, what="export")


def _view(job: Job) -> QuerySet[PhoneNumber] | None:
    """The job's inventory view (filters, search, sort), once the job is running;
    None when it was cancelled while queued."""
    form = NumberFilterForm(QueryDict(job.params.get("query", "")))
    sort, desc = form.sort
    queryset = queries.inventory(filters=form.filters(), sort=sort, desc=desc)
    if not job_start(job_id=job.pk, total=queryset.count()):
        return None
    return queryset


def _export_csv(job: Job) -> None:
    queryset = _view(job)
    if queryset is None:
        return
    columns = tuple(c for c in job.params.get("columns", ()) if c in COLUMNS) or DEFAULT_COLUMNS
    name = f"exports/{job.pk}.csv"
    # PostgreSQL writes the lines where it can (console.numbers.csv_lines), the same
    # bytes as the streamed export's rows written here.
    lines = csv_lines(queryset, columns)
    if lines is not None:
        header = [f.header for f in csv_fields(columns)]
        written = write_csv_lines(job_id=job.pk, header=header, lines=lines, name=name)
    else:
        rows = csv_rows(queryset, columns)
        header = next(rows)
        written = write_csv(job_id=job.pk, header=header, rows=rows, name=name)
    _finish(job, written)


def _export_json(job: Job) -> None:
    queryset = _view(job)
    if queryset is None:
        return
    # The API's own rows and rendering: values() of the number's columns, then per
    # batch one query for the stored JSON of the batch's agents and connections.
    rows = number_rows(queryset).iterator(chunk_size=JSON_BATCH_ROWS)
    written = write_json_items(
        job_id=job.pk, rows=rows, render=_json_batch, name=f"exports/{job.pk}.json"
    )
    _finish(job, written)


def _json_batch(batch: list[dict[str, Any]]) -> bytes:
    """A batch of ``number_rows`` as the API's items, one encoded JSON array."""
    return encode(documents(batch))


def _finish(job: Job, written: tuple[str, int] | None) -> None:
    if written is None:
        return  # cancelled between batches: nothing stored
    name, count = written
    job_succeed(job_id=job.pk, output=name, result={"rows": count})
