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

A job's file may be downloaded until ``expires_at`` (set when it succeeds,
``JOBS_EXPORT_TTL_HOURS`` later); ``job_outputs_purge`` deletes the files past it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.reasons import clean_reason
from audit.services import Actor
from core.dbtimeouts import long_running
from core.replicas import pin_user
from jobs.models import Job, JobKind, JobState

log = logging.getLogger(__name__)

ACTIVE = (JobState.QUEUED, JobState.RUNNING)
# What Retry accepts besides a stalled (running, silent) job.
RETRYABLE = (JobState.FAILED, JobState.CANCELLED)
# Jobs looked at per query by the purge (keyset over the primary key).
PURGE_BATCH = 500
# How long a progress or cancel mark stays in the cache: longer than any job's
# heartbeat timeout, shorter than forever.
MARK_SECONDS = 24 * 3600


def progress_key(job_id: UUID | str) -> str:
    return f"job:{job_id}:progress"


def cancel_key(job_id: UUID | str) -> str:
    return f"job:{job_id}:cancel"


def read_marks(keys: list[str]) -> dict[str, Any]:
    """The cache marks under ``keys`` ({} when the cache cannot be reached: a page
    shows the row's progress then, rather than an error)."""
    try:
        return caches["jobs"].get_many(keys)
    except Exception as exc:  # Redis down, a full disk: the marks are a nicety
        log.warning("jobs cache unreadable: %s", type(exc).__name__)
        return {}


def write_mark(key: str, value: Any) -> bool:
    """Set a cache mark; False (logged) when the cache cannot be reached."""
    try:
        caches["jobs"].set(key, value, MARK_SECONDS)
    except Exception as exc:
        log.warning("jobs cache unwritable: %s", type(exc).__name__)
        return False
    return True


class JobCancelled(Exception):
    """Raised by work that learns between batches that its job was cancelled."""


def job_create(*, user: Any, kind: JobKind, params: dict[str, Any], reason: str = "") -> Job:
    """A queued job; ``ValidationError`` for a reason the trail would refuse."""
    return Job.objects.create(
        kind=kind, created_by=user, params=params, reason=clean_reason(reason)
    )


QUEUE_UNREACHABLE = (
    "The job queue could not be reached, so this job never started. "
    "Nothing was changed; retry it when the queue is back."
)


def job_enqueue(job: Job, task: Any) -> bool:
    """Hand ``job`` to a worker through ``task`` (a django-tasks task taking ``job_id``).

    The one place every job is queued. A queue that cannot be reached (RQ's Redis
    away, the task table unwritable) fails the job at once with a reason the page
    shows, instead of a 5xx with a queued job no worker will ever take. False then.
    """
    try:
        task.enqueue(job_id=str(job.pk))
    except (redis.RedisError, DatabaseError, OSError) as exc:
        log.warning("job %s not queued: %s", job.pk, exc.__class__.__name__)
        job_fail(job_id=job.pk, error=QUEUE_UNREACHABLE)
        return False
    return True


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
        write_mark(progress_key(job_id), {"done": done, "heartbeat": timezone.now().isoformat()})
        if read_marks([cancel_key(job_id)]):
            return False
        return Job.objects.filter(pk=job_id, state=JobState.RUNNING).exists()
    return bool(
        Job.objects.filter(pk=job_id, state=JobState.RUNNING).update(
            done=done, heartbeat_at=timezone.now()
        )
    )


