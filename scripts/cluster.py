#!/usr/bin/env python3
"""Several Switchboard servers on one machine, for real (issue 20): ``make cluster``.

On loopback, all of it in a directory of its own (``CLUSTER_DIR``, default
``run/cluster`` in the checkout) that nothing else uses:

- a PostgreSQL primary made with Debian's own binaries (``initdb``, run as the
  ``postgres`` OS user, trust auth on 127.0.0.1, a ``host replication`` line in its
  own ``pg_hba.conf``, ``wal_level=replica``);
- a streaming hot standby made from it with ``pg_basebackup -R``;
- its own ``redis-server`` (no persistence): the cache, the rate-limit counters,
  read pins and the RQ queue;
- two gunicorn app servers and one RQ worker, all on that primary, standby and Redis,
  sharing one media directory (standing in for a shared volume or S3);
- HAProxy in front of the two app servers (round robin, health check on /healthz).

Subcommands: ``up [--free-ports]``, ``down``, ``status``, ``stop PART [--kill]``,
``start PART``, ``restart-apps [--no-replicas | --replicas]`` and ``env`` (the app
servers' environment as shell exports, to run ``manage.py`` against the cluster).
``up`` writes ``<dir>/cluster.json`` (ports, pids, URLs, data directories, the
environment), which the tests marked ``cluster`` read (``SWITCHBOARD_CLUSTER``).

Stopping is by the pids this script recorded (checked against each process's start
time, so a recycled pid is never signalled) and ``pg_ctl stop`` on this cluster's
own data directories: the machine's own PostgreSQL (5432) and Redis (6379) are
never touched. Standard library only: it runs before anything is installed, and it
never imports Django (the servers it starts do).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
CLUSTER_DIR = Path(os.environ.get("CLUSTER_DIR") or REPO / "run" / "cluster").resolve()
STATE_FILE = "cluster.json"
# Written first into a directory this script made: `down` removes only such a directory.
MARKER = ".switchboard-cluster"
DATABASE = "switchboard"
PG_USER = "postgres"
# The app servers, the worker and migrate connect as a role of their own, as in
# production: it owns the database (so it may create pg_trgm, a trusted extension)
# and holds pg_monitor (core.replicas reads the standby's WAL receiver). The tests'
# own checks, which pause replay, connect as postgres (the state's "urls").
APP_ROLE = "switchboard"
# Each part must answer within this many seconds of being started.
START_SECONDS = float(os.environ.get("CLUSTER_START_SECONDS", "90"))

# Part -> the environment variable naming its port, and that port's default (never
# the machine's own 5432 or 6379, and below Linux's ephemeral range, 32768-60999:
# a port there may be held for a minute by some client connection's TIME_WAIT).
PORTS = {
    "primary": ("CLUSTER_PRIMARY_PORT", 25432),
    "replica": ("CLUSTER_REPLICA_PORT", 25433),
    "redis": ("CLUSTER_REDIS_PORT", 26379),
    "app1": ("CLUSTER_APP1_PORT", 28001),
    "app2": ("CLUSTER_APP2_PORT", 28002),
    "balancer": ("CLUSTER_BALANCER_PORT", 28000),
}
PARTS = ("primary", "replica", "redis", "app1", "app2", "worker", "balancer")
APPS = ("app1", "app2")
# Stopped in this order: nothing is left talking to a part that is already gone.
STOP_ORDER = ("balancer", "app1", "app2", "worker", "replica", "primary", "redis")
# Passed from the caller's environment to the app servers and the worker when set.
PASSTHROUGH = ("API_RATE_LIMIT", "JOBS_HEARTBEAT_TIMEOUT", "LOG_LEVEL", "GUNICORN_TIMEOUT")
PASSTHROUGH_PREFIXES = ("REPLICA_",)


class ClusterError(Exception):
    """A part could not be started or checked; the message says which and why."""


# Processes -------------------------------------------------------------------------------


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """A short command to its end; its output captured (shown when it fails)."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    return subprocess.run(command, check=False, **kwargs)  # noqa: S603 - fixed commands


