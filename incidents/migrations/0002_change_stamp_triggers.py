"""Watch the tables behind the dashboard's incident panel with the change stamp, so the panel
is remembered while nothing changes (portal/stamp.py)."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from portal.triggers import unwatch, watch

TABLES = ["incidents_incident", "incidents_postmortem", "incidents_actionitem"]


def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    watch(schema_editor, TABLES)


def uninstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    unwatch(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_incidents"), ("portal", "0003_change_stamp_triggers")]

    operations = [migrations.RunPython(install, uninstall)]
