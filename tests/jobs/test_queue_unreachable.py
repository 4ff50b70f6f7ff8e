"""A job queue that cannot be reached (RQ's Redis away): the job fails at once and
says why; the request that started it answers as usual, never a 5xx."""

from __future__ import annotations

import pytest
import redis

from console import export_tasks
from jobs.models import Job, JobKind, JobState
from jobs.services import QUEUE_UNREACHABLE, job_create, job_enqueue

pytestmark = pytest.mark.django_db


class UnreachableQueue:
    """A task whose queue refuses, as django-tasks-rq's does with Redis stopped."""

    def __init__(self) -> None:
        self.calls = 0

    def enqueue(self, **kwargs):
        self.calls += 1
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:56379. Connection refused.")


def test_a_job_whose_queue_is_unreachable_fails_with_the_reason(owner):
    job = job_create(user=owner, kind=JobKind.EXPORT_CSV, params={"query": "", "columns": []})
    task = UnreachableQueue()
    assert job_enqueue(job, task) is False
    job.refresh_from_db()
    assert task.calls == 1
    assert (job.state, job.error) == (JobState.FAILED, QUEUE_UNREACHABLE)
    assert job.finished_at is not None


def test_starting_an_export_with_the_queue_down_shows_the_failed_job(
    client, number_admin, monkeypatch, caplog
):
    monkeypatch.setattr(export_tasks, "export_numbers_csv", UnreachableQueue())
    client.force_login(number_admin)
    response = client.post("/numbers/export-job", {"query": ""})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.state == JobState.FAILED
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "The job queue could not be reached" in page.content.decode()
    assert f"job {job.pk} not queued: ConnectionError" in caplog.text
