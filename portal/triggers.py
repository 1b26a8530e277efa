"""The change-stamp triggers: which tables each topic watches, and the fixed SQL that installs them.

Any write to a watched table gives its topic's row in ``portal_topicstamp`` a new random value
(portal/stamp.py explains why random). The SQL here is fixed, so old migrations stay valid;
``watch`` and ``unwatch`` are the first build's one global stamp, kept for the migrations that
installed it (portal 0005 replaces those triggers with the per-topic ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

type Topic = Literal["schedule", "people", "incidents", "runbooks", "sync"]

# What each topic watches. A remembered answer keys on the topics whose tables it reads, and
# tests/portal/test_freshness.py checks both that every reader keys on the topics of the tables it
# reads and that the database's triggers are exactly these. A table added here needs a migration
# calling ``watching_topic``.
WATCHED: Mapping[Topic, tuple[str, ...]] = {
    # Who is on call, and how they are named and reached.
    "schedule": (
        "rotation_rotation",
        "rotation_membership",
        "rotation_rosterera",
        "rotation_shadowbooking",
        "rotation_override",
        "rotation_swap",
        "rotation_coverrequest",
        "rotation_timeoff",
        "rotation_onboardingstep",
        "rotation_shift",
        "rotation_engineer",
    ),
    # Who may do what. A remembered user carries its permission cache, which reads the groups,
    # permissions and content types as well.
    "people": (
        "auth_user",
        "auth_group",
        "auth_user_groups",
        "auth_user_user_permissions",
        "auth_group_permissions",
        "auth_permission",
        "django_content_type",
        "portal_apitoken",
        "rotation_feedtoken",
    ),
    "incidents": (
        "incidents_incident",
        "incidents_timelineentry",
        "incidents_customerupdate",
        "incidents_postmortem",
        "incidents_actionitem",
        "incidents_incident_runbooks",
        "incidents_headsup",
        # The week's record, read with the incidents by the dashboard and the handoff report.
        "handoff_weeksetup",
        "handoff_holiday",
        "handoff_handoffreport",
        "handoff_release",
        "handoff_releasestep",
        "handoff_triageday",
    ),
    # A review is a field of the runbook row; the search index (runbooks_search) is derived.
    "runbooks": ("runbooks_runbook", "runbooks_revision"),
    "sync": (
        "rotation_syncrun",
        "rotation_syncclaim",
        "rotation_webcalimport",
        "pagerduty_incidentimport",
        "pagerduty_incidentlink",
        "pagerduty_acknowledgetarget",
    ),
}

# Deliberately not watched: a write there must not make every remembered answer over the topics
# computed again, and no remembered answer reads them.
# - django_session: written by every login and by requests that touch the session; read by the
#   session middleware itself, never remembered.
# - rotation_feedfetch: calendar polls note their fetch every few minutes; read directly by the
#   feed lookup, never remembered.
# - portal_auditentry, django_admin_log: append-only logs, read directly by their pages.
# - portal_secretkeyfingerprint: read once when a process starts, never remembered.
# - django_q_*: the task queue, written all the time by the worker.
# - runbooks_search*: the search index, derived from runbooks_runbook in the same transaction.
# - axes_*: django-axes' login attempts and log, written by every login; read by its backend.
# - portal_notice: the email and Slack outbox, written by actions and jobs; never remembered.
# - portal_reminderchoices: read fresh by /me/, the reminder job and tell_if_wanted.
# - slack_app_*: the Slack app's email matches and user groups last pushed, written by its job;
#   read fresh by /sync/ and the Slack endpoints, never remembered.
# - rotation_publication, rotation_publishedshift: see DERIVED.
UNWATCHED = (
    "django_session",
    "rotation_feedfetch",
    "portal_auditentry",
    "portal_secretkeyfingerprint",
    "django_admin_log",
    "django_q_ormq",
    "django_q_schedule",
    "django_q_task",
    "django_migrations",
    "runbooks_search",
    "axes_accessattempt",
    "axes_accessattemptexpiration",
    "axes_accessfailurelog",
    "axes_accesslog",
    "portal_notice",
    "portal_reminderchoices",
    "slack_app_slackuser",
    "slack_app_slackusergroup",
)

# Tables written only by a job that records which stamp of the topic they reflect: the calendar
# publication stores the schedule stamp it read before the schedule (feeds/actions.py),
# and a feed request publishes again when that stamp is not the current one. Watching them
# instead would make every publication change the schedule stamp, and so be stale at once.
DERIVED: Mapping[Topic, tuple[str, ...]] = {
    "schedule": ("rotation_publication", "rotation_publishedshift"),
}


def watch_topic(
    schema_editor: BaseDatabaseSchemaEditor, topic: Topic, tables: Sequence[str]
) -> None:
    """Install ``topic``'s triggers on ``tables``; PostgreSQL's function comes from portal 0005."""
    _install(
        schema_editor,
        tables,
        "portal_topic_stamp",
        f"portal_topic_stamp('{topic}')",
        f"UPDATE portal_topicstamp SET value = random() WHERE topic = '{topic}'",
    )


def unwatch_topic(schema_editor: BaseDatabaseSchemaEditor, tables: Sequence[str]) -> None:
    _uninstall(schema_editor, tables, "portal_topic_stamp")


def watching_topic(topic: Topic, tables: Sequence[str]) -> migrations.RunPython:
    """The migration operation that adds ``tables`` to ``topic``'s watched ones (and removes them)."""

    def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        watch_topic(schema_editor, topic, tables)

    def uninstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        unwatch_topic(schema_editor, tables)

    return migrations.RunPython(install, uninstall)


