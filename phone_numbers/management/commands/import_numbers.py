"""``manage.py import_numbers``: load upstream list responses into the inventory.

Whatever the input, the outcome is either a summary or a list of lines naming
what is wrong (item and field), never a traceback: the file may come from
anyone, and a traceback tells its author nothing about which item to fix.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from audit.models import Source
from audit.reasons import clean_reason
from audit.services import Actor
from core.dbtimeouts import LongRunningCommand
from core.limits import limit, loads_bounded
from core.progress import terminal_progress
from phone_numbers.importer import ImportRejected, import_items, items_of
from phone_numbers.upstream import UpstreamError, fetch_all_pages


class Command(LongRunningCommand):
    help = (
        "Import numbers (with their agents, prompts, actions, webhooks and connections) "
        "from a file of the upstream GET /v1/numbers/list response, or from the live API. "
        "All or nothing: every error is listed (item and field) and nothing is written."
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
        parser.add_argument(
            "--reason",
            default="",
            help="Why the import is made (free text or a ticket reference, one line, at most "
            "500 characters): recorded in every audit entry it writes.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["file"]
        url = options["url"]
        if bool(source) == bool(url):
            raise CommandError("Give either FILE (or -) or --url, not both or neither.")
        try:
            reason = clean_reason(options["reason"])
        except ValidationError as exc:
            raise CommandError(
                f"Nothing was imported. --reason: {' '.join(exc.messages)}"
            ) from None
        actor = Actor.for_command("import_numbers", Source.IMPORT, reason=reason)
        try:
            items = self._items_from_url(options) if url else self._items_from_file(source)
        except (ImportRejected, UpstreamError) as exc:
            raise CommandError(f"Nothing was imported. {exc}") from None
        try:
            with terminal_progress("Importing", total=len(items), stream=self.stderr) as advance:
                result = import_items(items, actor=actor, progress=advance)
        except ImportRejected as exc:
            for line in [*exc.warning_lines(), *exc.lines()]:
                self.stderr.write(line)
            plural = "s" if exc.count != 1 else ""
            raise CommandError(f"Nothing was imported: {exc.count:,} error{plural}.") from None
        except Exception as exc:  # the last guard: a class name, never a traceback or a value
            raise CommandError(
                f"Nothing was imported: the import failed ({type(exc).__name__})."
            ) from None
        for line in result.warning_lines():
            self.stderr.write(line, style_func=self.style.WARNING)
        self.stdout.write(self.style.SUCCESS(f"Imported {len(items)} items. {result.summary()}"))

    def _read(self, source: str) -> bytes:
        """The file's bytes, refused before reading when over ``import_bytes``."""
        cap = limit("import_bytes")
        name = "standard input" if source == "-" else source
        too_big = CommandError(
            f"Nothing was imported. {name} is over the limit of {cap:,} bytes (import_bytes)."
        )
        try:
            if source == "-":
                stream = getattr(sys.stdin, "buffer", None)
                if stream is None:  # a text stream stood in for stdin (tests)
                    data = sys.stdin.read(cap + 1).encode("utf-8", "surrogatepass")
                else:
                    data = stream.read(cap + 1)
            else:
                with open(source, "rb") as handle:
                    if os.fstat(handle.fileno()).st_size > cap:
                        raise too_big
                    # A pipe or a device has no size: the read itself stops at the cap.
                    data = handle.read(cap + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {source}: {exc.strerror}.") from None
        if len(data) > cap:
            raise too_big
        return data

    def _items_from_file(self, source: str) -> list[Any]:
        data = self._read(source)
        name = "standard input" if source == "-" else source
        try:
            text = data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise CommandError(
                f"Nothing was imported. {name} is not UTF-8 text: byte 0x{data[exc.start]:02x} "
                f"at byte offset {exc.start:,} (line {line:,}) is not valid UTF-8."
            ) from None
        try:
            document = loads_bounded(text)
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"Nothing was imported. {name} is not valid JSON: {exc.msg} "
                f"at line {exc.lineno}, column {exc.colno}."
            ) from None
        except ValueError as exc:  # NaN/Infinity, nesting too deep, a 5,000-digit number
            reason = str(exc)
            if "integer string conversion" in reason:  # Python's advice is for programmers
                reason = f"a number has over {sys.get_int_max_str_digits():,} digits"
            raise CommandError(
                f"Nothing was imported. {name} is not valid JSON: {reason}."
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
        try:
            for page in fetch_all_pages(options["url"], token, size=options["size"]):
                items.extend(page["items"])
                self.stderr.write(f"fetched {len(items)} items", ending="\r")
        except (RecursionError, ValueError) as exc:
            # The upstream client parses with json.loads: a page nested thousands
            # deep, or a 5,000-digit number, ends there.
            raise UpstreamError(
                f"The upstream API answered JSON that cannot be read ({type(exc).__name__})."
            ) from None
        self.stderr.write("")
        return items
