"""Read replicas (core.replicas): which database serves each read, pins, fallbacks.

The replica here is ``replica1``, a second connection to the primary's test
database (tests/conftest.py): same data, but its own connection, so the tests
can tell which one a query went to. The tests commit (``transaction=True``): the
replica's connection sees only committed rows. Real streaming standbys, paused
replay and a stopped standby are tested against ``make cluster``
(tests/cluster/).
"""

from __future__ import annotations

import logging
import re
import time

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import replicas
from core.cache import ResilientRedisCache, reachable
from tests.factories import make_number

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica1"])

INVENTORY = "/numbers/"
HX = {"HTTP_HX_REQUEST": "true"}
# The tables a replica-routed page may still read on the primary: who is asking.
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
PRIMARY_TABLES = re.compile(
    r'"?(django_session|users_user\w*|users_apitoken|auth_\w+|django_content_type|'
    r"otp_\w+|axes_\w+)\"?"
)


@pytest.fixture(autouse=True)
def routing(settings):
    settings.DATABASE_REPLICAS = ["replica1"]
    settings.DB_ROUTING_HEADER = True
    settings.REPLICA_CHECK_SECONDS = 60
    replicas.forget_states()
    yield settings
    replicas.forget_states()
    connections["replica1"].close()


@pytest.fixture
def number(owner):
    return make_number(owner, "+14155550123", label="Main")


def capture_both():
    return CaptureQueriesContext(connections["default"]), CaptureQueriesContext(
        connections["replica1"]
    )


def tables_of(sql: str) -> set[str]:
    return set(re.findall(r'(?:FROM|JOIN|UPDATE|INTO)\s+"?(\w+)"?', sql, flags=re.IGNORECASE))


def test_a_read_only_page_reads_its_data_from_the_replica_and_only_who_is_asking_from_the_primary(
    client, support, number
):
    client.force_login(support)
    primary, replica = capture_both()
    with primary, replica:
        response = client.get(INVENTORY, {"q": "Main"}, **HX)
    assert response.status_code == 200 and "+1 415-555-0123" in response.content.decode()
    assert response["X-Read-Database"] == "replica1"
    replica_sql = [q["sql"] for q in replica.captured_queries]
    assert any("numbers_phonenumber" in sql for sql in replica_sql)
    for query in primary.captured_queries:
        tables = tables_of(query["sql"])
        assert tables and all(PRIMARY_TABLES.fullmatch(t) for t in tables), query["sql"]
    if connections["default"].vendor == "postgresql":
        # The planner setting and any estimate belong to the replica's connection.
        assert any("plan_cache_mode" in sql for sql in replica_sql)
        assert not any("plan_cache_mode" in q["sql"] for q in primary.captured_queries)
        assert not any(q["sql"].startswith("EXPLAIN") for q in primary.captured_queries)


def test_an_estimated_total_is_asked_of_the_replica(support, number):
    from core.pagination import count_rows, estimate_rows
    from phone_numbers.models import PhoneNumber

    primary, replica = capture_both()
    with replicas.reads_from("replica1"), primary, replica:
        queryset = PhoneNumber.objects.filter(label="Main")
        assert count_rows(queryset) == (1, False)
        if connections["default"].vendor == "postgresql":  # SQLite has no estimates
            estimate_rows(queryset)
    assert primary.captured_queries == []
    assert replica.captured_queries


def test_an_editor_reads_its_own_write_from_the_primary_and_others_still_use_the_replica(
    client, number_admin, support, number
):
    client.force_login(number_admin)
    assert client.get(INVENTORY, **HX)["X-Read-Database"] == "replica1"
    saved = client.post(
        reverse("numbers:save_label", args=[number.pk]),
        {"label": "Sales", "version": number.version, "slot": "row"},
        **HX,
    )
    assert saved.status_code == 200 and saved["X-Read-Database"] == "default"
    after = client.get(INVENTORY, **HX)
    assert after["X-Read-Database"] == "default" and "Sales" in after.content.decode()
    client.force_login(support)
    assert client.get(INVENTORY, **HX)["X-Read-Database"] == "replica1"


def test_the_pin_expires(client, number_admin, number, settings):
    settings.REPLICA_PIN_SECONDS = 1
    settings.REPLICA_CHECK_SECONDS = 0  # measure the replica afresh on each read
    client.force_login(number_admin)
    client.post(
        reverse("numbers:save_label", args=[number.pk]),
        {"label": "Sales", "version": number.version, "slot": "row"},
        **HX,
    )
    assert client.get(INVENTORY, **HX)["X-Read-Database"] == "default"
    deadline = time.monotonic() + 5
    while client.get(INVENTORY, **HX)["X-Read-Database"] != "replica1":
        assert time.monotonic() < deadline, "still pinned 5 s after a 1 s pin"
        time.sleep(0.2)


