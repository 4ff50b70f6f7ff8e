"""The inventory's CSV export as a background job (console.export_tasks, jobs.output).

Tests run the immediate task backend (tests/env_defaults.py): the task runs inside
the request that starts it, so its outcome is there when the POST returns.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.storage import default_storage

import jobs.output
from jobs.models import Job, JobState
from jobs.services import job_cancel
from tests.factories import make_connection, make_number

pytestmark = pytest.mark.django_db

SECRET = "f" * 32


@pytest.fixture
def inventory(owner):
    conn = make_connection(owner, credentials={"twilio_auth_token": SECRET})
    for n in range(3):
        make_number(owner, f"+1303555010{n}", label=f"Active {n}", active=True)
    make_number(owner, "+13035550199", label="Off", active=False)
    make_number(
        owner, "+13035550198", label="Routed", active=False, telephony_account_connection=conn
    )


def _start(client, user, query: str = "") -> Job:
    client.force_login(user)
    response = client.post("/numbers/export-job", {"query": query})
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.pk}/"
    return job


def _rows(job: Job) -> list[list[str]]:
    with default_storage.open(job.output.name, "rb") as handle:
        return list(csv.reader(io.StringIO(handle.read().decode())))


def test_it_exports_exactly_the_filtered_rows_to_a_file(client, support, inventory):
    job = _start(client, support, "active=no&sort=number")
    assert job.state == JobState.SUCCEEDED, job.error
    rows = _rows(job)
    assert rows[0][0] == "number"
    assert [r[0] for r in rows[1:]] == ["'+13035550198", "'+13035550199"]
    assert job.output.name == f"exports/{job.pk}.csv"
    assert job.result == {"rows": 2}


def test_its_progress_reaches_the_total_over_several_batches(
    client, support, inventory, monkeypatch
):
    monkeypatch.setattr(jobs.output, "BATCH_ROWS", 2)
    job = _start(client, support)
    assert (job.done, job.total) == (5, 5)
    assert job.heartbeat_at is not None and job.finished_at is not None


def test_the_file_holds_no_credential(client, number_admin, inventory):
    job = _start(client, number_admin, "sort=-label")
    with default_storage.open(job.output.name, "rb") as handle:
        assert SECRET.encode() not in handle.read()


def test_it_keeps_the_views_columns(client, support, inventory):
    job = _start(client, support, "cols=number,label&q=Off")
    header, *rows = _rows(job)
    assert header[:2] == ["number", "label"]
    assert [r[:2] for r in rows] == [["'+13035550199", "Off"]]


def test_it_drops_paging_from_the_view(client, support, inventory):
    job = _start(client, support, "page=2&active=yes")
    assert job.params["query"] == "active=yes"
    assert len(_rows(job)) == 4


def test_it_stops_between_batches_once_cancelled(client, support, inventory, monkeypatch):
    monkeypatch.setattr(jobs.output, "BATCH_ROWS", 1)
    real = jobs.output.job_progress

    def cancel_after_first(*, job_id, done):
        if done == 2:
            job_cancel(job_id=job_id)
        return real(job_id=job_id, done=done)

    monkeypatch.setattr(jobs.output, "job_progress", cancel_after_first)
    job = _start(client, support)
    assert (job.state, job.done, job.output.name) == (JobState.CANCELLED, 1, "")
    assert not default_storage.exists(f"exports/{job.pk}.csv")


def test_an_unwritable_storage_fails_the_job_with_a_clear_error(
    client, support, inventory, monkeypatch
):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(default_storage, "save", full_disk)
    job = _start(client, support)
    assert job.state == JobState.FAILED
    assert job.error == "The file could not be written: No space left on device."


def test_a_bad_reason_starts_nothing(client, support, inventory):
    client.force_login(support)
    response = client.post("/numbers/export-job", {"query": "", "reason": "a\nb"})
    assert response.status_code == 302
    assert not Job.objects.exists()


def test_control_characters_in_the_view_are_kept_escaped(client, support, inventory):
    # The NUL in a parameter the inventory ignores: in its search it would reach the
    # database, which the console's own GETs never let happen (RequestGuardMiddleware).
    job = _start(client, support, "note=a\x00b\nc&active=yes")
    assert job.params["query"] == "note=a%00b%0Ac&active=yes"
    assert job.state == JobState.SUCCEEDED


def test_a_bad_reason_goes_back_to_the_view_with_it_escaped(client, support):
    client.force_login(support)
    response = client.post("/numbers/export-job", {"query": "q=x\ny", "reason": "a\x00"})
    assert response["Location"] == "/numbers/?q=x%0Ay"


def test_an_over_long_view_starts_nothing(client, support):
    client.force_login(support)
    response = client.post("/numbers/export-job", {"query": "q=" + "x" * 5000})
    assert response.status_code == 302
    assert not Job.objects.exists()


def test_a_customer_may_not_export(client, owner):
    client.force_login(owner)
    assert client.post("/numbers/export-job", {"query": ""}).status_code == 403


def test_a_get_is_refused(client, support):
    client.force_login(support)
    assert client.get("/numbers/export-job").status_code == 405


def test_a_view_over_the_streaming_limit_goes_to_the_background(
    client, support, inventory, settings
):
    settings.EXPORT_STREAM_MAX_ROWS = 4
    client.force_login(support)
    response = client.get("/numbers/export.csv")
    assert response.status_code == 413
    assert "export it in the background" in response.content.decode()
    page = client.get("/numbers/").content.decode()
    assert 'href="/numbers/export.csv' not in page and "Export CSV: in background" in page
    # Within the limit the stream stays.
    assert client.get("/numbers/export.csv?active=no").status_code == 200
    assert 'href="/numbers/export.csv' in client.get("/numbers/?active=no").content.decode()
