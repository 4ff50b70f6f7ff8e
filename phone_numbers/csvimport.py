"""Changing numbers from a spreadsheet: a CSV of number, label, description, inbound
agent, active and outbound only (and, to create numbers, owner and provider).

Each row is read, checked and written through the numbers' one write path
(``phone_number_update``: compare-and-set and its audit entry; ``phone_number_save``
for a new number), in batches whose lookups are one query each. A row either
changes a number, leaves it as it is, creates it, or is refused with its line and
the reason, and the rows after it go on. The caller owns the transaction: a preview
rolls it back, an apply commits it whole (``jobs.imports``).

The columns present are the truth for those fields; columns left out are not
touched. An empty cell empties the field (no label, no description, no inbound
agent); a flag must say yes or no. Our own CSV export reads back unchanged: its
cells escaped against spreadsheet formulas (``'=...``) are unescaped, and its
read-only columns (the agent's language, the connection, the time, the id) are
ignored.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

from django.core.exceptions import ValidationError

from agents.models import Agent
from agents.validators import validate_e164
from audit.services import Actor, VersionConflict
from core.logging import escape_controls
from users.models import User

from .importer import ImportStopped
from .models import PhoneNumber, TelephonyProvider
from .services import phone_number_save, phone_number_update

# Header spellings (lower case, spaces and hyphens as underscores) -> field.
COLUMN_NAMES = {
    "number": "number",
    "phone_number": "number",
    "label": "label",
    "description": "description",
    "inbound_agent": "inbound_agent",
    "inbound_agent_id": "inbound_agent",
    "agent": "inbound_agent",
    "active": "active",
    "outbound_only": "outbound_only",
    "owner": "owner",
    "owner_email": "owner",
    "provider": "provider",
    "telephony_provider": "provider",
}
# Columns of our own export that an import does not write (read-only here).
READ_ONLY_COLUMNS = frozenset({"agent_language", "telephony_connection", "updated_at", "id"})
FLAGS = {
    **dict.fromkeys(("yes", "y", "true", "1"), True),
    **dict.fromkeys(("no", "n", "false", "0"), False),
}
BATCH_ROWS = 500
# Refusals kept with their reasons (a file of a million bad rows is counted, not kept).
REFUSALS_KEPT = 1_000
# What a spreadsheet-safe cell starts with (console.csvexport.csv_safe): undone here.
_ESCAPED = re.compile(r"^'(?=[=+\-@\t\r])")
_NUMBER_NOISE = re.compile(r"[\s().\-]")


class CsvRejected(Exception):
    """The file cannot be read as this import's CSV at all (its header, its encoding)."""


@dataclass(frozen=True)
class Refusal:
    """A row that is not applied: its line in the file, its number as given, why."""

    line: int
    number: str
    reason: str


@dataclass
class CsvOutcome:
    """What an import of rows did (or, in a preview, would do)."""

    rows: int = 0
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    refusals: list[Refusal] = field(default_factory=list)  # the first REFUSALS_KEPT
    refused_lines: list[int] = field(default_factory=list)  # every refused row's line
    fields: Counter[str] = field(default_factory=Counter)


@dataclass
class _Row:
    line: int
    number: str
    cells: dict[str, str]


def _cell(text: str) -> str:
    """A cell as meant: surrounding spaces and a formula escape taken off."""
    return _ESCAPED.sub("", text.strip())


def header_fields(header: list[str]) -> list[str | None]:
    """The field each column writes (None: a read-only column of our export).

    ``CsvRejected`` names an unknown or repeated column, and a file without a
    number column or without anything to write.
    """
    fields: list[str | None] = []
    for position, raw in enumerate(header, 1):
        name = re.sub(r"[\s\-]+", "_", raw.strip().lstrip("\ufeff").lower())
        if name in READ_ONLY_COLUMNS:
            fields.append(None)
            continue
        if name not in COLUMN_NAMES:
            known = ", ".join(sorted({*COLUMN_NAMES, *READ_ONLY_COLUMNS}))
            raise CsvRejected(
                f"Column {position} ({escape_controls(raw[:60])!r}) is not one this import "
                f"knows. Columns: {known}."
            )
        if COLUMN_NAMES[name] in fields:
            raise CsvRejected(f"Column {position} ({raw[:60]!r}) repeats an earlier column.")
        fields.append(COLUMN_NAMES[name])
    if "number" not in fields:
        raise CsvRejected("The file has no number column.")
    if not set(fields) - {"number", "owner", "provider", None}:
        raise CsvRejected(
            "The file has nothing to change: add a label, description, inbound_agent, "
            "active or outbound_only column."
        )
    return fields


