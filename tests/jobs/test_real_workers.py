"""Jobs run by real workers, on each production backend, and workers killed mid-work.

Everywhere else the tests run tasks inside the request (the immediate backend); here
a separate process takes them from the queue, as in production: ``manage.py
db_worker`` for TASKS_BACKEND=database, ``manage.py rqworker`` for TASKS_BACKEND=rq
(Redis). The harness is tests/jobs/workers.py. These tests are marked ``worker``:
PostgreSQL pass only (tests/jobs/conftest.py), RQ ones need Redis.

A worker killed with SIGKILL gets no chance to clean up: what it wrote inside its
transaction must vanish with it, a file it was writing must never appear, and the
job must stay "running" with its last heartbeat, so that its page shows it stalled.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction

from console.export_tasks import start_export
from core.dbtimeouts import long_running
from jobs.models import Job, JobKind, JobState
from jobs.output import BATCH_ROWS
from jobs.queries import with_live_progress
from phone_numbers import upkeep
from phone_numbers.models import PhoneNumber
from tests.factories import make_job
from tests.jobs.worker_tasks import add_numbers_in_one_transaction, report_database_timeouts
from tests.jobs.workers import BASE_DIR, run_worker, wait_for_job

# "A few thousand numbers": the export a worker runs to the end.
NUMBERS = 3_000


@pytest.fixture(autouse=True)
def _remove_new_exports():
    """The files these tests' workers store are removed after each test: the media
    directory is the whole run's, and other tests list it."""

    def names() -> set[str]:
        return (
            set(default_storage.listdir("exports")[1])
            if default_storage.exists("exports")
            else set()
        )

    before = names()
    yield
    for name in names() - before:
        default_storage.delete(f"exports/{name}")


def _add_numbers(owner, count: int = NUMBERS) -> list[str]:
    """``count`` numbers, committed. Under the command profile's database timeouts:
    tens of thousands of rows may take a loaded machine more than a web request's 5 s."""
    numbers = [f"+1303{i:07d}" for i in range(count)]
    with long_running():
        PhoneNumber.objects.bulk_create(
            PhoneNumber(user=owner, number=number, telephony_provider="twilio")
            for number in numbers
        )
        upkeep.rebuild()
    return numbers


def _csv(job: Job) -> list[list[str]]:
    with default_storage.open(job.output.name, "rb") as handle:
        return list(csv.reader(io.StringIO(handle.read().decode())))


def _stalled(job: Job, *, seconds_after_last_beat: float) -> bool:
    """Whether the job's page would show it stalled that long after its last sign of
    life (the row's heartbeat, or the cache's for work inside a transaction)."""
    [seen] = with_live_progress([Job.objects.get(pk=job.pk)])
    later = seen.heartbeat_at + timedelta(seconds=seconds_after_last_beat)
    [seen] = with_live_progress([Job.objects.get(pk=job.pk)], now=later)
    return seen.stalled_since is not None


# Choosing the backend -------------------------------------------------------------------


