"""``make bench``'s exports: every number written out, three ways, side by side.

- the streamed CSV export (``GET /numbers/export.csv``), the peer: what a person
  downloads while the page waits;
- the background CSV export job (``console.export_tasks.export_numbers_csv``: on
  PostgreSQL the lines come from COPY, ``console.numbers.csv_lines``);
- the background JSON export job (``export_numbers_json``: the API's items).

Each run is a fresh process (``manage.py bench --export-case <case>``), so its peak
RSS (``ru_maxrss``, which only ever grows) is its own: measured after a warm-up run
of the same code over a view that matches nothing, the growth is what exporting the
rows cost in memory. The two CSV cases run in turns, ``rounds`` times each, and the
median run (by rows/s) of each is reported, so that both see the same machine load;
the JSON job, minutes at a million rows, runs once. A job starts as a person starts
it (a POST from the inventory), with the immediate task backend: the task runs in
that request, in that process. Its file goes to a temporary MEDIA_ROOT and is
deleted after each run.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.test import Client, override_settings

from jobs.models import Job, JobKind, JobState
from users.models import User

Result = dict[str, Any]

CASES = {
    "stream": "streamed CSV export, GET /numbers/export.csv (the peer)",
    "csv_job": "CSV export job (console.export_tasks; PostgreSQL's COPY writes the lines)",
    "json_job": 'JSON export job (the API\'s items, {"items": [...]})',
}
PEER = "stream"
IN_TURNS = ("stream", "csv_job")
# The warm-up's view: the same code path, no rows (a search that matches nothing).
NOTHING = "q=zzqx-matches-nothing"
HEADING = "Exports of every number"
IMMEDIATE = "django_tasks.backends.immediate.ImmediateBackend"
# What follows the exports in the report (``bench._report``).
NEXT_SECTION = "Loopback load"


def _staff() -> User:
    return User.objects.filter(is_superuser=True).order_by("pk").first() or (
        User.objects.create_superuser("bench@switchboard.local", None)
    )


def _streamed(staff: User) -> Callable[[str], tuple[int, int]]:
    client = Client()
    client.force_login(staff)

    def run(query: str) -> tuple[int, int]:
        lines = size = 0
        # The peer streams the whole million, past the console's limit for a stream
        # (EXPORT_STREAM_MAX_ROWS): what the job is measured against.
        with override_settings(EXPORT_STREAM_MAX_ROWS=10**9):
            response = client.get(f"/numbers/export.csv?{query}")
        for chunk in response.streaming_content:
            lines += chunk.count(b"\r\n")
            size += len(chunk)
        return lines - 1, size  # less the header

    return run


def _job(kind: JobKind) -> Callable[[User], Callable[[str], tuple[int, int]]]:
    """The export started as a person starts it, a POST from the inventory; the child
    process runs the immediate task backend, so the task runs in that request."""
    form_format = "json" if kind == JobKind.EXPORT_JSON else "csv"

    def runner(staff: User) -> Callable[[str], tuple[int, int]]:
        client = Client()
        client.force_login(staff)

        def run(query: str) -> tuple[int, int]:
            client.post("/numbers/export-job", {"query": query, "format": form_format})
            job = Job.objects.filter(created_by=staff, kind=kind).latest("created_at")
            try:
                if job.state != JobState.SUCCEEDED:
                    raise RuntimeError(f"the {kind} job ended {job.state}: {job.error}")
                size = default_storage.size(job.output.name)
                default_storage.delete(job.output.name)
                return job.result["rows"], size
            finally:
                Job.objects.filter(pk=job.pk).delete()

        return run

    return runner


RUNNERS = {
    "stream": _streamed,
    "csv_job": _job(JobKind.EXPORT_CSV),
    "json_job": _job(JobKind.EXPORT_JSON),
}


def measure_case(case: str) -> Result:
    """One export of every number, in this process: rows, seconds, rows/s, file size
    and the peak RSS growth over a warm-up run (``--export-case``)."""
    if case != PEER and settings.TASKS["default"]["BACKEND"] != IMMEDIATE:
        raise RuntimeError("An export job is measured with TASKS_BACKEND=immediate.")
    run = RUNNERS[case](_staff())
    run(NOTHING)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    rows, size = run("")
    seconds = time.perf_counter() - started
    growth_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    return {
        "case": case,
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds if seconds else 0.0,
        "mb": size / 2**20,
        "peak_growth_mb": growth_kb / 1024,
    }


def run_cases(rounds: int, say: Callable[[str], None]) -> list[Result]:
    """Every case in a process of its own (the CSV pair in turns, ``rounds`` each);
    the median run of each case, in CASES order."""
    runs: dict[str, list[Result]] = {case: [] for case in CASES}
    media = tempfile.mkdtemp(prefix="bench-exports-")
    try:
        order = [c for _ in range(rounds) for c in IN_TURNS] + [
            c for c in CASES if c not in IN_TURNS
        ]
        for case in order:
            result = _child(case, media)
            runs[case].append(result)
            say(
                f"  export {case}: {result['rows']:,} rows in {result['seconds']:.1f} s, "
                f"{result['rows_per_s']:,.0f} rows/s, peak RSS +{result['peak_growth_mb']:.0f} MB"
            )
    finally:
        shutil.rmtree(media, ignore_errors=True)
    medians = []
    for case in CASES:
        ordered = sorted(runs[case], key=lambda r: r["rows_per_s"])
        medians.append({**ordered[len(ordered) // 2], "runs": len(ordered)})
    return medians


def _child(case: str, media: str) -> Result:
    """``manage.py bench --export-case <case>`` in a fresh process, its result."""
    out = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "bench", "--export-case", case],
        cwd=settings.BASE_DIR,
        env={**os.environ, "MEDIA_ROOT": media, "TASKS_BACKEND": "immediate"},
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"export case {case} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report_lines(results: list[Result]) -> list[str]:
    """The exports' part of docs/benchmarks.md: the peer's line as it always was
    (scripts/bench_compare.sh reads it), then the table of the three."""
    peer = next(r for r in results if r["case"] == PEER)
    rounds = max(r["runs"] for r in results)
    lines = [
        f"CSV export of {peer['rows']:,} rows: {peer['seconds']:.1f} s, "
        f"{peer['rows_per_s']:,.0f} rows/s, peak RSS growth {peer['peak_growth_mb']:.0f} MB.",
        "",
        f"{HEADING}: each run in a fresh process (`manage.py bench --export-case`), its "
        "peak RSS growth over a warm-up run of the same code; the streamed export and "
        f"the CSV job in turns, the median of {rounds} runs each; the JSON job once. "
        "Rate = rows/s over the streamed export's, in the same run.",
        "",
        "| export | rows | seconds | rows/s | rate | file MB | peak RSS growth MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rate = r["rows_per_s"] / peer["rows_per_s"] if peer["rows_per_s"] else 0.0
        lines.append(
            f"| {CASES[r['case']]} | {r['rows']:,} | {r['seconds']:.1f} | "
            f"{r['rows_per_s']:,.0f} | {rate:.2f}x | {r['mb']:,.0f} | "
            f"{r['peak_growth_mb']:.0f} |"
        )
    return lines


def replace_in_report(previous: str, lines: list[str]) -> str:
    """``previous`` (docs/benchmarks.md) with its exports part replaced by ``lines``
    (``make bench BENCH_ARGS=--only=exports``): from the streamed export's line to
    the load paragraph; the lines go before the load paragraph when it has none."""
    block = "\n".join(lines) + "\n\n"
    start = previous.find("CSV export of ")
    end = previous.find(NEXT_SECTION, max(start, 0))
    if start == -1 or end == -1:
        if end == -1:
            return f"{previous.rstrip()}\n\n{block}"
        start = end
    return previous[:start] + block + previous[end:]


def write_report(output: str, lines: list[str]) -> str:
    path = Path(output)
    previous = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    text = replace_in_report(previous, lines)
    path.write_text(text, encoding="utf-8")
    return text