# The first build's one global stamp, as its migrations installed it -------------------------


def watch(schema_editor: BaseDatabaseSchemaEditor, tables: Sequence[str]) -> None:
    """Install the global triggers on ``tables`` (PostgreSQL's function comes from portal 0003)."""
    _install(
        schema_editor,
        tables,
        "portal_change_stamp",
        "portal_change_stamp()",
        "UPDATE portal_changestamp SET value = random() WHERE id = 1",
    )


def unwatch(schema_editor: BaseDatabaseSchemaEditor, tables: Sequence[str]) -> None:
    _uninstall(schema_editor, tables, "portal_change_stamp")


def _install(
    schema_editor: BaseDatabaseSchemaEditor,
    tables: Sequence[str],
    name: str,
    postgresql_call: str,
    sqlite_update: str,
) -> None:
    """Triggers named ``name`` that run a stamp update after any write to each of ``tables``."""
    run = schema_editor.execute
    vendor = schema_editor.connection.vendor
    for table in tables:
        if vendor == "postgresql":
            # Per statement, not per row: a bulk write changes the stamp once.
            run(
                f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {postgresql_call}"
            )
        elif vendor == "sqlite":
            for event in ("INSERT", "UPDATE", "DELETE"):
                run(
                    f"CREATE TRIGGER {name}_{table}_{event.lower()} AFTER {event} "
                    f"ON {table} BEGIN {sqlite_update}; END"
                )
        else:
            raise NotImplementedError(f"no change-stamp triggers for {vendor}")


def _uninstall(schema_editor: BaseDatabaseSchemaEditor, tables: Sequence[str], name: str) -> None:
    run = schema_editor.execute
    for table in tables:
        if schema_editor.connection.vendor == "postgresql":
            run(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        else:
            for event in ("insert", "update", "delete"):
                run(f"DROP TRIGGER IF EXISTS {name}_{table}_{event}")


def watching(tables: Sequence[str]) -> migrations.RunPython:
    """The migration operation that adds ``tables`` to the global stamp's (and removes them)."""

    def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        watch(schema_editor, tables)

    def uninstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        unwatch(schema_editor, tables)

    return migrations.RunPython(install, uninstall)
