"""Published events say whom they cover; the next feed request publishes again to fill it."""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def publish_again(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # A publication whose stamp matches nothing is out of date: the next poll republishes,
    # and covered events gain their new text with a higher SEQUENCE.
    apps.get_model("feeds", "Publication").objects.update(stamp=None)


class Migration(migrations.Migration):
    dependencies = [
        ("feeds", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="publishedshift",
            name="covering_name",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
        migrations.RunPython(publish_again, migrations.RunPython.noop),
    ]
