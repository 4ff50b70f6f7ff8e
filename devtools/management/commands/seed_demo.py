"""``manage.py seed_demo``: a deterministic demo inventory."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import CommandError, CommandParser

from core.dbtimeouts import LongRunningCommand
from devtools.seeding import seed
from phone_numbers.models import PhoneNumber


class Command(LongRunningCommand):
    help = (
        "Fill an empty inventory with realistic, deterministic demo data: customers, "
        "agents, prompts, actions, webhooks, connections (fake credentials) and numbers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--numbers", type=int, default=300, help="How many numbers.")
        parser.add_argument(
            "--seed", type=int, default=7, help="Random seed (same seed, same data)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        total = options["numbers"]
        if total < 1:
            raise CommandError("--numbers must be at least 1.")
        existing = PhoneNumber.objects.count()
        if existing:
            self.stdout.write(
                f"The inventory already has {existing} numbers; seed_demo only fills an empty "
                "one, so nothing was changed."
            )
            return
        started = time.monotonic()
        show = sys.stderr.isatty()

        def progress(done: int, of: int) -> None:
            if show:
                width = 30
                filled = width * done // of
                sys.stderr.write(
                    f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{of:,} numbers"
                )
                sys.stderr.flush()

        counts = seed(total, seed_value=options["seed"], progress=progress)
        if show:
            sys.stderr.write("\n")
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{v:,} {k}" for k, v in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Seeded {summary} in {elapsed:.1f}s."))
