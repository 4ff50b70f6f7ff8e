"""The database refuses a number linked to another customer's agent or connection."""

from django.db import migrations

from agents.tenancy import EnforceSameOwner


class Migration(migrations.Migration):
    dependencies = [("numbers", "0002_initial"), ("agents", "0003_same_owner_links")]

    operations = [
        EnforceSameOwner("numbers_phonenumber", "inbound_agent_id", "agents_agent"),
        EnforceSameOwner(
            "numbers_phonenumber", "telephony_account_connection_id", "agents_accountconnection"
        ),
    ]
