"""The fast CSV export job: PostgreSQL writes the lines (``console.numbers.csv_lines``).

A background CSV export on PostgreSQL has the database compute every cell and quote
it with COPY, over a connection of its own; everywhere else (SQLite, a caller inside
a transaction) the rows are written in Python. Both must give the streamed export's
bytes exactly, whatever the cells hold: formula starts, commas, quotes, line breaks,
non-ASCII, empty and missing values, times with and without microseconds.

These tests commit their data (``transaction=True``): the COPY's own connection sees
only what is committed, so inside the usual test transaction the job takes the
Python path, which the other export tests cover.
"""

from __future__ import annotations

import datetime

import pytest
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.http import QueryDict

import console.export_tasks
import jobs.output
from console.csvexport import csv_chunks
from console.forms.numbers import NumberFilterForm
from console.numbers import csv_lines, csv_rows
from jobs.models import Job, JobState
from jobs.services import job_cancel
from phone_numbers import queries
from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_connection, make_number, make_user

pytestmark = pytest.mark.django_db(transaction=True)

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")

# Text that a CSV writer or a spreadsheet treats specially, one kind per value.
AWKWARD = [
    "=SUM(A1:A9)",
    "+1 call me",
    "-minus",
    "@handle",
    "\tleading tab",
    "\rleading return",
    "comma, inside",
    'quote " inside',
    '"quoted"',
    "line\nbreak",
    "crlf\r\ninside",
    "trailing return\r",
    " leading and trailing space ",
    "\\.",
    "naïve café ☎️ \u2028 \u2029",
    "",
    "plain",
]


@pytest.fixture
def inventory(db):
    owners = [make_user("=owner@acme.example"), make_user("plain@acme.example")]
    secret = {"auth_token": "s" * 32}
    conns = [make_connection(o, label=f"Twilio, {o.pk}", credentials=secret) for o in owners]
    agents = [
        make_agent(owners[0], name='Desk "A", first', language="de"),
        make_agent(owners[1], name="-Night desk\nline two", language="es"),
    ]
    for n, text in enumerate(AWKWARD):
        make_number(
            owners[n % 2],
            f"+1303555{n:04d}",
            label=text,
            description=AWKWARD[-1 - n],
            active=n % 3 == 0,
            outbound_only=n % 4 == 0,
            inbound_agent=agents[n % 2] if n % 5 else None,
            telephony_account_connection=conns[n % 2] if n % 3 else None,
        )
    # One time on the second exactly (isoformat() leaves out the microseconds), one
    # with a few microseconds, one in the far past.
    stamps = {
        "+13035550000": datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.UTC),
        "+13035550001": datetime.datetime(2026, 3, 1, 12, 0, 0, 7, tzinfo=datetime.UTC),
        "+13035550002": datetime.datetime(999, 1, 2, 3, 4, 5, 600000, tzinfo=datetime.UTC),
    }
    for number, stamp in stamps.items():
        PhoneNumber.objects.filter(number=number).update(updated_at=stamp)


def _python_bytes(query: str, columns: tuple[str, ...]) -> bytes:
    """What the streamed export writes for this view: Python cells and csv.writer."""
    form = NumberFilterForm(QueryDict(query))
    sort, desc = form.sort
    queryset = queries.inventory(filters=form.filters(), sort=sort, desc=desc)
    with transaction.atomic():  # forces the Python path, whatever the database
        assert csv_lines(queryset, columns) is None
        return "".join(csv_chunks(csv_rows(queryset, columns))).encode()


def _export(client, user, query: str) -> Job:
    client.force_login(user)
    client.post("/numbers/export-job", {"query": query})
    return Job.objects.latest("created_at")


def _file(job: Job) -> bytes:
    with default_storage.open(job.output.name, "rb") as handle:
        return handle.read()


VIEWS = [
    ("", ("number", "label", "owner", "agent", "provider", "connection", "active",
          "outbound_only", "updated")),
    ("sort=-label", ("number", "label", "owner", "agent", "provider", "connection", "active",
                     "outbound_only", "updated")),
    ("cols=number,updated,agent&sort=agent", ("number", "updated", "agent")),
    ("active=yes&sort=owner", ("number", "label", "owner", "agent", "provider", "connection",
                               "active", "outbound_only", "updated")),
]  # fmt: skip


@on_postgresql
@pytest.mark.parametrize(("query", "columns"), VIEWS)
def test_copy_writes_the_streamed_exports_bytes(
    client, support, inventory, query, columns, monkeypatch
):
    def python_path(**kwargs):
        raise AssertionError("the rows were written in Python, not by COPY")

    monkeypatch.setattr(console.export_tasks, "write_csv", python_path)
    job = _export(client, support, query)
    assert job.state == JobState.SUCCEEDED, job.error
    expected = _python_bytes(query, columns)
    assert _file(job) == expected
    assert job.result == {"rows": job.total} and job.done == job.total > 0


@on_postgresql
def test_copy_is_the_streamed_export_over_http(client, support, inventory):
    client.force_login(support)
    streamed = b"".join(client.get("/numbers/export.csv?sort=label").streaming_content)
    assert _file(_export(client, support, "sort=label")) == streamed


@on_postgresql
def test_copy_never_selects_a_credential(client, support, inventory):
    assert b"s" * 32 not in _file(_export(client, support, ""))


@on_postgresql
def test_a_cancelled_copy_stores_nothing_and_lets_its_connection_go(
    client, support, inventory, monkeypatch
):
    monkeypatch.setattr(jobs.output, "BATCH_ROWS", 2)
    real = jobs.output.job_progress

    def cancel_after_first(*, job_id, done):
        if done == 4:
            job_cancel(job_id=job_id)
        return real(job_id=job_id, done=done)

    monkeypatch.setattr(jobs.output, "job_progress", cancel_after_first)
    job = _export(client, support, "")
    assert (job.state, job.done, job.output.name) == (JobState.CANCELLED, 2, "")
    assert not default_storage.exists(f"exports/{job.pk}.csv")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY (%%' AND pid <> "
            "pg_backend_pid()"
        )
        assert cursor.fetchone()[0] == 0


def test_other_databases_and_transactions_take_the_python_path(inventory):
    queryset = queries.inventory()
    with transaction.atomic():
        assert csv_lines(queryset) is None
    if connection.vendor != "postgresql":
        assert csv_lines(queryset) is None
