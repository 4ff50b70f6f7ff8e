"""The inventory's columns: which exist, in which order by default, and what each
puts in the table header and in the CSV export.

A user chooses which columns show and in what order (``console.models.ColumnChoice``,
one row per user); a saved view or a link may carry its own (``?cols=number,label``,
parsed by ``console.forms.numbers.NumberFilterForm``), which wins over the user's
choice for that URL. The table header, the rows (``console.number_cells`` has one
cell renderer per key, ``numbers/_rows.jinja`` puts them in this order) and the CSV
all follow the same tuple of keys. The number is always shown: it is the row's link to its detail.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from console.csvexport import FORMULA_START, csv_safe


def _text(value: Any) -> str:
    return csv_safe(value)


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


def _time(value: datetime.datetime) -> str:
    return value.isoformat()


# The same cells computed by PostgreSQL (``console.numbers.csv_lines``: a background
# export's rows written by COPY), one SQL template per Python cell above, ``{0}`` the
# column. Each gives exactly that function's text, and NULL where the text is empty:
# COPY's CSV writes a NULL as nothing and an empty string as "", where Python's csv
# writes both as nothing. They assume what ``csv_lines`` checks, a UTC session.
_FORMULA_CODES = ", ".join(str(ord(c)) for c in FORMULA_START)
CELL_SQL: dict[Callable[[Any], str], str] = {
    # csv_safe: text starting like a formula gets a leading apostrophe (ascii() is
    # the first character's code point, cheaper than comparing LEFT(text, 1)).
    _text: (
        f"NULLIF(CASE WHEN ascii({{0}}) IN ({_FORMULA_CODES}) THEN '''' || {{0}} "
        "ELSE {0} END, '')"
    ),
    # str(): a UUID's text in PostgreSQL is Python's (lower case, with hyphens).
    _plain: "NULLIF({0}::text, '')",
    _yes_no: "CASE WHEN {0} THEN 'yes' ELSE 'no' END",
    # isoformat() of an aware UTC time: microseconds only when they are not 0
    # (".000000+" can be nothing else: the date and time have no dot).
    _time: (
        "replace(to_char({0} AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), '.000000+', '+')"
    ),
}


@dataclass(frozen=True)
class CsvField:
    """One CSV column: its header, the ``values_list`` path it reads, how a cell is
    written (only text can start a formula: flags, times and ids are written as is;
    ``sql``, the same cell computed by PostgreSQL)."""

    header: str
    path: str
    cell: Callable[[Any], str]

    @property
    def sql(self) -> str:
        """The cell as a PostgreSQL expression, ``{0}`` standing for its column."""
        return CELL_SQL[self.cell]


@dataclass(frozen=True)
class Column:
    """One inventory column: ``sort`` is its key in ``NUMBER_SORTS`` ("" when the
    column does not sort); ``csv`` the CSV columns it stands for; ``cell_class`` the
    class of its ``<td>`` (``console.number_cells`` and an edit form's cell share it)."""

    key: str
    label: str
    sort: str
    csv: tuple[CsvField, ...]
    cell_class: str = ""


COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        Column("number", "Number", "number", (CsvField("number", "number", _text),), "num"),
        Column("label", "Label", "label", (CsvField("label", "label", _text),), "wrap label"),
        Column("owner", "Owner", "owner", (CsvField("owner", "user__email", _text),)),
        Column(
            "agent",
            "Inbound agent",
            "agent",
            (
                CsvField("inbound_agent", "inbound_agent__name", _text),
                CsvField("agent_language", "inbound_agent__language", _plain),
            ),
            "wrap",
        ),
        Column(
            "provider",
            "Provider",
            "telephony_provider",
            (CsvField("provider", "telephony_provider", _plain),),
        ),
        Column(
            "connection",
            "Connection",
            "",
            (CsvField("telephony_connection", "telephony_account_connection__label", _text),),
        ),
        Column("active", "Active", "active", (CsvField("active", "active", _yes_no),)),
        Column(
            "outbound_only",
            "Outbound only",
            "outbound_only",
            (CsvField("outbound_only", "outbound_only", _yes_no),),
        ),
        Column("updated", "Updated", "updated_at", (CsvField("updated_at", "updated_at", _time),)),
    )
}
DEFAULT_COLUMNS: tuple[str, ...] = tuple(COLUMNS)
REQUIRED = "number"
# Always at the end of a CSV, whatever the columns: the description has no column
# in the table, and the id is the row's identity for a spreadsheet round trip.
CSV_TAIL = (
    CsvField("description", "description", _text),
    CsvField("id", "id", _plain),
)


def parse_columns(text: str) -> tuple[str, ...] | None:
    """``"number,label"`` as a tuple of known keys, or None when it is not one: an
    unknown or repeated key, or no number (a stored choice is read with ``known``)."""
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    if not keys or len(set(keys)) != len(keys) or REQUIRED not in keys:
        return None
    if any(k not in COLUMNS for k in keys):
        return None
    return keys


def known(keys: Iterable[str]) -> tuple[str, ...]:
    """A stored choice without the keys that no longer exist (a column removed in a
    later release); the default when nothing of it is left."""
    kept = tuple(dict.fromkeys(k for k in keys if k in COLUMNS))
    if not kept:
        return DEFAULT_COLUMNS
    return kept if REQUIRED in kept else (REQUIRED, *kept)


def header_columns(keys: Sequence[str]) -> list[tuple[str, str]]:
    """``(sort key, label)`` pairs for ``console.lists.sort_headers``."""
    return [(COLUMNS[k].sort, COLUMNS[k].label) for k in keys]


def csv_fields(keys: Sequence[str]) -> tuple[CsvField, ...]:
    return (*(f for k in keys for f in COLUMNS[k].csv), *CSV_TAIL)
