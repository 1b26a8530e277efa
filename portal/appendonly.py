"""Append-only records, enforced by the database: the fixed SQL of the triggers that refuse to
change or delete a timeline entry, a runbook revision or an audit entry.

The models already refuse ``save()`` of an existing row and ``delete()``, but ``QuerySet.update()``,
``QuerySet.delete()``, cascades and raw SQL go around them. These triggers do not.

The rules, the same on both engines:

- INSERT is untouched.
- DELETE of a row is refused. Nothing in the portal deletes these records, and deleting an incident
  or a runbook that has any would cascade to them: the database refuses that too (the history is
  the point), so such a delete fails as a whole.
- UPDATE is refused, except one whose only change is to clear the row's user reference: deleting a
  user makes Django set the ``on_delete=SET_NULL`` columns of these rows to NULL, and a user must
  stay deletable. The record keeps everything else it said.
- Emptying the whole database stays possible (``manage.py flush``, which is also how transactional
  tests reset it). PostgreSQL's flush is TRUNCATE, which row-level triggers do not see. SQLite has
  no TRUNCATE and flushes with DELETE FROM, so portal's ``flush`` command (which replaces Django's)
  drops these triggers, flushes and creates them again in one transaction: no other connection
  ever sees the tables unguarded.

The SQL here is fixed, so that the migration that installs it stays valid; a later change to the
triggers belongs in a new migration with its own copy.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.utils import CursorWrapper

# Each append-only table, its columns as they are at portal 0006, and the one user reference that
# deleting a user may clear (SQLite's triggers compare every other column, so a column added to
# one of these tables later needs a migration that creates that table's triggers again).
TABLES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "incidents_timelineentry": ("by_id", ("id", "incident_id", "at", "kind", "text")),
    "runbooks_revision": (
        "author_id",
        ("id", "runbook_id", "number", "title", "body", "at", "message"),
    ),
    "portal_auditentry": ("actor_id", ("id", "at", "action", "subject", "details")),
}

PREFIX = "portal_append_only"

# restrict_violation (SQLSTATE 23001), like a RESTRICT foreign key: Django raises IntegrityError,
# as it does for SQLite's RAISE(ABORT). The UPDATE that is let through is the one whose new row
# equals the old row with the user reference (TG_ARGV[0]) set to NULL, whatever the columns are.
POSTGRESQL_FUNCTION = (
    f"CREATE OR REPLACE FUNCTION {PREFIX}() RETURNS trigger AS $$ BEGIN "
    "IF TG_OP = 'UPDATE' AND to_jsonb(NEW) = "
    "jsonb_set(to_jsonb(OLD), ARRAY[TG_ARGV[0]], 'null'::jsonb) THEN RETURN NEW; END IF; "
    "RAISE EXCEPTION 'append-only: %', TG_TABLE_NAME USING ERRCODE = 'restrict_violation'; "
    "END; $$ LANGUAGE plpgsql"
)


def _postgresql_trigger(table: str, user_column: str) -> str:
    return (
        f"CREATE TRIGGER {PREFIX} BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {PREFIX}('{user_column}')"
    )


def _sqlite_triggers(table: str, user_column: str, others: tuple[str, ...]) -> list[str]:
    raise_ = f"BEGIN SELECT RAISE(ABORT, 'append-only: {table}'); END"
    unchanged = " AND ".join(f"NEW.{column} IS OLD.{column}" for column in others)
    return [
        f"CREATE TRIGGER {PREFIX}_{table}_update BEFORE UPDATE ON {table} "
        f"WHEN NOT (NEW.{user_column} IS NULL AND {unchanged}) {raise_}",
        f"CREATE TRIGGER {PREFIX}_{table}_delete BEFORE DELETE ON {table} {raise_}",
    ]


def install(schema_editor: BaseDatabaseSchemaEditor) -> None:
    run = schema_editor.execute
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # No parameters, so that psycopg leaves the % of RAISE's format alone.
        schema_editor.execute(POSTGRESQL_FUNCTION, None)
    for table, (user_column, others) in TABLES.items():
        if vendor == "postgresql":
            run(_postgresql_trigger(table, user_column))
        elif vendor == "sqlite":
            for statement in _sqlite_triggers(table, user_column, others):
                run(statement)
        else:
            raise NotImplementedError(f"no append-only triggers for {vendor}")


def uninstall(schema_editor: BaseDatabaseSchemaEditor) -> None:
    run = schema_editor.execute
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            run(f"DROP TRIGGER IF EXISTS {PREFIX} ON {table}")
        else:
            for event in ("update", "delete"):
                run(f"DROP TRIGGER IF EXISTS {PREFIX}_{table}_{event}")
    if vendor == "postgresql":
        run(f"DROP FUNCTION IF EXISTS {PREFIX}()")


def lift_for_flush(connection: BaseDatabaseWrapper, cursor: CursorWrapper) -> list[str]:
    """Drop SQLite's append-only triggers and return their SQL, to create them again after a flush.

    The caller holds one transaction around both. The triggers' SQL is read back from the database
    rather than rebuilt from this module, so a flush puts back whatever the migrations installed.
    """
    if connection.vendor != "sqlite":
        return []
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
        [f"{PREFIX}_%"],
    )
    found: list[tuple[str, str]] = list(cursor.fetchall())
    for name, _ in found:
        cursor.execute(f'DROP TRIGGER "{name}"')
    return [sql for _, sql in found]
