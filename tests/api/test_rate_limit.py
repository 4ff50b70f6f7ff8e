"""The API rate limit: one shared fixed-window counter per token (api.throttling).

Over real processes (two gunicorn servers): tests/api/test_rate_limit_processes.py.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from api import throttling
from api.throttling import TokenRateThrottle, count_request
from core.models import RateCounter
from users.models import User
from users.services import api_token_create

pytestmark = pytest.mark.django_db
REDIS_URL = "redis://127.0.0.1:6379/7"  # this suite's own Redis database, flushed by it


def get_list(client: Client, token: str):
    return client.get("/v1/numbers/list", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture(autouse=True)
def _twenty_a_minute(monkeypatch) -> None:
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "20/min"})


@pytest.fixture
def token(owner: User) -> str:
    return api_token_create(user=owner)[1]


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_store(settings) -> Iterator[object]:
    if not redis_answers():
        pytest.skip("Redis is not answering on 127.0.0.1:6379")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    settings.RATELIMIT_REDIS_URL = REDIS_URL
    yield client
    client.flushdb()


def test_the_21st_request_in_a_window_is_refused_with_retry_after(client, token):
    statuses = [get_list(client, token).status_code for _ in range(20)]
    assert statuses == [200] * 20
    refused = get_list(client, token)
    assert refused.status_code == 429 and "detail" in refused.json()
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_two_clients_with_one_token_share_its_count(owner, token):
    first, second = Client(), Client()
    assert [get_list(first, token).status_code for _ in range(12)] == [200] * 12
    assert [get_list(second, token).status_code for _ in range(9)] == [200] * 8 + [429]
    assert get_list(first, token).status_code == 429


def test_each_token_has_its_own_count(client, owner, other_tenant, token):
    for _ in range(21):
        get_list(client, token)
    theirs = api_token_create(user=other_tenant)[1]
    assert get_list(client, theirs).status_code == 200


def test_the_window_restarts_after_its_period():
    assert [count_request("token:t1", 60, now=1000.0).count for _ in range(3)] == [1, 2, 3]
    live = count_request("token:t1", 60, now=1059.5)
    assert live.count == 4 and live.seconds_left == pytest.approx(0.5)
    fresh = count_request("token:t1", 60, now=1060.0)
    assert fresh.count == 1 and fresh.seconds_left == pytest.approx(60)


def test_a_request_is_one_upsert_statement_not_a_read_and_a_write():
    count_request("token:t1", 60, now=1000.0)
    with CaptureQueriesContext(connection) as queries:
        assert count_request("token:t1", 60, now=1001.0).count == 2
    assert len(queries) == 1
    sql = queries[0]["sql"].upper()
    assert sql.startswith("INSERT") and "ON CONFLICT" in sql and "RETURNING" in sql


def test_expired_windows_are_deleted_when_a_window_opens():
    count_request("token:old", 60, now=1000.0)
    count_request("token:live", 600, now=1000.0)
    count_request("token:new", 60, now=1100.0)
    assert set(RateCounter.objects.values_list("key", flat=True)) == {"token:live", "token:new"}


@pytest.mark.django_db(transaction=True)  # autocommit, as a request runs
def test_a_broken_counter_table_lets_requests_through_with_a_warning(
    client, token, monkeypatch, caplog
):
    monkeypatch.setattr(RateCounter._meta, "db_table", "core_ratecounter_missing")
    with caplog.at_level(logging.WARNING, logger="switchboard.ratelimit"):
        statuses = [get_list(client, token).status_code for _ in range(21)]
    assert statuses == [200] * 21
    assert "rate limit store unreachable" in caplog.text
    # The failed statement did not break the database connection.
    assert User.objects.filter(email="owner@acme.example").exists()


def test_with_redis_the_21st_request_is_refused_and_the_count_lives_in_redis(
    client, owner, token, redis_store
):
    statuses = [get_list(client, token).status_code for _ in range(21)]
    assert statuses == [200] * 20 + [429]
    prefix = token.split("_")[1]
    assert int(redis_store.get(f"ratelimit:token:{prefix}")) == 21
    assert 0 < redis_store.pttl(f"ratelimit:token:{prefix}") <= 60_000
    assert not RateCounter.objects.exists()
    assert 1 <= int(get_list(Client(), token)["Retry-After"]) <= 60


def test_with_redis_down_requests_are_allowed_with_one_warning(
    client, token, settings, monkeypatch, caplog
):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.RATELIMIT_REDIS_URL = f"redis://127.0.0.1:{port}/0"
    monkeypatch.setattr(throttling, "_redis_skip_until", 0.0)
    with caplog.at_level(logging.WARNING, logger="switchboard.ratelimit"):
        statuses = [get_list(client, token).status_code for _ in range(25)]
    assert statuses == [200] * 25
    # One line for the outage, not one per request: Redis is skipped for a few seconds.
    assert caplog.text.count("rate limit store unreachable (ConnectionError)") == 1
