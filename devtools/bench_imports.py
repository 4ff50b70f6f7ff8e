"""The imports' figures for ``make bench``: preview and apply of a 100k-row CSV and
of 10k upstream JSON items, on the benchmark's own inventory.

Each file relabels existing numbers (a label gets " ·" appended, or loses it when it
has it), so every run changes every row and the database ends as another run's
start: the inventory does not drift from one bench to the next. The work runs
in-process through the job's own function (``jobs.imports``), as a worker runs it;
the clock covers the job from start to its result, rows/s is rows over that.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Count

from jobs import imports
from jobs.models import Job, JobKind, JobState
from jobs.services import job_create
from phone_numbers.models import PhoneNumber
from phone_numbers.present import numbers_json

MARK = " ·"


@dataclass
class ImportFigures:
    what: str
    rows: int
    preview_seconds: float
    apply_seconds: float
    changed: int

    def line(self) -> str:
        return (
            f"| {self.what} | {self.rows:,} | {self.preview_seconds:.1f} s "
            f"({self.rows / self.preview_seconds:,.0f} rows/s) | {self.apply_seconds:.1f} s "
            f"({self.rows / self.apply_seconds:,.0f} rows/s) | {self.changed:,} |"
        )


def _toggled(label: str) -> str:
    return label[: -len(MARK)] if label.endswith(MARK) else (label + MARK)[:100]


def _csv_file(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["number", "label"])
    for number, label in PhoneNumber.objects.order_by("number").values_list("number", "label")[
        :rows
    ]:
        writer.writerow([number, _toggled(label)])
    return out.getvalue().encode()


def _json_file(items: int) -> bytes:
    owner = PhoneNumber.objects.values("user_id").annotate(n=Count("id")).order_by("-n").first()
    queryset = PhoneNumber.objects.filter(user_id=owner["user_id"]).order_by("number")[:items]
    page = {"items": numbers_json(queryset)}
    for item in page["items"]:
        item["label"] = _toggled(item["label"])
    return orjson.dumps(page)


def _timed_job(user: Any, content: bytes, fmt: str) -> tuple[Job, float, Job, float]:
    """A preview and its apply, each run by the job's own function, timed."""
    preview = job_create(
        user=user, kind=JobKind.IMPORT_PREVIEW, params={"format": fmt}, reason="make bench"
    )
    stored = default_storage.save(imports.upload_name(preview, fmt), ContentFile(content))
    Job.objects.filter(pk=preview.pk).update(params={"format": fmt, "upload": stored})
    started = time.perf_counter()
    imports.preview_import.call(job_id=str(preview.pk))
    preview_seconds = time.perf_counter() - started
    preview.refresh_from_db()
    if preview.state != JobState.SUCCEEDED:
        raise RuntimeError(f"bench preview failed: {preview.error}")
    apply = job_create(
        user=user,
        kind=JobKind.IMPORT_APPLY,
        params={"preview": str(preview.pk), "format": fmt, "skip_refused": False},
        reason="make bench",
    )
    started = time.perf_counter()
    imports.apply_import.call(job_id=str(apply.pk))
    apply_seconds = time.perf_counter() - started
    apply.refresh_from_db()
    if apply.state != JobState.SUCCEEDED:
        raise RuntimeError(f"bench apply failed: {apply.error}")
    return preview, preview_seconds, apply, apply_seconds


def bench_imports(
    user: Any, *, csv_rows: int = 100_000, json_items: int = 10_000
) -> list[ImportFigures]:
    figures = []
    for what, fmt, make in (
        (f"CSV, {csv_rows:,} rows (label)", "csv", lambda: _csv_file(csv_rows)),
        (f"JSON, {json_items:,} items (label)", "json", lambda: _json_file(json_items)),
    ):
        # Each file is made from the inventory as the previous apply left it.
        preview, preview_seconds, apply, apply_seconds = _timed_job(user, make(), fmt)
        figures.append(
            ImportFigures(
                what=what,
                rows=preview.result["rows"],
                preview_seconds=preview_seconds,
                apply_seconds=apply_seconds,
                changed=apply.result["changed"],
            )
        )
    return figures


HEADING = "Imports with a preview"


def report_lines(figures: list[ImportFigures]) -> list[str]:
    """The imports' part of docs/benchmarks.md."""
    return [
        f"{HEADING} (`devtools.bench_imports`): each file relabels existing numbers; the "
        "preview runs the import in one transaction and rolls it back, the apply runs it "
        "again and commits; each through the job's own function in this process, timed "
        "from start to result. No peer: the figures are the job's own.",
        "",
        "| file | rows | preview | apply | numbers changed |",
        "|---|---:|---:|---:|---:|",
        *(f.line() for f in figures),
    ]


def write_report(output: str, lines: list[str]) -> None:
    """Replace the imports' part of ``output`` (from its heading to the end of its
    table), or add it at the end."""
    path = Path(output)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = "\n".join(lines) + "\n"
    start = text.find(HEADING + " (")
    if start == -1:
        text = f"{text.rstrip()}\n\n{block}"
    else:
        table = text.find("\n|", start)
        end = text.find("\n\n", table) if table != -1 else -1
        text = text[:start] + block.rstrip("\n") + (text[end:] if end != -1 else "\n")
    path.write_text(text, encoding="utf-8")
