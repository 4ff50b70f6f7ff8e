"""Which task runs each kind of job: what Retry needs to start a job's work again.

A job records what a person asked for (kind, params, reason); the task that does
it is delivery code (``console.export_tasks`` parses the inventory's query string).
``RUNNERS`` maps each kind to a function that enqueues the right task for an
existing ``Job``; ``REQUIRED_PERMISSIONS`` says what a person must hold to start
that kind again, so Retry never grants more than starting it did (a support user
may re-run an export, not an import). A kind without a runner is not retried: the
page says so instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from console import bulk_tasks, export_tasks
from jobs import imports
from jobs.models import Job, JobKind
from jobs.services import job_enqueue

Runner = Callable[[Job], None]


def _export_csv(job: Job) -> None:
    job_enqueue(job, export_tasks.export_numbers_csv)


def _export_json(job: Job) -> None:
    job_enqueue(job, export_tasks.export_numbers_json)


def _import_preview(job: Job) -> None:
    job_enqueue(job, imports.preview_import)


def _import_apply(job: Job) -> None:
    # The same preview's plan: what the person read is still what is written.
    job_enqueue(job, imports.apply_import)


def _bulk_edit(job: Job) -> None:
    # The same reviewed (id, version) targets: numbers the first run changed are
    # refused as changed since the review, so nothing is written twice.
    job_enqueue(job, bulk_tasks.apply_bulk_job)


RUNNERS: dict[str, Runner] = {
    JobKind.EXPORT_CSV.value: _export_csv,
    JobKind.EXPORT_JSON.value: _export_json,
    JobKind.IMPORT_PREVIEW.value: _import_preview,
    JobKind.IMPORT_APPLY.value: _import_apply,
    JobKind.BULK_EDIT.value: _bulk_edit,
}

# Model permissions (besides being staff) to retry a kind: what starting it asks.
# Every kind in RUNNERS must be here (tests/jobs/test_ops_retry.py checks).
REQUIRED_PERMISSIONS: dict[str, tuple[str, ...]] = {
    JobKind.EXPORT_CSV.value: ("numbers.view_phonenumber",),
    JobKind.EXPORT_JSON.value: ("numbers.view_phonenumber",),
    JobKind.IMPORT_PREVIEW.value: ("numbers.view_phonenumber", "numbers.change_phonenumber"),
    JobKind.IMPORT_APPLY.value: ("numbers.view_phonenumber", "numbers.change_phonenumber"),
    JobKind.BULK_EDIT.value: ("numbers.view_phonenumber", "numbers.change_phonenumber"),
}


def runner_for(kind: str) -> Runner | None:
    """The function that enqueues ``kind``'s task, or None when there is none."""
    return RUNNERS.get(kind)


def may_rerun(user: Any, kind: str) -> bool:
    """Whether ``user`` may start ``kind`` again: a runner exists and they hold what
    starting it asks (no entry: nobody but a superuser)."""
    if kind not in RUNNERS:
        return False
    needed = REQUIRED_PERMISSIONS.get(kind)
    return user.is_superuser if needed is None else user.has_perms(needed)
