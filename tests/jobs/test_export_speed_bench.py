"""``make bench``'s exports section (devtools.export_bench): what it measures is the
real thing, it cleans up after itself, and run alone it rewrites only its own part
of docs/benchmarks.md. (The figures themselves are ``make bench``'s, not asserted.)
"""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from devtools import export_bench
from jobs.models import Job
from tests.factories import make_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def inventory(owner, superuser):
    for n in range(7):
        make_number(owner, f"+1720555{n:04d}", label=f"Line {n}")


@pytest.mark.parametrize("case", list(export_bench.CASES))
def test_each_case_exports_every_number_and_leaves_nothing_behind(inventory, case):
    files_before = _exports()
    result = export_bench.measure_case(case)
    assert result["case"] == case
    assert result["rows"] == 7
    assert result["seconds"] > 0 and result["rows_per_s"] > 0 and result["mb"] > 0
    assert result["peak_growth_mb"] >= 0
    assert not Job.objects.exists()
    assert _exports() == files_before


def _exports() -> set[str]:
    """The files in storage's exports/ (other tests of the run may have left some)."""
    return (
        set(default_storage.listdir("exports")[1]) if default_storage.exists("exports") else set()
    )


def test_a_job_case_refuses_a_queue_that_would_not_run_it(inventory, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with pytest.raises(RuntimeError, match="TASKS_BACKEND=immediate"):
        export_bench.measure_case("csv_job")


def _result(case: str, rows_per_s: float) -> dict:
    return {
        "case": case,
        "rows": 1_000_000,
        "seconds": 1_000_000 / rows_per_s,
        "rows_per_s": rows_per_s,
        "mb": 190.0,
        "peak_growth_mb": 3.0,
        "runs": 3,
    }


def test_the_report_puts_each_rate_beside_the_streamed_exports():
    lines = export_bench.report_lines(
        [_result("stream", 40_000), _result("csv_job", 120_000), _result("json_job", 8_000)]
    )
    # The streamed export's own line, as scripts/bench_compare.sh reads it.
    assert lines[0] == (
        "CSV export of 1,000,000 rows: 25.0 s, 40,000 rows/s, peak RSS growth 3 MB."
    )
    rows = [line for line in lines if line.startswith("| ") and "x |" in line]
    assert [row.split(" | ")[4] for row in rows] == ["1.00x", "3.00x", "0.20x"]
    # Not 8 cells: bench_compare.sh takes a row of 8 for one of the main table's.
    assert all(len(row.strip().strip("|").split("|")) != 8 for row in rows)


REPORT = """# Benchmarks

| case | ours |
|---|---:|
| first page | 13.3 |

CSV export of 1,000,000 rows: 24.0 s, 41,664 rows/s, peak RSS growth 0 MB.

Loopback load, gunicorn 2 workers ...

| request | requests/s |

## Why these choices

- kept
"""


def test_run_alone_it_replaces_only_its_part_of_the_report():
    text = export_bench.replace_in_report(REPORT, ["CSV export of 5 rows: new.", "", "| t |"])
    assert text == REPORT.replace(
        "CSV export of 1,000,000 rows: 24.0 s, 41,664 rows/s, peak RSS growth 0 MB.\n",
        "CSV export of 5 rows: new.\n\n| t |\n",
    )
    # Run again, it replaces its own block, not a second copy.
    assert export_bench.replace_in_report(text, ["CSV export of 5 rows: new.", "", "| t |"]) == (
        text
    )


def test_without_an_exports_part_it_goes_before_the_load_or_at_the_end():
    without = REPORT.replace(
        "CSV export of 1,000,000 rows: 24.0 s, 41,664 rows/s, peak RSS growth 0 MB.\n\n", ""
    )
    assert export_bench.replace_in_report(without, ["CSV export of x."]) == REPORT.replace(
        "CSV export of 1,000,000 rows: 24.0 s, 41,664 rows/s, peak RSS growth 0 MB.",
        "CSV export of x.",
    )
    assert export_bench.replace_in_report("# Benchmarks\n", ["CSV export of x."]) == (
        "# Benchmarks\n\nCSV export of x.\n\n"
    )