def _must(command: list[str], what: str, **kwargs: Any) -> str:
    done = _run(command, **kwargs)
    if done.returncode != 0:
        out = (done.stdout or "") + (done.stderr or "")
        raise ClusterError(f"{what} failed (exit {done.returncode}): {out.strip()[-2000:]}")
    return done.stdout or ""


def _spawn(command: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    """Start a long-running part in a session of its own, its output in ``log``; it
    outlives this script (``down`` stops it by its pid)."""
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed commands
            command,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process.pid


def _start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), None if it is gone or a zombie.
    With the pid it names one process for good: a recycled pid has another."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def _ours(entry: dict[str, Any] | None) -> bool:
    """Whether the process recorded in ``entry`` still runs (the same process)."""
    if not entry or not entry.get("pid"):
        return False
    started = _start_time(entry["pid"])
    return started is not None and started == entry.get("start_time")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc), children before grandchildren. RQ's
    work horse calls setpgrp(), so a process-group kill would miss it. Stdlib only:
    the worker tests use it too (tests/jobs/workers.py)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.append(child)
                    pending.append(child)
    return found


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status if this process started it (else init does)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _wait_gone(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for pid in pids:
            _reap(pid)
        if all(_start_time(pid) is None for pid in pids):
            return True
        time.sleep(0.1)
    return False


def _terminate(entry: dict[str, Any], *, grace: float, kill: bool = False) -> None:
    """SIGTERM the recorded process (SIGKILL with ``kill``), then SIGKILL it and every
    process under it that is still there after ``grace`` seconds."""
    if not _ours(entry):
        return
    pid = entry["pid"]
    tree = [pid, *descendants(pid)]
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
    if kill:
        for child in tree[1:]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
    if _wait_gone(tree, grace):
        return
    for left in [pid, *descendants(pid), *tree]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(left, signal.SIGKILL)
    _wait_gone(tree, 10)


# Ports and probes -------------------------------------------------------------------------


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _choose_ports(free: bool) -> dict[str, int]:
    if free:
        # Held open together, so the kernel hands out six different ports.
        holders = []
        try:
            for _ in PORTS:
                holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                holder.bind(("127.0.0.1", 0))
                holders.append(holder)
            return {part: h.getsockname()[1] for part, h in zip(PORTS, holders, strict=True)}
        finally:
            for holder in holders:
                holder.close()
    ports = {}
    for part, (variable, default) in PORTS.items():
        value = os.environ.get(variable) or str(default)
        if not value.isdigit() or not 0 < int(value) < 65536:
            raise ClusterError(f"{variable}={value!r} is not a port number")
        ports[part] = int(value)
    if len(set(ports.values())) != len(ports):
        raise ClusterError(f"two parts were given the same port: {ports}")
    return ports


def _check_ports(ports: dict[str, int], parts: tuple[str, ...]) -> None:
    taken = [f"{p} ({PORTS[p][0]}={ports[p]})" for p in parts if not _port_free(ports[p])]
    if taken:
        raise ClusterError(
            "port already in use: "
            + ", ".join(taken)
            + "; set the variable to another port, or use `up --free-ports`"
        )


def _http_status(url: str, timeout: float = 3.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - loopback
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, urllib.error.URLError):
        return None


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _psql(port: int, sql: str, database: str = "postgres") -> str | None:
    """One query's answer as text (psql -At), None when the server does not answer."""
    done = _run(
        [
            _pg_bin("psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            PG_USER,
            "-d",
            database,
            "-XAtq",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ],
        env={**_base_env(), "PGCONNECT_TIMEOUT": "2"},
    )
    return done.stdout.strip() if done.returncode == 0 else None


def _pg_ready(port: int) -> bool:
    return _run([_pg_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)]).returncode == 0


def _standby_streaming(port: int) -> bool:
    answer = _psql(
        port, "SELECT pg_is_in_recovery(), (SELECT status FROM pg_stat_wal_receiver LIMIT 1)"
    )
    return answer == "t|streaming"


def _wait_until(
    what: str,
    check: Any,
    log: Path | None,
    seconds: float = START_SECONDS,
    process: dict[str, Any] | None = None,
) -> None:
    """Poll ``check`` until it is true; a ClusterError with the tail of ``log`` after
    ``seconds``, or at once when ``process`` (a recorded pid) has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and not _ours(process):
            raise ClusterError(f"{what}: its process exited{_log_tail(log)}")
        time.sleep(0.25)
    raise ClusterError(f"{what} did not come up within {seconds:.0f} s{_log_tail(log)}")


def _log_tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return ""
    return f"\n--- last lines of {log} ---\n{_tail(log)}"


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# Tools ------------------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    """A PostgreSQL program from Debian's own binaries (the newest installed major)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if not found:
        raise ClusterError(
            f"/usr/lib/postgresql/*/bin/{name} not found: install PostgreSQL "
            "(apt-get install postgresql)"
        )
    return str(found[-1])


def _ensure_installed(command: str, package: str) -> str:
    """``command``'s path, installing Debian's ``package`` first when it is missing
    (the way .ci/run installs chromium)."""
    path = shutil.which(command) or shutil.which(command, path="/usr/sbin:/usr/bin")
    if path:
        return path
    print(f"{command} not found: apt-get install {package}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-qq"], env=env)
    _must(["apt-get", "install", "-y", "-qq", package], f"apt-get install {package}", env=env)
    path = shutil.which(command) or shutil.which(command, path="/usr/sbin:/usr/bin")
    if not path:
        raise ClusterError(f"{package} was installed but {command} is still not found")
    return path


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: its programs run as the ``postgres`` user."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", PG_USER, "--", *command]


