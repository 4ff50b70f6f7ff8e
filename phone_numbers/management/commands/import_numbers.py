"""``manage.py import_numbers``: load upstream list responses into the inventory."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from phone_numbers.importer import ImportRejected, import_items, items_of
from phone_numbers.upstream import UpstreamError, fetch_all_pages


class Command(BaseCommand):
    help = (
        "Import numbers (with their agents, prompts, actions, webhooks and connections) "
        "from a file of the upstream GET /v1/numbers/list response, or from the live API. "
        "All or nothing: a bad item aborts the import and nothing is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", nargs="?", help="A JSON page ({items: [...]}) or array of pages; - for stdin."
        )
        parser.add_argument("--url", help="The upstream list endpoint to page through.")
        parser.add_argument(
            "--token-env",
            metavar="VAR",
            help="Name of the environment variable holding the upstream bearer token.",
        )
        parser.add_argument("--size", type=int, default=100, help="Page size for --url.")

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["file"]
        url = options["url"]
        if bool(source) == bool(url):
            raise CommandError("Give either FILE (or -) or --url, not both or neither.")
        try:
            items = self._items_from_url(options) if url else self._items_from_file(source)
            result = import_items(items)
        except (ImportRejected, UpstreamError) as exc:
            raise CommandError(f"Nothing was imported. {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"Imported {len(items)} items. {result.summary()}"))

    def _items_from_file(self, source: str) -> list[Any]:
        try:
            if source == "-":
                text = sys.stdin.read()
            else:
                with open(source, encoding="utf-8") as handle:
                    text = handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {source}: {exc.strerror}.") from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"Nothing was imported. {source} is not valid JSON: {exc.msg} "
                f"at line {exc.lineno}, column {exc.colno}."
            ) from None
        return items_of(document)

    def _items_from_url(self, options: dict[str, Any]) -> list[Any]:
        var = options["token_env"]
        if not var:
            raise CommandError("--url needs --token-env VAR (the token is never a CLI argument).")
        token = os.environ.get(var)
        if not token:
            raise CommandError(f"The environment variable {var} is empty or not set.")
        if not 1 <= options["size"] <= 100:
            raise CommandError("--size must be between 1 and 100.")
        items: list[Any] = []
        for page in fetch_all_pages(options["url"], token, size=options["size"]):
            items.extend(page["items"])
            self.stderr.write(f"fetched {len(items)} items", ending="\r")
        self.stderr.write("")
        return items
