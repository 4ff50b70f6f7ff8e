"""Bulk changes past the synchronous limit, run as a background job.

A change of more than ``BULK_LIMIT`` numbers (up to ``BULK_JOB_LIMIT``) is reviewed
like any other: ``plan_bulk`` reads every target's ``(id, version)`` and the person
confirms the counts with a reason. Its targets are stored as a file (``StoredTargets``)
rather than signed into the form, and Apply queues this task, which runs the very
same ``apply_bulk`` (compare-and-set per number against the reviewed version, a
transaction per batch, an audit entry per number) with progress after each batch and
a stop between batches when cancelled. The job's page lists what changed and what
was refused, and why; its audit entries carry ``job-<id>`` as their request id.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django_tasks import task

from agents.models import Agent
from audit.models import Source
from jobs.models import Job, JobKind
from jobs.services import (
    BULK_PLAN_DIR,
    job_actor,
    job_create,
    job_enqueue,
    job_fail,
    job_progress,
    job_start,
    job_stopped,
    job_succeed,
    run_job,
)
from phone_numbers.bulk import BulkChange, apply_bulk

logger = logging.getLogger(__name__)

REFUSED_KEPT = 500  # refused numbers listed on the job's page; beyond, counted


class StoredTargets(Iterable[tuple[uuid.UUID, int]]):
    """A plan's ``(id, version)`` targets in a file of default storage: one
    ``<id hex>.<version>`` a line. Knows its length without reading the file."""

    def __init__(self, name: str, count: int) -> None:
        self.name = name
        self.count = count

    @classmethod
    def save(cls, targets: list[tuple[Any, int]]) -> StoredTargets:
        body = "".join(f"{uuid.UUID(str(pk)).hex}.{version}\n" for pk, version in targets)
        name = default_storage.save(
            f"{BULK_PLAN_DIR}/{uuid.uuid4().hex}.plan", ContentFile(body.encode())
        )
        return cls(name, len(targets))

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[tuple[uuid.UUID, int]]:
        with default_storage.open(self.name, "rb") as stream:
            for line in stream:
                pk, version = line.decode().strip().split(".")
                yield uuid.UUID(pk), int(version)


def start_bulk_job(
    *, user: Any, targets: StoredTargets, change: BulkChange, will_change: int, reason: str
) -> Job:
    """A queued job applying ``change`` to the stored ``targets``."""
    value = change.value.pk.hex if isinstance(change.value, Agent) else change.value
    job = job_create(
        user=user,
        kind=JobKind.BULK_EDIT,
        params={
            "plan": targets.name,
            "count": targets.count,
            "kind": change.kind,
            "value": value,
            "describe": change.describe(),
            "will_change": will_change,
        },
        reason=reason,
    )
    job_enqueue(job, apply_bulk_job)
    return job


@task()
def apply_bulk_job(job_id: str) -> None:
    run_job(job_id, _apply, what="bulk change")


def _apply(job: Job) -> None:
    params = job.params
    value = params["value"]
    if params["kind"] == "inbound_agent" and value is not None:
        value = Agent.objects.filter(pk=uuid.UUID(value)).first()
        if value is None:
            job_fail(job_id=job.pk, error="The agent chosen no longer exists. Nothing was changed.")
            return
    change = BulkChange(params["kind"], value)
    targets = StoredTargets(params["plan"], params["count"])
    if not job_start(job_id=job.pk, total=targets.count):
        return
    actor = job_actor(job, Source.BULK)
    result = apply_bulk(
        targets=targets,
        change=change,
        actor=actor,
        progress=lambda done: job_progress(job_id=job.pk, done=done),
    )
    summary = {
        "changed": result.changed,
        "already": result.already,
        "refused": [list(r) for r in result.refused[:REFUSED_KEPT]],
        "refused_count": len(result.refused),
        "summary": result.summary(change),
        "audit_request_id": actor.request_id,
    }
    if result.stopped:
        job_stopped(job_id=job.pk)
        Job.objects.filter(pk=job.pk).update(result=summary)
        return
    job_succeed(job_id=job.pk, output="", result=summary)
    default_storage.delete(targets.name)
