"""Trigram GIN indexes for the inventory's substring searches (PostgreSQL only).

Each index is on the exact expression the ORM emits: ``number::text`` for
``number__contains`` and ``UPPER(col::text)`` for ``icontains``. SQLite has
no equivalent; searches there stay correct and scan.
"""

from django.db import migrations

INDEXES = [
    ("numbers_phonenumber_number_trgm", "numbers_phonenumber", '("number"::text) gin_trgm_ops'),
    ("numbers_phonenumber_label_trgm", "numbers_phonenumber", '(UPPER("label"::text)) gin_trgm_ops'),
    ("agents_agent_name_trgm", "agents_agent", '(UPPER("name"::text)) gin_trgm_ops'),
    ("agents_agent_label_trgm", "agents_agent", '(UPPER("label"::text)) gin_trgm_ops'),
    ("users_user_email_trgm", "users_user", '(UPPER("email"::text)) gin_trgm_ops'),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expression in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ({expression})'
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("numbers", "0004_seal_secret_json"), ("agents", "0004_seal_secret_json"),
                    ("users", "0002_api_token")]

    operations = [migrations.RunPython(forwards, backwards)]