def _chown_postgres(*paths: Path) -> None:
    if os.geteuid() != 0:
        return
    for path in paths:
        shutil.chown(path, user=PG_USER, group=PG_USER)


# State ------------------------------------------------------------------------------------


def _state_path() -> Path:
    return CLUSTER_DIR / STATE_FILE


def _load() -> dict[str, Any] | None:
    try:
        return json.loads(_state_path().read_text())
    except FileNotFoundError:
        return None


def _save(state: dict[str, Any]) -> None:
    path = _state_path()
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    partial.chmod(0o600)  # it holds the SECRET_KEY and the credential key
    partial.replace(path)


def _base_env() -> dict[str, str]:
    """What every part inherits from the caller: where programs are, the locale. Nothing
    else (a DATABASE_URL or DEBUG in the caller's shell must not reach the servers)."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
    return {k: os.environ[k] for k in keep if k in os.environ}


def _secrets(directory: Path) -> dict[str, str]:
    """The cluster's keys, generated once and kept (0600) beside its data: the app
    servers and the worker must share them (signed cursors, sessions, credentials)."""
    path = directory / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "CREDENTIAL_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "METRICS_TOKEN": secrets.token_urlsafe(32),
    }
    path.touch(mode=0o600)
    path.write_text(json.dumps(values, indent=2) + "\n")
    return values


def _common_env(directory: Path, ports: dict[str, int]) -> dict[str, str]:
    """The environment the app servers and the worker share."""
    redis = f"redis://127.0.0.1:{ports['redis']}"
    env = {
        **_secrets(directory),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain HTTP on loopback: no TLS anywhere in the cluster.
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "STAFF_TOTP_REQUIRED": "false",
        "DATABASE_URL": f"postgres://{APP_ROLE}@127.0.0.1:{ports['primary']}/{DATABASE}",
        "DATABASE_REPLICA_URLS": f"postgres://{APP_ROLE}@127.0.0.1:{ports['replica']}/{DATABASE}",
        "CACHE_URL": f"{redis}/0",
        "TASKS_BACKEND": "rq",
        "TASKS_REDIS_URL": f"{redis}/1",
        "DB_ROUTING_HEADER": "true",
        # HAProxy (`option forwardfor`) appends the address it saw to X-Forwarded-For:
        # one proxy, so the client is the rightmost entry (core.client_address).
        "TRUSTED_PROXY_COUNT": "1",
        # Shared by both app servers and the worker: a shared volume or S3 in production.
        "MEDIA_ROOT": str(directory / "media"),
        "SWITCHBOARD_DEVTOOLS": "false",
        "PYTHONUNBUFFERED": "1",
    }
    for name, value in os.environ.items():
        if name in PASSTHROUGH or name.startswith(PASSTHROUGH_PREFIXES):
            env[name] = value
    return env


def _part_env(state: dict[str, Any], part: str) -> dict[str, str]:
    env = {**_base_env(), **state["env"]}
    if not state.get("replicas", True):
        env.pop("DATABASE_REPLICA_URLS", None)
    if part in APPS:
        env["PROMETHEUS_MULTIPROC_DIR"] = state["dirs"]["metrics"][part]
    return env


# Parts ------------------------------------------------------------------------------------


def _record(state: dict[str, Any], part: str, pid: int | None) -> None:
    state["pids"][part] = {"pid": pid, "start_time": _start_time(pid)} if pid is not None else None
    _save(state)


def _postmaster_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _pg_start(state: dict[str, Any], part: str) -> None:
    data = Path(state["dirs"][part])
    log = Path(state["logs"][part])
    _must(
        _as_postgres(
            [_pg_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"]
        ),
        f"pg_ctl start ({part}, see {log})",
    )
    _record(state, part, _postmaster_pid(data))
    port = state["ports"][part]
    _wait_until(f"PostgreSQL {part} on port {port}", lambda: _pg_ready(port), log)


def _pg_stop(state: dict[str, Any], part: str) -> None:
    entry = state["pids"].get(part)
    data = Path(state["dirs"][part])
    if _ours(entry) and (data / "postmaster.pid").exists():
        done = _run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]))
        if done.returncode != 0:
            _terminate(entry, grace=20)
    if entry:
        _wait_gone([entry["pid"]], 30)
    _record(state, part, None)


def _write_pg_conf(data: Path, lines: list[str]) -> None:
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("\n# scripts/cluster.py\n" + "\n".join(lines) + "\n")


def _create_primary(state: dict[str, Any]) -> None:
    data = Path(state["dirs"]["primary"])
    data.mkdir(mode=0o700)
    _chown_postgres(data)
    _must(
        _as_postgres(
            [
                _pg_bin("initdb"),
                "-D",
                str(data),
                "-U",
                PG_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        "initdb",
    )
    _write_pg_conf(
        data,
        [
            "listen_addresses = '127.0.0.1'",
            f"port = {state['ports']['primary']}",
            # TCP on loopback only: no socket file (whose path may be too long for one).
            "unix_socket_directories = ''",
            "wal_level = replica",
            "hot_standby = on",
            "max_wal_senders = 5",
            "wal_keep_size = '256MB'",
            "max_connections = 100",
            "log_min_messages = warning",
        ],
    )
    # Trust on loopback only, for the tables and for the standby's replication stream.
    (data / "pg_hba.conf").write_text(
        "# scripts/cluster.py: loopback only\n"
        "host    all          all   127.0.0.1/32  trust\n"
        "host    replication  all   127.0.0.1/32  trust\n"
    )
    _chown_postgres(data / "pg_hba.conf")
    _pg_start(state, "primary")
    port = state["ports"]["primary"]
    for statement in (
        f"CREATE ROLE {APP_ROLE} LOGIN",
        f"GRANT pg_monitor TO {APP_ROLE}",
        f"CREATE DATABASE {DATABASE} OWNER {APP_ROLE}",
    ):
        if _psql(port, statement) is None:
            raise ClusterError(f"{statement} on the primary (port {port}) failed")


def _create_replica(state: dict[str, Any]) -> None:
    data = Path(state["dirs"]["replica"])
    data.mkdir(mode=0o700)
    _chown_postgres(data)
    _must(
        _as_postgres(
            [
                _pg_bin("pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(state["ports"]["primary"]),
                "-U",
                PG_USER,
                "-D",
                str(data),
                "-R",  # standby.signal and primary_conninfo: a streaming standby
                "-X",
                "stream",
                "-c",
                "fast",
            ]
        ),
        "pg_basebackup",
    )
    _write_pg_conf(data, [f"port = {state['ports']['replica']}", "hot_standby = on"])
    _start_replica(state)


def _start_replica(state: dict[str, Any]) -> None:
    _pg_start(state, "replica")
    port = state["ports"]["replica"]
    _wait_until(
        f"the standby on port {port} streaming from the primary",
        lambda: _standby_streaming(port),
        Path(state["logs"]["replica"]),
    )


def _start_redis(state: dict[str, Any]) -> None:
    port = state["ports"]["redis"]
    log = Path(state["logs"]["redis"])
    command = [
        _ensure_installed("redis-server", "redis-server"),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        state["dirs"]["redis"],
        "--daemonize",
        "no",
    ]
    _record(state, "redis", _spawn(command, log))
    _wait_until(
        f"Redis on port {port}", lambda: _redis_ping(port), log, process=state["pids"]["redis"]
    )


def _start_app(state: dict[str, Any], part: str) -> None:
    metrics = Path(state["dirs"]["metrics"][part])
    # prometheus_client's multiprocess files from a previous run would be counted again.
    shutil.rmtree(metrics, ignore_errors=True)
    metrics.mkdir(parents=True)
    port = state["ports"][part]
    log = Path(state["logs"][part])
    command = [
        str(VENV_BIN / "gunicorn"),
        "config.wsgi",
        "-c",
        "gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--name",
        f"switchboard-cluster-{part}",
    ]
    _record(state, part, _spawn(command, log, _part_env(state, part)))
    url = state["urls"][part]
    _wait_until(
        f"app server {part} ({url}/healthz)",
        lambda: _http_status(f"{url}/healthz") == 200,
        log,
        process=state["pids"][part],
    )


def _start_worker(state: dict[str, Any]) -> None:
    log = Path(state["logs"]["worker"])
    command = [
        str(VENV_BIN / "python"),
        "manage.py",
        "rqworker",
        "--job-class",
        "django_tasks_rq.Job",
        "--name",
        f"cluster-{state['ports']['balancer']}-{secrets.token_hex(3)}",
        "default",
    ]
    before = log.stat().st_size if log.exists() else 0
    _record(state, "worker", _spawn(command, log, _part_env(state, "worker")))

    def listening() -> bool:
        if not _ours(state["pids"]["worker"]):
            raise ClusterError(f"the RQ worker exited:\n{_tail(log)}")
        # RQ announces itself once its Redis connection is up (in this start's lines).
        with log.open("rb") as lines:
            lines.seek(before)
            return b"Listening on" in lines.read()

    _wait_until("the RQ worker", listening, log)


HAPROXY_CONFIG = """\
# scripts/cluster.py: the cluster's load balancer
global
    maxconn 2048
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 3s
    retries 2
    option redispatch

