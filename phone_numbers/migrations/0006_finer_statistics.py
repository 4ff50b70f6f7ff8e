"""Finer planner statistics for the inventory's filter and search columns (PostgreSQL).

With the default sample (statistics target 100: 30,000 rows of 1M) one ANALYZE
estimated 10,101 numbers containing "206200" and the next estimated 100: the
planner then joined and sorted all 10,135 matches (84 ms) instead of walking
the number index (0.8 ms). Likewise provider + active filters walked the wrong
index (82 ms against 2 ms). Target 1,000 samples 300,000 rows; ANALYZE of 1M
numbers takes ~5 s (autovacuum runs it in the background).
"""

from django.db import migrations

COLUMNS = ("number", "label", "telephony_provider", "active")


def _set(schema_editor, target: int) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    alter = ", ".join(f'ALTER COLUMN "{c}" SET STATISTICS {target}' for c in COLUMNS)
    schema_editor.execute(f'ALTER TABLE "numbers_phonenumber" {alter}')


def forwards(apps, schema_editor):
    _set(schema_editor, 1000)


def backwards(apps, schema_editor):
    _set(schema_editor, -1)  # back to default_statistics_target


class Migration(migrations.Migration):
    dependencies = [("numbers", "0005_trigram_search_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
