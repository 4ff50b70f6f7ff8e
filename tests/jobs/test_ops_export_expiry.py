"""Export files expire (jobs.services.job_succeed, console.jobs.job_download) and
``manage.py purge_exports`` deletes them (jobs.services.job_outputs_purge)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

import jobs.services
from jobs.models import Job, JobState
from jobs.services import job_start, job_succeed
from tests.factories import make_finished_export, make_job, make_number

pytestmark = pytest.mark.django_db

CONTENT = b"number\r\n'+13035550100\r\n"


def _expired(user, content: bytes = CONTENT, *, ago: timedelta = timedelta(hours=1)) -> Job:
    job = make_finished_export(user, content)
    Job.objects.filter(pk=job.pk).update(
        expires_at=timezone.now() - ago, params={"query": "active=yes", "columns": []}
    )
    job.refresh_from_db()
    return job


def _valid(user, content: bytes = CONTENT) -> Job:
    job = make_finished_export(user, content)
    Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() + timedelta(hours=1))
    job.refresh_from_db()
    return job


def _purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_exports", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_a_finished_export_expires_after_the_ttl(client, support, owner, settings):
    settings.JOBS_EXPORT_TTL_HOURS = 2
    make_number(owner, "+13035550100")
    client.force_login(support)
    client.post("/numbers/export-job", {"query": ""})
    job = Job.objects.get()
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.expires_at - job.finished_at == timedelta(hours=2)


def test_a_job_without_a_file_does_not_expire(support):
    job = make_job(support)
    job_start(job_id=job.pk, total=0)
    job_succeed(job_id=job.pk, output="", result={})
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.expires_at is None


def test_before_expiry_the_page_says_until_when_and_the_file_downloads(client, support):
    job = _valid(support)
    client.force_login(support)
    body = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f'href="/jobs/{job.pk}/download" download>Download CSV</a> (until <time' in body
    response = client.get(f"/jobs/{job.pk}/download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT


def test_after_expiry_the_download_is_410_and_never_the_file(client, support):
    job = _expired(support)
    client.force_login(support)
    response = client.get(f"/jobs/{job.pk}/download")
    assert response.status_code == 410
    body = response.content.decode()
    assert "This export expired on <time" in body
    assert 'start it again from the <a href="/numbers/?active=yes">inventory</a>' in body
    assert "13035550100" not in body
    assert default_storage.exists(job.output.name)  # not yet purged, still not served


def test_after_expiry_the_page_says_expired_without_a_link(client, support):
    job = _expired(support)
    client.force_login(support)
    body = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "<strong>Expired</strong> on <time" in body
    assert "/download" not in body


def test_expiry_does_not_open_the_file_to_anyone_else(client, support, number_admin):
    job = _expired(number_admin)
    client.force_login(support)
    assert client.get(f"/jobs/{job.pk}/download").status_code == 404


def test_purge_deletes_expired_files_only_and_clears_their_link(support):
    old = _expired(support, b"x" * 1000)
    name = old.output.name
    current = _valid(support)
    forever = make_finished_export(support)  # no expiry recorded
    out = _purge()
    assert out == (
        "Deleted 1 expired export file(s), 1,000 bytes; 0 already gone.\n"
        "Deleted 0 work file(s) of finished imports and bulk changes, 0 bytes.\n"
    )
    old.refresh_from_db()
    assert old.output.name == "" and old.expires_at is not None
    assert not default_storage.exists(name)
    for job in (current, forever):
        job.refresh_from_db()
        assert default_storage.exists(job.output.name)


def test_a_purged_export_still_answers_expired(client, support):
    job = _expired(support)
    _purge()
    client.force_login(support)
    assert client.get(f"/jobs/{job.pk}/download").status_code == 410


def test_a_dry_run_deletes_nothing(support):
    job = _expired(support, b"x" * 10)
    assert _purge("--dry-run") == (
        "Would delete 1 expired export file(s), 10 bytes; 0 already gone.\n"
        "Would delete 0 work file(s) of finished imports and bulk changes, 0 bytes.\n"
    )
    job.refresh_from_db()
    assert job.output.name and default_storage.exists(job.output.name)


def test_purge_is_idempotent(support):
    _expired(support)
    _purge()
    assert _purge() == (
        "Deleted 0 expired export file(s), 0 bytes; 0 already gone.\n"
        "Deleted 0 work file(s) of finished imports and bulk changes, 0 bytes.\n"
    )


def test_a_file_already_gone_is_counted_and_its_link_cleared(support):
    job = _expired(support)
    default_storage.delete(job.output.name)
    assert _purge() == (
        "Deleted 0 expired export file(s), 0 bytes; 1 already gone.\n"
        "Deleted 0 work file(s) of finished imports and bulk changes, 0 bytes.\n"
    )
    job.refresh_from_db()
    assert job.output.name == ""


def test_a_file_that_cannot_be_deleted_is_reported_and_the_rest_purged(support, monkeypatch):
    stuck = _expired(support, ago=timedelta(hours=2))
    other = _expired(support)
    real_delete = default_storage.delete

    def delete(name):
        if name == stuck.output.name:
            raise PermissionError(13, "Permission denied")
        real_delete(name)

    monkeypatch.setattr(default_storage, "delete", delete)
    err = StringIO()
    with pytest.raises(CommandError, match="1 file"):
        call_command("purge_exports", stdout=StringIO(), stderr=err)
    assert f"Could not delete {stuck.output.name}: PermissionError" in err.getvalue()
    stuck.refresh_from_db()
    other.refresh_from_db()
    assert stuck.output.name and default_storage.exists(stuck.output.name)
    assert other.output.name == ""


def test_purge_walks_every_batch(support, monkeypatch):
    monkeypatch.setattr(jobs.services, "PURGE_BATCH", 2)
    expired = [_expired(support) for _ in range(5)]
    assert _purge().startswith("Deleted 5 expired export file(s)")
    assert not Job.objects.filter(pk__in=[j.pk for j in expired]).exclude(output="").exists()


def test_purge_reads_sizes_through_the_storage_api(support, monkeypatch):
    job = _expired(support)
    seen = []
    real_size = default_storage.size
    monkeypatch.setattr(default_storage, "size", lambda name: seen.append(name) or real_size(name))
    _purge()
    assert seen == [job.output.name]


def test_a_file_deleted_while_the_purge_looks_at_it_counts_as_gone(support, monkeypatch):
    job = _expired(support)

    def vanished(name):
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(default_storage, "size", vanished)
    assert _purge() == (
        "Deleted 0 expired export file(s), 0 bytes; 1 already gone.\n"
        "Deleted 0 work file(s) of finished imports and bulk changes, 0 bytes.\n"
    )
    job.refresh_from_db()
    assert job.output.name == ""


def test_work_files_of_finished_imports_and_unapplied_bulk_plans_are_purged(support, settings):
    import os
    import time

    from django.core.files.base import ContentFile

    from jobs.models import JobKind
    from jobs.services import BULK_PLAN_DIR, job_work_files_purge

    old = timezone.now() - timedelta(hours=settings.JOBS_EXPORT_TTL_HOURS + 1)
    upload = default_storage.save("imports/x/upload.csv", ContentFile(b"number\n"))
    plan = default_storage.save("imports/x/plan.json", ContentFile(b"{}"))
    make_job(
        support,
        kind=JobKind.IMPORT_PREVIEW,
        state=JobState.SUCCEEDED,
        finished_at=old,
        params={"format": "csv", "upload": upload},
        result={"plan": plan},
    )
    fresh = default_storage.save("imports/y/upload.csv", ContentFile(b"number\n"))
    make_job(
        support,
        kind=JobKind.IMPORT_PREVIEW,
        state=JobState.SUCCEEDED,
        finished_at=timezone.now(),
        params={"format": "csv", "upload": fresh},
    )
    stale = default_storage.save(f"{BULK_PLAN_DIR}/stale.plan", ContentFile(b"a.1\n"))
    pending = default_storage.save(f"{BULK_PLAN_DIR}/pending.plan", ContentFile(b"a.1\n"))
    make_job(support, kind=JobKind.BULK_EDIT, state=JobState.QUEUED, params={"plan": pending})
    for name in (stale, pending):  # reviewed long ago
        past = time.time() - (settings.JOBS_EXPORT_TTL_HOURS + 1) * 3600
        os.utime(default_storage.path(name), (past, past))

    dry = job_work_files_purge(dry_run=True)
    assert (dry.deleted, dry.bytes) == (3, 7 + 2 + 4)
    assert default_storage.exists(upload)
    report = job_work_files_purge()
    assert report.deleted == 3 and not report.failed
    assert not default_storage.exists(upload) and not default_storage.exists(plan)
    assert not default_storage.exists(stale)
    assert default_storage.exists(fresh) and default_storage.exists(pending)
    assert job_work_files_purge().deleted == 0  # a second run finds nothing
