"""Sync runs saved as running before they call PagerDuty, and claims held as short leases that
say who holds them.

SQLite adds a NOT NULL column by building the table again, which drops its triggers: the sync
topic's change-stamp triggers are put back after (and, going back, after the columns go).
"""

import django.db.models.deletion
from django.db import migrations, models

from portal.triggers import unwatch_topic, watch_topic

TABLES = ["rotation_syncrun", "rotation_syncclaim"]


def watch_again(apps, schema_editor):
    unwatch_topic(schema_editor, TABLES)
    watch_topic(schema_editor, "sync", TABLES)


class Migration(migrations.Migration):

    dependencies = [
        ('pagerduty', '0001_initial'),
        ('portal', '0005_topic_stamps'),  # the topic triggers and PostgreSQL's function
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, watch_again),
        migrations.AddField(
            model_name='syncclaim',
            name='claimed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='syncclaim',
            name='holder',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='syncclaim',
            name='run',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='pagerduty.syncrun'),
        ),
        migrations.AddField(
            model_name='syncclaim',
            name='token',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name='syncrun',
            name='worker',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name='syncrun',
            name='outcome',
            field=models.CharField(choices=[('running', 'Running'), ('interrupted', 'Interrupted'), ('in_sync', 'In sync'), ('changed', 'Changed'), ('would_change', 'Would change (dry run)'), ('drift', 'Drift found'), ('failed', 'Failed')], max_length=15),
        ),
        migrations.RunPython(watch_again, migrations.RunPython.noop),
    ]
