"""The overview's index of flagged numbers, and the owner of every audit entry written
before ``AuditEntry.owner`` existed.

The backfill lives here, not in ``audit``: it reads the numbers, the agent graph
and the accounts, which the audit app knows nothing of. An entry's owner is its
object's owner (an account owns itself); for an object deleted since, the account
its entry recorded (``changes["user"]``, an email) when that account still exists.
"""

import uuid

from django.conf import settings
from django.db import migrations, models

# The audited kinds of object that belong to an account, by AuditEntry.object_type.
OWNED = {
    "numbers.phonenumber": ("numbers", "PhoneNumber"),
    "agents.agent": ("agents", "Agent"),
    "agents.prompt": ("agents", "Prompt"),
    "agents.prompttemplate": ("agents", "PromptTemplate"),
    "agents.action": ("agents", "Action"),
    "agents.webhook": ("agents", "Webhook"),
    "agents.accountconnection": ("agents", "AccountConnection"),
    "users.apitoken": ("users", "ApiToken"),
}
CHUNK = 1000


def _recorded_email(changes):
    pair = (changes or {}).get("user")
    values = pair if isinstance(pair, list) else [pair]
    return next((v for v in values if isinstance(v, str) and "@" in v), None)


def fill(apps, schema_editor):
    Entry = apps.get_model("audit", "AuditEntry")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    user_type = settings.AUTH_USER_MODEL.lower()
    accounts = Entry.objects.filter(object_type=user_type, owner__isnull=True)
    for object_id in list(accounts.values_list("object_id", flat=True).distinct()):
        try:
            owner = uuid.UUID(object_id)
        except ValueError:
            continue
        accounts.filter(object_id=object_id).update(owner=owner)
    for object_type, (app, name) in OWNED.items():
        model = apps.get_model(app, name)
        unowned = Entry.objects.filter(object_type=object_type, owner__isnull=True)
        ids = list(unowned.values_list("object_id", flat=True).distinct())
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            owners = {
                str(pk): user_id
                for pk, user_id in model.objects.filter(pk__in=chunk).values_list("pk", "user_id")
            }
            by_owner = {}
            for object_id in chunk:
                if object_id in owners:
                    by_owner.setdefault(owners[object_id], []).append(object_id)
            for owner, object_ids in by_owner.items():
                unowned.filter(object_id__in=object_ids).update(owner=owner)
        # Objects deleted since: the account their entries named, if it still exists.
        for pk, changes in unowned.values_list("pk", "changes").iterator(chunk_size=CHUNK):
            email = _recorded_email(changes)
            owner = User.objects.filter(email=email).values_list("pk", flat=True).first()
            if owner is not None:
                Entry.objects.filter(pk=pk).update(owner=owner)


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0009_dependent_counts"),
        ("audit", "0003_owner"),
        ("numbers", "0012_kept_health"),
        ("users", "0004_email_case_insensitive_unique"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(
                condition=models.Q(
                    models.Q(("active", True), ("inbound_agent__isnull", True), ("outbound_only", False)),
                    ("agent_without_webhook", True),
                    ("misconfigured", True),
                    ("number_is_valid", False),
                    _connector="OR",
                ),
                fields=[
                    "user",
                    "telephony_provider",
                    "active",
                    "outbound_only",
                    "inbound_agent",
                    "agent_without_webhook",
                    "misconfigured",
                    "number_is_valid",
                ],
                name="number_findings_owner",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
