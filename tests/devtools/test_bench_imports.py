"""devtools.bench_imports: its figures run on a small inventory, and its part of
docs/benchmarks.md is replaced in place, not added again."""

from __future__ import annotations

import pytest

from devtools import bench_imports
from phone_numbers.models import PhoneNumber
from tests.factories import make_number


@pytest.mark.django_db
def test_it_previews_and_applies_both_files_and_leaves_the_labels_as_they_were(owner, superuser):
    for n in range(6):
        make_number(owner, f"+1303555{n:04d}", label=f"Line {n}")
    [csv_run, json_run] = bench_imports.bench_imports(superuser, csv_rows=6, json_items=4)
    assert (csv_run.rows, csv_run.changed) == (6, 6)
    assert (json_run.rows, json_run.changed) == (4, 4)
    labels = sorted(PhoneNumber.objects.values_list("label", flat=True))
    # The CSV marked all six; the JSON file, made after it, unmarked four of them.
    assert labels == [f"Line {n}" for n in range(4)] + ["Line 4 ·", "Line 5 ·"]


def test_its_report_part_is_replaced_in_place(tmp_path):
    figures = [bench_imports.ImportFigures("CSV, 10 rows (label)", 10, 1.0, 2.0, 10)]
    path = tmp_path / "benchmarks.md"
    path.write_text("# Benchmarks\n\nBefore.\n", encoding="utf-8")
    bench_imports.write_report(str(path), bench_imports.report_lines(figures))
    once = path.read_text(encoding="utf-8")
    path.write_text(once + "\nAfter.\n", encoding="utf-8")
    figures[0].apply_seconds = 4.0
    bench_imports.write_report(str(path), bench_imports.report_lines(figures))
    text = path.read_text(encoding="utf-8")
    assert text.count(bench_imports.HEADING) == 1
    assert "4.0 s (2 rows/s)" in text and "2.0 s (5 rows/s)" not in text
    assert text.startswith("# Benchmarks\n\nBefore.\n") and text.rstrip().endswith("After.")