def test_a_replica_is_used_only_while_it_cannot_be_staler_than_a_pin(settings):
    """Lag measured 2 s ago, plus those 2 s: that is how far behind it may be now."""
    settings.REPLICA_PIN_SECONDS = 10
    settings.REPLICA_MAX_LAG_SECONDS = 30
    now = time.monotonic()
    assert replicas.fit_to_serve(replicas.ReplicaState("ok", 7.0, now - 2.0), now)
    assert not replicas.fit_to_serve(replicas.ReplicaState("ok", 9.0, now - 2.0), now)
    assert not replicas.fit_to_serve(replicas.ReplicaState("lagging", 0.0, now), now)
    assert not replicas.fit_to_serve(replicas.ReplicaState("ok", None, now), now)


def test_an_api_token_that_writes_reads_its_write_from_the_primary(api, other_api, number):
    assert api.get("/v1/numbers/list")["X-Read-Database"] == "replica1"
    updated = api.post("/v1/numbers/update?phone_number=%2B14155550123", {"label": "New"})
    assert updated.status_code == 200
    again = api.get("/v1/numbers", {"phone_number": "+14155550123"})
    assert again["X-Read-Database"] == "default" and again.json()["label"] == "New"
    # Another account's token is not pinned by this one's write.
    assert other_api.get("/v1/numbers/list")["X-Read-Database"] == "replica1"


def test_writes_and_their_reads_never_touch_the_replica(client, number_admin, number):
    client.force_login(number_admin)
    primary, replica = capture_both()
    with primary, replica:
        client.post(
            reverse("numbers:save_label", args=[number.pk]),
            {"label": "Sales", "version": number.version, "slot": "row"},
            **HX,
        )
    assert replica.captured_queries == []
    assert any("UPDATE" in q["sql"] for q in primary.captured_queries)


@pytest.fixture
def breakable_replica():
    """Call it to make replica1 fail as a server that went away does (wrapped as Django
    wraps it: OperationalError), from its ``after``-th next statement on."""
    replica = connections["replica1"]
    armed: dict[str, int] = {}

    def fail(execute, sql, params, many, context):
        if armed:
            armed["seen"] += 1
            if armed["seen"] > armed["after"]:
                with context["connection"].wrap_database_errors:
                    raise replica.Database.OperationalError("server closed the connection")
        return execute(sql, params, many, context)

    with replica.execute_wrapper(fail):
        yield lambda after=0: armed.update(seen=0, after=after)


def test_a_replica_that_is_down_is_skipped_and_the_primary_serves(
    client, support, number, breakable_replica, caplog
):
    breakable_replica()
    client.force_login(support)
    with caplog.at_level(logging.WARNING, logger="switchboard.replicas"):
        response = client.get(INVENTORY, **HX)
    assert response.status_code == 200 and response["X-Read-Database"] == "default"
    assert "+1 415-555-0123" in response.content.decode()
    assert replicas.check("replica1").state == "down"
    assert "replica replica1 is down" in caplog.text


def test_a_read_that_fails_on_the_replica_mid_request_is_retried_on_the_primary(
    client, support, number, breakable_replica
):
    client.force_login(support)
    assert client.get(INVENTORY, **HX)["X-Read-Database"] == "replica1"  # known healthy
    breakable_replica()  # ... and it dies before the next request's first query
    response = client.get(INVENTORY, **HX)
    assert response.status_code == 200 and response["X-Read-Database"] == "default"
    assert "+1 415-555-0123" in response.content.decode()
    assert replicas.check("replica1").state == "down"


def test_a_replica_that_fails_in_the_middle_of_a_page_leaves_the_primary_to_finish_it(
    client, support, number, breakable_replica
):
    """The page's first statements ran on the replica (inside the transaction of its
    planner setting, on PostgreSQL); then the replica went away."""
    client.force_login(support)
    assert client.get(INVENTORY, **HX)["X-Read-Database"] == "replica1"
    breakable_replica(after=1)
    response = client.get(INVENTORY, **HX)
    assert response.status_code == 200 and response["X-Read-Database"] == "default"
    assert "+1 415-555-0123" in response.content.decode()


def test_a_streamed_export_whose_replica_fails_before_its_first_bytes_restarts_on_the_primary(
    client, support, number, breakable_replica
):
    client.force_login(support)
    assert client.get(INVENTORY, **HX)["X-Read-Database"] == "replica1"
    response = client.get("/numbers/export.csv")
    assert response.status_code == 200
    breakable_replica()  # between the view and the first rows it streams
    body = b"".join(response.streaming_content).decode()
    assert body.count("\n") == 2 and "+14155550123" in body  # the header and the row
    assert replicas.check("replica1").state == "down"


