"""The inventory's JSON export as a background job (console.export_tasks, jobs.output).

The file is the API's read path written out: ``{"items": [...]}`` with each item
byte for byte what ``GET /v1/numbers/list`` answers for that number (masked, the
agents' stored JSON embedded), in the inventory view's order, and it imports back
through ``phone_numbers.importer`` changing nothing. The inventory is the golden
graph of the API tests: every connection type, secrets in every free-form field.

Tests run the immediate task backend (tests/env_defaults.py): the task runs inside
the request that starts it, so its outcome is there when the POST returns.
"""

from __future__ import annotations

import json

import pytest
from django.core.files.storage import default_storage
from django.test import Client

import jobs.output
from agents.models import AccountConnection, Agent
from audit.models import AuditEntry
from core.encoding import encode
from jobs.models import Job, JobKind, JobState
from jobs.services import job_cancel
from phone_numbers import queries
from phone_numbers.importer import import_items, items_of
from phone_numbers.models import PhoneNumber
from phone_numbers.present import numbers_json
from phone_numbers.queries import NumberFilters
from tests.api.golden_graph import OWNER_ID, PLANTED_SECRETS, build_golden_graph
from users.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def graph(db):
    return build_golden_graph()


def _start(client, user, query: str = "", **extra: str) -> Job:
    client.force_login(user)
    response = client.post("/numbers/export-job", {"query": query, "format": "json", **extra})
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.pk}/"
    return job


def _body(job: Job) -> bytes:
    with default_storage.open(job.output.name, "rb") as handle:
        return handle.read()


def test_it_writes_the_views_numbers_as_the_api_renders_them(client, support, graph):
    job = _start(client, support, "sort=-label")
    assert (job.kind, job.state) == (JobKind.EXPORT_JSON, JobState.SUCCEEDED), job.error
    assert job.output.name == f"exports/{job.pk}.json"
    view = queries.inventory(filters=NumberFilters(), sort="label", desc=True)
    # The whole view rendered in one go by the API's read path, byte for byte.
    assert _body(job) == b'{"items":' + encode(numbers_json(view)) + b"}"
    assert job.result == {"rows": view.count()} and job.done == job.total == view.count()


def test_its_items_are_the_api_list_answer_byte_for_byte(client, support, graph):
    job = _start(client, support, f"owner={OWNER_ID}&sort=number")
    token = api_token_create(user=graph.owner, name="t")[1]
    api = Client().get("/v1/numbers/list", {"size": 100}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.status_code == 200
    body = _body(job)
    # The API's page is {"items":[...],"page":...}: the export is its items, closed.
    assert api.content.startswith(body[:-1] + b',"page":1,')
    assert len(json.loads(body)["items"]) == json.loads(api.content)["total"] > 10


def test_the_batches_join_into_one_list(client, support, graph, monkeypatch):
    monkeypatch.setattr(jobs.output, "JSON_BATCH_ROWS", 3)
    job = _start(client, support)
    view = queries.inventory(filters=NumberFilters())
    assert _body(job) == b'{"items":' + encode(numbers_json(view)) + b"}"
    assert job.done == job.total == view.count() > 3


def test_the_file_holds_no_credential(client, number_admin, graph):
    body = _body(_start(client, number_admin)).decode()
    assert "•" in body  # masked values are there, as previews
    leaked = [secret for secret in PLANTED_SECRETS if len(secret) >= 6 and secret in body]
    assert leaked == []


def test_it_imports_back_changing_nothing(client, support, graph):
    job = _start(client, support)
    before = _state()
    result = import_items(items_of(json.loads(_body(job))))
    assert (dict(result.created), dict(result.updated)) == ({}, {})
    assert result.unchanged["phonenumber"] == PhoneNumber.objects.count()
    assert result.unchanged["accountconnection"] == AccountConnection.objects.count()
    assert _state() == before


def test_a_connection_without_credentials_imports_back_unchanged(client, support, graph):
    assert AccountConnection.objects.filter(credentials__isnull=True).exists()
    job = _start(client, support)
    result = import_items(items_of(json.loads(_body(job))))
    assert dict(result.updated) == {}


def _state() -> tuple:
    """What an import could change: every number, agent and connection (credentials
    in plaintext), and the audit trail's length."""
    return (
        list(PhoneNumber.objects.order_by("pk").values()),
        list(Agent.objects.order_by("pk").values()),
        {c.pk: c.reveal_credentials() for c in AccountConnection.objects.all()},
        AuditEntry.objects.count(),
    )


def test_it_keeps_the_views_filters_and_search(client, support, graph):
    job = _start(client, support, "q=Echo&sort=number")
    items = json.loads(_body(job))["items"]
    assert items and {item["label"] for item in items} == {"Echo"}
    assert [item["number"] for item in items] == sorted(item["number"] for item in items)


def test_an_empty_view_is_an_empty_list(client, support, graph):
    job = _start(client, support, "q=nothing-matches-this")
    assert _body(job) == b'{"items":[]}'
    assert job.result == {"rows": 0}


def test_it_stops_between_batches_once_cancelled(client, support, graph, monkeypatch):
    monkeypatch.setattr(jobs.output, "JSON_BATCH_ROWS", 2)
    real = jobs.output.job_progress

    def cancel_after_first(*, job_id, done):
        if done == 4:
            job_cancel(job_id=job_id)
        return real(job_id=job_id, done=done)

    monkeypatch.setattr(jobs.output, "job_progress", cancel_after_first)
    job = _start(client, support)
    assert (job.state, job.done, job.output.name) == (JobState.CANCELLED, 2, "")
    assert not default_storage.exists(f"exports/{job.pk}.json")


def test_it_downloads_as_json(client, support, graph):
    job = _start(client, support, "sort=number")
    response = client.get(f"/jobs/{job.pk}/download")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    stamp = job.created_at.strftime("%Y%m%d-%H%M%S")
    assert f'filename="numbers-{stamp}.json"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == _body(job)


def test_csv_stays_the_default_format(client, support, graph):
    client.force_login(support)
    client.post("/numbers/export-job", {"query": ""})
    job = Job.objects.get()
    assert job.kind == JobKind.EXPORT_CSV and job.output.name.endswith(".csv")


def test_an_unknown_format_starts_nothing_and_says_why(client, support):
    client.force_login(support)
    response = client.post("/numbers/export-job", {"query": "q=x", "format": "xml"}, follow=True)
    assert not Job.objects.exists()
    assert "CSV or JSON" in response.content.decode()


def test_the_inventory_offers_both_formats(client, support, graph):
    client.force_login(support)
    page = client.get("/numbers/").content.decode()
    form = page[page.index('class="export-job"') :]
    form = form[: form.index("</form>")]
    assert 'name="format"' in form
    assert 'value="csv" selected' in form and 'value="json"' in form
