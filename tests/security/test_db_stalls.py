"""A stalled database costs a request seconds and a 503, never a hung worker (issue 13).

Real stalls on PostgreSQL: a loopback listener that accepts and never answers
(new connections), a second connection holding ACCESS EXCLUSIVE on the
numbers table (lock waits), pg_sleep (a slow statement), and gunicorn whose
open connection stops answering (its worker timeout). The web timeouts are
cut to a second or two here so the suite stays fast.
"""

from __future__ import annotations

import logging
import os
import runpy
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command, get_commands, load_command_class
from django.db import OperationalError, connection
from django.test import Client, override_settings
from django.urls import reverse
from psycopg import sql

from core import dbtimeouts
from phone_numbers.models import PhoneNumber
from tests.factories import make_number
from users.services import api_token_create

log = logging.getLogger(__name__)
BASE_DIR = Path(__file__).resolve().parents[2]
CONNECT_TIMEOUT = 2  # libpq's minimum
SHORT = {"statement_timeout": 2_000, "lock_timeout": 1_000}
SLACK = 2.0  # seconds beyond a timeout for the request's own work
OUR_LONG_COMMANDS = ["import_numbers", "seed_demo", "rotate_encryption_keys"]


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a real stall needs PostgreSQL")


@pytest.fixture
def short_timeouts(postgres: None) -> Iterator[dict[str, int]]:
    """The web profile cut to 2 s per statement and 1 s per lock wait, open connection too."""
    with override_settings(DATABASE_TIMEOUTS={**settings.DATABASE_TIMEOUTS, "web": SHORT}):
        connection.ensure_connection()
        dbtimeouts.apply(connection, dbtimeouts.WEB)
        yield SHORT
    connection.close()  # the next connection gets the configured values again


class StallingProxy:
    """A loopback listener in front of PostgreSQL that can stop answering.

    Without an upstream it accepts connections and never answers. With one it
    relays bytes until ``stall()`` and holds them after (TCP stays up, the
    server says nothing). Its threads end on ``close()`` or after
    ``lifetime`` seconds, whichever comes first.
    """

    def __init__(self, upstream: tuple[str, int] | None = None, lifetime: float = 60) -> None:
        self._upstream = upstream
        self._deadline = time.monotonic() + lifetime
        self._stalled = threading.Event()
        if upstream is None:
            self._stalled.set()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self.port: int = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> StallingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stall(self) -> None:
        self._stalled.set()

    def resume(self) -> None:
        self._stalled.clear()

    def close(self) -> None:
        self._closed.set()
        for sock in [self._server, *self._sockets]:
            sock.close()

    def _alive(self) -> bool:
        return not self._closed.is_set() and time.monotonic() < self._deadline

    def _accept(self) -> None:
        while self._alive():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            self._sockets.append(client)
            if self._upstream is not None:
                server = socket.create_connection(self._upstream)
                self._sockets.append(server)
                for src, dst in ((client, server), (server, client)):
                    threading.Thread(target=self._relay, args=(src, dst), daemon=True).start()
        self.close()

    def _relay(self, src: socket.socket, dst: socket.socket) -> None:
        while self._alive():
            if self._stalled.is_set():
                time.sleep(0.05)
                continue
            try:
                if not select.select([src], [], [], 0.1)[0]:
                    continue
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            except (OSError, ValueError):
                break
        src.close()
        dst.close()


def timed(name: str, request: Callable[[], Any]) -> tuple[Any, float]:
    """The answer and how long it took (logged: ``--log-cli-level=INFO`` shows it)."""
    started = time.monotonic()
    response = request()
    seconds = time.monotonic() - started
    log.info("%s answered in %.2f s", name, seconds)
    return response, seconds


