"""Triggers that change the ChangeStamp on any write to the tables behind "who is on call".

A random new value rather than a counter: a rolled-back transaction restores the old value, and a
later, different write must never land on a value some process already remembers.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from portal.triggers import unwatch, watch

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
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION portal_change_stamp() RETURNS trigger AS $$ BEGIN "
            "UPDATE portal_changestamp SET value = (random() * 9e18)::bigint WHERE id = 1; "
            "RETURN NULL; END; $$ LANGUAGE plpgsql"
        )
    watch(schema_editor, WATCHED)


def uninstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    unwatch(schema_editor, WATCHED)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS portal_change_stamp()")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_change_stamp"),
        ("rotation", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
