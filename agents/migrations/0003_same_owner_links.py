"""The database refuses links between different customers' agent parts."""

from django.db import migrations

from agents.tenancy import SAME_OWNER_LINKS, EnforceSameOwner


class Migration(migrations.Migration):
    dependencies = [("agents", "0002_initial")]

    operations = [
        EnforceSameOwner(table, column, target)
        for table, column, target in SAME_OWNER_LINKS
        if table.startswith("agents_")
    ]
