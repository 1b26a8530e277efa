"""The Managers group exists on every install, with the permissions to edit rosters."""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

EDITABLE = ["engineer", "rotation", "membership", "shadowbooking", "override"]
READABLE = ["rosterera", "shift", "auditentry"]


def create_group(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Permissions are normally made after all migrations run; make them now to assign them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name="Managers")
    codenames = [f"{verb}_{model}" for model in EDITABLE for verb in ("add", "change", "delete", "view")]
    codenames += [f"view_{model}" for model in READABLE]
    permission = apps.get_model("auth", "Permission")
    group.permissions.add(
        *permission.objects.filter(
            content_type__app_label__in=["rotation", "portal"], codename__in=codenames
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_change_stamp_triggers"),
        ("rotation", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
