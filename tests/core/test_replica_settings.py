"""DATABASE_REPLICA_URLS and CACHE_URL as the settings read them (a fresh process each)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'replicas': s.DATABASE_REPLICAS, 'dbs': s.DATABASES, "
    "'routers': s.DATABASE_ROUTERS, 'cache': s.CACHES['default'], "
    "'sessions': s.SESSION_ENGINE}, default=str))"
)


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL")}
    environ.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    return subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-c", SHOW],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_each_replica_url_is_an_alias_that_connects_like_the_primary():
    result = _settings(
        DATABASE_URL="postgres://app@db-primary:5432/switchboard",
        DATABASE_REPLICA_URLS="postgres://app@db-r1:5432/switchboard,"
        "postgres://app@db-r2:6432/switchboard",
        CACHE_URL="redis://127.0.0.1:6379/3",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    shown = json.loads(result.stdout)
    assert shown["replicas"] == ["replica1", "replica2"]
    primary, first, second = (shown["dbs"][a] for a in ("default", "replica1", "replica2"))
    assert (first["HOST"], second["HOST"], second["PORT"]) == ("db-r1", "db-r2", 6432)
    # Same options (prepared statements, keepalives), same reuse; a frozen standby
    # costs at most libpq's minimal connect timeout, and no health check outside the
    # watchdog (core.replicas).
    assert {**first["OPTIONS"], "connect_timeout": 3} == primary["OPTIONS"]
    assert first["OPTIONS"]["server_side_binding"] and first["OPTIONS"]["connect_timeout"] == 2
    assert first["CONN_MAX_AGE"] == primary["CONN_MAX_AGE"]
    assert (first["CONN_HEALTH_CHECKS"], primary["CONN_HEALTH_CHECKS"]) == (False, True)
    assert first["TEST"]["MIRROR"] == "default"
    assert shown["routers"] == ["core.replicas.ReplicaRouter"]
    assert shown["cache"]["BACKEND"] == "core.cache.ResilientRedisCache"
    assert shown["cache"]["OPTIONS"]["socket_timeout"] == 0.5
    assert shown["sessions"] == "django.contrib.sessions.backends.db"


def test_replicas_without_a_shared_cache_are_refused_with_the_reason():
    result = _settings(
        DATABASE_URL="postgres://app@db-primary:5432/switchboard",
        DATABASE_REPLICA_URLS="postgres://app@db-r1:5432/switchboard",
    )
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URLS needs a shared CACHE_URL" in result.stderr


def test_without_replicas_or_cache_url_the_embedded_defaults_stay():
    result = _settings()
    assert result.returncode == 0, result.stderr[-2000:]
    shown = json.loads(result.stdout)
    assert shown["replicas"] == [] and list(shown["dbs"]) == ["default"]
    assert shown["cache"]["BACKEND"].endswith("LocMemCache")
