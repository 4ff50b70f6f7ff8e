"""Bulk changes past the synchronous limit run as a job (console.bulk_tasks).

The limit is lowered to 3 numbers here; the immediate task backend runs the job in
the request that confirms it.
"""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from audit.models import AuditEntry
from audit.services import Actor
from console import number_bulk
from jobs.models import Job, JobKind, JobState
from phone_numbers import bulk
from phone_numbers.models import PhoneNumber
from phone_numbers.services import phone_number_update
from tests.factories import make_number
from tests.phone_numbers.test_bulk_assign import plan_of, post, words

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_limit(monkeypatch):
    monkeypatch.setattr(number_bulk.BulkStep, "sync_limit", 3)
    monkeypatch.setattr(bulk, "BATCH", 2)


@pytest.fixture
def many(owner):
    return [make_number(owner, f"+1415555020{i}", label=f"L{i}") for i in range(7)]


def _review(client, user):
    client.force_login(user)
    data = {"all": "on", "kind": "outbound_only", "outbound_only": "yes"}
    review = post(client, "bulk_review", data)
    assert review.status_code == 200, words(review)
    return data, review


def test_past_the_limit_apply_starts_a_job_that_changes_every_number(
    client, number_admin, many, monkeypatch
):
    data, review = _review(client, number_admin)
    assert "Apply starts a background job" in words(review)
    applied = post(client, "bulk_apply", {**data, "plan": plan_of(review), "reason": "SUP-9"})
    job = Job.objects.get(kind=JobKind.BULK_EDIT)
    assert applied.headers["HX-Redirect"] == f"/jobs/{job.pk}/"
    assert job.state == JobState.SUCCEEDED, job.error
    assert (job.done, job.total) == (7, 7)
    assert job.result["changed"] == 7 and job.result["refused_count"] == 0
    assert PhoneNumber.objects.filter(outbound_only=True).count() == 7
    entries = AuditEntry.objects.filter(request_id=f"job-{job.pk.hex}")
    assert entries.count() == 7 and set(entries.values_list("reason", flat=True)) == {"SUP-9"}
    assert not default_storage.exists(job.params["plan"])  # the plan file is gone
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "7 numbers changed" in page


def test_a_number_changed_after_the_review_is_refused_and_listed(client, number_admin, many):
    data, review = _review(client, number_admin)
    phone_number_update(number=many[3], changes={"label": "Moved"}, actor=Actor("x", "api"))
    post(client, "bulk_apply", {**data, "plan": plan_of(review)})
    job = Job.objects.get(kind=JobKind.BULK_EDIT)
    assert job.result["changed"] == 6
    assert job.result["refused"] == [["+14155550203", "changed since you confirmed (now v2)"]]
    assert not PhoneNumber.objects.get(pk=many[3].pk).outbound_only
    assert "changed since you confirmed" in client.get(f"/jobs/{job.pk}/").content.decode()


def test_cancelled_between_batches_it_stops_with_what_it_wrote_audited(
    client, number_admin, many, monkeypatch
):
    from console import bulk_tasks

    calls = []

    def progress_then_cancel(*, job_id, done, **kwargs):
        calls.append(done)
        return len(calls) < 2  # the second batch's check says: cancelled

    monkeypatch.setattr(bulk_tasks, "job_progress", progress_then_cancel)
    data, review = _review(client, number_admin)
    post(client, "bulk_apply", {**data, "plan": plan_of(review)})
    job = Job.objects.get(kind=JobKind.BULK_EDIT)
    assert job.state == JobState.CANCELLED
    written = PhoneNumber.objects.filter(outbound_only=True).count()
    assert written == job.result["changed"] == calls[-1]
    assert AuditEntry.objects.filter(request_id=f"job-{job.pk.hex}").count() == written


def test_a_plan_storage_cannot_take_is_an_error_on_the_page(
    client, number_admin, many, monkeypatch
):
    import errno

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(default_storage, "save", disk_full)
    client.force_login(number_admin)
    data = {"all": "on", "kind": "outbound_only", "outbound_only": "yes"}
    review = post(client, "bulk_review", data)
    assert review.status_code == 200
    assert "could not be prepared: No space left on device" in words(review)
    assert not Job.objects.exists()
