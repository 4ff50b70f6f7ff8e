"""Recompute the numbers' kept health columns and sort keys, and the graph's dependent counts.

The write paths keep them (phone_numbers.upkeep); this is for rows written
around them (a restore, a bulk load, a hand-run SQL fix) and to check that
nothing drifted: ``--check`` lists what differs and exits 1, writing nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.db import transaction

from core.dbtimeouts import LongRunningCommand
from phone_numbers import upkeep


class Command(LongRunningCommand):
    help = "Recompute health findings and dependent-number counts (or --check them)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="List what differs from a fresh computation and exit 1 if anything does.",
        )

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        if check:
            lines = upkeep.drift()
            for line in lines:
                self.stdout.write(line)
            if lines:
                raise CommandError(f"{len(lines)} kept value(s) differ; run rebuild_health.")
            self.stdout.write("Health columns and counts are exact.")
            return
        with transaction.atomic():
            changed = upkeep.rebuild()
        summary = ", ".join(f"{part}: {count:,}" for part, count in changed.items())
        self.stdout.write(f"Rebuilt ({summary} rows changed).")
