"""/metrics on each app server of the cluster: bearer-only, counted across gunicorn's
workers (PROMETHEUS_MULTIPROC_DIR, one per app server), with the standby's state."""

from __future__ import annotations

import re

import pytest
import requests

from tests.cluster.harness import HTTP_TIMEOUT, Cluster

pytestmark = pytest.mark.cluster

REQUESTS = 20
RESPONSES = re.compile(r"^switchboard_http_responses_total\{[^}]*\} ([0-9.e+]+)$", re.M)


def scrape(base: str, token: str) -> str:
    answer = requests.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=HTTP_TIMEOUT
    )
    assert answer.status_code == 200, answer.status_code
    return answer.text


def responses(text: str) -> float:
    return sum(float(value) for value in RESPONSES.findall(text))


@pytest.mark.parametrize("server", ["app1", "app2"])
def test_each_app_server_counts_every_worker_s_responses(cluster: Cluster, server: str) -> None:
    base = cluster.state["urls"][server]
    token = cluster.state["env"]["METRICS_TOKEN"]
    assert requests.get(f"{base}/metrics", timeout=HTTP_TIMEOUT).status_code == 401

    before = responses(scrape(base, token))
    for _ in range(REQUESTS):
        assert requests.get(f"{base}/login/", timeout=HTTP_TIMEOUT).status_code == 200
    text = scrape(base, token)
    # Both gunicorn workers served some of them: only the shared directory sums them all.
    assert responses(text) - before >= REQUESTS
    assert re.search(
        r"^switchboard_database_replica_lag_seconds\{[^}]*replica1[^}]*\} ", text, re.M
    )
