"""Real task workers for tests: started as subprocesses on the test database, always killed.

``run_worker(backend)`` starts the worker that production runs for ``backend``
(``manage.py db_worker`` for "database"; ``manage.py rqworker --job-class
django_tasks_rq.Job`` for "rq") with the test process's database, media directory and
jobs cache, so a job the test enqueues is run by another process exactly as in
production. ``use_backend`` points the test process's own ``TASKS`` (and, for RQ,
``RQ_QUEUES``) at the same queue. ``wait_for_job`` polls the job's row.

To stop a job mid-work and kill its worker (the kill tests), pass
``pause_after_progress=N``: the worker runs through ``tests.jobs.worker_main``, which
pauses the work at its Nth progress write; ``Worker.wait_until_paused`` then names
the process doing the work and ``Worker.kill`` sends SIGKILL to it and to the
worker's whole process tree, as a lost machine or the OOM killer would.

The test database must be committed to be seen by another process: tests that use
these run with ``django_db(transaction=True)`` (or ``live_server``). Workers need
PostgreSQL: pytest-django's SQLite test database lives in the test process's memory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from jobs.models import Job
from scripts.cluster import descendants
from tests.jobs.worker_main import PAUSE_AFTER_ENV, PAUSED_FILE_ENV

BASE_DIR = Path(__file__).resolve().parents[2]
BACKENDS = ("database", "rq")
# A Redis database of the worker tests' own, flushed before and after each test:
# never 0, which a developer's own queue or cache may use.
REDIS_URL = "redis://127.0.0.1:6379/14"
# A worker needs a second or two to start (Django's setup); a CI machine shared
# with other work may need many more.
START_SECONDS = 60


def redis_missing() -> str | None:
    """Why the RQ tests cannot run here, or None when Redis answers at ``REDIS_URL``."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return (
            f"Redis does not answer at {REDIS_URL} ({type(exc).__name__}); "
            "start it with `redis-server --daemonize yes`"
        )
    return None


def flush_redis() -> None:
    """Empty the tests' own Redis database (``REDIS_URL``) and only that one."""
    import redis

    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).flushdb()


def use_backend(settings_fixture: Any, backend: str) -> None:
    """Point this process's tasks at ``backend``'s queue, the one the worker reads.

    Changing ``TASKS`` resets django-tasks' cached backends (its ``setting_changed``
    receiver); django-rq reads ``RQ_QUEUES`` on every call."""
    from config.settings import _TASK_BACKENDS

    settings_fixture.TASKS = {"default": {"BACKEND": _TASK_BACKENDS[backend]}}
    if backend == "rq":
        settings_fixture.RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}


def database_url() -> str:
    """The test database (pytest-django's ``test_...``) as a DATABASE_URL."""
    s = connection.settings_dict
    if connection.vendor != "postgresql":
        raise RuntimeError("worker tests need PostgreSQL: another process cannot see SQLite's")
    user = quote(s["USER"] or "", safe="")
    password = f":{quote(s['PASSWORD'], safe='')}" if s["PASSWORD"] else ""
    host = s["HOST"] or "127.0.0.1"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{quote(s['NAME'], safe='')}"


