"""Triggers that change the ChangeStamp on any write to the tables behind "who is on call".

A random new value rather than a counter: a rolled-back transaction restores the old value, and a
later, different write must never land on a value some process already remembers.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

WATCHED = [
    "auth_user",
    "auth_user_groups",
    "auth_user_user_permissions",
    "auth_group_permissions",
    "portal_apitoken",
    "rotation_engineer",
    "rotation_rotation",
    "rotation_membership",
    "rotation_rosterera",
    "rotation_shadowbooking",
    "rotation_override",
    "rotation_shift",
]


def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("portal", "ChangeStamp").objects.get_or_create(id=1)
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        run(
            "CREATE OR REPLACE FUNCTION portal_change_stamp() RETURNS trigger AS $$ BEGIN "
            "UPDATE portal_changestamp SET value = (random() * 9e18)::bigint WHERE id = 1; "
            "RETURN NULL; END; $$ LANGUAGE plpgsql"
        )
        for table in WATCHED:
            run(
                f"CREATE TRIGGER portal_change_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION portal_change_stamp()"
            )
    elif schema_editor.connection.vendor == "sqlite":
        for table in WATCHED:
            for event in ("INSERT", "UPDATE", "DELETE"):
                run(
                    f"CREATE TRIGGER portal_change_stamp_{table}_{event.lower()} AFTER {event} "
                    f"ON {table} BEGIN UPDATE portal_changestamp SET value = random() "
                    f"WHERE id = 1; END"
                )
    else:
        raise NotImplementedError(f"no change-stamp triggers for {schema_editor.connection.vendor}")


def uninstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        for table in WATCHED:
            run(f"DROP TRIGGER IF EXISTS portal_change_stamp ON {table}")
        run("DROP FUNCTION IF EXISTS portal_change_stamp()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                run(f"DROP TRIGGER IF EXISTS portal_change_stamp_{table}_{event}")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_change_stamp"),
        ("rotation", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