def _settings_of(tasks_backend: str, code: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TASKS_BACKEND": tasks_backend,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("TASKS_REDIS_URL", None)
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_tasks_backend_rq_queues_in_redis_and_passes_the_packages_checks():
    shown = _settings_of(
        "rq",
        "import json; from django.conf import settings as s; "
        "from django.core.management import call_command; call_command('check'); "
        "print(json.dumps([s.TASKS, s.RQ_QUEUES, s.INSTALLED_APPS[-2:]]))",
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    tasks, queues, apps = json.loads(shown.stdout.splitlines()[-1])
    assert tasks == {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    assert queues["default"]["URL"] == "redis://127.0.0.1:6379/0"
    # RQ's own default (180 s) would kill a long export.
    assert queues["default"]["DEFAULT_TIMEOUT"] >= 3600
    assert apps == ["django_rq", "django_tasks_rq"]


def test_without_rq_neither_django_rq_nor_its_settings_are_loaded():
    assert "django_rq" not in settings.INSTALLED_APPS
    assert not hasattr(settings, "RQ_QUEUES")


def test_an_unknown_tasks_backend_is_refused_naming_the_choices():
    shown = _settings_of("celery", "pass")
    assert shown.returncode != 0
    assert "TASKS_BACKEND must be one of database, rq, immediate (got 'celery')." in shown.stderr


# A worker runs the job ------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_an_export_of_thousands_of_numbers_to_its_file(worker, support, owner):
    numbers = _add_numbers(owner)
    job = start_export(user=support, query="sort=number", columns=["number", "label"])
    assert Job.objects.get(pk=job.pk).state == JobState.QUEUED  # nothing ran it in-process

    job = wait_for_job(job.pk, {JobState.SUCCEEDED, JobState.FAILED}, worker=worker)

    assert job.state == JobState.SUCCEEDED, job.error
    assert (job.done, job.total, job.result) == (NUMBERS, NUMBERS, {"rows": NUMBERS})
    header, *rows = _csv(job)
    assert header[:2] == ["number", "label"]
    assert [row[0] for row in rows] == [f"'{number}" for number in numbers]


@pytest.mark.worker
def test_an_export_started_through_the_web_is_run_by_the_worker(
    live_server, worker, client, support, owner
):
    _add_numbers(owner, 50)
    client.force_login(support)
    csrf = client.get("/numbers/").cookies[settings.CSRF_COOKIE_NAME].value
    session = client.cookies[settings.SESSION_COOKIE_NAME].value

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(
        f"{live_server.url}/numbers/export-job",
        data=urllib.parse.urlencode(
            {"query": "active=yes&sort=-number", "csrfmiddlewaretoken": csrf}
        ).encode(),
        headers={
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}; "
            f"{settings.CSRF_COOKIE_NAME}={csrf}"
        },
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.build_opener(Stay).open(request, timeout=30)
    assert answer.value.code == 302
    job = Job.objects.get()
    assert answer.value.headers["Location"] == f"/jobs/{job.pk}/"

    job = wait_for_job(job.pk, {JobState.SUCCEEDED, JobState.FAILED}, worker=worker)
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.result == {"rows": 50}
    assert len(_csv(job)) == 51


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_jobs_under_the_long_work_database_timeouts(worker, support):
    """Not a web request's few seconds (core.dbtimeouts): a big export's count or an
    import's statements would be cancelled."""
    job = make_job(support, kind=JobKind.IMPORT_APPLY, params={})
    report_database_timeouts.enqueue(job_id=str(job.pk))
    job = wait_for_job(job.pk, {JobState.SUCCEEDED, JobState.FAILED}, worker=worker)
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.result == settings.DATABASE_TIMEOUTS["command"]


# A worker killed mid-work ---------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_export_killed_mid_file_stores_nothing_and_stalls(task_backend, support, owner):
    # A batch and a half: the worker stops after writing the first batch.
    total = BATCH_ROWS + BATCH_ROWS // 2
    _add_numbers(owner, total)
    with run_worker(task_backend, pause_after_progress=1) as worker:
        job = start_export(user=support, query="", columns=["number"])
        worker_pid = worker.wait_until_paused()
        before = Job.objects.get(pk=job.pk)
        assert (before.state, before.done, before.total) == (JobState.RUNNING, BATCH_ROWS, total)
        worker.kill()
        assert worker_pid in worker.killed
        # RQ runs each job in a work horse it forks (in a process group of its own);
        # db_worker runs it itself.
        assert (worker_pid != worker.pid) == (task_backend == "rq")

    after = Job.objects.get(pk=job.pk)
    assert after.state == JobState.RUNNING
    assert (after.done, after.heartbeat_at) == (before.done, before.heartbeat_at)
    assert not after.output and after.finished_at is None
    assert not default_storage.exists(f"exports/{job.pk}.csv")
    assert not _stalled(after, seconds_after_last_beat=settings.JOBS_HEARTBEAT_TIMEOUT - 1)
    assert _stalled(after, seconds_after_last_beat=settings.JOBS_HEARTBEAT_TIMEOUT + 1)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_work_killed_inside_its_transaction_leaves_nothing_half_applied(
    task_backend, support, owner
):
    numbers = [f"+1720555{i:04d}" for i in range(500)]
    job = make_job(support, kind=JobKind.IMPORT_APPLY, params={})
    with run_worker(task_backend, pause_after_progress=1) as worker:
        add_numbers_in_one_transaction.enqueue(
            job_id=str(job.pk), owner_id=str(owner.pk), numbers=numbers
        )
        worker.wait_until_paused()
        before = Job.objects.get(pk=job.pk)
        # Every row is in, uncommitted; the progress from inside shows over the row.
        assert (before.state, before.done, before.total) == (JobState.RUNNING, 0, 500)
        assert with_live_progress([Job.objects.get(pk=job.pk)])[0].done == 500
        worker.kill()

    # The number is free to take: had the dead worker's transaction committed, this
    # insert would fail; were it still open, it would wait (lock_timeout: an error).
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '10s'")
        PhoneNumber.objects.create(user=owner, number=numbers[-1], telephony_provider="twilio")
    assert list(
        PhoneNumber.objects.filter(number__in=numbers).values_list("number", flat=True)
    ) == [numbers[-1]]
    after = Job.objects.get(pk=job.pk)
    assert after.state == JobState.RUNNING and after.finished_at is None
    assert (after.done, after.heartbeat_at) == (0, before.heartbeat_at)
    [seen] = with_live_progress([after])
    assert seen.done == 500  # the cache keeps its last word, beat and all
    assert _stalled(after, seconds_after_last_beat=settings.JOBS_HEARTBEAT_TIMEOUT + 1)