def worker_env(backend: str) -> dict[str, str]:
    """The worker's environment: this process's, on the same database, media
    directory and jobs cache, with ``backend`` chosen the way production chooses it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TEST_WORKER_"))}
    env.pop("DEBUG", None)  # off: no autoreloader, production's code paths
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url(),
        TASKS_BACKEND=backend,
        TASKS_REDIS_URL=REDIS_URL,
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        PYTHONUNBUFFERED="1",
    )
    jobs_cache = settings.CACHES["jobs"]
    if jobs_cache["BACKEND"].endswith("FileBasedCache"):
        env["JOBS_CACHE_DIR"] = str(jobs_cache["LOCATION"])
    return env


def worker_command(backend: str, *, name: str) -> list[str]:
    """What production runs for ``backend`` (README, ``make worker``), tuned to pick
    a task up quickly."""
    if backend == "database":
        return [
            "db_worker",
            "--no-reload",
            "--no-startup-delay",
            "--interval",
            "0.1",
            "--worker-id",
            name,
        ]
    if backend == "rq":
        return ["rqworker", "--job-class", "django_tasks_rq.Job", "--name", name, "default"]
    raise ValueError(f"no worker for the {backend!r} task backend")


@dataclass
class Worker:
    """A running worker subprocess and what it printed."""

    backend: str
    process: subprocess.Popen[bytes]
    log_path: Path
    paused_path: Path
    killed: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self, limit: int = 4000) -> str:
        """The tail of what the worker printed (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            pytest.fail(
                f"the {self.backend} worker exited with code {code}:\n{self.log()}", pytrace=False
            )

    def wait_until_paused(self, timeout: float = START_SECONDS) -> int:
        """The id of the process doing the work, once it stands at its pause point
        (``pause_after_progress``): the worker itself, or RQ's work horse."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.paused_path.exists():
                return int(self.paused_path.read_text())
            self.check_alive()
            time.sleep(0.05)
        pytest.fail(
            f"the {self.backend} worker's job did not reach its pause in {timeout:.0f} s:\n"
            f"{self.log()}",
            pytrace=False,
        )

    def kill(self) -> None:
        """SIGKILL the worker and every process under it (and the paused work's
        process, wherever it is), then wait until they are gone: nothing runs a
        ``finally``, an ``atexit`` or a rollback of its own."""
        pids = [self.pid, *descendants(self.pid)]
        if self.paused_path.exists():
            pids.append(int(self.paused_path.read_text()))
        for pid in dict.fromkeys(pids):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            self.killed.append(pid)
        self.process.wait(timeout=30)
        deadline = time.monotonic() + 30
        for pid in self.killed:
            while process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)


def process_alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie awaiting its reaping does not)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


@contextmanager
def run_worker(backend: str, *, pause_after_progress: int | None = None) -> Iterator[Worker]:
    """A real worker for ``backend`` on the test database, killed (SIGKILL, with
    every process it forked) when the block ends, however it ends.

    With ``pause_after_progress=N`` the job it takes stops, transaction open, at its
    Nth progress write (``tests.jobs.worker_main``)."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    env = worker_env(backend)
    with tempfile.TemporaryDirectory(prefix="switchboard-worker-") as scratch:
        log_path = Path(scratch) / "worker.log"
        paused_path = Path(scratch) / "paused"
        if pause_after_progress is None:
            command = [sys.executable, "manage.py", *worker_command(backend, name=name)]
        else:
            env[PAUSE_AFTER_ENV] = str(pause_after_progress)
            env[PAUSED_FILE_ENV] = str(paused_path)
            command = [
                sys.executable,
                "-m",
                "tests.jobs.worker_main",
                *worker_command(backend, name=name),
            ]
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 - our own manage.py, fixed arguments
                command,
                cwd=BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(backend, process, log_path, paused_path)
        try:
            yield worker
        finally:
            if process.poll() is None or descendants(process.pid):
                worker.kill()


def wait_for_job(
    job_id: Any,
    states: Collection[str],
    timeout: float = START_SECONDS,
    *,
    worker: Worker | None = None,
) -> Job:
    """The job, once its state is one of ``states``; a test failure naming its state,
    progress, error and the worker's output when it is not within ``timeout`` s, or
    as soon as the worker has exited."""
    deadline = time.monotonic() + timeout
    while True:
        job = Job.objects.get(pk=job_id)
        if job.state in states:
            return job
        if worker is not None and worker.process.poll() is not None:
            break
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    said = f"job {job.pk} is {job.state!r} ({job.done} of {job.total}), not one of {sorted(states)}"
    if job.error:
        said += f"; its error: {job.error}"
    if worker is not None:
        code = worker.process.poll()
        ended = f"exited with code {code}" if code is not None else "still running"
        said += f"\nthe {worker.backend} worker ({ended}) printed:\n{worker.log()}"
    pytest.fail(said, pytrace=False)