def session_timeouts() -> dict[str, int]:
    """This connection's statement and lock timeouts, in ms."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, setting::int FROM pg_settings"
            " WHERE name IN ('statement_timeout', 'lock_timeout')"
        )
        return dict(cursor.fetchall())


@contextmanager
def table_locked(table: str) -> Iterator[None]:
    """ACCESS EXCLUSIVE on a table, held by a connection of its own until the block ends."""
    s = connection.settings_dict
    with psycopg.connect(
        dbname=s["NAME"],
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        user=s["USER"] or None,
        password=s["PASSWORD"] or None,
        connect_timeout=5,
    ) as holder:
        holder.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(table))
        )
        try:
            yield
        finally:
            holder.rollback()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_that_accepts_and_never_answers_is_a_503_within_the_connect_timeout(
    postgres, support, owner, monkeypatch
):
    _, token = api_token_create(user=owner)
    console = Client(raise_request_exception=False)
    console.force_login(support)
    api = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {token}")
    requests = {
        "healthz": lambda: console.get("/healthz"),
        "page": lambda: console.get(reverse("numbers:list")),
        "api": lambda: api.get("/v1/numbers/list"),
    }
    settings_dict = connection.settings_dict
    with StallingProxy() as proxy:
        connection.close()
        monkeypatch.setitem(settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(settings_dict, "PORT", str(proxy.port))
        monkeypatch.setitem(settings_dict["OPTIONS"], "connect_timeout", CONNECT_TIMEOUT)
        for name, request in requests.items():
            response, seconds = timed(name, request)
            assert response.status_code == 503 and response["Retry-After"] == "5", name
            assert seconds < CONNECT_TIMEOUT + SLACK, (name, seconds)
        connection.close()
        monkeypatch.undo()  # the database is back
    for name, request in requests.items():
        assert request().status_code == 200, name  # recovered without a restart


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_held_lock_is_a_503_within_the_lock_timeout_then_recovers(
    short_timeouts, support, number_admin, owner
):
    number = make_number(owner, "+14155550123", label="Main")
    _, token = api_token_create(user=owner)
    console = Client(raise_request_exception=False)
    console.force_login(support)
    editor = Client(raise_request_exception=False)
    editor.force_login(number_admin)
    api = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {token}")
    requests = {
        "page": lambda: console.get(reverse("numbers:list")),
        "api list": lambda: api.get("/v1/numbers/list"),
        "console edit": lambda: editor.post(
            reverse("numbers:save_label", args=[number.pk]),
            {"label": "Support", "version": number.version, "slot": "row"},
            HTTP_HX_REQUEST="true",
        ),
        "api update": lambda: api.post(
            "/v1/numbers/update?phone_number=%2B14155550123",
            {"label": "Sales"},
            content_type="application/json",
        ),
    }
    with table_locked(PhoneNumber._meta.db_table):
        for name, request in requests.items():
            response, seconds = timed(name, request)
            assert response.status_code == 503 and response["Retry-After"] == "5", name
            assert seconds < SHORT["lock_timeout"] / 1000 + SLACK, (name, seconds)
        # The database itself answers: one locked table does not fail the health check.
        assert console.get("/healthz").status_code == 200
    for name, request in requests.items():
        assert request().status_code == 200, name
    number.refresh_from_db()
    assert number.label == "Sales" and number.version == 3  # both edits went through after


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_statement_that_stalls_at_the_server_is_a_503_within_the_statement_timeout(
    short_timeouts, support, monkeypatch
):
    def stalls(*args: Any, **kwargs: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(30)")

    monkeypatch.setattr("console.numbers.queries.inventory", stalls)
    console = Client(raise_request_exception=False)
    console.force_login(support)
    response, seconds = timed("page", lambda: console.get(reverse("numbers:list")))
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert seconds < SHORT["statement_timeout"] / 1000 + SLACK, seconds
    assert console.get("/healthz").status_code == 200  # the same connection still works


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_healthz_has_its_own_shorter_bound(postgres):
    healthz = {"statement_timeout": 300, "lock_timeout": 300}
    with override_settings(DATABASE_TIMEOUTS={**settings.DATABASE_TIMEOUTS, "healthz": healthz}):
        started = time.monotonic()
        with (
            pytest.raises(OperationalError),
            dbtimeouts.bounded(dbtimeouts.HEALTHZ),
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 0.3 + SLACK
    # SET LOCAL: the session's own values are untouched.
    assert session_timeouts() == settings.DATABASE_TIMEOUTS["web"]


@pytest.mark.parametrize("command", OUR_LONG_COMMANDS)
@pytest.mark.django_db
def test_our_long_commands_run_with_the_command_timeouts(command, monkeypatch):
    seen: dict[str, Any] = {}

    def handle(self: Any, *args: Any, **options: Any) -> None:
        seen["profile"] = dbtimeouts.current_profile()
        if connection.vendor == "postgresql":
            seen["timeouts"] = session_timeouts()

    command_class = type(load_command_class(get_commands()[command], command))
    monkeypatch.setattr(command_class, "handle", handle)
    call_command(command)
    assert seen["profile"] == dbtimeouts.COMMAND
    assert dbtimeouts.current_profile() == dbtimeouts.WEB  # restored afterwards
    if connection.vendor == "postgresql":
        assert seen["timeouts"] == settings.DATABASE_TIMEOUTS["command"]
        assert session_timeouts() == settings.DATABASE_TIMEOUTS["web"]


@pytest.mark.parametrize(
    ("argv", "profile"),
    [
        (["manage.py", "migrate"], dbtimeouts.COMMAND),
        (["/srv/app/manage.py", "bench"], dbtimeouts.COMMAND),
        (["manage.py", "check_data"], dbtimeouts.WEB),
        (["gunicorn", "config.wsgi"], dbtimeouts.WEB),
        (["manage.py", "runserver"], dbtimeouts.WEB),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_a_new_connection_gets_the_profile_of_the_process(argv, profile, monkeypatch):
    monkeypatch.setattr(sys, "argv", argv)
    assert dbtimeouts.current_profile() == profile
    if connection.vendor == "postgresql":
        connection.close()
        try:
            assert session_timeouts() == settings.DATABASE_TIMEOUTS[profile]
        finally:
            monkeypatch.undo()
            connection.close()


@pytest.mark.postgres
@pytest.mark.django_db
def test_connections_carry_keepalives_and_a_connect_timeout(postgres):
    connection.ensure_connection()
    parameters = connection.connection.info.get_parameters()
    options = settings.DATABASES["default"]["OPTIONS"]
    for name in ("connect_timeout", "keepalives_idle", "keepalives_interval", "keepalives_count"):
        assert parameters[name] == str(options[name]), name
    assert parameters["keepalives"] == "1"
    # A dead path is noticed before gunicorn's default 30 s worker timeout.
    assert options["keepalives_idle"] + options["keepalives_interval"] * options[
        "keepalives_count"
    ] < int(runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))["timeout"])


def test_gunicorns_worker_timeout_comes_from_the_environment(monkeypatch):
    config = BASE_DIR / "gunicorn.conf.py"
    monkeypatch.delenv("GUNICORN_TIMEOUT", raising=False)
    assert runpy.run_path(str(config))["timeout"] == 30
    monkeypatch.setenv("GUNICORN_TIMEOUT", "12")
    assert runpy.run_path(str(config))["timeout"] == 12


def _get(url: str) -> int:
    """The status of a GET, gunicorn's bare 500 included; 0 when the connection drops."""
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (ConnectionError, urllib.error.URLError):
        return 0


