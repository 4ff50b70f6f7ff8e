"""Writing a job's rows to a CSV file in storage, a batch at a time.

The rows come from the caller already safe to open in a spreadsheet (the console's
CSV cells); this module owns only what every job file needs: batches, progress after
each, a stop between batches when the job was cancelled, and the file landing in
Django's default storage (the filesystem, or S3 through django-storages) only once
it is whole. It writes to a local temporary file first because a storage backend
takes a whole file, not a stream of writes; memory stays flat either way.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any
from uuid import UUID

from django.core.files import File
from django.core.files.storage import default_storage

from jobs.services import job_progress

# Rows between progress writes (and cancellation checks): one small UPDATE per
# 2,000 rows costs nothing beside the export itself.
BATCH_ROWS = 2_000


def _batches(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def write_csv(
    *, job_id: UUID | str, header: Sequence[str], rows: Iterable[Sequence[Any]], name: str
) -> tuple[str, int] | None:
    """Write ``header`` and ``rows`` to ``name`` in default storage, reporting progress.

    Returns the stored name (storage may alter it) and the row count, or None when
    the job was cancelled: then nothing is stored.
    """
    done = 0
    with tempfile.TemporaryFile() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(header)
        for batch in _batches(rows, BATCH_ROWS):
            writer.writerows(batch)
            done += len(batch)
            if not job_progress(job_id=job_id, done=done):
                return None
        text.flush()
        text.detach()  # leave ``raw`` open for the storage to read
        raw.seek(0)
        stored = default_storage.save(name, File(raw, name=name))
    return stored, done
