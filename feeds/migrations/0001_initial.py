"""The calendar feeds' models, moved from rotation with their tables: state only, no SQL."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        # The last rotation migration that touched these tables; rotation's 0005 then drops
        # them from its own state, after this one, so foreign keys in the state always resolve.
        ('rotation', '0004_watch_sync_tables'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables exist (made by rotation's 0002 and 0003) and keep their names through
        # Meta.db_table: this only tells Django's state where the models now live.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Publication',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('stamp', models.BigIntegerField(null=True)),
                        ('horizon', models.DateTimeField(null=True)),
                        ('changed_at', models.DateTimeField(null=True)),
                    ],
                    options={
                        'db_table': 'rotation_publication',
                    },
                ),
                migrations.CreateModel(
                    name='FeedToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('seed', models.CharField(max_length=64)),
                        ('token_hash', models.CharField(max_length=64, unique=True)),
                        ('created_at', models.DateTimeField()),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='feed_token', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'rotation_feedtoken',
                    },
                ),
                migrations.CreateModel(
                    name='FeedFetch',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('feed', models.CharField(max_length=120)),
                        ('fetched_at', models.DateTimeField()),
                        ('user_agent', models.CharField(blank=True, max_length=200)),
                        ('token', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='fetches', to='feeds.feedtoken')),
                    ],
                    options={
                        'db_table': 'rotation_feedfetch',
                        'constraints': [models.UniqueConstraint(fields=('token', 'feed'), name='one_fetch_record_per_feed')],
                    },
                ),
                migrations.CreateModel(
                    name='PublishedShift',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('uid', models.CharField(max_length=200, unique=True)),
                        ('role', models.CharField(choices=[('primary', 'Primary'), ('secondary', 'Secondary'), ('shadow', 'Shadow')], max_length=10)),
                        ('person_name', models.CharField(max_length=200)),
                        ('starts_at', models.DateTimeField()),
                        ('ends_at', models.DateTimeField()),
                        ('partners', models.JSONField(default=list)),
                        ('fingerprint', models.CharField(max_length=64)),
                        ('sequence', models.PositiveIntegerField(default=0)),
                        ('created_at', models.DateTimeField()),
                        ('modified_at', models.DateTimeField()),
                        ('is_withdrawn', models.BooleanField(default=False)),
                        ('engineer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='published', to='rotation.engineer')),
                        ('rotation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='published', to='rotation.rotation')),
                    ],
                    options={
                        'db_table': 'rotation_publishedshift',
                        'ordering': ['starts_at', 'rotation', 'role'],
                        'indexes': [models.Index(fields=['rotation', 'ends_at'], name='rotation_pu_rotatio_313b9d_idx'), models.Index(fields=['engineer', 'ends_at'], name='rotation_pu_enginee_0f474d_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
