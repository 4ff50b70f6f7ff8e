# Written by hand: the secret rule of vault.masking changed (issue 12).

from django.db import migrations


def apply_secret_rule(apps, schema_editor):
    """Seal what the old key-word list left in plaintext and unseal what it sealed wrongly."""
    from vault.fields import seal_existing_rows

    seal_existing_rows(apps.get_model("numbers", "PhoneNumber"), ["example_context"])


class Migration(migrations.Migration):
    dependencies = [
        ("numbers", "0008_health_filter_indexes"),
        ("agents", "0005_secret_rule_and_sealed_urls"),
    ]

    operations = [migrations.RunPython(apply_secret_rule, migrations.RunPython.noop)]
