"""The database refuses a number linked to another customer's agent or connection."""

from django.db import migrations

from agents.tenancy import SAME_OWNER_LINKS, EnforceSameOwner


class Migration(migrations.Migration):
    dependencies = [("numbers", "0002_initial"), ("agents", "0003_same_owner_links")]

    operations = [
        EnforceSameOwner(table, column, target)
        for table, column, target in SAME_OWNER_LINKS
        if table.startswith("numbers_")
    ]
