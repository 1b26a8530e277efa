"""Watch the runbook table with the change stamp, so the dashboard's list of pages due for
review is remembered while no page changes (portal/stamp.py)."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from portal.triggers import unwatch, watch

TABLES = ["runbooks_runbook"]


def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    watch(schema_editor, TABLES)


def uninstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    unwatch(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("runbooks", "0002_search_index"), ("portal", "0003_change_stamp_triggers")]

    operations = [migrations.RunPython(install, uninstall)]
