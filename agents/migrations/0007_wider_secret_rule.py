# Written by hand: the secret rule grew after a hostile review (issue 12): more key
# words (pass, pin, session...), connection strings, name/value header pairs and
# credential-shaped user names or path segments in URLs.

from django.db import migrations


def apply_secret_rule(apps, schema_editor):
    from vault.fields import seal_existing_rows, seal_existing_urls

    for model_name, fields in [
        ("Agent", ["voice", "transcriber", "llm_fallback"]),
        ("Action", ["config", "action_trigger"]),
    ]:
        seal_existing_rows(apps.get_model("agents", model_name), fields)
    for model_name, fields in [
        ("Agent", ["context_endpoint"]),
        ("Prompt", ["context_endpoint"]),
        ("Webhook", ["url"]),
    ]:
        seal_existing_urls(apps.get_model("agents", model_name), fields)


class Migration(migrations.Migration):
    dependencies = [("agents", "0006_protect_links")]

    operations = [migrations.RunPython(apply_secret_rule, migrations.RunPython.noop)]