@pytest.mark.postgres
@pytest.mark.django_db
def test_gunicorn_replaces_a_worker_stuck_on_an_open_connection(postgres, tmp_path):
    s = connection.settings_dict
    if not s["HOST"] or s["HOST"].startswith("/"):
        pytest.skip("the stalling proxy relays TCP")
    gunicorn_timeout = 4  # above the connect timeout, or the fresh worker is killed too
    with StallingProxy(upstream=(s["HOST"], int(s["PORT"] or 5432))) as proxy:
        userinfo = urllib.parse.quote(s["USER"]) + (
            ":" + urllib.parse.quote(s["PASSWORD"]) if s["PASSWORD"] else ""
        )
        with socket.create_server(("127.0.0.1", 0)) as probe:
            port = probe.getsockname()[1]
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{userinfo}@127.0.0.1:{proxy.port}/{s['NAME']}",
            "CONN_MAX_AGE": "600",  # the worker keeps its connection between requests
            "DB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
            "GUNICORN_TIMEOUT": str(gunicorn_timeout),  # read by ./gunicorn.conf.py
        }
        command = ["gunicorn", "config.wsgi", "--workers", "1", "--bind", f"127.0.0.1:{port}"]
        with (tmp_path / "gunicorn.log").open("w") as output:
            server = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", *command],
                cwd=BASE_DIR,
                env=env,
                stdout=output,
                stderr=output,
            )
        try:
            url = f"http://127.0.0.1:{port}/healthz"
            deadline = time.monotonic() + 30
            while _get(url) != 200:
                assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
            proxy.stall()  # the worker's connection is open; the server stops answering
            status, seconds = timed("stuck worker", lambda: _get(url))
            assert status in (0, 500), status  # gunicorn's own answer for a killed worker
            assert seconds < gunicorn_timeout + 1 + SLACK, seconds  # its arbiter looks each second
            # The fresh worker's new connection meets the stall: the connect timeout's 503.
            status, seconds = timed("fresh worker", lambda: _get(url))
            assert status == 503, (status, seconds)
            proxy.resume()
            assert _get(url) == 200  # recovered without anyone restarting anything
        finally:
            server.terminate()
            server.wait(timeout=10)
