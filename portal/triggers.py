"""SQL for the change-stamp triggers (see portal/migrations/0003): any write to a watched
table gives ``portal_changestamp`` a new random value. Used by the migrations that watch more
tables as apps grow; the SQL is fixed, so old migrations stay valid."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def watch(schema_editor: BaseDatabaseSchemaEditor, tables: Sequence[str]) -> None:
    """Install the triggers on ``tables`` (PostgreSQL's function comes from migration 0003)."""
    run = schema_editor.execute
    vendor = schema_editor.connection.vendor
    for table in tables:
        if vendor == "postgresql":
            run(
                f"CREATE TRIGGER portal_change_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION portal_change_stamp()"
            )
        elif vendor == "sqlite":
            for event in ("INSERT", "UPDATE", "DELETE"):
                run(
                    f"CREATE TRIGGER portal_change_stamp_{table}_{event.lower()} AFTER {event} "
                    f"ON {table} BEGIN UPDATE portal_changestamp SET value = random() "
                    f"WHERE id = 1; END"
                )
        else:
            raise NotImplementedError(f"no change-stamp triggers for {vendor}")


def unwatch(schema_editor: BaseDatabaseSchemaEditor, tables: Sequence[str]) -> None:
    run = schema_editor.execute
    for table in tables:
        if schema_editor.connection.vendor == "postgresql":
            run(f"DROP TRIGGER IF EXISTS portal_change_stamp ON {table}")
        else:
            for event in ("insert", "update", "delete"):
                run(f"DROP TRIGGER IF EXISTS portal_change_stamp_{table}_{event}")


def watching(tables: Sequence[str]) -> migrations.RunPython:
    """The migration operation that adds ``tables`` to the watched ones (and removes them)."""

    def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        watch(schema_editor, tables)

    def uninstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        unwatch(schema_editor, tables)

    return migrations.RunPython(install, uninstall)
