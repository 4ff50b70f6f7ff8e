"""Render every agent's and connection's stored JSON again (``agents.fragments``).

The write paths keep it; reads render a missing one, or one masked under an older
rule, on the spot. This renders them all ahead of time (after a restore, a bulk
load, a hand-run SQL fix, or a change of the masking rule before a busy hour) and
checks them: ``--check`` lists what differs from a fresh rendering and exits 1,
writing nothing. It commits every 500 objects, so it can be stopped and run again.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db.models import F

from agents import fragments
from core.dbtimeouts import LongRunningCommand


class Command(LongRunningCommand):
    help = "Render the stored agent and connection JSON again (or --check it)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="List what differs from a fresh rendering and exit 1 if anything does.",
        )

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        if check:
            lines = fragments.drift()
            for line in lines:
                self.stdout.write(line)
            if lines:
                raise CommandError(
                    f"{len(lines)} stored rendering(s) differ; run rebuild_fragments."
                )
            self.stdout.write("Stored agent and connection JSON is exact.")
            return
        started = time.monotonic()
        counts = fragments.rebuild()
        # What it rendered differently was written around the write paths, which
        # recorded nothing: every account's cached API answers go (api.pagecache).
        get_user_model().objects.update(inventory_version=F("inventory_version") + 1)
        self.stdout.write(
            f"Rendered {counts['agents']:,} agents and {counts['connections']:,} connections "
            f"in {time.monotonic() - started:.1f} s."
        )
