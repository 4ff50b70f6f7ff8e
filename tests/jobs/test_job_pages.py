"""/jobs/: the list, a job's page and its progress fragment, cancel, download."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from jobs.models import JobState
from tests.factories import make_finished_export, make_job

pytestmark = pytest.mark.django_db


def test_the_list_shows_only_ones_own_jobs(client, support, number_admin):
    mine = make_job(support)
    theirs = make_job(number_admin)
    client.force_login(support)
    body = client.get("/jobs/").content.decode()
    assert f"/jobs/{mine.pk}/" in body
    assert f"/jobs/{theirs.pk}/" not in body


def test_a_superuser_sees_every_job(client, superuser, support):
    job = make_job(support)
    client.force_login(superuser)
    assert f"/jobs/{job.pk}/" in client.get("/jobs/").content.decode()


def test_the_page_shows_progress_and_polls_until_finished(client, support):
    job = make_job(
        support,
        state=JobState.RUNNING,
        done=500,
        total=2000,
        started_at=timezone.now() - timezone.timedelta(seconds=10),
    )
    client.force_login(support)
    body = client.get(f"/jobs/{job.pk}/").content.decode()
    assert '<progress value="500" max="2000"' in body
    assert 'hx-trigger="every 1s"' in body
    assert "Time left" in body and "about 0:00:30" in body
    assert f'action="/jobs/{job.pk}/cancel"' in body


def test_it_answers_htmx_with_the_progress_fragment(client, support):
    job = make_job(support)
    client.force_login(support)
    body = client.get(f"/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="job-progress"' in body and "<html" not in body


def test_a_finished_job_stops_polling_and_offers_its_file(client, support):
    job = make_finished_export(support)
    client.force_login(support)
    body = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "hx-trigger" not in body
    assert f'href="/jobs/{job.pk}/download"' in body
    assert "/cancel" not in body


def test_the_owner_downloads_the_file_as_an_attachment(client, support):
    job = make_finished_export(support, b"number\r\n'+13035550100\r\n")
    client.force_login(support)
    response = client.get(f"/jobs/{job.pk}/download")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="numbers-')
    assert b"".join(response.streaming_content) == b"number\r\n'+13035550100\r\n"


@pytest.mark.parametrize("path", ["/jobs/{pk}/", "/jobs/{pk}/download"])
def test_another_user_gets_404(client, support, number_admin, path):
    job = make_finished_export(number_admin)
    client.force_login(support)
    assert client.get(path.format(pk=job.pk)).status_code == 404


def test_even_a_superuser_may_not_download_anothers_file(client, superuser, support):
    job = make_finished_export(support)
    client.force_login(superuser)
    assert client.get(f"/jobs/{job.pk}/download").status_code == 404


def test_an_unfinished_job_has_no_file(client, support):
    job = make_job(support)
    client.force_login(support)
    assert client.get(f"/jobs/{job.pk}/download").status_code == 404


@pytest.mark.parametrize("path", ["/jobs/{pk}/", "/jobs/{pk}/download", "/jobs/{pk}/cancel"])
def test_an_unknown_job_is_404(client, support, path):
    client.force_login(support)
    method = client.post if path.endswith("cancel") else client.get
    assert method(path.format(pk=uuid.uuid4())).status_code == 404


def test_a_malformed_id_is_404(client, support):
    client.force_login(support)
    assert client.get("/jobs/not-a-uuid/").status_code == 404


def test_cancel_sets_a_queued_job_cancelled(client, support):
    job = make_job(support)
    client.force_login(support)
    response = client.post(f"/jobs/{job.pk}/cancel")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and job.finished_at is not None


def test_cancel_leaves_a_finished_job_alone(client, support):
    job = make_finished_export(support)
    client.force_login(support)
    client.post(f"/jobs/{job.pk}/cancel")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED


def test_another_user_may_not_cancel(client, support, number_admin):
    job = make_job(number_admin)
    client.force_login(support)
    assert client.post(f"/jobs/{job.pk}/cancel").status_code == 404
    job.refresh_from_db()
    assert job.state == JobState.QUEUED


def test_cancel_by_get_is_405(client, support):
    job = make_job(support)
    client.force_login(support)
    assert client.get(f"/jobs/{job.pk}/cancel").status_code == 405


def test_the_list_is_three_queries(client, support, django_assert_num_queries):
    for _ in range(3):
        make_job(support)
    client.force_login(support)
    with django_assert_num_queries(3):  # session, user, jobs
        client.get("/jobs/")


def test_jobs_are_for_staff_only(client, owner):
    client.force_login(owner)
    assert client.get("/jobs/").status_code == 403


@pytest.mark.parametrize(
    ("elapsed", "done", "shown"),
    [(10.4, 500, "about 0:00:30"), (600, 500, "about 0:30:00"), (100, 1000, "about 0:01:40")],
)
def test_time_left_is_an_estimate_in_round_figures(client, support, elapsed, done, shown):
    job = make_job(
        support,
        state=JobState.RUNNING,
        done=done,
        total=2000,
        started_at=timezone.now() - timezone.timedelta(seconds=elapsed),
        heartbeat_at=timezone.now(),  # beating: not stalled, so the estimate shows
    )
    client.force_login(support)
    assert shown in client.get(f"/jobs/{job.pk}/").content.decode()
