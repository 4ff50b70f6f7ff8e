"""``manage.py bench``: the inventory at a million numbers, side by side with what a
user would otherwise pick (the Django admin changelist, a naive DRF API).

PostgreSQL only (``DATABASE_URL``). Seeds through ``seed_demo`` when the inventory
is smaller than ``--numbers``, runs VACUUM ANALYZE, then measures in this one
process: median and p95 of repeated requests after a warm-up, and each request's
query count; the exports (``devtools.export_bench``) each in a process of its own.
Prints a table and writes docs/benchmarks.md. ``--only exports`` runs that section
alone and replaces only its part of the file.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from argparse import SUPPRESS
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client, override_settings

from agents.models import Agent
from core.ordering import sort_keys
from core.pagination import cursor_token, page_of
from devtools import bench_imports, cache_bench, export_bench
from phone_numbers import queries
from phone_numbers.health import HEALTH_FINDINGS
from phone_numbers.models import PhoneNumber
from phone_numbers.queries import NumberFilters
from users.models import User
from users.services import api_token_create

Result = dict[str, Any]


# --- Measuring ---------------------------------------------------------------------
# A warm server: psycopg prepares a statement on its 5th run on a connection.
WARMUP = 6
WHY_HEADING = "## Why these choices"


def keep_why_section(text: str, previous: str) -> str:
    """``text`` followed by the hand-written "Why these choices" section of ``previous``."""
    kept = previous.find(WHY_HEADING)
    return text if kept == -1 else f"{text}\n{previous[kept:]}"


def measure(call: Callable[[], Any], repeats: int, warmup: int = WARMUP) -> Result:
    for _ in range(warmup):
        call()
    executed: list[str] = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - started) * 1000)
    status = getattr(response, "status_code", None)
    times.sort()
    if not times:  # only warmed up and counted (measure_together times the calls)
        return {"queries": len(executed), "status": getattr(response, "status_code", None)}
    return {
        "p50": statistics.median(times),
        "p95": times[int(0.95 * (len(times) - 1))],
        "queries": len(executed),
        "status": status,
    }


def measure_together(calls: list[tuple[Callable[[], Any], int]]) -> list[Result]:
    """Each (call, repeats) measured like ``measure``, but in turns, round by round
    (a call drops out once it has its repeats), so ours and its peers see the same
    machine load: on this shared 2-core machine load drifts within a minute, and
    ratios of figures taken a minute apart swung by a third."""
    counted = [measure(call, 0, warmup=WARMUP if repeats > 5 else 1) for call, repeats in calls]
    times: list[list[float]] = [[] for _ in calls]
    statuses: list[Any] = [None for _ in calls]
    for round_ in range(max(repeats for _call, repeats in calls)):
        for i, (call, repeats) in enumerate(calls):
            if round_ < repeats:
                started = time.perf_counter()
                statuses[i] = getattr(call(), "status_code", None)
                times[i].append((time.perf_counter() - started) * 1000)
    results = []
    for counts, timed, status in zip(counted, times, statuses, strict=True):
        timed.sort()
        results.append(
            {
                "p50": statistics.median(timed),
                "p95": timed[int(0.95 * (len(timed) - 1))],
                "queries": counts["queries"],
                "status": status,
            }
        )
    return results


def _uncached(call: Callable[[], Any]) -> Callable[[], Any]:
    """``call`` with the API's page cache off: the answer rendered every time."""

    def run() -> Any:
        with override_settings(API_PAGE_CACHE=False):
            return call()

    return run


def _get(client: Client, path: str, **headers: str) -> Callable[[], Any]:
    return lambda: client.get(path, **headers)


def parse_wrk(out: str, seconds: int) -> Result:
    """Requests per second and errors from wrk's report; non-2xx/3xx responses and
    socket errors (connect, read, write, timeout) count as errors."""
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    errors = (int(bad.group(1)) if bad else 0) + (
        sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1))) if socket_errors else 0
    )
    return {
        "client": "wrk, 1 thread, 8 connections",
        "rps": (total - errors) / seconds,
        "ok": total - errors,
        "errors": errors,
        "latency": re.search(r"Latency\s+(\S+)", out).group(1),
        # With --latency: the distribution's 50% and 99% lines.
        "p50": _percentile(out, "50"),
        "p99": _percentile(out, "99"),
    }


