"""Imports with a preview: a dry run that shows what a file would change, then an
apply that writes exactly that, or nothing.

Both steps run the same import (``phone_numbers.csvimport`` for a CSV,
``phone_numbers.importer`` for upstream JSON pages) inside one transaction, and read
back the audit entries it wrote there: the trail's own diff is the preview (old ->
new, credentials masked, agents by name). A preview then rolls everything back and
keeps a *plan*: a digest of every entry (object, action, fields, old and new
values). An apply runs the import again, in one transaction, and compares its
entries with the plan: when any object would change otherwise than the preview
showed (someone changed the number since, or a row that was unchanged no longer
is), it rolls back everything and names each such object and who changed it last.
So Apply writes exactly what the person read, all or nothing, and every entry it
commits carries the job's reason and ``job-<id>`` as its request id: the audit
trail's search for that id lists the whole import.

Progress is reported from inside the transaction (``job_progress(...,
in_work_transaction=True)``: the cache), and a cancel mark stops the work between
batches, rolled back.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

import ijson
import orjson
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django_tasks import task

from audit.models import AuditEntry, Source
from audit.services import Actor
from jobs.models import Job, JobKind, JobState
from jobs.services import (
    job_actor,
    job_create,
    job_enqueue,
    job_error_text,
    job_fail,
    job_progress,
    job_start,
    job_succeed,
    run_job,
)
from phone_numbers import csvimport
from phone_numbers.importer import ImportRejected, ImportStopped, import_items
from phone_numbers.services import field_label

logger = logging.getLogger(__name__)

FORMATS = ("csv", "json")
NUMBER_TYPE = "numbers.phonenumber"
SHOWN_CHANGES = 50  # numbers shown field by field in a preview; the rest are counted
SHOWN_REFUSALS = 100
# How an import's failure reads (jobs.services.run_job); a cancel rolls it back.
_AS_IMPORT: dict[str, Any] = {"what": "import", "file_problem": "read or written"}


class _RollBack(Exception):
    """Leaves the import's transaction without committing it (a preview, a refusal)."""


@dataclass
class Preview:
    """What a file does to the inventory, as the preview page shows it."""

    format: str
    rows: int = 0
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    refused: int = 0
    fields: dict[str, int] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[dict[str, Any]] = field(default_factory=list)
    graph: str = ""  # JSON: what the agents' graph gets, per kind of object
    applicable: bool = True  # JSON refusals refuse the whole file
    refused_lines: list[int] = field(default_factory=list)  # kept in the plan, not shown
    left_out: int = 0  # an apply's rows refused by its preview and left out on purpose

    def as_result(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "refused_lines"}


def upload_name(job: Job, fmt: str) -> str:
    return f"imports/{job.pk}/upload.{fmt}"


def plan_name(job: Job) -> str:
    return f"imports/{job.pk}/plan.json"


