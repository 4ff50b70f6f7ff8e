"""One audit entry per change on every write path; never a credential; never editable."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from agents.models import AccountConnection
from audit.models import AuditEntry, ImmutableEntry
from tests.factories import make_agent, make_connection, make_number
from users.services import api_token_create
from vault.masking import DOTS

pytestmark = pytest.mark.django_db
SECRET = "sk_live_" + "k" * 24 + "TAIL"
EXAMPLE = "tests/phone_numbers/list-numbers-example.json"


def test_the_api_path_records_the_tokens_prefix(client, owner):
    api_token, token = api_token_create(user=owner)
    number = make_number(owner, "+14155550123")
    client.post(
        "/v1/numbers/update?phone_number=%2B14155550123",
        json.dumps({"label": "X"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_REQUEST_ID="req-42",
    )
    entry = AuditEntry.objects.get(object_type="numbers.phonenumber")
    assert entry.source == "api" and f"sb_{api_token.prefix}" in entry.actor_label
    assert entry.request_id == "req-42" and entry.object_id == str(number.pk)
    assert token not in entry.actor_label


def test_a_stale_if_match_is_a_412(client, owner):
    _, token = api_token_create(user=owner)
    make_number(owner, "+14155550123")
    url = "/v1/numbers/update?phone_number=%2B14155550123"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    ok = client.post(
        url,
        json.dumps({"label": "A"}),
        content_type="application/json",
        HTTP_IF_MATCH='"1"',
        **auth,
    )
    assert ok.status_code == 200
    stale = client.post(
        url,
        json.dumps({"label": "B"}),
        content_type="application/json",
        HTTP_IF_MATCH='"1"',
        **auth,
    )
    assert stale.status_code == 412 and "version 2" in stale.json()["detail"]
    bad = client.post(
        url,
        json.dumps({"label": "B"}),
        content_type="application/json",
        HTTP_IF_MATCH="latest",
        **auth,
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["header", "If-Match"]
    assert AuditEntry.objects.filter(object_type="numbers.phonenumber").count() == 1


def test_the_import_path_audits_each_object_once(tmp_path):
    call_command("import_numbers", EXAMPLE, stdout=io.StringIO())
    entries = AuditEntry.objects.all()
    assert {e.object_type for e in entries} == {
        "numbers.phonenumber",
        "agents.agent",
        "agents.prompt",
        "agents.prompttemplate",
        "agents.action",
        "agents.webhook",
        "agents.accountconnection",
        "users.user",  # the placeholder account of the file's owner
    }
    assert all(e.source == "import" and e.action == "create" for e in entries)
    count = entries.count()
    call_command("import_numbers", EXAMPLE, stdout=io.StringIO())  # no change, no entry
    assert AuditEntry.objects.count() == count
    conn = AuditEntry.objects.get(object_type="agents.accountconnection")
    credentials = conn.changes["credentials"][1]
    assert credentials["twilio_auth_token"] == DOTS and credentials["twilio_account_sid"] == DOTS


def test_admin_edits_are_audited_and_credentials_never_stored(client, superuser, owner):
    conn = make_connection(owner, credentials={"twilio_auth_token": SECRET}, label="Main")
    client.force_login(superuser)
    client.post(
        reverse("admin:agents_accountconnection_change", args=[conn.pk]),
        {
            "user": str(owner.pk),
            "label": "Renamed",
            "description": "",
            "type": conn.type,
            "steering_pool": "[]",
            "new_credentials": json.dumps({"twilio_auth_token": SECRET + "2"}),
            "expected_version": "1",
        },
    )
    entry = AuditEntry.objects.get(source="admin")
    assert entry.changes["label"] == ["Main", "Renamed"]
    assert "credentials" in entry.changes
    dump = json.dumps([e.changes for e in AuditEntry.objects.all()])
    assert SECRET not in dump and SECRET[:-4] not in dump
    assert AccountConnection.objects.get().reveal_credentials()["twilio_auth_token"] == SECRET + "2"


def test_admin_number_edits_bump_the_version_and_are_limited_for_number_admins(
    client, number_admin, owner
):
    number = make_number(owner, "+14155550123", label="Old")
    client.force_login(number_admin)
    url = reverse("admin:numbers_phonenumber_change", args=[number.pk])
    page = client.get(url).content.decode()
    assert 'name="label"' in page and 'name="number"' not in page  # upstream's fields read-only
    client.post(url, {"label": "New", "description": "", "active": "on", "expected_version": "1"})
    number.refresh_from_db()
    assert (number.label, number.version) == ("New", 2)
    assert AuditEntry.objects.get(object_type="numbers.phonenumber").changes["label"] == [
        "Old",
        "New",
    ]


def test_entries_cannot_be_changed_or_deleted(owner):
    number = make_number(owner)
    from audit.services import Actor, record

    entry = record(actor=Actor("x", "dashboard"), obj=number, changes={"label": ["a", "b"]})
    with pytest.raises(ImmutableEntry):
        entry.save()
    with pytest.raises(ImmutableEntry):
        entry.delete()
    with pytest.raises(ImmutableEntry):
        AuditEntry.objects.all().delete()
    with pytest.raises(ImmutableEntry):
        AuditEntry.objects.update(actor_label="y")


def test_the_admin_shows_entries_read_only(client, superuser, owner):
    make_number(owner)
    from audit.services import Actor, record

    entry = record(actor=Actor("x", "dashboard"), obj=owner, changes={"a": [1, 2]})
    client.force_login(superuser)
    assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == 200
    change = client.get(reverse("admin:audit_auditentry_change", args=[entry.pk]))
    assert (
        'type="submit"' not in change.content.decode().split('id="content"')[1]
        or change.status_code == 200
    )
    assert (
        client.post(
            reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_history_on_number_and_agent_pages(client, number_admin, owner):
    agent = make_agent(owner, name="Desk")
    number = make_number(owner, "+14155550123", label="Old")
    client.force_login(number_admin)
    client.post(
        reverse("numbers:save_label", args=[number.pk]),
        {"label": "New", "version": 1, "slot": "row"},
    )
    client.post(
        reverse("numbers:save_agent", args=[number.pk]),
        {"agent": str(agent.pk), "version": 2, "slot": "row"},
    )
    body = client.get(reverse("numbers:detail", args=[number.pk])).content.decode()
    desk = f'<a href="/agents/{agent.pk}/">Desk</a>'  # by the id the entry kept
    assert body.index(desk) < body.index(">Old</span>")  # newest first
    assert "numbers@switchboard.test" in body


def test_the_audit_page_filters_searches_and_exports(client, support, owner):
    from audit.services import Actor, record

    a = make_number(owner, "+14155550001", label="Alpha")
    b = make_number(owner, "+14155550002", label="Beta")
    record(actor=Actor("ann@x", "dashboard"), obj=a, changes={"label": ["", "=HYPERLINK(1)"]})
    record(actor=Actor("bob@x", "api"), obj=b, changes={"inbound_agent": [None, "Desk"]})
    client.force_login(support)
    url = reverse("audit:list")
    assert "ann@x" in client.get(url).content.decode()
    for params, shown, hidden in [
        ({"source": "api"}, "bob@x", "ann@x"),
        ({"actor": "ann"}, "ann@x", "bob@x"),
        ({"field": "inbound_agent"}, "bob@x", "ann@x"),
        ({"object_id": str(a.pk)}, "ann@x", "bob@x"),
        ({"q": "+14155550002"}, "bob@x", "ann@x"),
    ]:
        body = client.get(url, params, HTTP_HX_REQUEST="true").content.decode()
        assert shown in body and hidden not in body, params
    export = client.get(reverse("audit:export"), {"source": "dashboard"})
    text = b"".join(export.streaming_content).decode()
    assert "ann@x" in text and "bob@x" not in text
    assert '\'{""label"": ["""", ""=HYPERLINK(1)""]}' not in text  # JSON cell starts with {
    assert "'=" not in text.split("\n")[0]


def test_the_audit_page_needs_the_view_permission(client, staff_without_permissions):
    client.force_login(staff_without_permissions)
    assert client.get(reverse("audit:list")).status_code == 403


def test_an_unknown_filter_value_is_named_in_a_notice(client, support):
    client.force_login(support)
    response = client.get("/audit/?source=carrier-pigeon")
    assert response.status_code == 200
    assert "Ignored an invalid value for:" in response.content.decode()