def _percentile(out: str, percent: str) -> str:
    found = re.search(rf"^\s+{percent}(?:\.0+)?%\s+(\S+)", out, re.MULTILINE)
    return found.group(1) if found else ""


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--numbers", type=int, default=1_000_000)
        parser.add_argument("--repeats", type=int, default=50)
        parser.add_argument("--load-seconds", type=int, default=10)
        parser.add_argument("--output", default="docs/benchmarks.md")
        parser.add_argument(
            "--only",
            choices=["exports", "imports", "cache"],
            help="Run one section alone and replace only its part of --output "
            "(make bench BENCH_ARGS=--only=exports).",
        )
        parser.add_argument(
            "--export-rounds",
            type=int,
            default=3,
            help="Runs of the streamed export and the CSV job each (in turns).",
        )
        # One export measured in this process (devtools.export_bench runs it).
        parser.add_argument("--export-case", choices=list(export_bench.CASES), help=SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["only"] == "cache":  # Redis only: no database, no seeding
            lines = cache_bench.report_lines(cache_bench.measure())
            cache_bench.write_report(options["output"], lines)
            self.stdout.write("\n".join(lines))
            return
        if connection.vendor != "postgresql":
            raise CommandError("make bench needs PostgreSQL: set DATABASE_URL.")
        if options["export_case"]:
            self.stdout.write(json.dumps(export_bench.measure_case(options["export_case"])))
            return
        if options["only"] == "imports":
            self._seed(options["numbers"])
            lines = bench_imports.report_lines(self._imports())
            bench_imports.write_report(options["output"], lines)
            self.stdout.write("\n".join(lines))
            return
        if options["only"] == "exports":
            self._seed(options["numbers"])
            lines = export_bench.report_lines(self._exports(options["export_rounds"]))
            export_bench.write_report(options["output"], lines)
            self.stdout.write("\n".join(lines))
            return
        # Like Django's test client: requests must neither reset the query log we
        # count from nor close the connection between requests.
        from django.core.signals import request_finished, request_started
        from django.db import close_old_connections, reset_queries

        request_started.disconnect(reset_queries)
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        self._seed(options["numbers"])
        repeats = options["repeats"]
        rows: list[tuple[str, Result, Result | None]] = []
        staff = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
            "bench@switchboard.local", None
        )
        web = Client()
        web.force_login(staff)
        # As the list page's htmx requests are sent: with the page's columns
        # (X-Inventory-Columns, console.queries.page_columns), the default ones here.
        hx = {
            "HTTP_HX_REQUEST": "true",
            "HTTP_X_INVENTORY_COLUMNS": (
                "number,label,owner,agent,provider,connection,active,outbound_only,updated"
            ),
        }
        owner = (
            User.objects.filter(is_staff=False, phone_numbers__isnull=False)
            .order_by("email")
            .first()
        )
        _, token = api_token_create(user=owner, name="bench")
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        number = PhoneNumber.objects.filter(user=owner).order_by("number").first()
        digits = number.number[2:8]

        deep = self._cursor_at(500_000)
        inventory_cases = [
            ("first page", "", ""),
            ("deep page (row offset 500,000; ours by its Next link)", f"after={deep}", "p=10001"),
            (f"6-digit number search '{digits}'", f"q={digits}", f"q={digits}"),
            ("label search 'Billing'", "q=Billing", "q=Billing"),
            (
                "provider + active filters",
                "provider=telnyx&active=yes",
                "telephony_provider__exact=telnyx&active__exact=1",
            ),
            ("sorted by label", "sort=label", "o=2"),
        ]
        for label, ours, theirs in inventory_cases:
            frag = measure(_get(web, f"/numbers/?size=50&{ours}", **hx), repeats)
            full = measure(_get(web, f"/numbers/?size=50&{ours}"), repeats)
            admin = measure(
                _get(web, f"/admin/numbers/phonenumber/?{theirs}"), max(5, repeats // 3), warmup=2
            )
            rows.append((f"inventory fragment, {label}", frag, admin))
            rows.append((f"inventory full page, {label}", full, admin))
            self.stdout.write(f"  {label}: ours {frag['p50']:.1f} ms, admin {admin['p50']:.1f} ms")

        rows += self._health_and_overview(web, hx, repeats)
        rows += self._sorts_and_lists(web, hx, repeats)

        rows += self._api(web, auth, repeats)

        rows += self._trigram(number, repeats)
        rows.append(
            ("number detail page", measure(_get(web, f"/numbers/{number.pk}/"), repeats), None)
        )
        one = f"/v1/numbers?phone_number=%2B{number.number[1:]}"
        rows.append(
            (
                "GET /v1/numbers, rendered",
                measure(_uncached(_get(web, one, **auth)), repeats),
                None,
            )
        )
        rows.append(
            ("GET /v1/numbers, from the page cache", measure(_get(web, one, **auth), repeats), None)
        )

        exports = self._exports(options["export_rounds"])
        load = self._load(token, options["load_seconds"])
        self._report(rows, exports, load, options["output"])
        bench_imports.write_report(options["output"], bench_imports.report_lines(self._imports()))

    def _api(self, web: Client, auth: dict[str, str], repeats: int) -> list[Any]:
        """The API list against DRF peers served the same way (``devtools.peers``: same
        middleware, token and throttle): by the book (CursorPagination) for first pages,
        PageNumberPagination for deep ones, and without select_related."""
        rows: list[Any] = []
        for size, page in ((10, 1), (50, 1), (100, 1), (10, 1000), (100, 200)):
            query = f"size={size}&page={page}"
            ours_path = f"/v1/numbers/list?{query}"
            peer_label, peer_path = (
                ("DRF by the book (cursor pages)", f"/v1/_bench/book?size={size}")
                if page == 1
                else (
                    "DRF select_related (page numbers)",
                    f"/v1/_bench/pages?size={size}&page={page}",
                )
            )
            ours, cached, peer, raw = measure_together(
                [
                    (_uncached(_get(web, ours_path, **auth)), repeats),
                    (_get(web, ours_path, **auth), repeats),
                    (_get(web, peer_path, **auth), max(5, repeats // 3)),
                    (_get(web, f"/v1/_bench/naive?{query}", **auth), max(3, repeats // 10)),
                ]
            )
            for result in (ours, cached, peer, raw):
                if result["status"] != 200:
                    raise CommandError(
                        f"A timed API request answered {result['status']}, not 200: raise "
                        "API_RATE_LIMIT for the bench (make bench sets it)."
                    )
            rows.append((f"API list {query}, rendered, vs {peer_label}", ours, peer))
            rows.append((f"API list {query}, from the page cache, vs {peer_label}", cached, peer))
            rows.append((f"API list {query}, rendered, vs DRF without select_related", ours, raw))
            self.stdout.write(
                f"  API size {size} page {page}: ours {ours['p50']:.1f} ms "
                f"(cached {cached['p50']:.1f}), "
                f"peer {peer['p50']:.1f} ms, naive {raw['p50']:.1f} ms"
            )
        return rows

    def _health_and_overview(
        self, web: Client, hx: dict[str, str], repeats: int
    ) -> list[tuple[str, Result, None]]:
        """Each health filter's first page, the overview (/), and the account page of
        the customer with the most numbers (issue 16): no peer has them."""
        rows: list[tuple[str, Result, None]] = []
        for key, finding in HEALTH_FINDINGS.items():
            frag = measure(_get(web, f"/numbers/?size=50&health={key}", **hx), repeats)
            full = measure(_get(web, f"/numbers/?size=50&health={key}"), repeats)
            rows.append((f"inventory fragment, health filter '{finding.label}'", frag, None))
            rows.append((f"inventory full page, health filter '{finding.label}'", full, None))
            self.stdout.write(
                f"  health filter {key}: {frag['p50']:.1f} ms, full {full['p50']:.1f}"
            )
        overview = measure(_get(web, "/"), repeats)
        rows.append(
            ("overview (/): findings, providers, top customers, 30 days of changes", overview, None)
        )
        self.stdout.write(f"  overview: {overview['p50']:.1f} ms, {overview['queries']} queries")
        biggest = self.biggest_customer()
        if biggest is not None:
            owner, count = biggest
            page = measure(_get(web, f"/customers/{owner}/"), repeats)
            rows.append(
                (
                    f"customer account page (the customer with the most numbers, {count:,})",
                    page,
                    None,
                )
            )
            self.stdout.write(f"  account page: {page['p50']:.1f} ms, {page['queries']} queries")
        return rows

    # Every sort of the inventory, each way, and the other console lists with and
    # without a search (issue 18): each within 2.5x of the inventory's first page.
    SORT_RATIO_LIMIT = 2.5
    LIST_CASES = (
        ("agents list", "/agents/", True),
        ("agents list, search by name 'Billing'", "/agents/?q=Billing", True),
        ("agents list, search by owner 'summit'", "/agents/?q=summit", True),
        ("agents list, search that matches nothing", "/agents/?q=zzzq", True),
        ("webhooks list", "/webhooks/", False),
        ("webhooks list, search 'summit'", "/webhooks/?q=summit", False),
        ("connections list", "/connections/", False),
        ("connections list, search 'Twilio'", "/connections/?q=Twilio", False),
    )

    def _sorts_and_lists(
        self, web: Client, hx: dict[str, str], repeats: int
    ) -> list[tuple[str, Result, None]]:
        """The inventory's first page (fragment, 50 rows) in every sort both ways, and
        the agents, webhooks and connections lists, each with its ratio to the first
        page by number measured here, in the same run."""
        base = measure(_get(web, "/numbers/?size=50", **hx), repeats)
        rows: list[tuple[str, Result, None]] = []
        cases = [
            (
                f"inventory fragment, sorted by {key}{' descending' if d else ''}",
                f"/numbers/?size=50&sort={d}{key}",
                True,
            )
            for key in queries.NUMBER_SORTS
            for d in ("", "-")
        ]
        for label, path, fragment in [*cases, *self.LIST_CASES]:
            result = measure(_get(web, path, **(hx if fragment else {})), repeats)
            ratio = result["p50"] / base["p50"] if base["p50"] else 0.0
            flag = "" if ratio <= self.SORT_RATIO_LIMIT else " (over the 2.5x goal)"
            rows.append((f"{label}: {ratio:.1f}x the first page{flag}", result, None))
            self.stdout.write(
                f"  {label}: {result['p50']:.1f} ms, {result['queries']} queries, "
                f"{ratio:.1f}x the first page ({base['p50']:.1f} ms){flag}"
            )
        return rows

    @staticmethod
    def biggest_customer() -> tuple[Any, int] | None:
        """The owner with the most numbers and how many (one scan, before measuring)."""
        row = (
            PhoneNumber.objects.order_by()
            .values("user")
            .annotate(n=Count("user"))
            .order_by("-n", "user")
            .first()
        )
        return (row["user"], row["n"]) if row else None

    def _seed(self, wanted: int) -> None:
        have = PhoneNumber.objects.count()
        if have < wanted:
            if have:
                raise CommandError(
                    f"The database has {have:,} numbers, fewer than {wanted:,}: "
                    "use an empty database or --numbers {have}."
                )
            started = time.monotonic()
            call_command("seed_demo", "--numbers", str(wanted))
            self.stdout.write(f"seeded in {time.monotonic() - started:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    def _cursor_at(self, offset: int) -> str:
        """The Next-link cursor a user holds after paging to row ``offset`` by number."""
        queryset = queries.inventory(filters=NumberFilters(), sort="number", desc=False)
        row = queryset[offset - 1 : offset].get()
        return cursor_token("after", sort_keys(queryset), row, offset)

    def _trigram(self, number: PhoneNumber, repeats: int) -> list[tuple[str, Result, Result]]:
        """The same searches (first page + bounded count) with the trigram indexes and
        with index scans turned off for the transaction: the table scan they replace."""
        rows = []
        searches = [
            (f"8-digit number search '{number.number[-8:]}'", number.number[-8:]),
            ("search matching nothing 'zzqx'", "zzqx"),
        ]
        for label, text in searches:

            def run(text: str = text) -> None:
                page_of(queries.inventory(filters=NumberFilters(q=text)), page=1, size=50)

            def without(run: Callable[[], None] = run) -> None:
                with transaction.atomic(), connection.cursor() as cursor:
                    for setting in ("bitmapscan", "indexscan", "indexonlyscan"):
                        cursor.execute(f"SET LOCAL enable_{setting} = off")
                    run()

            rows.append(
                (
                    f"{label}: trigram index vs table scan (query only)",
                    measure(run, repeats),
                    measure(without, max(5, repeats // 3), warmup=1),
                )
            )
            self.stdout.write(
                f"  trigram {label}: {rows[-1][1]['p50']:.1f} vs {rows[-1][2]['p50']:.1f} ms"
            )
        return rows

    def _imports(self) -> list[Any]:
        """A 100k-row CSV and 10k JSON items, previewed and applied
        (``devtools.bench_imports``), as the bench's superuser."""
        staff = User.objects.filter(is_superuser=True).order_by("date_joined").first()
        if staff is None:
            staff = User.objects.create_superuser("bench-imports@switchboard.local", None)
        self.stdout.write("imports: 100,000 CSV rows, 10,000 JSON items (minutes)")
        return bench_imports.bench_imports(staff)

    def _exports(self, rounds: int) -> list[Result]:
        """The streamed CSV export beside the CSV and JSON export jobs, each run in a
        fresh process (``devtools.export_bench``)."""
        if rounds < 1:
            raise CommandError("--export-rounds must be at least 1.")
        return export_bench.run_cases(rounds, self.stdout.write)

    # What the load run asks for: the lean peer first (the ceiling), then our list.
    LOAD_PATHS = (
        ("lean view: token and throttle, constant body", "/v1/_bench/lean"),
        ("GET /v1/numbers/list?size=10", "/v1/numbers/list?size=10"),
        ("GET /v1/numbers/list?size=100", "/v1/numbers/list?size=100"),
    )

    LOAD_ROUNDS = 3

    def _load(self, token: str, seconds: int) -> list[Result]:
        """gunicorn, 2 workers, on loopback: each of LOAD_PATHS for ``seconds`` after a
        second of warm-up; requests per second, p50/p99 latency and errors."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {
            **os.environ,
            "DEBUG": "false",
            "SWITCHBOARD_DEVTOOLS": "true",  # the lean peer's URL
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "API_RATE_LIMIT": "100000000/min",
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": settings.SECRET_KEY,
            "CREDENTIAL_KEYS": ",".join(settings.CREDENTIAL_KEYS),
        }
        server = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            env=env,
        )
        results = []
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            wrk = shutil.which("wrk")
            runs: dict[str, list[Result]] = {label: [] for label, _path in self.LOAD_PATHS}
            # In turns, LOAD_ROUNDS times: one run each swung by half with the load of
            # this shared machine (the list at 48% of the lean view in one run, 93%
            # in the next); the median run of each is reported.
            for _round in range(self.LOAD_ROUNDS):
                for label, path in self.LOAD_PATHS:
                    if wrk:
                        self._wrk(wrk, port, path, token, 1)  # warm-up
                        result = self._wrk(wrk, port, path, token, seconds)
                    else:
                        result = self._python_client(port, path, token, seconds)
                    runs[label].append({**result, "label": label, "seconds": seconds})
                    self.stdout.write(f"  load {label}: {result['rps']:.0f} requests/s")
            for label, _path in self.LOAD_PATHS:
                ordered = sorted(runs[label], key=lambda run: run["rps"])
                results.append({**ordered[len(ordered) // 2], "rounds": len(ordered)})
        finally:
            server.terminate()
            server.wait(timeout=10)
        return results

    @staticmethod
    def _wrk(wrk: str, port: int, path: str, token: str, seconds: int) -> Result:
        """wrk (Debian's package): a C client that needs little of the 2 cores."""
        out = subprocess.run(  # noqa: S603
            [
                wrk,
                "--threads",
                "1",
                "--connections",
                "8",
                "--duration",
                f"{seconds}s",
                "--timeout",
                "10s",
                "--latency",
                "--header",
                f"Authorization: Bearer {token}",
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return parse_wrk(out, seconds)

    @staticmethod
    def _python_client(port: int, path: str, token: str, seconds: int) -> Result:
        """8 Python threads (when wrk is not installed): they share the cores with
        the server, so the figure understates what the server can do."""
        import http.client

        deadline = time.monotonic() + seconds
        counts = {"ok": 0, "errors": 0}
        lock = threading.Lock()

        def worker() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            while time.monotonic() < deadline:
                try:
                    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
                    response = conn.getresponse()
                    response.read()
                    ok = response.status == 200
                except OSError:
                    ok = False
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                with lock:
                    counts["ok" if ok else "errors"] += 1

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return {
            "client": "8 Python threads (install wrk for a fairer figure)",
            "rps": counts["ok"] / seconds,
            **counts,
            "latency": "",
        }

    @staticmethod
    def _cpu_probe() -> float:
        """Milliseconds for a fixed pure-Python loop: a hint of this shared machine's
        speed, which drifts by a third between runs (the probe does not catch all
        of it: memory and PostgreSQL drift too)."""
        started = time.perf_counter()
        sum(i * i for i in range(2_000_000))
        return (time.perf_counter() - started) * 1000

    def _report(
        self, rows: list[Any], exports: list[Result], load: list[Result], output: str
    ) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg = cursor.fetchone()[0]
        machine = (
            f"{platform.machine()}, {os.cpu_count()} cores, "
            f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
            f"Python {platform.python_version()}, PostgreSQL {pg}, "
            f"{PhoneNumber.objects.count():,} numbers, {Agent.objects.count():,} agents"
        )
        lines = [
            "# Benchmarks",
            "",
            f"Made by `make bench` on {time.strftime('%Y-%m-%d')}: {machine}.",
            f"One process, Django test client in-process (no network), {WARMUP} warm-up "
            "requests, then median (p50) and p95 in ms; queries = SQL statements for one "
            "request. Ratios compare the same run; absolute figures drift by up to a third "
            "between runs on this shared machine (a hint of its speed, a fixed Python loop: "
            f"{self._cpu_probe():.0f} ms).",
            "Peer: the Django admin changelist for inventory rows; for API rows, DRF "
            "ListAPIViews with nested ModelSerializers served like our API (devtools.peers: "
            "same middleware, token and throttle), measured in turns with ours.",
            "",
            "| case | ours p50 | ours p95 | queries | peer p50 | peer p95 | peer queries | "
            "peer / ours |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for label, ours, peer in rows:
            if peer:
                ratio = peer["p50"] / ours["p50"] if ours["p50"] else float("inf")
                lines.append(
                    f"| {label} | {ours['p50']:.1f} | {ours['p95']:.1f} | "
                    f"{ours['queries']} | {peer['p50']:.1f} | {peer['p95']:.1f} | "
                    f"{peer['queries']} | {ratio:.1f}x |"
                )
            else:
                lines.append(
                    f"| {label} | {ours['p50']:.1f} | {ours['p95']:.1f} | "
                    f"{ours['queries']} | | | | |"
                )
        lines += ["", *export_bench.report_lines(exports)]
        lines += [
            "",
            f"Loopback load, gunicorn 2 workers, {load[0]['client']}, {load[0]['seconds']} s "
            f"each after 1 s of warm-up, in turns, the median of {load[0]['rounds']} runs; "
            "the lean view authenticates the token and counts the "
            "request against the rate limit like every API view, then answers a constant body:",
            "",
            "| request | requests/s | of the lean view's | p50 | p99 | ok | errors |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for run in load:
            share = run["rps"] / load[0]["rps"] if load[0]["rps"] else 0
            lines.append(
                f"| {run['label']} | {run['rps']:.0f} | {share:.0%} | {run.get('p50', '')} | "
                f"{run.get('p99', '')} | {run['ok']:,} | {run['errors']} |"
            )
        lines.append("")
        text = "\n".join(lines)
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        previous = Path(output).read_text(encoding="utf-8") if Path(output).exists() else ""
        text = keep_why_section(text, previous)
        Path(output).write_text(text, encoding="utf-8")
        self.stdout.write(text)
