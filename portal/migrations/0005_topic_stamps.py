"""One change stamp per topic instead of one for everything (portal/triggers.py).

With one stamp, a login, a sync run or an incident note made every remembered answer and every
calendar feed's ETag new. The global triggers are dropped and each watched table gets a trigger
that changes only its own topic's row. The tables are listed here as they are at this migration,
not imported from ``triggers.WATCHED``: a table watched later gets its own migration, which must
not find its trigger already installed by this one on a fresh database.
"""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from portal.triggers import unwatch, unwatch_topic, watch, watch_topic

# What the global stamp watched: portal 0003, incidents 0002, runbooks 0003, rotation 0004.
GLOBAL = [
    "auth_user",
    "auth_user_groups",
    "auth_user_user_permissions",
    "auth_group_permissions",
    "portal_apitoken",
    "rotation_engineer",
    "rotation_rotation",
    "rotation_membership",
    "rotation_rosterera",
    "rotation_shadowbooking",
    "rotation_override",
    "rotation_shift",
    "incidents_incident",
    "incidents_postmortem",
    "incidents_actionitem",
    "runbooks_runbook",
    "rotation_syncrun",
    "rotation_webcalimport",
]

TOPICS = {
    "schedule": [
        "rotation_rotation",
        "rotation_membership",
        "rotation_rosterera",
        "rotation_shadowbooking",
        "rotation_override",
        "rotation_shift",
        "rotation_engineer",
    ],
    "people": [
        "auth_user",
        "auth_group",
        "auth_user_groups",
        "auth_user_user_permissions",
        "auth_group_permissions",
        "auth_permission",
        "django_content_type",
        "portal_apitoken",
        "rotation_feedtoken",
    ],
    "incidents": [
        "incidents_incident",
        "incidents_timelineentry",
        "incidents_customerupdate",
        "incidents_postmortem",
        "incidents_actionitem",
        "incidents_incident_runbooks",
    ],
    "runbooks": ["runbooks_runbook", "runbooks_revision"],
    "sync": ["rotation_syncrun", "rotation_syncclaim", "rotation_webcalimport"],
}

# A random new value rather than a counter: a rolled-back transaction restores the old value, and
# a later, different write must never land on a value some process already remembers.
TOPIC_FUNCTION = (
    "CREATE OR REPLACE FUNCTION portal_topic_stamp() RETURNS trigger AS $$ BEGIN "
    "UPDATE portal_topicstamp SET value = (random() * 9e18)::bigint WHERE topic = TG_ARGV[0]; "
    "RETURN NULL; END; $$ LANGUAGE plpgsql"
)
GLOBAL_FUNCTION = (
    "CREATE OR REPLACE FUNCTION portal_change_stamp() RETURNS trigger AS $$ BEGIN "
    "UPDATE portal_changestamp SET value = (random() * 9e18)::bigint WHERE id = 1; "
    "RETURN NULL; END; $$ LANGUAGE plpgsql"
)


def per_topic(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    postgresql = schema_editor.connection.vendor == "postgresql"
    unwatch(schema_editor, GLOBAL)
    if postgresql:
        schema_editor.execute("DROP FUNCTION IF EXISTS portal_change_stamp()")
        schema_editor.execute(TOPIC_FUNCTION)
    TopicStamp = apps.get_model("portal", "TopicStamp")
    for topic, tables in TOPICS.items():
        TopicStamp.objects.get_or_create(topic=topic)
        watch_topic(schema_editor, topic, tables)  # type: ignore[arg-type]


def global_again(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    postgresql = schema_editor.connection.vendor == "postgresql"
    for tables in TOPICS.values():
        unwatch_topic(schema_editor, tables)
    if postgresql:
        schema_editor.execute("DROP FUNCTION IF EXISTS portal_topic_stamp()")
        schema_editor.execute(GLOBAL_FUNCTION)
    apps.get_model("portal", "ChangeStamp").objects.get_or_create(id=1)
    watch(schema_editor, GLOBAL)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_managers_group"),
        ("incidents", "0003_incident_runbooks"),
        ("runbooks", "0003_change_stamp_triggers"),
        ("rotation", "0004_watch_sync_tables"),
    ]

    operations = [
        migrations.CreateModel(
            name="TopicStamp",
            fields=[
                ("topic", models.CharField(max_length=20, primary_key=True, serialize=False)),
                ("value", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(per_topic, global_again),
        migrations.DeleteModel(name="ChangeStamp"),
    ]
