#!/usr/bin/env python3
"""``make cluster-bench``: load through the cluster's balancer, standby on and off (issue 20).

Starts a cluster of its own (``scripts/cluster.py up --free-ports`` in
``run/bench-cluster``, API rate limit out of the way), seeds demo numbers, then for
each mode runs wrk (bounded: ``--duration`` s, ``--connections`` connections, on
loopback, after an untimed 3 s warm-up) through HAProxy on

- the API list (``GET /v1/numbers/list?page=1&size=10``, a customer's bearer token);
- the inventory page (``GET /numbers/?sort=number``, a signed-in support member);

first with the app servers reading from the standby (as ``up`` starts them), then
with both restarted without ``DATABASE_REPLICA_URLS``. It prints requests/s, p50 and
p99 latency, errors (non-2xx/3xx and socket errors), and the share of the run's
transactions the standby served: the growth of ``xact_commit`` in
``pg_stat_database`` for the app's database on the standby against the primary
(Django runs each read outside a transaction block in autocommit, so that counts
queries). The cluster is taken down at the end (``--keep`` leaves it up).

On 2 cores the app servers, both PostgreSQL servers, Redis, HAProxy and wrk share
the same CPUs: throughput will not grow with a standby; the point is that it holds,
with no errors, while the standby takes the reads.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"
CLUSTER = REPO / "scripts" / "cluster.py"
BENCH_DIR = REPO / "run" / "bench-cluster"

SETUP = """
import json, secrets
from django.db.models import Count
from users.management.commands.setup_roles import ensure_roles
from users.models import User
from users.services import api_token_create

password = secrets.token_urlsafe(16)
staff = User.objects.create_user("bench-support@cluster.test", password, is_staff=True)
staff.groups.add(ensure_roles()["Support"])
owner = (
    User.objects.annotate(n=Count("phone_numbers")).filter(n__gt=0).order_by("-n").first()
)
token = api_token_create(user=owner, name="cluster-bench")[1]
print(json.dumps({"email": staff.email, "password": password, "token": token}))
"""


def cluster(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(  # noqa: S603 - our own script
        [str(PYTHON), str(CLUSTER), *args],
        cwd=REPO,
        env={**os.environ, "CLUSTER_DIR": str(BENCH_DIR), **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"scripts/cluster.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def manage(state: dict[str, Any], *args: str, extra: dict[str, str] | None = None) -> str:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(state["env"], **(extra or {}))
    done = subprocess.run(  # noqa: S603 - our own manage.py
        [str(PYTHON), "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py {args[0]} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def psql(state: dict[str, Any], part: str, sql: str) -> str:
    psql_bin = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))[-1]
    server = ["-h", "127.0.0.1", "-p", str(state["ports"][part]), "-U", "postgres"]
    done = subprocess.run(  # noqa: S603 - Debian's psql, fixed arguments
        [str(psql_bin), *server, "-d", state["database"], "-XAtc", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def commits(state: dict[str, Any]) -> dict[str, int]:
    """xact_commit of the app's database on each server (after the stats are flushed)."""
    sql = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
    return {part: int(psql(state, part, sql) or 0) for part in ("primary", "replica")}


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, header: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        shutil.which("wrk") or "wrk",
        f"-t{min(args.connections, 2)}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "-H",
        header,
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": to_ms(latency["50"]),
        "p99": to_ms(latency["99"]),
        "requests": total,
        "errors": errors,
    }


def measure(state: dict[str, Any], targets: dict[str, tuple[str, str]], args) -> dict[str, Any]:
    results = {}
    for name, (url, header) in targets.items():
        # Untimed warm-up: new connections, prepared statements, the API's page cache.
        wrk(url, header, argparse.Namespace(connections=args.connections, duration=3))
        before = commits(state)
        result = wrk(url, header, args)
        # Backends flush their statistics within a second of going idle (PostgreSQL 15).
        time.sleep(2)
        after = commits(state)
        primary = after["primary"] - before["primary"]
        replica = after["replica"] - before["replica"]
        result["replica_share"] = replica / (primary + replica) if primary + replica else 0.0
        results[name] = result
        print(
            f"  {name:<10} {result['rps']:8.1f} req/s  p50 {result['p50']:7.1f} ms  "
            f"p99 {result['p99']:7.1f} ms  errors {result['errors']}  "
            f"standby {result['replica_share']:.0%}",
            flush=True,
        )
    return results


def routed_to(url: str, headers: dict[str, str]) -> str | None:
    answer = requests.get(url, headers=headers, timeout=30)
    answer.raise_for_status()
    return answer.headers.get("X-Read-Database")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--numbers", type=int, default=10_000, help="demo numbers to seed")
    parser.add_argument("--keep", action="store_true", help="leave the cluster up afterwards")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")

    cluster("down")
    print(cluster("up", "--free-ports", env={"API_RATE_LIMIT": "100000000/min"}), flush=True)
    try:
        state = json.loads((BENCH_DIR / "cluster.json").read_text())
        print(f"seeding {args.numbers:,} demo numbers", flush=True)
        manage(state, "seed_demo", "--numbers", str(args.numbers),
               extra={"SWITCHBOARD_DEVTOOLS": "true"})  # fmt: skip
        who = json.loads(manage(state, "shell", "--no-imports", "-c", SETUP).splitlines()[-1])
        base = state["urls"]["balancer"]
        browser = requests.Session()
        browser.get(f"{base}/login/", timeout=30)
        signed = browser.post(
            f"{base}/login/",
            data={
                "username": who["email"],
                "password": who["password"],
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
            headers={"Referer": f"{base}/login/"},
            allow_redirects=False,
            timeout=30,
        )
        if signed.status_code != 302:
            raise SystemExit(f"signing in failed: {signed.status_code}")
        cookie = f"Cookie: sessionid={browser.cookies['sessionid']}"
        bearer = f"Authorization: Bearer {who['token']}"
        targets = {
            "API list": (f"{base}/v1/numbers/list?page=1&size=10", bearer),
            "inventory": (f"{base}/numbers/?sort=number", cookie),
        }
        # The sign-in pinned this session to the primary for a few seconds: wait it out.
        deadline = time.monotonic() + 60
        cookie_header = {"Cookie": cookie.split(": ", 1)[1]}
        while routed_to(targets["inventory"][0], cookie_header) != "replica1":
            if time.monotonic() > deadline:
                raise SystemExit("the inventory is never read from the standby")
            time.sleep(0.5)

        print(f"\nwrk: {args.duration} s, {args.connections} connections, through {base}")
        print("standby ON (DATABASE_REPLICA_URLS set)", flush=True)
        on = measure(state, targets, args)
        cluster("restart-apps", "--no-replicas")
        print("standby OFF (app servers restarted without DATABASE_REPLICA_URLS)", flush=True)
        off = measure(state, targets, args)
    finally:
        if not args.keep:
            cluster("down")

    print("\n| endpoint | standby | req/s | p50 ms | p99 ms | errors | reads on standby |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in targets:
        for mode, results in (("on", on), ("off", off)):
            r = results[name]
            print(
                f"| {name} | {mode} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                f"{r['errors']} of {r['requests']} | {r['replica_share']:.0%} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
