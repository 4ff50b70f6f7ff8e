"""``manage.py check_data``: list the stored rows that break a limit of ``core.limits``.

The limits came after the data: rows written before them (or by a raw
``UPDATE``) may be over one, and then fail the next form or API save that
touches them. This finds them ahead of time, one line per problem, and exits
with 1 when there is any, so a deploy script or a cron job can tell.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models

from core.limits import LimitedModel, model_problems
from phone_numbers.importer import one_line, row_name


def limited_models() -> list[type[models.Model]]:
    """Every concrete model whose ``full_clean`` checks the limits, in a stable order."""
    return sorted(
        (
            model
            for model in apps.get_models()
            if issubclass(model, LimitedModel) and not model._meta.proxy
        ),
        key=lambda model: model._meta.label,
    )


def problems_of(model: type[models.Model], chunk_size: int) -> Iterator[tuple[str, list[str]]]:
    """(row, its problems) for every row of ``model`` that breaks a limit.

    Read in chunks: a table of a million rows is never in memory at once. The
    base manager sees every row, whatever a default manager would hide.
    """
    rows = model._base_manager.order_by("pk").iterator(chunk_size=chunk_size)
    for obj in rows:
        problems = [p for field_problems in model_problems(obj).values() for p in field_problems]
        if problems:
            yield row_name(obj), problems


class Command(BaseCommand):
    help = (
        "List stored rows over any input limit (core.limits), one line per problem. "
        "Exits with 1 when it finds any."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk-size", type=int, default=500, help="Rows fetched per database round trip."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        chunk_size = options["chunk_size"]
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        found = rows = 0
        checked_models = limited_models()
        for model in checked_models:
            for row, problems in problems_of(model, chunk_size):
                rows += 1
                for problem in problems:
                    self.stdout.write(one_line(f"{row}: {problem}"))
                    found += 1
        names = ", ".join(model.__name__ for model in checked_models)
        if found:
            raise CommandError(
                f"{found:,} problem{'s' if found != 1 else ''} in {rows:,} "
                f"row{'s' if rows != 1 else ''} ({names} checked)."
            )
        self.stdout.write(self.style.SUCCESS(f"No row is over a limit ({names} checked)."))
