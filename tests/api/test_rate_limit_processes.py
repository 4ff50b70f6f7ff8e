"""The rate limit holds across processes: two gunicorn servers, one token, one count.

Each server is its own process with its own memory, as two app servers (or
two workers) are. The old throttle counted in each process's cache: with a
limit of 20 and 15 requests to each server, it allowed all 30.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from core.models import RateCounter
from tests.factories import make_user
from users.services import api_token_create

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
LIMIT, PER_SERVER = 20, 15
REDIS_URL = "redis://127.0.0.1:6379/7"  # this suite's own Redis database, flushed by it


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class SharedDatabase:
    """A database both servers use, with a customer's token in it."""

    url: str
    token: str
    sqlite_path: Path | None

    def counter_rows(self) -> list[tuple[str, int]]:
        if self.sqlite_path is None:
            return list(RateCounter.objects.values_list("key", "count"))
        with sqlite3.connect(self.sqlite_path) as db:
            return db.execute("SELECT key, count FROM core_ratecounter").fetchall()


def base_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "RATELIMIT_REDIS_URL")}
    env.update(
        DATABASE_URL=database_url,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        API_RATE_LIMIT=f"{LIMIT}/min",
        LOG_LEVEL="WARNING",
    )
    return env


@pytest.fixture
def shared_database(tmp_path: Path) -> SharedDatabase:
    """PostgreSQL: the test database itself (committed rows). SQLite: a file of its own,
    since the test database is in memory, which no other process can open."""
    if connection.vendor == "postgresql":
        params = connection.settings_dict
        password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
        url = (
            f"postgres://{params['USER']}{password}@{params['HOST'] or '127.0.0.1'}:"
            f"{params['PORT'] or 5432}/{params['NAME']}"
        )
        token = api_token_create(user=make_user("owner@acme.example"))[1]
        return SharedDatabase(url, token, None)
    path = tmp_path / "shared.sqlite3"
    env = base_env(f"sqlite:///{path}")
    manage = [sys.executable, "manage.py"]
    migrate = [*manage, "migrate", "-v0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, timeout=120)  # noqa: S603
    code = (
        "from tests.factories import make_user; from users.services import api_token_create; "
        "print(api_token_create(user=make_user('owner@acme.example'))[1])"
    )
    made = subprocess.run(  # noqa: S603 - our own manage.py
        [*manage, "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return SharedDatabase(f"sqlite:///{path}", made.stdout.strip().splitlines()[-1], path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def start_servers(env: dict[str, str], logs: Path, count: int = 2) -> Iterator[list[str]]:
    processes, bases = [], []
    try:
        for number in range(count):
            port = free_port()
            bind = ["--bind", f"127.0.0.1:{port}"]
            log = (logs / f"gunicorn-{number}.log").open("w")
            processes.append(
                subprocess.Popen(  # noqa: S603 - gunicorn from this venv
                    [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", "1", *bind],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        for base, process in zip(bases, processes, strict=True):
            while not healthy(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn at {base} did not start: see {logs}")
                time.sleep(0.1)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def get_list(base: str, token: str) -> tuple[int, str | None]:
    request = urllib.request.Request(
        f"{base}/v1/numbers/list", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Retry-After")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Retry-After")


def hit_both(bases: list[str], token: str) -> dict[str, Counter]:
    """15 requests to each server, 6 at a time, interleaved."""
    targets = [bases[i % 2] for i in range(2 * PER_SERVER)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda base: get_list(base, token), targets))
    by_server: dict[str, Counter] = {base: Counter() for base in bases}
    for base, (status, retry_after) in zip(targets, answers, strict=True):
        by_server[base][status] += 1
        if status == 429:
            assert retry_after is not None and 1 <= int(retry_after) <= 60
    return by_server


def totals(by_server: dict[str, Counter]) -> Counter:
    return sum(by_server.values(), Counter())


def test_two_servers_on_one_database_allow_the_limit_once(shared_database, tmp_path):
    env = base_env(shared_database.url)
    with start_servers(env, tmp_path) as bases:
        by_server = hit_both(bases, shared_database.token)
    assert [sum(counts.values()) for counts in by_server.values()] == [PER_SERVER, PER_SERVER]
    assert totals(by_server) == Counter({200: LIMIT, 429: 2 * PER_SERVER - LIMIT})
    prefix = shared_database.token.split("_")[1]
    assert shared_database.counter_rows() == [(f"token:{prefix}", 2 * PER_SERVER)]


def test_two_servers_on_one_redis_allow_the_limit_once(shared_database, tmp_path):
    if not redis_answers():
        pytest.skip("Redis is not answering on 127.0.0.1:6379")
    import redis

    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    env = base_env(shared_database.url) | {"RATELIMIT_REDIS_URL": REDIS_URL}
    try:
        with start_servers(env, tmp_path) as bases:
            by_server = hit_both(bases, shared_database.token)
        assert totals(by_server) == Counter({200: LIMIT, 429: 2 * PER_SERVER - LIMIT})
        prefix = shared_database.token.split("_")[1]
        assert int(store.get(f"ratelimit:token:{prefix}")) == 2 * PER_SERVER
        assert 0 < store.pttl(f"ratelimit:token:{prefix}") <= 60_000
        assert shared_database.counter_rows() == []  # nothing counted in the database
    finally:
        store.flushdb()
