"""Post-mortem pages show their sections as rendered on save, and sections have a length: the
existing post-mortems are rendered here once (before, the page rendered them on every view)."""

import django.core.validators
from django.db import migrations, models

# The sections as they are when this runs; the models may change, this migration must not.
SECTIONS = [
    "summary", "impact", "root_causes", "trigger", "resolution", "detection", "went_well",
    "went_wrong", "got_lucky", "timeline",
]  # fmt: skip


def render_sections(apps, schema_editor):
    from runbooks.markdown import render

    Postmortem = apps.get_model("incidents", "Postmortem")
    for postmortem in Postmortem.objects.only("pk", *SECTIONS).iterator():
        postmortem.sections_html = {
            name: str(render(text)) for name in SECTIONS if (text := getattr(postmortem, name))
        }
        postmortem.save(update_fields=["sections_html"])


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0004_incident_list_order'),
    ]

    operations = [
        migrations.AddField(
            model_name='postmortem',
            name='sections_html',
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.AlterField(
            model_name='postmortem',
            name='detection',
            field=models.TextField(blank=True, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='postmortem',
            name='got_lucky',
            field=models.TextField(blank=True, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='postmortem',
            name='impact',
            field=models.TextField(blank=True, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='postmortem',
            name='resolution',
            field=models.TextField(blank=True, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='postmortem',
            name='root_causes',
            field=models.TextField(blank=True, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='postmortem',
            name='summary',
            field=models.TextField(blank=True, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='postmortem',
            name='timeline',
            field=models.TextField(blank=True, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='postmortem',
            name='trigger',
            field=models.TextField(blank=True, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='postmortem',
            name='went_well',
            field=models.TextField(blank=True, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.AlterField(
            model_name='postmortem',
            name='went_wrong',
            field=models.TextField(blank=True, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.RunPython(render_sections, migrations.RunPython.noop),
    ]
