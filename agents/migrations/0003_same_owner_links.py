"""The database refuses links between different customers' objects."""

from django.db import migrations

from agents.tenancy import EnforceSameOwner


class Migration(migrations.Migration):
    dependencies = [("agents", "0002_initial")]

    operations = [
        EnforceSameOwner("agents_prompt", "prompt_template_id", "agents_prompttemplate"),
        EnforceSameOwner("agents_agent", "prompt_id", "agents_prompt"),
        EnforceSameOwner("agents_agent", "webhook_id", "agents_webhook"),
        EnforceSameOwner("agents_agent", "openai_account_connection_id", "agents_accountconnection"),
    ]
