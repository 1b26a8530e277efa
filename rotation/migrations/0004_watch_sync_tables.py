"""Watch the PagerDuty sync tables with the change stamp, so the dashboard's sync panel is
remembered while no run has happened (portal/stamp.py)."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from portal.triggers import unwatch, watch

TABLES = ["rotation_syncrun", "rotation_webcalimport"]


def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    watch(schema_editor, TABLES)


def uninstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    unwatch(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("rotation", "0003_pagerduty_sync"), ("portal", "0003_change_stamp_triggers")]

    operations = [migrations.RunPython(install, uninstall)]