frontend switchboard
    bind 127.0.0.1:{balancer}
    default_backend apps

backend apps
    balance roundrobin
    # The client's address, appended to X-Forwarded-For (TRUSTED_PROXY_COUNT=1).
    option forwardfor
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    server app1 127.0.0.1:{app1} check inter 1s fall 2 rise 2
    server app2 127.0.0.1:{app2} check inter 1s fall 2 rise 2
"""


def _start_balancer(state: dict[str, Any]) -> None:
    haproxy = _ensure_installed("haproxy", "haproxy")
    config = CLUSTER_DIR / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(**state["ports"]))
    _must([haproxy, "-c", "-q", "-f", str(config)], "haproxy -c (config check)")
    log = Path(state["logs"]["balancer"])
    _record(state, "balancer", _spawn([haproxy, "-db", "-f", str(config)], log))
    url = state["urls"]["balancer"]
    _wait_until(
        f"the balancer ({url}/healthz)",
        lambda: _http_status(f"{url}/healthz") == 200,
        log,
        process=state["pids"]["balancer"],
    )


def _start_part(state: dict[str, Any], part: str) -> None:
    if _ours(state["pids"].get(part)):
        print(f"{part} is already running (pid {state['pids'][part]['pid']})")
        return
    if part in PORTS:
        _check_ports(state["ports"], (part,))
    if part == "primary":
        _pg_start(state, "primary")
        if _ours(state["pids"].get("replica")):
            # The standby reconnects on its own (wal_retrieve_retry_interval, 5 s).
            port = state["ports"]["replica"]
            _wait_until(
                f"the standby on port {port} streaming again",
                lambda: _standby_streaming(port),
                Path(state["logs"]["replica"]),
            )
    elif part == "replica":
        _start_replica(state)
    elif part == "redis":
        _start_redis(state)
    elif part in APPS:
        _start_app(state, part)
    elif part == "worker":
        _start_worker(state)
    elif part == "balancer":
        _start_balancer(state)


def _stop_part(state: dict[str, Any], part: str, *, kill: bool = False) -> None:
    entry = state["pids"].get(part)
    if part in ("primary", "replica"):
        if kill:
            _terminate(entry or {}, grace=5, kill=True)
        _pg_stop(state, part)
        return
    # gunicorn finishes its requests within its graceful timeout (30 s); RQ's warm
    # shutdown waits for the job in hand: after that, SIGKILL.
    grace = {"worker": 15.0, "app1": 35.0, "app2": 35.0}.get(part, 10.0)
    _terminate(entry or {}, grace=grace, kill=kill)
    _record(state, part, None)


# Commands ---------------------------------------------------------------------------------


def _new_state(ports: dict[str, int]) -> dict[str, Any]:
    d = CLUSTER_DIR
    logs = d / "logs"
    state: dict[str, Any] = {
        "dir": str(d),
        "ports": ports,
        "pids": {},
        "replicas": True,
        "database": DATABASE,
        "urls": {
            "balancer": f"http://127.0.0.1:{ports['balancer']}",
            "app1": f"http://127.0.0.1:{ports['app1']}",
            "app2": f"http://127.0.0.1:{ports['app2']}",
            "primary": f"postgres://{PG_USER}@127.0.0.1:{ports['primary']}/{DATABASE}",
            "replica": f"postgres://{PG_USER}@127.0.0.1:{ports['replica']}/{DATABASE}",
            "redis": f"redis://127.0.0.1:{ports['redis']}",
        },
        "dirs": {
            "primary": str(d / "pg" / "primary"),
            "replica": str(d / "pg" / "replica"),
            "redis": str(d / "redis"),
            "media": str(d / "media"),
            "metrics": {app: str(d / "metrics" / app) for app in APPS},
            "logs": str(logs),
        },
        "logs": {part: str(logs / f"{part}.log") for part in PARTS},
        "logs_extra": {"migrate": str(logs / "migrate.log")},
    }
    return state


def _prepare_dir(state: dict[str, Any]) -> None:
    d = CLUSTER_DIR
    d.mkdir(parents=True, exist_ok=True)
    d.chmod(0o755)  # the postgres user reaches its data directories through it
    (d / MARKER).write_text("Made by scripts/cluster.py; `scripts/cluster.py down` removes it.\n")
    for sub in ("pg", "redis", "media", "metrics", "logs"):
        (d / sub).mkdir(exist_ok=True)
    _chown_postgres(d / "pg")
    for part in ("primary", "replica"):
        log = Path(state["logs"][part])
        log.touch()
        _chown_postgres(log)


def _manage(state: dict[str, Any], *args: str) -> None:
    log = Path(state["logs_extra"]["migrate"])
    with log.open("a") as out:
        done = subprocess.run(  # noqa: S603 - our own manage.py
            [str(VENV_BIN / "python"), "manage.py", *args],
            cwd=REPO,
            env=_part_env(state, "worker"),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        raise ClusterError(f"manage.py {' '.join(args)} failed:\n{_tail(log)}")


def cmd_up(args: argparse.Namespace) -> int:
    existing = _load()
    if existing and any(_ours(e) for e in existing["pids"].values()):
        print(
            f"A cluster is already running from {CLUSTER_DIR} (`scripts/cluster.py status`); "
            "run `scripts/cluster.py down` first.",
            file=sys.stderr,
        )
        return 1
    if CLUSTER_DIR.exists():
        _remove_dir()
    for tool, package in (("redis-server", "redis-server"), ("haproxy", "haproxy")):
        _ensure_installed(tool, package)
    for program in ("initdb", "pg_ctl", "pg_basebackup", "psql", "pg_isready"):
        _pg_bin(program)
    if not (VENV_BIN / "gunicorn").exists():
        print(f"{VENV_BIN / 'gunicorn'} not found: run `make install` first", file=sys.stderr)
        return 1
    state = _new_state(_choose_ports(args.free_ports))
    _check_ports(state["ports"], tuple(PORTS))
    _prepare_dir(state)
    state["env"] = _common_env(CLUSTER_DIR, state["ports"])
    _save(state)
    started = time.monotonic()
    try:
        print(f"cluster in {CLUSTER_DIR}", flush=True)
        print(f"  primary  (initdb) on :{state['ports']['primary']}", flush=True)
        _create_primary(state)
        print(f"  standby  (pg_basebackup -R) on :{state['ports']['replica']}", flush=True)
        _create_replica(state)
        print(f"  redis    on :{state['ports']['redis']}", flush=True)
        _start_redis(state)
        print("  migrate and setup_roles on the primary", flush=True)
        _manage(state, "migrate", "--noinput")
        _manage(state, "setup_roles")
        for app in APPS:
            print(f"  {app}     gunicorn on :{state['ports'][app]}", flush=True)
            _start_app(state, app)
        print("  worker   rqworker", flush=True)
        _start_worker(state)
        print(f"  balancer haproxy on :{state['ports']['balancer']}", flush=True)
        _start_balancer(state)
    except (ClusterError, OSError) as error:
        print(f"\ncluster up FAILED: {error}", file=sys.stderr)
        print("stopping what was started; logs kept in " + state["dirs"]["logs"], file=sys.stderr)
        _stop_all(state)
        return 1
    except KeyboardInterrupt:
        _stop_all(state)
        raise
    state["started_seconds"] = round(time.monotonic() - started, 1)
    _save(state)
    _print_summary(state)
    return 0


def _print_summary(state: dict[str, Any]) -> None:
    urls, ports = state["urls"], state["ports"]
    print(f"\nSwitchboard cluster up in {state.get('started_seconds', '?')} s ({CLUSTER_DIR})")
    rows = [
        ("balancer (HAProxy)", urls["balancer"], ports["balancer"]),
        ("app server 1", urls["app1"], ports["app1"]),
        ("app server 2", urls["app2"], ports["app2"]),
        ("PostgreSQL primary", urls["primary"], ports["primary"]),
        ("PostgreSQL standby", urls["replica"], ports["replica"]),
        ("Redis", urls["redis"], ports["redis"]),
    ]
    for name, url, port in rows:
        print(f"  {name:<20} {url:<52} port {port}")
    print(f"  {'RQ worker':<20} pid {state['pids']['worker']['pid']}")
    print(f"\nDATABASE_URL={state['env']['DATABASE_URL']}")
    print(f"state: {_state_path()}   logs: {state['dirs']['logs']}/")
    print('manage.py against it: eval "$(scripts/cluster.py env)"; stop it: make cluster-down')


def _stop_all(state: dict[str, Any]) -> None:
    for part in STOP_ORDER:
        try:
            _stop_part(state, part)
        except ClusterError as error:
            print(f"stopping {part}: {error}", file=sys.stderr)


def _remove_dir() -> None:
    if not (CLUSTER_DIR / MARKER).exists():
        raise SystemExit(
            f"{CLUSTER_DIR} exists but was not made by scripts/cluster.py ({MARKER} missing): "
            "not removing it"
        )
    shutil.rmtree(CLUSTER_DIR)


def cmd_down(args: argparse.Namespace) -> int:
    state = _load()
    if state is None and not CLUSTER_DIR.exists():
        print(f"no cluster in {CLUSTER_DIR}: nothing to stop")
        return 0
    if state is not None:
        _stop_all(state)
        left = [p for p, e in state["pids"].items() if _ours(e)]
        if left:
            print(f"still running after stop: {', '.join(left)}; not removing", file=sys.stderr)
            return 1
    _remove_dir()
    print(f"cluster stopped and {CLUSTER_DIR} removed")
    return 0


def _need_state() -> dict[str, Any]:
    state = _load()
    if state is None:
        raise SystemExit(f"no cluster in {CLUSTER_DIR} (run `scripts/cluster.py up`)")
    return state


def _answers(state: dict[str, Any], part: str) -> str:
    ports, urls = state["ports"], state["urls"]
    if part == "primary":
        return "accepting" if _pg_ready(ports["primary"]) else "no answer"
    if part == "replica":
        if not _pg_ready(ports["replica"]):
            return "no answer"
        return "streaming" if _standby_streaming(ports["replica"]) else "not streaming"
    if part == "redis":
        return "PONG" if _redis_ping(ports["redis"]) else "no answer"
    if part in ("app1", "app2", "balancer"):
        status = _http_status(f"{urls[part]}/healthz")
        return f"/healthz {status}" if status else "no answer"
    return "-"


def cmd_status(args: argparse.Namespace) -> int:
    state = _need_state()
    bad = 0
    print(f"cluster in {CLUSTER_DIR} (replicas {'on' if state.get('replicas', True) else 'off'})")
    for part in PARTS:
        entry = state["pids"].get(part)
        running = _ours(entry)
        bad += not running
        port = state["ports"].get(part, "")
        pid = entry["pid"] if entry else "-"
        answer = _answers(state, part) if running else "-"
        shown = "running" if running else "stopped"
        print(f"  {part:<9} {shown:<8} pid {pid!s:<8} port {port!s:<6} {answer}")
    return 0 if not bad else 3


def cmd_stop(args: argparse.Namespace) -> int:
    state = _need_state()
    _stop_part(state, args.part, kill=args.kill)
    print(f"{args.part} stopped")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    state = _need_state()
    try:
        _start_part(state, args.part)
    except ClusterError as error:
        print(f"start {args.part} FAILED: {error}", file=sys.stderr)
        return 1
    print(f"{args.part} running")
    return 0


def cmd_restart_apps(args: argparse.Namespace) -> int:
    """Both app servers again, with or without the standby (``cluster-bench``)."""
    state = _need_state()
    state["replicas"] = not args.no_replicas
    _save(state)
    try:
        for app in APPS:
            _stop_part(state, app)
            _start_app(state, app)
        # The balancer sees both healthy again before anyone measures through it.
        url = state["urls"]["balancer"]
        _wait_until("the balancer", lambda: _http_status(f"{url}/healthz") == 200, None)
    except ClusterError as error:
        print(f"restart-apps FAILED: {error}", file=sys.stderr)
        return 1
    print(f"app servers restarted, replicas {'on' if state['replicas'] else 'off'}")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    state = _need_state()
    env = dict(state["env"])
    if not state.get("replicas", True):
        env.pop("DATABASE_REPLICA_URLS", None)
    print(f'# the cluster in {CLUSTER_DIR}: eval "$({sys.argv[0]} env)"')
    for name, value in sorted(env.items()):
        print(f"export {name}={shlex.quote(value)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the whole topology")
    up.add_argument("--free-ports", action="store_true", help="pick free ports instead")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop what `up` started, remove the directory").set_defaults(
        func=cmd_down
    )
    sub.add_parser("status", help="each part: running, pid, port, answer").set_defaults(
        func=cmd_status
    )
    stop = sub.add_parser("stop", help="stop one part (start reuses its ports and data)")
    stop.add_argument("part", choices=PARTS)
    stop.add_argument("--kill", action="store_true", help="SIGKILL it and its children at once")
    stop.set_defaults(func=cmd_stop)
    start = sub.add_parser("start", help="start one stopped part again")
    start.add_argument("part", choices=PARTS)
    start.set_defaults(func=cmd_start)
    restart = sub.add_parser("restart-apps", help="restart both app servers")
    choice = restart.add_mutually_exclusive_group()
    choice.add_argument("--no-replicas", action="store_true", help="without the standby")
    choice.add_argument("--replicas", action="store_true", help="with the standby (default)")
    restart.set_defaults(func=cmd_restart_apps)
    sub.add_parser("env", help="the app servers' environment as shell exports").set_defaults(
        func=cmd_env
    )
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ClusterError as error:
        print(f"scripts/cluster.py {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
