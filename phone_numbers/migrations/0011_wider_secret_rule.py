# Written by hand: the secret rule grew after a hostile review (issue 12).

from django.db import migrations


def apply_secret_rule(apps, schema_editor):
    from vault.fields import seal_existing_rows

    seal_existing_rows(apps.get_model("numbers", "PhoneNumber"), ["example_context"])


class Migration(migrations.Migration):
    dependencies = [
        ("numbers", "0010_protect_links"),
        ("agents", "0007_wider_secret_rule"),
    ]

    operations = [migrations.RunPython(apply_secret_rule, migrations.RunPython.noop)]
