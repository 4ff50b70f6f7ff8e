"""/healthz reports the background jobs (core.health, registered by jobs.apps) and
its status code still depends on the primary database alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import caches
from django.db import OperationalError, connection
from django.utils import timezone

from core import health
from jobs.models import Job, JobState
from tests.factories import make_job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _short_timeout(settings):
    settings.JOBS_HEARTBEAT_TIMEOUT = 5


@pytest.fixture
def extra_probe():
    """Register probes for one test; remove them afterwards."""
    names = []

    def add(name, probe):
        names.append(name)
        health.register(name, probe)

    yield add
    for name in names:
        health.unregister(name)


def _aged(job: Job, seconds: int) -> Job:
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))
    return job


def test_it_reports_queue_depth_the_oldest_wait_running_and_stalled(client, support):
    _aged(make_job(support), 90)
    _aged(make_job(support), 30)
    now = timezone.now()
    make_job(support, state=JobState.RUNNING, started_at=now, heartbeat_at=now)
    make_job(
        support,
        state=JobState.RUNNING,
        started_at=now - timedelta(minutes=5),
        heartbeat_at=now - timedelta(minutes=4),
    )
    make_job(support, state=JobState.SUCCEEDED)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"]) == ("ok", "ok")
    jobs = body["jobs"]
    assert 90 <= jobs.pop("oldest_queued_seconds") < 100
    assert jobs == {"status": "ok", "queued": 2, "running": 2, "stalled": 1}


def test_an_empty_queue_has_no_oldest_wait(client):
    jobs = client.get("/healthz").json()["jobs"]
    assert jobs == {
        "status": "ok",
        "queued": 0,
        "oldest_queued_seconds": None,
        "running": 0,
        "stalled": 0,
    }


def test_a_heartbeat_in_the_cache_is_not_counted_stalled(client, support):
    from jobs.services import job_progress

    old = timezone.now() - timedelta(minutes=4)
    job = make_job(support, state=JobState.RUNNING, started_at=old, heartbeat_at=old)
    job_progress(job_id=job.pk, done=10, in_work_transaction=True)
    assert client.get("/healthz").json()["jobs"]["stalled"] == 0


def test_a_raising_probe_is_reported_and_leaves_200(client, extra_probe):
    def broken():
        raise OperationalError('could not connect to server at "10.0.0.9"')

    extra_probe("broken", broken)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["broken"] == {"status": "error", "error": "OperationalError"}
    assert body["status"] == "ok" and body["jobs"]["status"] == "ok"
    assert "10.0.0.9" not in response.content.decode()


def test_a_failed_statement_in_one_probe_does_not_spoil_the_next(client, extra_probe):
    # A missing table: on PostgreSQL the failed statement aborts its transaction,
    # which the probe's own bounded block rolls back.
    def missing_table():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM no_such_jobs_table")
        return {}

    def counts_after():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return {"one": cursor.fetchone()[0]}

    extra_probe("missing", missing_table)
    extra_probe("after", counts_after)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["missing"]["status"] == "error"
    assert body["after"] == {"status": "ok", "one": 1}
    assert client.get("/healthz").status_code == 200  # the connection still works


def test_a_cache_that_is_down_leaves_200(client, support, monkeypatch):
    old = timezone.now() - timedelta(minutes=4)
    make_job(support, state=JobState.RUNNING, started_at=old, heartbeat_at=old)

    def cache_down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(caches["jobs"], "get_many", cache_down)
    response = client.get("/healthz")
    assert response.status_code == 200
    # The marks are a nicety: without them the rows say the job went silent.
    assert response.json()["jobs"]["status"] == "ok"
    assert response.json()["jobs"]["stalled"] == 1


def test_a_missing_jobs_table_leaves_200(client, monkeypatch):
    def no_table(*args, **kwargs):
        raise OperationalError("no such table: jobs_job")

    monkeypatch.setattr(Job.objects, "aggregate", no_table)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["jobs"] == {"status": "error", "error": "OperationalError"}


def test_a_database_that_is_down_is_still_503_without_probes(client, monkeypatch):
    ran = []

    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "report", lambda: ran.append(1) or {})
    monkeypatch.setattr(connection, "cursor", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json() == {"status": "error", "database": "unreachable"}
    assert ran == []


def test_an_unreachable_jobs_cache_leaves_pages_and_healthz_answering(client, support, settings):
    from jobs.services import job_progress

    settings.CACHES = {
        **settings.CACHES,
        "jobs": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing answers
        },
    }
    old = timezone.now() - timedelta(minutes=4)
    job = make_job(support, state=JobState.RUNNING, started_at=old, heartbeat_at=old)
    assert job_progress(job_id=job.pk, done=5, in_work_transaction=True) is True
    client.force_login(support)
    assert client.get(f"/jobs/{job.pk}/").status_code == 200
    assert client.get("/jobs/").status_code == 200
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["jobs"]["stalled"] == 1