def start_preview(*, user: Any, upload: IO[bytes], fmt: str, filename: str, reason: str) -> Job:
    """Store ``upload`` and queue its dry run; ``ValidationError`` for a bad reason."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown import format {fmt!r}.")
    job = job_create(
        user=user,
        kind=JobKind.IMPORT_PREVIEW,
        params={"format": fmt, "filename": filename[:200]},
        reason=reason,
    )
    try:
        stored = default_storage.save(upload_name(job, fmt), upload)
    except OSError as exc:  # a full disk, an unwritable directory: the job says so
        logger.warning("import upload of job %s not stored: %s", job.pk, exc.strerror)
        job_fail(job_id=job.pk, error=job_error_text(exc, **_AS_IMPORT))
        return job
    Job.objects.filter(pk=job.pk).update(params={**job.params, "upload": stored})
    job_enqueue(job, preview_import)
    return job


class ApplyRefused(Exception):
    """This preview cannot be applied (not finished, refused rows, applied already)."""


def start_apply(*, user: Any, preview: Job, skip_refused: bool = False) -> Job:
    """Queue the apply of a finished preview: once, by its owner."""
    if preview.kind != JobKind.IMPORT_PREVIEW or preview.state != JobState.SUCCEEDED:
        raise ApplyRefused("Only a finished preview can be applied.")
    result = preview.result
    if not result.get("applicable", False):
        raise ApplyRefused("This file has refused rows that refuse all of it: fix them first.")
    if result.get("refused") and not skip_refused:
        raise ApplyRefused(
            "Some rows are refused: tick 'leave out the refused rows' to apply the others."
        )
    with transaction.atomic():
        # The preview's row locked: two clicks on Apply queue one job, not two.
        Job.objects.select_for_update().filter(pk=preview.pk).first()
        taken = Job.objects.filter(
            kind=JobKind.IMPORT_APPLY,
            params__preview=str(preview.pk),
            state__in=(JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED),
        ).exists()
        if taken:
            raise ApplyRefused("This preview is applied already (or being applied).")
        job = job_create(
            user=user,
            kind=JobKind.IMPORT_APPLY,
            params={
                "preview": str(preview.pk),
                "format": preview.params["format"],
                "filename": preview.params.get("filename", ""),
                "skip_refused": bool(skip_refused),
            },
            reason=preview.reason,
        )
    # After the block: a worker must find the job's row committed.
    job_enqueue(job, apply_import)
    return job


@task()
def preview_import(job_id: str) -> None:
    """The dry run: everything the file would do, written and rolled back."""
    run_job(job_id, partial(_run, dry=True), stopped=(ImportStopped,), **_AS_IMPORT)


@task()
def apply_import(job_id: str) -> None:
    """The apply: what the preview showed, in one transaction, or nothing."""
    run_job(job_id, partial(_run, dry=False), stopped=(ImportStopped,), **_AS_IMPORT)


def _run(job: Job, *, dry: bool) -> None:
    source = job if dry else Job.objects.get(pk=job.params["preview"])
    fmt = source.params["format"]
    name = source.params["upload"]
    total = _count_rows(name, fmt)
    if not job_start(job_id=job.pk, total=total):
        return
    actor = job_actor(job, Source.IMPORT)

    def progress(done: int) -> bool:
        return job_progress(job_id=job.pk, done=done, in_work_transaction=True)

    plan = None if dry else _read_plan(source)
    skip = frozenset(plan["refused_lines"]) if plan and job.params.get("skip_refused") else None
    try:
        with transaction.atomic():
            preview = _import(fmt, name, actor, progress, skip or frozenset())
            entries = _entries(actor.request_id)
            summary = _summarize(preview, entries)
            if dry:
                raise _RollBack
            shown, conflicts = _conflicts(
                plan, summary.digests, since=source, ours=actor.request_id
            )
            if conflicts:
                raise _RollBack
    except _RollBack:
        pass
    except ImportRejected as rejected:  # JSON: every problem at once, nothing written
        preview = Preview(format=fmt, applicable=False)
        preview.refusals = [{"line": "", "number": "", "reason": r} for r in rejected.lines()]
        preview.refused = rejected.count
        summary = _Summary(preview, {}, [])
        shown, conflicts = [], 0
        if not dry:
            job_fail(
                job_id=job.pk, error="The file is refused now: " + "; ".join(rejected.lines()[:5])
            )
            return
    summary.preview.left_out = len(skip or ())
    # Progress went to the cache while the transaction was open: the row gets the end.
    Job.objects.filter(pk=job.pk).update(done=summary.preview.rows)
    if dry:
        stored = default_storage.save(
            plan_name(job),
            ContentFile(orjson.dumps({"digests": summary.digests, "refused_lines": summary.lines})),
        )
        job_succeed(
            job_id=job.pk, output="", result={**summary.preview.as_result(), "plan": stored}
        )
        return
    if conflicts:
        job_fail(
            job_id=job.pk,
            error=(
                f"Nothing was written: {conflicts:,} object(s) would change otherwise than "
                "the preview showed, because they changed since. Preview the file again. "
                + " ".join(shown[:5])
            ),
        )
        Job.objects.filter(pk=job.pk).update(
            result={"conflicts": shown, "conflicts_count": conflicts}
        )
        return
    job_succeed(
        job_id=job.pk,
        output="",
        result={**summary.preview.as_result(), "audit_request_id": actor.request_id},
    )
    # Applied: the uploaded file (which may hold customers' plaintext secrets) and
    # its plan have done their work; the audit trail keeps what changed, masked.
    for stored in (name, source.result.get("plan", "")):
        if stored:
            default_storage.delete(stored)


def _count_rows(name: str, fmt: str) -> int | None:
    """How many rows (CSV) the file holds, for the progress bar; JSON counts as it parses."""
    if fmt != "csv":
        return None
    with default_storage.open(name, "rb") as stream:
        try:
            _fields, rows = csvimport.read_csv(stream)
            return sum(1 for _ in rows)
        except csvimport.CsvRejected:
            return None


def _import(
    fmt: str,
    name: str,
    actor: Actor,
    progress: Callable[[int], bool],
    skip: frozenset[int],
) -> Preview:
    with default_storage.open(name, "rb") as stream:
        if fmt == "csv":
            try:
                fields, rows = csvimport.read_csv(stream)
                outcome = csvimport.import_csv_rows(
                    fields, rows, actor=actor, skip_lines=skip, progress=progress
                )
            except csvimport.CsvRejected as exc:
                raise ImportRejected(str(exc)) from None
            preview = Preview(
                format=fmt,
                rows=outcome.rows,
                created=outcome.created,
                changed=outcome.changed,
                unchanged=outcome.unchanged,
                refused=len(outcome.refused_lines),
                fields={field_label(k): v for k, v in outcome.fields.most_common()},
            )
            preview.refusals = [
                {"line": r.line, "number": r.number, "reason": r.reason} for r in outcome.refusals
            ]
            preview.refused_lines = outcome.refused_lines
            return preview
        items = read_json_items(stream)
        result = import_items(items, actor=actor, progress=progress)
        number = "phonenumber"
        return Preview(
            format=fmt,
            rows=len(items),
            created=result.created[number],
            changed=result.updated[number],
            unchanged=result.unchanged[number],
            graph=result.summary(),
        )


def read_json_items(stream: IO[bytes]) -> list[Any]:
    """The items of an upstream page (``{"items": [...]}``) or array of pages, parsed
    as a stream; ``ImportRejected`` says what is wrong with a file that is neither."""
    head = stream.read(1)
    while head and head.isspace():
        head = stream.read(1)
    prefix = {b"{": "items.item", b"[": "item.items.item"}.get(head)
    if prefix is None:
        raise ImportRejected('The file is not a JSON page ({"items": [...]}) or array of pages.')
    stream.seek(stream.tell() - 1)
    try:
        items = list(ijson.items(stream, prefix, use_float=True))
    except (ijson.JSONError, ValueError) as exc:
        raise ImportRejected(f"The file is not valid JSON: {str(exc)[:200]}") from None
    if not items:
        raise ImportRejected('The file has no items (a page is {"items": [...]}).')
    return items


@dataclass
class _Summary:
    preview: Preview
    digests: dict[str, str]
    lines: list[int]


def _entries(request_id: str) -> Iterator[dict[str, Any]]:
    return (
        AuditEntry.objects.filter(request_id=request_id)
        .order_by("id")
        .values("object_type", "object_id", "object_label", "action", "changes")
        .iterator(chunk_size=2000)
    )


def _key(entry: dict[str, Any]) -> str:
    # A number a CSV creates gets a new id each run: it is known by its number.
    if entry["action"] == "create" and entry["object_type"] == NUMBER_TYPE:
        return f"{NUMBER_TYPE}:create:{entry['object_label']}"
    return f"{entry['object_type']}:{entry['action']}:{entry['object_id']}"


def _digest(entry: dict[str, Any]) -> str:
    changes = {k: v for k, v in entry["changes"].items() if k != "id"}
    return hashlib.sha256(orjson.dumps(changes, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def _summarize(preview: Preview, entries: Iterator[dict[str, Any]]) -> _Summary:
    digests: dict[str, str] = {}
    fields: Counter[str] = Counter()
    for entry in entries:
        digests[_key(entry)] = _digest(entry)
        if entry["object_type"] != NUMBER_TYPE:
            continue
        fields.update(k for k in entry["changes"] if k != "id")
        if len(preview.changes) < SHOWN_CHANGES:
            preview.changes.append(
                {
                    "number": entry["object_label"],
                    "action": entry["action"],
                    "fields": [
                        [field_label(name), old_new[0], old_new[1]]
                        for name, old_new in entry["changes"].items()
                        if name != "id" and isinstance(old_new, list) and len(old_new) == 2
                    ],
                }
            )
    if not preview.fields:
        preview.fields = {field_label(k): v for k, v in fields.most_common()}
    lines = preview.refused_lines
    preview.refusals = preview.refusals[:SHOWN_REFUSALS]
    return _Summary(preview, digests, lines)


def _read_plan(preview: Job) -> dict[str, Any]:
    with default_storage.open(preview.result["plan"], "rb") as stream:
        return orjson.loads(stream.read())


def _conflicts(
    plan: dict[str, Any], digests: dict[str, str], *, since: Job, ours: str
) -> tuple[list[str], int]:
    """The objects that would change otherwise than the preview showed: how many,
    and for the first ``SHOWN_REFUSALS`` (all a page shows) who changed each since,
    the last entry after the preview started that is not this apply's own
    (``ours``, its request id). One query each, so only for those shown: a file
    whose every row changed meanwhile costs a hundred lookups, not a million."""
    planned = plan["digests"]
    keys = planned.keys() | digests.keys()
    differing = sorted(k for k in keys if planned.get(k) != digests.get(k))
    lines = []
    for key in differing[:SHOWN_REFUSALS]:
        object_type, action, object_id = key.split(":", 2)
        by_number = action == "create" and object_type == NUMBER_TYPE
        lookup = {"object_label": object_id} if by_number else {"object_id": object_id}
        last = (
            AuditEntry.objects.filter(
                object_type=object_type, created_at__gte=since.started_at, **lookup
            )
            .exclude(request_id=ours)
            .order_by("-created_at", "-id")
            .values("actor_label", "created_at", "object_label")
            .first()
        )
        if last is None:
            lines.append(f"{object_id}: would change otherwise than the preview showed.")
            continue
        when = f"{last['created_at']:%Y-%m-%d %H:%M:%S} UTC"
        lines.append(f"{last['object_label']}: changed by {last['actor_label']} at {when}.")
    return lines, len(differing)
