"""/metrics: off without METRICS_TOKEN, bearer-only with it, and what it counts.

Request metrics live in the process (no PROMETHEUS_MULTIPROC_DIR under pytest), so
the tests read differences between two scrapes, never absolute values; the
multiprocess aggregation is tested with a real gunicorn of two workers.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from core import metrics
from jobs.models import JobKind, JobState
from tests.factories import make_job

pytestmark = pytest.mark.django_db

TOKEN = "metrics-test-token-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client: Client | None = None) -> dict[str, float]:
    """Every sample of one scrape: ``{'name{labels}': value}``."""
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    return parse(response.content.decode())


def parse(text: str) -> dict[str, float]:
    """``{key(name, **labels): value}`` for every sample, whatever the labels' order."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not exposition format: {line!r}"
        labels = dict(LABEL.findall(match[2] or ""))
        samples[key(match[1], **labels)] = float(match[3])
    return samples


def key(name: str, **labels: str) -> str:
    """One sample's name and labels, labels sorted: ``name{a="1",b="2"}``."""
    if not labels:
        return name
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def test_off_without_a_token_is_a_404(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        ("", 401),
        ("Bearer", 401),
        ("Bearer ", 401),
        (f"Basic {TOKEN}", 401),
        ("Bearer wrong-token", 403),
        (f"Bearer {TOKEN}x", 403),
        (f"Bearer {TOKEN[:-1]}", 403),
    ],
)
def test_a_missing_or_wrong_token_gets_no_figures(client, metrics_on, header, status):
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get("/metrics", **extra)
    assert response.status_code == status
    body = response.content.decode()
    assert "switchboard_" not in body and "# TYPE" not in body and TOKEN not in body
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_only_get(client, metrics_on):
    response = client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 405


