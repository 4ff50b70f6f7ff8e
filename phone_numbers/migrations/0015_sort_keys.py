"""The inventory's sort keys kept on each number, and every sort an index range scan.

``inbound_agent_name`` and ``owner_email`` are copies of the number's agent's name
and owner's email (kept by ``phone_numbers.upkeep``), so sorting a million numbers by
agent or owner reads one index instead of joining every number. The provider,
active and outbound-only sorts go on by number, then id: their indexes now end so.
"""

from django.conf import settings
from django.db import migrations, models


def backfill(apps, schema_editor):
    """Both keys in one UPDATE ... FROM: each of the million rows is rewritten once."""
    quote = schema_editor.connection.ops.quote_name
    numbers = quote(apps.get_model("numbers", "PhoneNumber")._meta.db_table)
    users = quote(apps.get_model(settings.AUTH_USER_MODEL)._meta.db_table)
    agents = quote(apps.get_model("agents", "Agent")._meta.db_table)
    schema_editor.execute(
        f"UPDATE {numbers} AS n SET owner_email = u.email, inbound_agent_name = "
        f"(SELECT a.name FROM {agents} a WHERE a.id = n.inbound_agent_id) "
        f"FROM {users} u WHERE u.id = n.user_id"
    )
    if schema_editor.connection.vendor == "postgresql":
        # Statistics for the new columns, or the planner guesses their spread.
        schema_editor.execute(f"ANALYZE {numbers}")


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0009_dependent_counts"),
        ("numbers", "0014_provider_active_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(model_name="phonenumber", name="number_provider_number"),
        migrations.RemoveIndex(model_name="phonenumber", name="number_active_number"),
        migrations.RemoveIndex(model_name="phonenumber", name="number_outbound_only"),
        migrations.AddField(
            model_name="phonenumber",
            name="inbound_agent_name",
            field=models.CharField(blank=True, editable=False, max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="phonenumber",
            name="owner_email",
            field=models.CharField(blank=True, default="", editable=False, max_length=254),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False),
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(
                fields=["telephony_provider", "number", "id"], name="number_provider_number_id"
            ),
        ),
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(fields=["active", "number", "id"], name="number_active_number_id"),
        ),
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(
                fields=["outbound_only", "number", "id"], name="number_outbound_number_id"
            ),
        ),
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(fields=["inbound_agent_name", "id"], name="number_agent_name_id"),
        ),
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(fields=["owner_email", "id"], name="number_owner_email_id"),
        ),
    ]
