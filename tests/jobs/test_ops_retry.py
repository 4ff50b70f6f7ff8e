"""Stalled jobs (derived from the heartbeat) and Retry (console.jobs.job_retry_view,
jobs.services.job_retry, console.job_runners).

The heartbeat timeout is shortened with the ``settings`` fixture and heartbeats are
set in the past; tests run the immediate task backend, so a retried export has run
by the time the POST answers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from console import job_runners
from jobs.models import Job, JobKind, JobState
from jobs.queries import stalled_cutoff
from jobs.services import job_fail_stalled, job_progress
from tests.factories import make_finished_export, make_job, make_number

pytestmark = pytest.mark.django_db

TIMEOUT = 5


@pytest.fixture(autouse=True)
def _short_timeout(settings):
    settings.JOBS_HEARTBEAT_TIMEOUT = TIMEOUT


def _running(user, *, silent_for: int, **fields) -> Job:
    beat = timezone.now() - timedelta(seconds=silent_for)
    fields.setdefault("params", {"query": "active=yes", "columns": ["number", "label"]})
    return make_job(
        user,
        state=JobState.RUNNING,
        started_at=beat - timedelta(seconds=1),
        heartbeat_at=beat,
        done=2_000,
        total=10_000,
        **fields,
    )


def _page(client, job: Job) -> str:
    return client.get(f"/jobs/{job.pk}/").content.decode()


def _retry(client, job: Job):
    return client.post(f"/jobs/{job.pk}/retry")


def test_a_running_job_silent_past_the_timeout_shows_stalled(client, support):
    job = _running(support, silent_for=TIMEOUT + 10)
    client.force_login(support)
    body = _page(client, job)
    assert "<strong>Stalled</strong>: no sign of its worker since <time" in body
    assert f'action="/jobs/{job.pk}/retry"' in body
    assert "Time left" not in body  # an estimate from a dead worker's rate means nothing
    listing = client.get("/jobs/").content.decode()
    assert "Stalled <small>(no sign of its worker since <time" in listing


def test_a_job_that_beat_within_the_timeout_is_running(client, support):
    job = _running(support, silent_for=1)
    client.force_login(support)
    body = _page(client, job)
    assert "<strong>Running</strong>" in body and "Stalled" not in body
    assert "/retry" not in body
    assert "Stalled" not in client.get("/jobs/").content.decode()


def test_the_stalled_fragment_still_polls_so_a_late_beat_is_seen(client, support):
    job = _running(support, silent_for=TIMEOUT + 10)
    client.force_login(support)
    body = client.get(f"/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "Stalled" in body and 'hx-trigger="every 1s"' in body


def test_a_heartbeat_in_the_cache_keeps_a_job_from_stalling(client, support):
    # Work inside its own transaction beats in the jobs cache, not the row.
    job = _running(support, silent_for=TIMEOUT + 60)
    assert job_progress(job_id=job.pk, done=3_000, in_work_transaction=True)
    client.force_login(support)
    body = _page(client, job)
    assert "Stalled" not in body and "3,000 of 10,000" in body
    assert job_fail_stalled(job_id=job.pk, cutoff=stalled_cutoff()) is False
    job.refresh_from_db()
    assert job.state == JobState.RUNNING


def test_retrying_a_stalled_job_fails_it_and_runs_a_new_one(client, support, owner):
    make_number(owner, "+13035550100", active=True)
    old = _running(support, silent_for=TIMEOUT + 10, reason="Quarterly count")
    beat = old.heartbeat_at
    client.force_login(support)
    response = _retry(client, old)
    new = Job.objects.exclude(pk=old.pk).get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{new.pk}/"
    old.refresh_from_db()
    assert old.state == JobState.FAILED and old.finished_at is not None
    assert old.error == f"Stalled: no heartbeat since {beat:%Y-%m-%d %H:%M:%S} UTC."
    assert (new.kind, new.params, new.reason) == (old.kind, old.params, old.reason)
    assert (new.created_by, new.retry_of) == (support, old)
    # The export ran again (immediate backend) and wrote its own file.
    assert new.state == JobState.SUCCEEDED, new.error
    assert new.result == {"rows": 1} and default_storage.exists(new.output.name)


def test_the_new_job_links_to_the_one_it_retries_and_back(client, support):
    old = make_job(support, state=JobState.FAILED, error="boom")
    client.force_login(support)
    _retry(client, old)
    new = old.retries.get()
    assert f'<dt>Retry of</dt><dd><a href="/jobs/{old.pk}/">' in _page(client, new)
    assert f'<dt>Retried as</dt><dd><a href="/jobs/{new.pk}/">' in _page(client, old)


@pytest.mark.parametrize("state", [JobState.FAILED, JobState.CANCELLED])
def test_a_failed_or_cancelled_job_can_be_retried(client, support, state):
    old = make_job(support, state=state)
    client.force_login(support)
    assert f'action="/jobs/{old.pk}/retry"' in _page(client, old)
    _retry(client, old)
    old.refresh_from_db()
    assert old.state == state  # left as it was
    assert old.retries.get().state == JobState.SUCCEEDED


@pytest.mark.parametrize("state", [JobState.SUCCEEDED, JobState.QUEUED])
def test_a_job_that_neither_failed_nor_stalled_is_not_retried(client, support, state):
    old = make_job(support, state=state)
    client.force_login(support)
    assert "/retry" not in _page(client, old)
    response = _retry(client, old)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{old.pk}/"
    assert Job.objects.count() == 1
    assert "Only a failed, cancelled or stalled job can be run again." in _page(client, old)


def test_a_job_that_beat_again_before_the_retry_is_left_running(client, support):
    old = _running(support, silent_for=1)  # the page was stale: it beat since
    client.force_login(support)
    response = _retry(client, old)
    assert response["Location"] == f"/jobs/{old.pk}/"
    old.refresh_from_db()
    assert old.state == JobState.RUNNING and old.error == ""
    assert Job.objects.count() == 1
    assert "still running" in _page(client, old)


def test_the_stalled_compare_and_set_checks_the_heartbeat_in_the_update(support):
    job = _running(support, silent_for=TIMEOUT + 10)
    # A cutoff older than the last beat: the job is not stalled by it.
    assert not job_fail_stalled(job_id=job.pk, cutoff=job.heartbeat_at - timedelta(seconds=1))
    job.refresh_from_db()
    assert job.state == JobState.RUNNING
    assert job_fail_stalled(job_id=job.pk, cutoff=stalled_cutoff())
    assert not job_fail_stalled(job_id=job.pk, cutoff=stalled_cutoff())  # only once


def test_a_double_click_makes_one_retry(client, support, monkeypatch):
    monkeypatch.setitem(job_runners.RUNNERS, JobKind.EXPORT_CSV.value, lambda job: None)
    old = make_job(support, state=JobState.FAILED)
    client.force_login(support)
    _retry(client, old)
    response = _retry(client, old)
    assert response["Location"] == f"/jobs/{old.pk}/"
    assert old.retries.count() == 1
    assert "already being run again" in _page(client, old)


def test_a_superuser_may_retry_anothers_job_as_their_own(client, superuser, support):
    old = make_job(support, state=JobState.FAILED)
    client.force_login(superuser)
    _retry(client, old)
    assert old.retries.get().created_by == superuser


def test_another_staff_member_may_not_retry(client, support, number_admin):
    old = make_job(number_admin, state=JobState.FAILED)
    client.force_login(support)
    assert _retry(client, old).status_code == 404
    assert Job.objects.count() == 1


def test_an_owner_who_lost_the_permission_to_start_it_may_not_retry(
    client, staff_without_permissions
):
    old = make_job(staff_without_permissions, state=JobState.FAILED)
    client.force_login(staff_without_permissions)
    assert "/retry" not in _page(client, old)
    assert _retry(client, old).status_code == 403
    assert Job.objects.count() == 1


def test_retry_by_get_is_405(client, support):
    old = make_job(support, state=JobState.FAILED)
    client.force_login(support)
    assert client.get(f"/jobs/{old.pk}/retry").status_code == 405


def test_retry_needs_the_csrf_token(support):
    old = make_job(support, state=JobState.FAILED)
    client = Client(enforce_csrf_checks=True)
    client.force_login(support)
    assert _retry(client, old).status_code == 403
    assert Job.objects.count() == 1


def test_a_kind_without_a_runner_says_so_instead_of_failing(client, support, monkeypatch):
    monkeypatch.delitem(job_runners.RUNNERS, JobKind.EXPORT_CSV.value)
    old = make_job(support, state=JobState.FAILED)
    client.force_login(support)
    body = _page(client, old)
    assert "/retry" not in body and "cannot be run again from here" in body
    response = _retry(client, old)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{old.pk}/"
    assert Job.objects.count() == 1
    assert "A CSV export job cannot be run again from here" in _page(client, old)


def test_a_queue_that_refuses_the_task_fails_the_new_job_clearly(client, support, monkeypatch):
    def queue_down(job):
        raise ConnectionError("redis://10.0.0.9:6379 refused")

    monkeypatch.setitem(job_runners.RUNNERS, JobKind.EXPORT_CSV.value, queue_down)
    old = make_job(support, state=JobState.FAILED)
    client.force_login(support)
    response = _retry(client, old)
    new = old.retries.get()
    assert response["Location"] == f"/jobs/{new.pk}/"
    new.refresh_from_db()
    assert new.state == JobState.FAILED
    assert new.error == "The job could not be queued; try again in a moment."
    assert "10.0.0.9" not in _page(client, new)


def test_every_runner_names_the_permissions_to_start_it():
    assert set(job_runners.RUNNERS) <= set(job_runners.REQUIRED_PERMISSIONS)
    assert set(job_runners.RUNNERS) <= set(JobKind.values)


def test_the_csv_runner_runs_the_export_of_the_existing_job(support):
    job = make_job(support)
    job_runners.runner_for(JobKind.EXPORT_CSV)(job)  # the immediate backend runs it now
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.output.name == f"exports/{job.pk}.csv"


def test_a_finished_export_page_is_unchanged_by_stall_logic(client, support):
    job = make_finished_export(support)
    client.force_login(support)
    body = _page(client, job)
    assert "Stalled" not in body and "/retry" not in body