def test_exempt_from_the_ssl_redirect(client, metrics_on, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/login/").status_code == 301  # the rest of the site redirects
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_the_expected_metrics_are_there(client, metrics_on):
    client.get("/healthz")
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    for name in (
        "switchboard_http_request_duration_seconds_bucket",
        "switchboard_http_request_duration_seconds_count",
        "switchboard_http_request_duration_seconds_sum",
        "switchboard_http_responses_total",
        "switchboard_database_up",
        "switchboard_database_state",
        "switchboard_jobs_queued",
        "switchboard_jobs_oldest_queued_seconds",
        "switchboard_jobs_running",
        "switchboard_jobs_stalled",
        "switchboard_jobs_failed_total",
        "switchboard_metrics_collector_up",
    ):
        assert f"\n{name}" in text, name
    samples = parse(text)
    assert samples['switchboard_database_up{alias="default"}'] == 1
    assert samples['switchboard_database_state{alias="default",state="ok"}'] == 1
    assert samples['switchboard_metrics_collector_up{collector="jobs"}'] == 1
    assert samples['switchboard_metrics_collector_up{collector="databases"}'] == 1


def test_status_counts_and_latency_move_with_requests(client, metrics_on, support):
    before = scrape()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    client.get("/no/such/page/42?q=secret-search")
    client.post("/healthz")
    after = scrape()

    def moved(name: str, **labels: str) -> float:
        return after.get(key(name, **labels), 0) - before.get(key(name, **labels), 0)

    healthz = {"method": "GET", "view": "healthz"}
    assert moved("switchboard_http_responses_total", **healthz, status="200") == 3
    assert moved("switchboard_http_request_duration_seconds_count", **healthz) == 3
    assert moved("switchboard_http_request_duration_seconds_bucket", **healthz, le="+Inf") == 3
    assert moved("switchboard_http_request_duration_seconds_sum", **healthz) > 0
    # A URL no pattern matches: one series for all of them, whatever the path.
    assert moved("switchboard_http_responses_total", method="GET", view="none", status="404") == 1
    assert moved("switchboard_http_responses_total", method="POST", view="healthz", status="405")
    # No path, query string or id anywhere in a label.
    for name in after:
        assert "/no/such" not in name and "secret-search" not in name and "page/42" not in name


def test_labels_stay_bounded_whatever_the_client_sends(client, metrics_on, support):
    client.force_login(support)
    before = scrape()
    for word in ("FOO", "BAR", "BAZ"):
        client.generic(word, "/healthz")
    for number in range(5):
        client.get(f"/numbers/{uuid.uuid4()}/?page={number}")  # no such number: 404
    after = scrape()
    other = key("switchboard_http_responses_total", method="other", view="healthz", status="405")
    assert after[other] - before.get(other, 0) == 3
    detail = key(
        "switchboard_http_responses_total", method="GET", view="numbers:detail", status="404"
    )
    assert after[detail] - before.get(detail, 0) == 5  # one view name, not five paths
    new = set(after) - set(before)
    assert not any(word in name for name in new for word in ("FOO", "BAR", "BAZ", "page", "/"))
    assert not any(support.email in name or str(support.pk) + '"' in name for name in after)


def test_job_metrics_reflect_the_jobs_table(client, metrics_on, support, settings):
    settings.JOBS_HEARTBEAT_TIMEOUT = 5
    queued = make_job(support)
    type(queued).objects.filter(pk=queued.pk).update(
        created_at=timezone.now() - timedelta(seconds=90)
    )
    make_job(support)
    old = timezone.now() - timedelta(minutes=4)
    make_job(support, state=JobState.RUNNING, started_at=old, heartbeat_at=old)
    make_job(support, state=JobState.RUNNING, started_at=timezone.now())
    make_job(support, state=JobState.FAILED, kind=JobKind.IMPORT_APPLY)
    make_job(support, state=JobState.FAILED, kind=JobKind.IMPORT_APPLY)
    make_job(support, state=JobState.FAILED, kind=JobKind.EXPORT_CSV)
    make_job(support, state=JobState.SUCCEEDED)
    samples = scrape(client)
    assert samples["switchboard_jobs_queued"] == 2
    assert 90 <= samples["switchboard_jobs_oldest_queued_seconds"] < 100
    assert samples["switchboard_jobs_running"] == 2
    assert samples["switchboard_jobs_stalled"] == 1
    failed = {
        key: value for key, value in samples.items() if key.startswith("switchboard_jobs_failed")
    }
    assert failed == {
        f'switchboard_jobs_failed_total{{kind="{kind}"}}': {
            JobKind.IMPORT_APPLY: 2,
            JobKind.EXPORT_CSV: 1,
        }.get(kind, 0)
        for kind in JobKind.values
    }


def test_an_empty_queue(client, metrics_on):
    samples = scrape(client)
    assert samples["switchboard_jobs_queued"] == 0
    assert samples["switchboard_jobs_oldest_queued_seconds"] == 0
    assert samples["switchboard_jobs_stalled"] == 0


def test_replica_states_and_lag(client, metrics_on, settings, monkeypatch):
    from core import replicas

    # The aliases as settings name them (only the names are read: states are monkeypatched).
    settings.DATABASE_REPLICAS = ["replica1", "replica2", "replica3"]
    monkeypatch.setattr(
        replicas,
        "database_states",
        lambda: {
            "replica1": {"state": "ok", "lag_seconds": 0.0},
            "replica2": {"state": "lagging", "lag_seconds": 42.5},
            "replica3": {"state": "down", "lag_seconds": None, "detail": "OperationalError"},
            # An alias settings do not know is never shown (a label is never a host).
            "db.internal.example:5432": {"state": "ok", "lag_seconds": 0.0},
        },
    )
    samples = scrape(client)
    up = {k: v for k, v in samples.items() if k.startswith("switchboard_database_up")}
    assert up == {
        'switchboard_database_up{alias="default"}': 1,
        'switchboard_database_up{alias="replica1"}': 1,
        'switchboard_database_up{alias="replica2"}': 1,
        'switchboard_database_up{alias="replica3"}': 0,
    }
    lag = {k: v for k, v in samples.items() if "lag_seconds" in k}
    assert lag == {
        'switchboard_database_replica_lag_seconds{alias="replica1"}': 0.0,
        'switchboard_database_replica_lag_seconds{alias="replica2"}': 42.5,
    }
    assert samples['switchboard_database_state{alias="replica2",state="lagging"}'] == 1
    assert samples['switchboard_database_state{alias="replica2",state="ok"}'] == 0
    assert samples['switchboard_database_state{alias="replica3",state="down"}'] == 1
    assert not any("internal.example" in key or "Operational" in key for key in samples)


def test_failing_replica_states_leave_the_primary_and_200(client, metrics_on, monkeypatch):
    from core import replicas

    def broken():
        raise OperationalError('could not connect to server at "10.0.0.9"')

    monkeypatch.setattr(replicas, "database_states", broken)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200 and "10.0.0.9" not in response.content.decode()
    assert parse(response.content.decode())['switchboard_database_up{alias="default"}'] == 1


def test_a_raising_collector_is_reported_and_leaves_200(client, metrics_on, monkeypatch):
    def unreachable():
        raise OperationalError('connection to server at "10.0.0.9", port 5432 failed')

    monkeypatch.setattr("jobs.metrics.health_probe", unreachable)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    body = response.content.decode()
    assert response.status_code == 200 and "10.0.0.9" not in body
    samples = parse(body)
    assert samples['switchboard_metrics_collector_up{collector="jobs"}'] == 0
    assert not any(key.startswith("switchboard_jobs_") for key in samples)
    assert samples['switchboard_database_up{alias="default"}'] == 1


def test_a_registered_collector_is_shown(client, metrics_on):
    from prometheus_client.core import GaugeMetricFamily

    metrics.register("extra", lambda: [GaugeMetricFamily("switchboard_test_extra", "t", 7)])
    try:
        assert scrape(client)["switchboard_test_extra"] == 7
    finally:
        metrics.unregister("extra")


@pytest.mark.django_db(transaction=True)
def test_the_database_down_is_a_figure_not_a_500(settings):
    settings.METRICS_TOKEN = TOKEN
    client = Client(raise_request_exception=False)
    if connection.vendor != "postgresql":
        pytest.skip("a real outage is simulated on PostgreSQL by pointing at a closed port")
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    try:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        body = response.content.decode()
        assert response.status_code == 200, body[:500]
        samples = parse(body)
        assert samples['switchboard_database_up{alias="default"}'] == 0
        assert samples['switchboard_database_state{alias="default",state="down"}'] == 1
        assert samples['switchboard_metrics_collector_up{collector="jobs"}'] == 0
        assert "127.0.0.1" not in body and "connection to server" not in body
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved
    assert (
        parse(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode())[
            'switchboard_database_up{alias="default"}'
        ]
        == 1
    )  # recovered by itself


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def _healthz_200s(base: str) -> float:
    status, body = _get(f"{base}/metrics", TOKEN)
    assert status == 200
    samples = parse(body)
    return samples.get(
        key("switchboard_http_responses_total", method="GET", view="healthz", status="200"), 0
    )


def test_gunicorn_workers_are_added_up_and_a_dead_workers_counts_stay(tmp_path):
    """Two sync workers, each with its own memory: a scrape reaches one of them and
    still counts every request both answered (PROMETHEUS_MULTIPROC_DIR)."""
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "RATELIMIT_REDIS_URL")}
    env.update(
        # A database of its own: /healthz needs only SELECT 1 (the jobs probe's missing
        # table is reported, not fatal), and pytest's own may be in memory.
        DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
        METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(multiproc),
    )
    log_path = tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", "2"]
    with log_path.open("w") as log:
        server = subprocess.Popen(  # noqa: S603 - gunicorn from this venv
            [*command, "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        # Requests 8 at a time until both workers have answered some (each writes
        # its counters to a file named by its pid).
        sent = 1
        deadline = time.monotonic() + 30
        with ThreadPoolExecutor(max_workers=8) as pool:
            while len(list(multiproc.glob("counter_*.db"))) < 2:
                assert time.monotonic() < deadline, "one worker answered everything"
                statuses = list(pool.map(lambda _: _get(f"{base}/healthz")[0], range(16)))
                assert statuses == [200] * 16
                sent += 16
        assert _healthz_200s(base) == sent
        for _ in range(4):  # whichever worker answers the scrape, the same sum
            assert _healthz_200s(base) == sent

        # A worker killed (a timeout, a crash): gunicorn's child_exit hook marks it
        # dead; its requests still count, and a new worker takes its place.
        pids = {int(p.stem.split("_")[1]) for p in multiproc.glob("counter_*.db")}
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    sent += 1
            except OSError:
                pass
            try:
                os.kill(victim, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() < deadline, "the killed worker was not reaped"
            time.sleep(0.1)
        assert _healthz_200s(base) == sent
        scraped = parse(_get(f"{base}/metrics", TOKEN)[1])
        assert scraped[key("switchboard_database_up", alias="default")] == 1
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert "Traceback" not in log_path.read_text(), log_path.read_text()
