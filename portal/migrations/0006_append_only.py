"""Timeline entries, runbook revisions and audit entries become append-only in the database as
well as in their models (portal/appendonly.py has the rules, the SQL and why)."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from portal import appendonly


def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    appendonly.install(schema_editor)


def uninstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    appendonly.uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0005_topic_stamps"),
        ("incidents", "0004_incident_list_order"),
        ("runbooks", "0003_change_stamp_triggers"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