def test_an_api_read_that_fails_on_the_replica_is_retried_on_the_primary(
    api, number, breakable_replica
):
    assert api.get("/v1/numbers/list")["X-Read-Database"] == "replica1"
    breakable_replica()
    response = api.get("/v1/numbers/list")
    assert response.status_code == 200 and response["X-Read-Database"] == "default"
    assert response.json()["items"][0]["number"] == "+14155550123"


def test_a_lagging_replica_is_skipped(client, support, number, settings):
    settings.REPLICA_MAX_LAG_SECONDS = -1  # any lag, even 0, is too much
    client.force_login(support)
    assert client.get(INVENTORY, **HX)["X-Read-Database"] == "default"
    assert replicas.check("replica1").state == "lagging"


def test_lag_is_zero_on_a_database_that_is_not_in_recovery(number):
    # The replica here is no standby: nothing to replay, lag 0.
    assert replicas.measure_lag("replica1") == 0.0


def test_healthz_reports_every_database_and_stays_200_with_the_replica_down(
    client, support, breakable_replica, settings
):
    ok = client.get("/healthz").json()["databases"]
    assert ok["default"] == {"state": "ok"}
    assert ok["replica1"]["state"] == "ok" and ok["replica1"]["lag_seconds"] == 0.0
    breakable_replica()
    client.force_login(support)
    settings.REPLICA_CHECK_SECONDS = 0
    assert client.get(INVENTORY, **HX)["X-Read-Database"] == "default"  # a request probes
    response = client.get("/healthz")  # ... and /healthz reports it, never probing itself
    assert response.status_code == 200
    replica = response.json()["databases"]["replica1"]
    assert replica["state"] == "down" and replica["checked_seconds_ago"] < 5


def test_a_replica_that_stays_down_is_probed_less_and_less_often(breakable_replica):
    breakable_replica()
    states = [replicas.check("replica1", force=True) for _ in range(6)]
    assert [s.failures for s in states] == [1, 2, 3, 4, 5, 6]
    now = states[-1].checked_at
    assert replicas._fresh(states[0], now + 4.9) and not replicas._fresh(states[0], now + 5.1)
    assert replicas._fresh(states[-1], now + 29.9) and not replicas._fresh(states[-1], now + 30.1)


def test_the_streamed_csv_export_reads_from_the_replica(client, support, number):
    client.force_login(support)
    primary, replica = capture_both()
    with primary, replica:
        response = client.get("/numbers/export.csv")
        body = b"".join(response.streaming_content).decode()
    assert "+14155550123" in body
    assert not any("numbers_phonenumber" in q["sql"] for q in primary.captured_queries)
    if connections["default"].vendor != "postgresql":  # PostgreSQL streams with COPY
        assert any("numbers_phonenumber" in q["sql"] for q in replica.captured_queries)


def test_migrations_run_on_the_primary_only():
    router = replicas.ReplicaRouter()
    assert router.allow_migrate("default", "numbers") is True
    assert router.allow_migrate("replica1", "numbers") is False


def test_an_unreachable_cache_sends_every_read_to_the_primary_and_nothing_fails(
    client, support, api, number, settings, caplog
):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }
    settings.RATELIMIT_REDIS_URL = "redis://127.0.0.1:1/0"  # what CACHE_URL implies
    from django.core.cache import caches

    client.force_login(support)
    with caplog.at_level(logging.WARNING):
        page = client.get(INVENTORY, **HX)
        listed = api.get("/v1/numbers/list")
    assert page.status_code == 200 and listed.status_code == 200
    assert page["X-Read-Database"] == "default" and listed["X-Read-Database"] == "default"
    assert not reachable(caches["default"])
    assert "cache unreachable" in caplog.text
    # The rate limit fails open: the request was allowed, and the log says so.
    assert "rate limit store unreachable" in caplog.text


def test_without_replicas_everything_reads_from_the_primary(client, support, number, settings):
    settings.DATABASE_REPLICAS = []
    client.force_login(support)
    _, replica = capture_both()
    with replica:
        assert client.get(INVENTORY, **HX)["X-Read-Database"] == "default"
    assert replica.captured_queries == []


