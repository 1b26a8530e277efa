"""PagerDuty's models, moved from rotation with their tables: state only, no SQL."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        # The last rotation migration that touched these tables (0004 put the change-stamp
        # triggers on two of them); rotation's 0005 then drops them from its own state.
        ('rotation', '0004_watch_sync_tables'),
    ]

    operations = [
        # The tables exist (made by rotation's 0002 and 0003) and keep their names through
        # Meta.db_table: this only tells Django's state where the models now live.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='SyncClaim',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, unique=True)),
                        ('held_until', models.DateTimeField()),
                    ],
                    options={
                        'db_table': 'rotation_syncclaim',
                    },
                ),
                migrations.CreateModel(
                    name='SyncRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('policy', 'Escalation policy'), ('webcal', 'Schedule feed')], max_length=10)),
                        ('started_at', models.DateTimeField(db_index=True)),
                        ('duration_ms', models.PositiveIntegerField(default=0)),
                        ('outcome', models.CharField(choices=[('in_sync', 'In sync'), ('changed', 'Changed'), ('would_change', 'Would change (dry run)'), ('drift', 'Drift found'), ('failed', 'Failed')], max_length=15)),
                        ('dry_run', models.BooleanField(default=False)),
                        ('found', models.JSONField(blank=True, default=dict)),
                        ('changed', models.JSONField(blank=True, default=dict)),
                        ('request_ids', models.JSONField(blank=True, default=list)),
                        ('api_calls', models.PositiveIntegerField(default=0)),
                        ('error', models.TextField(blank=True)),
                        ('rotation', models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='sync_runs', to='rotation.rotation')),
                    ],
                    options={
                        'db_table': 'rotation_syncrun',
                        'ordering': ['-started_at', '-id'],
                        'indexes': [models.Index(fields=['kind', 'rotation', '-started_at'], name='rotation_sy_kind_cdb8ab_idx')],
                    },
                ),
                migrations.CreateModel(
                    name='WebcalImport',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('role', models.CharField(choices=[('primary', 'Primary'), ('secondary', 'Secondary'), ('shadow', 'Shadow')], max_length=10)),
                        ('url', models.CharField(max_length=500)),
                        ('shifts', models.JSONField(blank=True, default=list)),
                        ('drift', models.JSONField(blank=True, default=list)),
                        ('imported_at', models.DateTimeField(blank=True, null=True)),
                        ('attempted_at', models.DateTimeField(blank=True, null=True)),
                        ('error', models.TextField(blank=True)),
                        ('rotation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webcal_imports', to='rotation.rotation')),
                    ],
                    options={
                        'db_table': 'rotation_webcalimport',
                        'ordering': ['rotation', 'role'],
                        'constraints': [models.UniqueConstraint(fields=('rotation', 'role'), name='one_import_per_feed')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
