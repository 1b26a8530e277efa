"""Managers assign covers in the admin too: give the existing Managers group the cover-request
permissions (a fresh install gets them from here as well, 0004 predating the model)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def grant(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Permissions are normally made after all migrations run; make them now to assign them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name="Managers")
    permission = apps.get_model("auth", "Permission")
    group.permissions.add(
        *permission.objects.filter(
            content_type__app_label="rotation",
            codename__in=[f"{verb}_coverrequest" for verb in ("add", "change", "delete", "view")],
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0008_notice"),
        ("rotation", "0006_swaps_covers_time_off"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
