"""Fixtures for tests that run jobs on a real worker (tests/jobs/workers.py).

Tests marked ``worker`` run once, in CI's PostgreSQL pass (the house rule, as for
browser tests): on SQLite they are deselected, since another process cannot see
pytest-django's in-memory test database. On PostgreSQL an RQ test skips, saying why,
when Redis does not answer; under CI=true (which starts Redis) that skip is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.jobs.workers import BACKENDS, Worker, flush_redis, redis_missing, run_worker, use_backend


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    left = [item for item in items if item.get_closest_marker("worker") is not None]
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = [item for item in items if item.get_closest_marker("worker") is None]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """Under CI=true a skipped worker test is a failure: CI must really run them."""
    outcome = yield
    report = outcome.get_result()
    if (
        os.environ.get("CI") == "true"
        and report.skipped
        and not hasattr(report, "wasxfail")  # a known failure, not a missing Redis
        and item.get_closest_marker("worker") is not None
    ):
        report.outcome = "failed"
        report.longrepr = f"Worker test skipped under CI=true: {report.longrepr}"


@pytest.fixture(params=BACKENDS)
def task_backend(request, settings) -> Iterator[str]:
    """Each worker test once per production backend, this process enqueueing on the
    queue the worker reads; the RQ one in a Redis database of its own, emptied."""
    backend = request.param
    if backend == "rq":
        if why := redis_missing():
            pytest.skip(why)
        flush_redis()
    use_backend(settings, backend)
    yield backend
    if backend == "rq":
        flush_redis()


@pytest.fixture
def worker(task_backend, transactional_db) -> Iterator[Worker]:
    """A real worker for the test's backend, killed at teardown (before the test
    database is emptied)."""
    with run_worker(task_backend) as running:
        yield running
