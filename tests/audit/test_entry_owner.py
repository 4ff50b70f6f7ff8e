"""Every audit entry names the account whose object it is (``AuditEntry.owner``), so an
account's recent changes are one index range scan; entries older than the column get
their owner from the migration that added it."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from agents.services import graph_object_save
from audit.models import AuditEntry
from audit.queries import recent_changes
from audit.services import Actor, record
from phone_numbers.services import phone_number_update
from tests.factories import make_number, make_webhook
from users.services import api_token_create

pytestmark = pytest.mark.django_db
ACTOR = Actor("ops@switchboard.test", "admin")


def test_an_entry_names_the_owner_of_its_object(owner):
    number = make_number(owner, "+14155550123")
    phone_number_update(number=number, changes={"label": "Desk"}, actor=ACTOR)
    webhook = make_webhook(owner)
    webhook.label = "Renamed"
    graph_object_save(obj=webhook, actor=ACTOR, expected_version=webhook.version)
    api_token_create(user=owner, name="CRM")
    record(actor=ACTOR, obj=owner, changes={"name": ["", "Acme"]})
    entries = AuditEntry.objects.exclude(object_type="auth.group")
    assert {e.object_type for e in entries} >= {
        "numbers.phonenumber",
        "agents.webhook",
        "users.apitoken",
        "users.user",
    }
    assert {e.owner for e in entries} == {owner.pk}


def test_what_no_account_owns_has_no_owner():
    entry = record(
        actor=ACTOR, obj=Group.objects.create(name="Ops"), changes={"name": [None, "Ops"]}
    )
    assert entry.owner is None


def test_an_accounts_recent_changes_are_its_own_newest_first(owner, other_tenant):
    mine = make_number(owner, "+14155550123")
    theirs = make_number(other_tenant, "+14155550124")
    for i in range(3):
        mine = phone_number_update(number=mine, changes={"label": f"M{i}"}, actor=ACTOR)
        theirs = phone_number_update(number=theirs, changes={"label": f"T{i}"}, actor=ACTOR)
    entries = recent_changes(owner=owner.pk, limit=2)
    assert [e.changes["label"][1] for e in entries] == ["M2", "M1"]


def test_the_migration_gives_older_entries_the_owner_of_their_object(owner, other_tenant):
    number = make_number(owner, "+14155550123")
    gone = make_number(other_tenant, "+14155550124")
    token, _ = api_token_create(user=owner, name="CRM")
    older = [
        AuditEntry.objects.create(
            actor_label="x", source="admin", object_type=t, object_id=str(i), owner=None
        )
        for t, i in (
            ("numbers.phonenumber", number.pk),
            ("users.apitoken", token.pk),
            ("users.user", other_tenant.pk),
        )
    ]
    deleted = AuditEntry.objects.create(
        actor_label="x",
        source="admin",
        action="delete",
        object_type="numbers.phonenumber",
        object_id=str(gone.pk),
        changes={"user": [other_tenant.email, None]},
        owner=None,
    )
    gone.delete()
    migration = importlib.import_module("phone_numbers.migrations.0013_findings_owner_index")
    # The migration's own view of the models (plain managers: entries are immutable
    # to the application, not to a migration).
    state = MigrationExecutor(connection).loader.project_state(
        ("numbers", "0013_findings_owner_index")
    )
    migration.fill(state.apps, None)
    owners = dict(
        AuditEntry.objects.filter(pk__in=[e.pk for e in [*older, deleted]]).values_list(
            "pk", "owner"
        )
    )
    assert [owners[e.pk] for e in older] == [owner.pk, owner.pk, other_tenant.pk]
    assert owners[deleted.pk] == other_tenant.pk