def read_csv(stream: IO[bytes]) -> tuple[list[str | None], Iterator[tuple[int, list[str]]]]:
    """The header's fields and the rows as ``(line, cells)``, read as a stream.

    UTF-8 (a byte order mark is fine). ``CsvRejected`` for a missing or unknown
    header; a row that cannot be decoded or parsed raises it too, naming its line.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CsvRejected(f"Line 1 cannot be read: {_why(exc)}") from None
    if not header:
        raise CsvRejected("The file is empty: the first line must name the columns.")
    fields = header_fields(header)

    def rows() -> Iterator[tuple[int, list[str]]]:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (UnicodeDecodeError, csv.Error) as exc:
                raise CsvRejected(
                    f"Line {reader.line_num + 1} cannot be read: {_why(exc)}"
                ) from None
            if any(c.strip() for c in cells):
                yield reader.line_num, cells

    return fields, rows()


def _why(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text."
    return f"{exc}."


def normalized_number(text: str) -> str | None:
    """``+1 (415) 555-0123`` as ``+14155550123``; None when it is not E.164."""
    number = _NUMBER_NOISE.sub("", text)
    try:
        validate_e164(number)
    except ValidationError:
        return None
    return number


def import_csv_rows(
    fields: list[str | None],
    rows: Iterable[tuple[int, list[str]]],
    *,
    actor: Actor,
    skip_lines: frozenset[int] = frozenset(),
    progress: Callable[[int], bool] | None = None,
) -> CsvOutcome:
    """Apply ``rows`` (from ``read_csv``) a batch at a time; the caller's transaction.

    Lines in ``skip_lines`` (refused by the preview, left out on purpose) are not
    read. ``progress(rows done)`` runs after each batch; False stops with
    ``ImportStopped`` (from the JSON importer: one way to stop an import).
    """
    importer = _CsvImporter(fields, actor)
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_ROWS)):
        importer.batch([(line, cells) for line, cells in batch if line not in skip_lines])
        importer.outcome.rows += len(batch)
        if progress is not None and not progress(importer.outcome.rows):
            raise ImportStopped
    return importer.outcome


class _CsvImporter:
    def __init__(self, fields: list[str | None], actor: Actor) -> None:
        self.fields = fields
        self.actor = actor
        self.outcome = CsvOutcome()
        self.seen: dict[str, int] = {}  # number -> its first line
        self.owners: dict[str, User | None] = {}
        self.creates = "owner" in fields and "provider" in fields

    def refuse(self, row: _Row, reason: str) -> None:
        self.outcome.refused_lines.append(row.line)
        if len(self.outcome.refusals) < REFUSALS_KEPT:
            self.outcome.refusals.append(Refusal(row.line, row.number[:40], reason))

    def batch(self, raw: list[tuple[int, list[str]]]) -> None:
        rows = []
        for line, cells in raw:
            row = _Row(line, "", {})
            if len(cells) != len(self.fields):
                row.number = cells[self.fields.index("number")] if len(cells) > 0 else ""
                self.refuse(row, f"it has {len(cells)} cells; the header has {len(self.fields)}.")
                continue
            row.cells = {f: _cell(c) for f, c in zip(self.fields, cells, strict=True) if f}
            row.number = row.cells["number"]
            rows.append(row)
        numbers = {n for r in rows if (n := normalized_number(r.number))}
        existing = {
            n.number: n
            for n in PhoneNumber.objects.select_related(
                "inbound_agent", "user", "telephony_account_connection"
            ).filter(number__in=numbers)
        }
        agents = self._agents(rows, existing)
        for row in rows:
            try:
                self.row(row, existing, agents)
            except _Refused as refused:
                self.refuse(row, str(refused))

    def _agents(self, rows: list[_Row], existing: dict[str, PhoneNumber]) -> _Agents:
        """Every agent the batch names, by id and by (owner, name): two queries."""
        if "inbound_agent" not in self.fields:
            return _Agents({}, {})
        ids, names = set(), set()
        for row in rows:
            ref = row.cells.get("inbound_agent", "")
            if not ref:
                continue
            try:
                ids.add(uuid.UUID(ref))
            except ValueError:
                names.add(ref)
        by_id = {a.pk: a for a in Agent.objects.filter(pk__in=ids)} if ids else {}
        owner_ids = {n.user_id for n in existing.values()}
        if self.creates:
            owner_ids |= {u.pk for r in rows if (u := self._owner(r.cells.get("owner", "")))}
        by_name: dict[tuple[Any, str], list[Agent]] = {}
        if names and owner_ids:
            for agent in Agent.objects.filter(user_id__in=owner_ids, name__in=names):
                by_name.setdefault((agent.user_id, agent.name), []).append(agent)
        return _Agents(by_id, by_name)

    def _owner(self, email: str) -> User | None:
        if email not in self.owners:
            self.owners[email] = User.objects.filter(email__iexact=email).first() if email else None
        return self.owners[email]

    def row(self, row: _Row, existing: dict[str, PhoneNumber], agents: _Agents) -> None:
        number = normalized_number(row.number)
        if number is None:
            raise _Refused("not a number in E.164 form (like +14155550123).")
        if number in self.seen:
            raise _Refused(f"the number is on line {self.seen[number]} already.")
        self.seen[number] = row.line
        current = existing.get(number)
        if current is None:
            if not self.creates:
                raise _Refused("no such number; to create numbers, add owner and provider columns.")
            self.create(row, number, agents)
            return
        if "owner" in row.cells and row.cells["owner"].lower() != current.user.email.lower():
            raise _Refused(
                "the number belongs to another customer than the owner given; "
                "an import does not move numbers between customers."
            )
        changes = self.values(row, current.user_id, agents)
        changed = {k: v for k, v in changes.items() if getattr(current, k) != v}
        if not changed:
            self.outcome.unchanged += 1
            return
        try:
            phone_number_update(number=current, changes=changed, actor=self.actor)
        except ValidationError as exc:
            raise _Refused(_messages(exc)) from None
        except VersionConflict:
            raise _Refused("the number changed while the import ran; try again.") from None
        self.outcome.changed += 1
        self.outcome.fields.update(changed.keys())

    def values(self, row: _Row, owner_id: Any, agents: _Agents) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in ("label", "description"):
            if name in row.cells:
                values[name] = row.cells[name]
        for name in ("active", "outbound_only"):
            if name in row.cells:
                flag = FLAGS.get(row.cells[name].lower())
                if flag is None:
                    raise _Refused(
                        f"{name.replace('_', ' ')} must be yes or no, not {row.cells[name][:20]!r}."
                    )
                values[name] = flag
        if "inbound_agent" in row.cells:
            values["inbound_agent"] = agents.resolve(row.cells["inbound_agent"], owner_id)
        return values

    def create(self, row: _Row, number: str, agents: _Agents) -> None:
        owner = self._owner(row.cells.get("owner", ""))
        if owner is None:
            raise _Refused(f"no customer has the email {row.cells.get('owner', '')[:80]!r}.")
        provider = row.cells.get("provider", "").lower()
        if provider not in TelephonyProvider.values:
            raise _Refused(
                f"provider must be one of {', '.join(TelephonyProvider.values)}, "
                f"not {row.cells.get('provider', '')[:20]!r}."
            )
        values = self.values(row, owner.pk, agents)
        phone = PhoneNumber(
            id=uuid.uuid4(), user=owner, number=number, telephony_provider=provider, **values
        )
        try:
            phone.full_clean()
            phone_number_save(number=phone, actor=self.actor)
        except ValidationError as exc:
            raise _Refused(_messages(exc)) from None
        self.outcome.created += 1


@dataclass
class _Agents:
    by_id: dict[uuid.UUID, Agent]
    by_name: dict[tuple[Any, str], list[Agent]]

    def resolve(self, ref: str, owner_id: Any) -> Agent | None:
        """The agent a cell names for a number of ``owner_id``; empty: none."""
        if not ref:
            return None
        try:
            agent = self.by_id.get(uuid.UUID(ref))
        except ValueError:
            found = self.by_name.get((owner_id, ref), [])
            if len(found) > 1:
                raise _Refused(
                    f"{len(found)} of this customer's agents are named {ref[:80]!r}; "
                    "give the agent's id instead."
                ) from None
            if not found:
                raise _Refused(f"this customer has no agent named {ref[:80]!r}.") from None
            return found[0]
        if agent is None:
            raise _Refused(f"no agent has the id {ref}.")
        if agent.user_id != owner_id:
            raise _Refused("the agent belongs to another customer.")
        return agent


class _Refused(Exception):
    pass


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(
            f"{name.replace('_', ' ')}: {message}"
            for name, errors in exc.error_dict.items()
            for error in errors
            for message in error.messages
        )
    return " ".join(exc.messages)
