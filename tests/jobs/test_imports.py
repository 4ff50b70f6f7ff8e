"""Imports with a preview (console.imports, jobs.imports, phone_numbers.csvimport).

The immediate task backend runs each job inside the request that starts it: after
the upload's POST the preview has finished, after Apply the apply has.
"""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEntry
from audit.services import Actor
from jobs.models import Job, JobKind, JobState
from phone_numbers.models import PhoneNumber
from phone_numbers.services import phone_number_update
from tests.factories import make_agent, make_connection, make_number

pytestmark = pytest.mark.django_db


def _upload(client, user, content: bytes | str, name: str = "numbers.csv", **data):
    client.force_login(user)
    body = content.encode() if isinstance(content, str) else content
    response = client.post(
        "/imports/new", {"file": SimpleUploadedFile(name, body), "reason": "TICKET-7", **data}
    )
    return response


def _preview(client, user, content, name="numbers.csv") -> Job:
    response = _upload(client, user, content, name)
    assert response.status_code == 302, response.content.decode()[:2000]
    job = Job.objects.get(kind=JobKind.IMPORT_PREVIEW)
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.state == JobState.SUCCEEDED, job.error
    return job


def _apply(client, job: Job, **data) -> Job:
    response = client.post(f"/imports/{job.pk}/apply", data)
    assert response.status_code == 302
    return Job.objects.filter(kind=JobKind.IMPORT_APPLY).order_by("-created_at").first()


@pytest.fixture
def numbers(owner, other_tenant):
    sales = make_agent(owner, name="Sales")
    make_agent(other_tenant, name="Theirs")
    make_number(owner, "+13035550100", label="Old", active=True, inbound_agent=sales)
    make_number(owner, "+13035550101", label="Keep", active=True)
    make_number(other_tenant, "+13035550200", label="Other", active=True)
    return sales


CSV = (
    "number,label,inbound_agent,active\n"
    "+13035550100,New label,,no\n"
    "+1 (303) 555-0101,Keep,Sales,yes\n"
    "+13035550199,Nobody,,yes\n"
    "not-a-number,x,,yes\n"
    "+13035550200,Other,Sales,yes\n"
)


def test_the_preview_shows_what_would_change_and_writes_nothing(client, number_admin, numbers):
    job = _preview(client, number_admin, CSV)
    r = job.result
    assert (r["rows"], r["changed"], r["unchanged"], r["created"], r["refused"]) == (5, 2, 0, 0, 3)
    first = {c["number"]: c["fields"] for c in r["changes"]}
    assert ["Label", "Old", "New label"] in first["+13035550100"]
    assert ["Active", "yes", "no"] in first["+13035550100"] or any(
        f[0] == "Active" for f in first["+13035550100"]
    )
    reasons = {x["line"]: x["reason"] for x in r["refusals"]}
    assert "no such number" in reasons[4]
    assert "E.164" in reasons[5]
    assert "no agent named 'Sales'" in reasons[6]  # Sales is another customer's agent
    # Nothing written: the label and the audit trail are as before.
    assert PhoneNumber.objects.get(number="+13035550100").label == "Old"
    assert not AuditEntry.objects.filter(request_id=f"job-{job.pk.hex}").exists()
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "New label" in page and "no such number" in page


def test_apply_writes_exactly_the_preview_audited_under_the_job(client, number_admin, numbers):
    preview = _preview(client, number_admin, CSV)
    refused = client.post(f"/imports/{preview.pk}/apply")
    assert refused.status_code == 302  # refused rows: the box must be ticked
    assert not Job.objects.filter(kind=JobKind.IMPORT_APPLY).exists()
    job = _apply(client, preview, skip_refused="on")
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.result["left_out"] == 3
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "2 changed, 0 unchanged, 3 refused rows left out" in page
    number = PhoneNumber.objects.get(number="+13035550100")
    assert (number.label, number.active, number.inbound_agent) == ("New label", False, None)
    assert PhoneNumber.objects.get(number="+13035550101").inbound_agent == numbers
    entries = AuditEntry.objects.filter(request_id=f"job-{job.pk.hex}")
    assert entries.count() == 2
    assert set(entries.values_list("reason", flat=True)) == {"TICKET-7"}
    assert set(entries.values_list("source", flat=True)) == {"import"}
    # Applied once: a second Apply is refused.
    client.post(f"/imports/{preview.pk}/apply", {"skip_refused": "on"})
    assert Job.objects.filter(kind=JobKind.IMPORT_APPLY).count() == 1


def test_a_number_changed_since_the_preview_refuses_the_whole_apply(
    client, number_admin, numbers, support
):
    preview = _preview(client, number_admin, CSV)
    number = PhoneNumber.objects.get(number="+13035550100")
    phone_number_update(
        number=number,
        changes={"label": "Changed meanwhile"},
        actor=Actor(support.email, "dashboard", support),
    )
    job = _apply(client, preview, skip_refused="on")
    assert job.state == JobState.FAILED
    assert "Nothing was written" in job.error
    assert any(support.email in line for line in job.result["conflicts"])
    # Not overwritten, and the other number untouched too (all or nothing).
    assert PhoneNumber.objects.get(number="+13035550100").label == "Changed meanwhile"
    assert PhoneNumber.objects.get(number="+13035550101").inbound_agent is None
    assert not AuditEntry.objects.filter(request_id=f"job-{job.pk.hex}").exists()


