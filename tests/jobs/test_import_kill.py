"""An import's apply killed mid-work (``kill -9``) by a real worker on each backend.

The preview runs on the worker too; the apply is stopped at its first progress
write, 500 rows relabelled inside its open transaction, and its process killed as
a lost machine or the OOM killer would. Nothing of it may remain: no label, no
audit entry. The job stays running with its last heartbeat and shows stalled once
the timeout passes; Retry runs the same apply again, whole.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from audit.models import AuditEntry
from console.job_runners import runner_for
from jobs.imports import start_apply, start_preview
from jobs.models import Job, JobState
from jobs.queries import with_live_progress
from jobs.services import job_retry
from phone_numbers.models import PhoneNumber
from tests.jobs.test_real_workers import _add_numbers
from tests.jobs.workers import run_worker, wait_for_job

ROWS = 1_200  # three batches of the CSV import's 500


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_apply_killed_mid_work_leaves_nothing_half_applied(task_backend, number_admin, owner):
    numbers = _add_numbers(owner, ROWS)
    body = "number,label\n" + "".join(f"{n},Relabelled\n" for n in numbers)
    with run_worker(task_backend) as worker:
        preview = start_preview(
            user=number_admin,
            upload=io.BytesIO(body.encode()),
            fmt="csv",
            filename="relabel.csv",
            reason="KILL-1",
        )
        preview = wait_for_job(preview.pk, {JobState.SUCCEEDED, JobState.FAILED}, worker=worker)
    assert preview.state == JobState.SUCCEEDED, preview.error
    assert preview.result["changed"] == ROWS

    with run_worker(task_backend, pause_after_progress=1) as worker:
        apply = start_apply(user=number_admin, preview=preview)
        worker.wait_until_paused()
        # 500 rows written in the apply's transaction, uncommitted: none is seen here.
        assert not PhoneNumber.objects.filter(label="Relabelled").exists()
        [live] = with_live_progress([Job.objects.get(pk=apply.pk)])
        assert (live.state, live.done, live.total) == (JobState.RUNNING, 500, ROWS)
        worker.kill()

    assert not PhoneNumber.objects.filter(label="Relabelled").exists()
    assert not AuditEntry.objects.filter(request_id=f"job-{apply.pk.hex}").exists()
    after = Job.objects.get(pk=apply.pk)
    assert after.state == JobState.RUNNING and after.finished_at is None
    [seen] = with_live_progress([after])
    later = seen.heartbeat_at + timedelta(seconds=settings.JOBS_HEARTBEAT_TIMEOUT + 1)
    [seen] = with_live_progress([Job.objects.get(pk=apply.pk)], now=later)
    assert seen.stalled_since is not None

    # Retry once it is stalled: the same apply, run whole by a new worker.
    with run_worker(task_backend) as worker:
        retried = job_retry(
            job_id=apply.pk,
            user=number_admin,
            stalled_before=timezone.now() + timedelta(seconds=1),
        )
        runner_for(retried.kind)(retried)
        retried = wait_for_job(retried.pk, {JobState.SUCCEEDED, JobState.FAILED}, worker=worker)
    assert retried.state == JobState.SUCCEEDED, retried.error
    assert PhoneNumber.objects.filter(label="Relabelled").count() == ROWS
    assert AuditEntry.objects.filter(request_id=f"job-{retried.pk.hex}").count() == ROWS
    assert Job.objects.get(pk=apply.pk).state == JobState.FAILED  # the stalled one
