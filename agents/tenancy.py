"""Database-level enforcement that linked objects share one owner.

A phone number may only route to its own user's agent, an agent may only use
its own user's prompt, and so on. Model validation checks this for every
write path; these migration operations make the database refuse a
cross-tenant link too, whatever wrote it:

* PostgreSQL: a composite foreign key ``(link_id, user_id) -> target(id, user_id)``
  (MATCH SIMPLE, so a NULL link is allowed), checked at each statement so the
  write that breaks it fails (deferrable, for a loader that needs to).
* SQLite: BEFORE INSERT/UPDATE triggers that abort on a mismatch (SQLite cannot
  add a foreign key to an existing table). SQLite drops a table's triggers
  when a migration rebuilds the table, so ``ensure_sqlite_triggers`` runs
  after every ``migrate`` and recreates any that are missing.
"""

from __future__ import annotations

from django.db import migrations

# (table, link column, target table): every link that must stay within one owner.
SAME_OWNER_LINKS: tuple[tuple[str, str, str], ...] = (
    ("agents_prompt", "prompt_template_id", "agents_prompttemplate"),
    ("agents_agent", "prompt_id", "agents_prompt"),
    ("agents_agent", "webhook_id", "agents_webhook"),
    ("agents_agent", "openai_account_connection_id", "agents_accountconnection"),
    ("numbers_phonenumber", "inbound_agent_id", "agents_agent"),
    ("numbers_phonenumber", "telephony_account_connection_id", "agents_accountconnection"),
)


def drop_sqlite_triggers(using: str = "default", **kwargs: object) -> None:
    """Drop the same-owner triggers before migrating (a pre_migrate handler).

    When a migration rebuilds a table on SQLite (most AlterFields do), SQLite
    re-parses every trigger that names it, including ours on *other* tables,
    and the rename half of the rebuild fails ("no such table"). They are
    recreated by ensure_sqlite_triggers once migrate is done.
    """
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for table, column, target in SAME_OWNER_LINKS:
            for sql in EnforceSameOwner(table, column, target)._backwards_sql("sqlite"):
                cursor.execute(sql)


def ensure_sqlite_triggers(using: str = "default", **kwargs: object) -> None:
    """Recreate missing same-owner triggers on SQLite (a post_migrate handler)."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table, column, target in SAME_OWNER_LINKS:
            if table in existing and target in existing:
                for sql in EnforceSameOwner(table, column, target)._forwards_sql("sqlite"):
                    cursor.execute(sql.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1))


class EnforceSameOwner(migrations.operations.base.Operation):
    """Make ``table.column`` only point at rows of ``target`` with the same user_id."""

    reduces_to_sql = True
    reversible = True

    def __init__(self, table: str, column: str, target: str) -> None:
        self.table = table
        self.column = column
        self.target = target

    def deconstruct(self):
        return (self.__class__.__name__, [self.table, self.column, self.target], {})

    @property
    def name(self) -> str:
        return f"{self.table}_{self.column}_same_owner"

    def state_forwards(self, app_label, state) -> None:
        pass

    def _forwards_sql(self, vendor: str) -> list[str]:
        name = self.name
        if vendor == "postgresql":
            return [
                f'ALTER TABLE "{self.table}" ADD CONSTRAINT "{name}" '
                f'FOREIGN KEY ("{self.column}", "user_id") '
                f'REFERENCES "{self.target}" ("id", "user_id") '
                "DEFERRABLE INITIALLY IMMEDIATE"
            ]
        if vendor == "sqlite":
            # Identifiers come from migration files, never from input.
            lookup = f'(SELECT "user_id" FROM "{self.target}" WHERE "id" = NEW."{self.column}")'  # noqa: S608
            mismatch = f'NEW."{self.column}" IS NOT NULL AND {lookup} IS NOT NEW."user_id"'

            message = f"{self.table}.{self.column} must belong to the same user"
            return [
                f'CREATE TRIGGER "{name}_{event.lower()}" BEFORE {event} ON "{self.table}" '
                f"FOR EACH ROW WHEN {mismatch} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                for event in ("INSERT", "UPDATE")
            ]
        return []

    def _backwards_sql(self, vendor: str) -> list[str]:
        if vendor == "postgresql":
            return [f'ALTER TABLE "{self.table}" DROP CONSTRAINT IF EXISTS "{self.name}"']
        if vendor == "sqlite":
            return [
                f'DROP TRIGGER IF EXISTS "{self.name}_{event}"' for event in ("insert", "update")
            ]
        return []

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        for sql in self._forwards_sql(schema_editor.connection.vendor):
            schema_editor.execute(sql)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        for sql in self._backwards_sql(schema_editor.connection.vendor):
            schema_editor.execute(sql)

    def describe(self) -> str:
        return f"Enforce {self.table}.{self.column} and {self.target} share user_id"