def test_our_own_export_reads_back_unchanged(client, number_admin, numbers):
    client.force_login(number_admin)
    response = client.get("/numbers/export.csv")
    exported = b"".join(response.streaming_content)
    preview = _preview(client, number_admin, exported)
    r = preview.result
    assert (r["changed"], r["created"], r["refused"]) == (0, 0, 0)
    assert r["unchanged"] == 3


def test_rows_with_owner_and_provider_create_numbers(client, number_admin, owner, numbers):
    content = "number,owner,provider,label\n+13035550177,owner@acme.example,twilio,Fresh\n"
    preview = _preview(client, number_admin, content)
    assert preview.result["created"] == 1
    job = _apply(client, preview)
    assert job.state == JobState.SUCCEEDED, job.error
    created = PhoneNumber.objects.get(number="+13035550177")
    assert (created.user, created.label) == (owner, "Fresh")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("label\nx\n", "no number column"),
        ("number,colour\n+13035550100,red\n", "is not one this import knows"),
        ("number\n+13035550100\n", "nothing to change"),
        (b"number,label\n\xff\xfe,x\n", "not UTF-8"),
    ],
)
def test_a_file_it_cannot_read_is_refused_whole_with_a_reason(
    client, number_admin, numbers, content, message
):
    preview = _preview(client, number_admin, content)
    assert preview.result["applicable"] is False
    assert message in preview.result["refusals"][0]["reason"]
    response = client.post(f"/imports/{preview.pk}/apply", {"skip_refused": "on"})
    assert response.status_code == 302
    assert not Job.objects.filter(kind=JobKind.IMPORT_APPLY).exists()


def test_json_pages_preview_and_apply_keeping_masked_secrets(client, number_admin, owner, api):
    conn = make_connection(owner, credentials={"twilio_auth_token": "s" * 32})
    make_number(owner, "+13035550300", label="Before", telephony_account_connection=conn)
    page = api.get("/v1/numbers/list").json()  # credentials masked, as exported
    page["items"][0]["label"] = "After"
    preview = _preview(client, number_admin, json.dumps(page), name="page.json")
    assert (preview.result["changed"], preview.result["unchanged"]) == (1, 0)
    job = _apply(client, preview)
    assert job.state == JobState.SUCCEEDED, job.error
    assert PhoneNumber.objects.get(number="+13035550300").label == "After"
    conn.refresh_from_db()
    from vault.fields import reveal

    assert reveal(conn.credentials)["twilio_auth_token"] == "s" * 32


def test_broken_json_is_refused_with_a_reason(client, number_admin, owner):
    preview = _preview(client, number_admin, '{"items": [', name="page.json")
    assert preview.result["applicable"] is False
    assert "not valid JSON" in preview.result["refusals"][0]["reason"]


def test_only_number_admins_may_import(client, support):
    client.force_login(support)
    assert client.get("/imports/new").status_code == 403
    assert _upload(client, support, CSV).status_code == 403
    assert not Job.objects.exists()


def test_a_file_over_the_limit_is_refused_before_it_is_stored(client, number_admin, settings):
    settings.IMPORT_MAX_BYTES = 1000
    response = _upload(client, number_admin, "number,label\n" + "+13035550100,x\n" * 100_000)
    assert response.status_code == 413
    assert "larger than the most an import takes" in response.content.decode()
    assert not Job.objects.exists()


def test_someone_elses_preview_cannot_be_applied(client, number_admin, numbers, superuser):
    preview = _preview(client, number_admin, CSV)
    client.force_login(superuser)
    assert client.post(f"/imports/{preview.pk}/apply", {"skip_refused": "on"}).status_code == 404


def test_the_inventory_offers_import_to_number_admins_only(client, number_admin, support):
    client.force_login(number_admin)
    assert 'href="/imports/new"' in client.get("/numbers/").content.decode()
    client.force_login(support)
    assert 'href="/imports/new"' not in client.get("/numbers/").content.decode()


def test_an_applied_import_leaves_no_uploaded_file_behind(client, number_admin, numbers):
    from django.core.files.storage import default_storage

    preview = _preview(client, number_admin, "number,label\n+13035550100,Filed\n")
    upload, plan = preview.params["upload"], preview.result["plan"]
    assert default_storage.exists(upload) and default_storage.exists(plan)
    job = _apply(client, preview)
    assert job.state == JobState.SUCCEEDED, job.error
    assert not default_storage.exists(upload) and not default_storage.exists(plan)


def test_many_refused_rows_are_counted_and_left_out_all(client, number_admin, numbers, monkeypatch):
    from phone_numbers import csvimport

    monkeypatch.setattr(csvimport, "REFUSALS_KEPT", 2)
    bad = "".join(f"+1303555{n:04d},x\n" for n in range(5000, 5005))
    preview = _preview(client, number_admin, "number,label\n+13035550100,Kept\n" + bad)
    assert preview.result["refused"] == 5
    assert len(preview.result["refusals"]) == 2
    job = _apply(client, preview, skip_refused="on")
    assert job.state == JobState.SUCCEEDED, job.error
    assert PhoneNumber.objects.get(number="+13035550100").label == "Kept"


def test_an_upload_storage_cannot_take_fails_its_job_with_the_reason(
    client, number_admin, numbers, monkeypatch
):
    import errno

    from django.core.files.storage import default_storage

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(default_storage, "save", disk_full)
    response = _upload(client, number_admin, CSV)
    job = Job.objects.get(kind=JobKind.IMPORT_PREVIEW)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.state == JobState.FAILED
    assert job.error == "The file could not be read or written: No space left on device."
    assert "No space left on device" in client.get(f"/jobs/{job.pk}/").content.decode()