def test_resilient_cache_is_a_plain_cache_when_redis_answers():
    import redis

    try:
        redis.Redis(port=6379, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    cache = ResilientRedisCache("redis://127.0.0.1:6379/13", {"KEY_PREFIX": "replica-tests"})
    cache.set("k", {"a": 1}, 5)
    assert cache.get("k") == {"a": 1} and reachable(cache)
    cache.delete("k")


def test_a_replica_connection_keeps_prepared_statements_and_the_web_timeouts(settings):
    """Persistent connections (CONN_MAX_AGE), not a pool: each replica connection is
    made like the primary's, with server-side binding (psycopg prepares a statement
    run five times) and the ``web`` profile's timeouts set by core.dbtimeouts."""
    replica = connections["replica1"]
    if replica.vendor != "postgresql":
        pytest.skip("prepared statements and timeouts are PostgreSQL's")
    replica.close()
    with replica.cursor() as cursor:
        for _ in range(6):
            cursor.execute("SELECT %s::int + 1", [1])
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        prepared = cursor.fetchone()[0]
        cursor.execute("SHOW statement_timeout")
        statement_timeout = cursor.fetchone()[0]
        cursor.execute("SHOW lock_timeout")
        lock_timeout = cursor.fetchone()[0]
    web = settings.DATABASE_TIMEOUTS["web"]
    assert prepared >= 1
    assert statement_timeout == f"{web['statement_timeout'] // 1000}s"
    assert lock_timeout == f"{web['lock_timeout'] // 1000}s"
    assert (
        replica.settings_dict["CONN_MAX_AGE"]
        == connections["default"].settings_dict["CONN_MAX_AGE"]
    )


def unreachable_cache(settings) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }


def real_redis_cache(settings) -> None:
    import redis

    try:
        redis.Redis(port=6379, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": "redis://127.0.0.1:6379/13",
            "KEY_PREFIX": f"replica-tests-{time.monotonic_ns()}",
        },
    }


def test_a_users_pin_outlives_a_cache_outage_in_its_session(client, number_admin, number, settings):
    unreachable_cache(settings)
    client.force_login(number_admin)
    saved = client.post(
        reverse("numbers:save_label", args=[number.pk]),
        {"label": "Sales", "version": number.version, "slot": "row"},
        **HX,
    )
    assert saved.status_code == 200
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": LOCMEM}}  # the cache is back
    after = client.get(INVENTORY, **HX)
    assert after["X-Read-Database"] == "default" and "Sales" in after.content.decode()


def test_a_token_pin_lost_in_a_cache_outage_makes_every_pin_untrusted_once_it_is_back(
    api, other_api, number, settings
):
    unreachable_cache(settings)
    assert (
        api.post("/v1/numbers/update?phone_number=%2B14155550123", {"label": "New"}).status_code
        == 200
    )
    real_redis_cache(settings)  # back, without the pin written while it was away
    assert api.get("/v1/numbers/list")["X-Read-Database"] == "default"
    assert other_api.get("/v1/numbers/list")["X-Read-Database"] == "default"
    from django.core.cache import caches

    caches["default"].delete(replicas.PINS_UNTRUSTED)  # what its expiry does
    assert other_api.get("/v1/numbers/list")["X-Read-Database"] == "replica1"


def test_a_background_job_pins_the_user_it_wrote_for(client, number_admin, number):
    from django.core.cache import caches

    client.force_login(number_admin)
    assert client.post("/numbers/export-job", {"query": ""}).status_code == 302
    assert caches["default"].get(replicas.PIN_PREFIX + f"user:{number_admin.pk}") == 1


def test_signing_in_is_not_a_write_that_pins(client, support, number):
    signed_in = client.post("/login/", {"username": support.email, "password": "pw-staff-123456"})
    assert signed_in.status_code == 302
    assert client.get(INVENTORY, **HX)["X-Read-Database"] == "replica1"


def test_a_replica_statement_that_never_answers_is_cut_off_and_the_primary_serves(
    client, support, number, settings
):
    """A replica that stops answering cannot enforce its own statement timeout; the
    watchdog closes the connection after REPLICA_STALL_SECONDS instead. Here the
    replica is alive but its statement sleeps, with no server-side timeout."""
    if connections["replica1"].vendor != "postgresql":
        pytest.skip("the watchdog guards PostgreSQL connections")
    settings.REPLICA_STALL_SECONDS = 1
    client.force_login(support)
    assert client.get(INVENTORY, **HX)["X-Read-Database"] == "replica1"
    replica = connections["replica1"]
    with replica.cursor() as cursor:
        # No server-side bound; and the sleeping backend ends once its client is gone
        # (else it would outlive the test and hold the test database open).
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("SET client_connection_check_interval = '100ms'")

    def stall(execute, sql, params, many, context):
        if "numbers_phonenumber" in sql:
            sql = "SELECT pg_sleep(30)"
            params = None
        return execute(sql, params, many, context)

    started = time.monotonic()
    with replica.execute_wrapper(stall):
        response = client.get(INVENTORY, **HX)
    assert time.monotonic() - started < 10
    assert response.status_code == 200 and response["X-Read-Database"] == "default"
    assert "+1 415-555-0123" in response.content.decode()
    assert replicas.check("replica1", probe=False).state == "down"