def job_succeed(*, job_id: UUID | str, output: str, result: dict[str, Any]) -> bool:
    """Running -> succeeded with its file's storage name, downloadable for
    ``JOBS_EXPORT_TTL_HOURS`` from now (no file, no expiry)."""
    now = timezone.now()
    expires = now + timedelta(hours=settings.JOBS_EXPORT_TTL_HOURS) if output else None
    return bool(
        Job.objects.filter(pk=job_id, state=JobState.RUNNING).update(
            state=JobState.SUCCEEDED,
            output=output,
            result=result,
            finished_at=now,
            heartbeat_at=now,
            expires_at=expires,
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
    write_mark(cancel_key(job_id), True)
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


class RetryRefused(Exception):
    """Why a job may not be run again, in words for the person who asked;
    ``retry`` is the job already running it again, when that is the reason."""

    def __init__(self, message: str, *, retry: Job | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry


def _latest_beat(job: Job) -> datetime:
    """The job's last sign of life: its row's heartbeat or its cache mark, whichever
    is newer (``jobs.queries.with_live_progress`` reads them the same way)."""
    beat = job.heartbeat_at or job.started_at or job.created_at
    mark = read_marks([progress_key(job.pk)]).get(progress_key(job.pk))
    if mark:
        beat = max(beat, datetime.fromisoformat(mark["heartbeat"]))
    return beat


def job_fail_stalled(*, job_id: UUID | str, cutoff: datetime) -> bool:
    """Running with no heartbeat since ``cutoff`` -> failed, "Stalled: no heartbeat
    since ...". False when it is not running or has beaten since.

    The row's heartbeat is compared in the ``UPDATE`` itself, so a worker that beat
    again after the page showed the job stalled keeps its job. Work inside a
    transaction beats in the cache instead, read just before; should it beat in
    between, its next progress write finds the job no longer running and it rolls
    back (``job_progress``), so the work is never done twice."""
    job = Job.objects.filter(pk=job_id, state=JobState.RUNNING).first()
    if job is None:
        return False
    beat = _latest_beat(job)
    if beat >= cutoff:
        return False
    since = beat.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")  # as pages show times
    silent = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    return bool(
        Job.objects.filter(silent, pk=job_id, state=JobState.RUNNING).update(
            state=JobState.FAILED,
            error=f"Stalled: no heartbeat since {since}.",
            finished_at=timezone.now(),
        )
    )


def job_retry(*, job_id: UUID | str, user: Any, stalled_before: datetime) -> Job:
    """A new queued job doing again what ``job_id`` did (same kind, params and
    reason), started by ``user``, linked to it by ``retry_of``. The caller enqueues
    its task (``console.job_runners``).

    Only a failed or cancelled job, or a stalled one (running, silent since
    ``stalled_before``), which is first failed by ``job_fail_stalled``; and not while
    an earlier retry of it is still queued or running: a double click makes one
    retry. ``RetryRefused`` says why not. The old row is locked for the check, so two
    retries of one job at once make one new job (PostgreSQL; SQLite writes one at a
    time anyway)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            raise RetryRefused("That job no longer exists.")
        pending = job.retries.filter(state__in=ACTIVE).order_by("-created_at").first()
        if pending is not None:
            raise RetryRefused("This job is already being run again.", retry=pending)
        if job.state == JobState.RUNNING:
            if not job_fail_stalled(job_id=job.pk, cutoff=stalled_before):
                raise RetryRefused("This job is still running: its worker sent a heartbeat.")
        elif job.state not in RETRYABLE:
            raise RetryRefused("Only a failed, cancelled or stalled job can be run again.")
        return Job.objects.create(
            kind=job.kind,
            created_by=user,
            params=job.params,
            reason=job.reason,
            retry_of=job,
        )


@dataclass
class PurgeReport:
    """What ``job_outputs_purge`` did (or, in a dry run, would do)."""

    deleted: int = 0
    bytes: int = 0
    already_gone: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def _expired_outputs(now: datetime) -> Iterator[Job]:
    """Expired jobs that still name a file, a batch at a time by primary key: the
    purge clears ``output`` as it goes, and a job it could not purge stays behind."""
    expired = (
        Job.objects.filter(expires_at__lte=now)
        .exclude(output="")
        .only("pk", "output")
        .order_by("pk")
    )
    after = None
    while True:
        batch = list((expired if after is None else expired.filter(pk__gt=after))[:PURGE_BATCH])
        yield from batch
        if len(batch) < PURGE_BATCH:
            return
        after = batch[-1].pk


def _size_if_present(storage: Any, name: str) -> int | None:
    """The file's size, or None when it is gone (asked first, since backends differ in
    what a missing file raises; a file deleted between the two counts as gone)."""
    if not storage.exists(name):
        return None
    try:
        return int(storage.size(name))
    except FileNotFoundError:
        return None


def job_outputs_purge(*, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Delete the stored files of jobs past ``expires_at`` and clear their ``output``.

    Through Django's storage API, so the filesystem and S3 alike. The file goes
    first and the field after: a run cut short leaves a field naming a file already
    gone, which the next run clears (``already_gone``), never a file no row names.
    A file that cannot be deleted (permissions, the bucket refusing) is reported in
    ``failed`` and the rest carry on. The job keeps ``expires_at``, so its download
    still answers "expired" rather than "not found"."""
    now = now or timezone.now()
    report = PurgeReport()
    storage = default_storage
    for job in _expired_outputs(now):
        name = job.output.name
        try:
            size = _size_if_present(storage, name)
            if size is None:
                report.already_gone += 1
            else:
                if not dry_run:
                    storage.delete(name)  # Django's backends ignore a file gone meanwhile
                report.deleted += 1
                report.bytes += size
        # Any storage backend's error (OSError, botocore's): report it, purge the rest.
        except Exception as exc:
            log.warning("could not delete %s: %s", name, exc)
            report.failed.append((name, f"{type(exc).__name__}: {exc}"))
            continue
        if not dry_run:
            Job.objects.filter(pk=job.pk, output=name).update(output="")
    return report


# Where jobs keep their work files (console.bulk_tasks writes reviewed bulk plans
# here before a job exists; jobs.imports keeps uploads and plans under imports/).
BULK_PLAN_DIR = "bulk"


def job_work_files_purge(*, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Delete the work files no job will read again, once ``JOBS_EXPORT_TTL_HOURS`` old:
    an import's upload and plan (they may hold customers' plaintext secrets) and a
    bulk change's stored targets, of finished jobs; and bulk plans a review stored
    but nobody applied (their confirmation expires in 30 minutes). A retry of a job
    whose files are gone fails saying so. Reported like ``job_outputs_purge``."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.JOBS_EXPORT_TTL_HOURS)
    report = PurgeReport()
    names: list[str] = []
    finished = Job.objects.filter(
        state__in=[JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED],
        finished_at__lt=cutoff,
        kind__in=[JobKind.IMPORT_PREVIEW, JobKind.BULK_EDIT],
    ).only("params", "result")
    for job in finished.iterator(chunk_size=PURGE_BATCH):
        names += [
            name
            for name in (job.params.get("upload"), job.params.get("plan"), job.result.get("plan"))
            if isinstance(name, str) and name
        ]
    in_use = {
        job.params.get("plan")
        for job in Job.objects.filter(kind=JobKind.BULK_EDIT, state__in=ACTIVE).only("params")
    }
    try:
        _dirs, files = default_storage.listdir(BULK_PLAN_DIR)
    except (FileNotFoundError, NotImplementedError):
        files = []
    for file in files:
        name = f"{BULK_PLAN_DIR}/{file}"
        if name not in in_use and default_storage.get_modified_time(name) < cutoff:
            names.append(name)
    for name in dict.fromkeys(names):
        try:
            size = _size_if_present(default_storage, name)
            if size is None:
                continue  # purged by an earlier run: the job's row still names it
            if not dry_run:
                default_storage.delete(name)
            report.deleted += 1
            report.bytes += size
        except Exception as exc:  # any storage backend's error: report it, purge the rest
            log.warning("could not delete %s: %s", name, exc)
            report.failed.append((name, f"{type(exc).__name__}: {exc}"))
    return report


def job_actor(job: Job, source: str) -> Actor:
    """Who writes a job's changes in the audit trail: the person who started it, from
    ``source``, with the job's reason, under ``job-<id>`` as the request id (the
    trail's search for it lists every change of the job)."""
    return Actor(
        label=job.created_by.email,
        source=source,
        user=job.created_by,
        request_id=f"job-{job.pk.hex}",
        reason=job.reason,
    )


def run_job(
    job_id: UUID | str,
    work: Callable[[Job], None],
    *,
    what: str,
    file_problem: str = "written",
    stopped: tuple[type[Exception], ...] = (),
) -> None:
    """The body of every job's task: load the job, run ``work`` under the long-work
    database timeouts (a million rows take longer than a web request may), and
    fail the job with a sentence a person can read when anything raises.

    ``what`` names the work on the page ("export", "import"); a storage problem is
    said in its own words ("The file could not be <file_problem>: No space left on
    device."), anything else by kind only (the log has the rest). An exception in
    ``stopped`` means the work rolled back on a cancel: the job ends cancelled."""
    job = Job.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None:
        return
    try:
        with long_running():
            work(job)
    except stopped:
        job_stopped(job_id=job.pk)
    except Exception as exc:
        log.exception("%s job %s failed", what, job_id)
        job_fail(job_id=job.pk, error=job_error_text(exc, what=what, file_problem=file_problem))
    finally:
        # The job's writes are its starter's own edits: read them from the primary
        # for a pin's length, on every app server (core.replicas).
        pin_user(job.created_by_id)


def job_error_text(exc: Exception, *, what: str, file_problem: str = "written") -> str:
    """What a failed job's page says of ``exc`` (``run_job``)."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"The file could not be {file_problem}: {exc.strerror}."
    return f"The {what} failed ({type(exc).__name__}); the server log has the details."
