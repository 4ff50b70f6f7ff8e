"""What ``/metrics`` says of the jobs (registered in ``jobs.apps`` with ``core.metrics``).

The queue's figures are ``/healthz``'s (``jobs.queries.health_probe``), so the two
never disagree; beside them, the failed jobs by kind. Read at scrape time from the
jobs table, which every app server and worker shares: any worker's scrape is right.
"""

from __future__ import annotations

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from jobs.models import Job, JobKind, JobState
from jobs.queries import health_probe


def collect() -> list[Metric]:
    """The queue's depth, oldest wait, running and stalled jobs, and failures by kind."""
    figures = health_probe()
    failed = dict(
        Job.objects.filter(state=JobState.FAILED)
        .values_list("kind")
        .annotate(count=Count("pk"))
        .order_by()  # no GROUP BY on the model's default ordering
    )
    families: list[Metric] = [
        GaugeMetricFamily(
            "switchboard_jobs_queued", "Jobs waiting for a worker.", value=figures["queued"]
        ),
        GaugeMetricFamily(
            "switchboard_jobs_oldest_queued_seconds",
            "How long the oldest queued job has waited (0 when none waits).",
            value=figures["oldest_queued_seconds"] or 0,
        ),
        GaugeMetricFamily(
            "switchboard_jobs_running", "Jobs a worker is running.", value=figures["running"]
        ),
        GaugeMetricFamily(
            "switchboard_jobs_stalled",
            "Running jobs with no sign of life for JOBS_HEARTBEAT_TIMEOUT.",
            value=figures["stalled"],
        ),
    ]
    # Rows are kept, so the count only grows: a counter, for increase() and rate().
    # Every kind, 0 included, and only known kinds: the label set is the code's.
    by_kind = CounterMetricFamily(
        "switchboard_jobs_failed", "Jobs that ended failed, by kind.", labels=["kind"]
    )
    for kind in JobKind.values:
        by_kind.add_metric([kind], failed.get(kind, 0))
    families.append(by_kind)
    return families
