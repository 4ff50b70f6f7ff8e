"""Writing a job's rows to a file in storage, a batch at a time: CSV or JSON.

The rows come from the caller already safe for their reader (the console's CSV cells,
escaped for spreadsheets; the API's JSON items, masked); this module owns only what
every job file needs: batches, progress after each, a stop between batches when the
job was cancelled, and the file landing in Django's default storage (the
filesystem, or S3 through django-storages) only once it is whole. It writes to a
local temporary file first because a storage backend takes a whole file, not a
stream of writes; memory holds one batch, whatever the number of rows.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import IO, Any
from uuid import UUID

from django.core.files import File
from django.core.files.storage import default_storage

from jobs.services import job_progress

# Rows per batch: one progress write (a one-row UPDATE, which is also the
# cancellation check) per batch. 2,000 made 500 UPDATEs of a million-row export, a
# tenth of its time once the rows themselves got fast; at 10,000 they cost ~1%,
# a batch of CSV rows holds a few MB, and a person watching sees the bar move
# several times a second (docs/benchmarks.md).
BATCH_ROWS = 10_000
# A JSON item is the number with its agent's whole graph embedded (~3 KB encoded, and
# its dict before that): 2,000 keep a batch in the tens of MB, and the agents' stored
# JSON is read once per batch whatever its size, as many agents as numbers.
JSON_BATCH_ROWS = 2_000


def _batches(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _write_batches(
    job_id: UUID | str,
    rows: Iterable[Any],
    write: Callable[[list[Any]], Any],
    size: int | None = None,
) -> int | None:
    """``write`` each batch of ``rows``, then report progress; the row count, or None
    when the job was cancelled (its progress write touched no running job). A
    generator of rows is closed however this ends, so that what it holds open (a
    server-side cursor, a connection) is let go of at once, not when collected."""
    done = 0
    try:
        for batch in _batches(rows, size or BATCH_ROWS):
            write(batch)
            done += len(batch)
            if not job_progress(job_id=job_id, done=done):
                return None
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    return done


def _store(raw: IO[bytes], name: str) -> str:
    """The whole temporary file into default storage; its stored name (storage may
    alter it)."""
    raw.seek(0)
    return default_storage.save(name, File(raw, name=name))


def write_csv(
    *, job_id: UUID | str, header: Sequence[str], rows: Iterable[Sequence[Any]], name: str
) -> tuple[str, int] | None:
    """Write ``header`` and ``rows`` to ``name`` in default storage, reporting progress.

    Returns the stored name and the row count, or None when the job was cancelled:
    then nothing is stored.
    """
    with tempfile.TemporaryFile() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(header)
        done = _write_batches(job_id, rows, writer.writerows)
        if done is None:
            return None
        text.flush()
        text.detach()  # leave ``raw`` open for the storage to read
        return _store(raw, name), done


def write_csv_lines(
    *, job_id: UUID | str, header: Sequence[str], lines: Iterable[bytes], name: str
) -> tuple[str, int] | None:
    """Like ``write_csv``, for rows already written as CSV: each of ``lines`` one row,
    UTF-8, without its line ending (as PostgreSQL's COPY sends them, less its
    ``\n``); the file ends each with ``\r\n``, as the csv module does."""
    end = b"\r\n"

    with tempfile.TemporaryFile() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        csv.writer(text).writerow(header)
        text.flush()
        text.detach()

        def write(batch: list[bytes]) -> None:
            raw.write(end.join(batch))
            raw.write(end)

        done = _write_batches(job_id, lines, write)
        if done is None:
            return None
        return _store(raw, name), done


def write_json_items(
    *,
    job_id: UUID | str,
    rows: Iterable[Any],
    render: Callable[[list[Any]], bytes],
    name: str,
) -> tuple[str, int] | None:
    """Write ``{"items": [...]}`` to ``name`` in default storage, reporting progress.

    ``render(batch)`` returns one batch of ``rows`` as an encoded JSON array, items
    in order; the arrays are joined into one list without being decoded again, so
    the file is byte for byte what encoding every item in one document would give.
    Returns the stored name and the row count, or None when the job was cancelled.
    """
    with tempfile.TemporaryFile() as raw:
        raw.write(b'{"items":[')
        wrote_items = False

        def write(batch: list[Any]) -> None:
            nonlocal wrote_items
            array = render(batch)
            if not (array.startswith(b"[") and array.endswith(b"]")):
                raise ValueError("render must return a JSON array")
            if array == b"[]":
                return
            if wrote_items:
                raw.write(b",")
            raw.write(memoryview(array)[1:-1])
            wrote_items = True

        done = _write_batches(job_id, rows, write, JSON_BATCH_ROWS)
        if done is None:
            return None
        raw.write(b"]}")
        return _store(raw, name), done
