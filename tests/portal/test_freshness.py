"""Every remembered answer keys on the topics of every table it reads, and the database's
triggers watch exactly the tables portal/triggers.py says each topic watches."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from feeds.actions import publish_calendars
from incidents.actions import add_action_item, open_incident
from incidents.models import Incident
from pagerduty.models import SyncRun
from portal.actions import rotate_api_token
from portal.stamp import recording
from portal.triggers import DERIVED, UNWATCHED, WATCHED, Topic
from rotation.models import Engineer, Rotation
from runbooks.actions import save_page
from runbooks.models import Runbook
from tests.conftest import login
from tests.feeds.test_feeds import fetch, token_of

pytestmark = pytest.mark.django_db

# FROM or JOIN, then a table name, quoted (PostgreSQL, Django) or not (hand-written SQL); not
# a set-returning function such as the UNNEST(...) of PostgreSQL's bulk inserts.
_READ = re.compile(r"\b(?:FROM|JOIN)\s+\"?([a-z_][a-z0-9_]*)\b\"?(?!\s*\()", re.IGNORECASE)
STAMPS = "portal_topicstamp"


def tables_read(sql: list[str]) -> set[str]:
    return {table.lower() for query in sql for table in _READ.findall(query)} - {STAMPS}


def covered_by(topics: tuple[Topic, ...]) -> set[str]:
    return {table for t in topics for table in (*WATCHED[t], *DERIVED.get(t, ()))}


@pytest.fixture
def busy(platform: Rotation, cast: dict[str, Engineer], frozen_now: datetime) -> Rotation:
    """The cast's platform with something in every panel: an open incident and a resolved one
    owing a post-mortem with an overdue action, PagerDuty runs naming someone unmatched, and a
    runbook due for review while Alice (primary now) looks at the dashboard."""
    alice = cast["alice"].user
    assert alice is not None
    earlier = frozen_now - timedelta(days=3)
    runbook = save_page(
        None,
        {"title": "Restart the queue", "body": "# Steps", "review_interval_days": 1},
        base_revision=0,
        by=alice,
        now=earlier,
    )
    open_incident(
        {
            "title": "Checkout down",
            "severity": "SEV2",
            "started_at": frozen_now - timedelta(hours=1),
            "detected_at": frozen_now - timedelta(hours=1),
        },
        by=alice,
    )
    resolved = open_incident(
        {
            "title": "Queue stuck",
            "severity": "SEV1",
            "status": "resolved",
            "started_at": earlier,
            "detected_at": earlier,
            "runbooks": [runbook],
        },
        by=alice,
    )
    postmortem = Incident.objects.get(pk=resolved.pk).postmortem
    add_action_item(
        postmortem,
        {"title": "Alert on depth", "owner": cast["bob"], "due_on": earlier.date()},
        by=alice,
    )
    platform.pagerduty_escalation_policy_id = "P123"
    platform.save()
    SyncRun.objects.create(
        kind=SyncRun.Kind.POLICY,
        rotation=platform,
        started_at=earlier,
        outcome=SyncRun.Outcome.IN_SYNC,
        found={"unmapped": ["bob@example.com"]},
    )
    return platform


READERS = {
    "user",
    "engineer_of",
    "my_shift_line",
    "rotation_cards",
    "on_call",
    "sync_status",
    "incident_panel",
    "heads_up_panel",
    "handoff_panel",
    "week_panel",
    "stale_runbooks",
    "api_token",
    "calendar_feed",
    "incident_list",
    "runbook_page",
    "schedule_api",
}


def test_every_remembered_answer_keys_on_the_topics_of_the_tables_it_reads(
    client: Client, busy: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "alice")
    alice = cast["alice"].user
    assert alice is not None
    token = rotate_api_token(alice, by=alice)
    feed_token = token_of(cast["erin"])
    with recording() as computed:
        assert client.get("/").status_code == 200
        assert client.get("/api/v1/oncall", headers={"Authorization": f"Bearer {token}"}).json()
        assert client.get("/api/v1/schedule", {"rotation": "platform"}).json()
        assert fetch(client, feed_token, "platform.all")[0] == 200
        assert fetch(client, feed_token, "my-shifts")[0] == 200
        assert client.get("/incidents/").status_code == 200
        assert client.get(Runbook.objects.get().get_absolute_url()).status_code == 200
    assert {str(c.key[0]) for c in computed if isinstance(c.key, tuple)} >= READERS
    unkeyed = {
        (str(c.key), table, c.topics)
        for c in computed
        for table in tables_read(c.sql) - covered_by(c.topics)
    }
    assert not unkeyed, "read, but not watched by the topics the answer keys on"
    # The recording saw real reads: the panels were not empty answers.
    panel = next(c for c in computed if c.key[0] == "sync_status")  # type: ignore[index]
    assert {"rotation_syncrun", "rotation_engineer"} <= tables_read(panel.sql)
    runbooks = next(c for c in computed if c.key[0] == "stale_runbooks")  # type: ignore[index]
    assert "runbooks_runbook" in tables_read(runbooks.sql)
    page = next(c for c in computed if c.key[0] == "runbook_page")  # type: ignore[index]
    assert {"incidents_incident_runbooks", "rotation_engineer"} <= tables_read(page.sql)


def test_publication_reads_only_what_the_schedule_stamp_covers(busy: Rotation) -> None:
    # The publication is keyed on the schedule stamp it stores, and so is each feed's ETag.
    with CaptureQueriesContext(connection) as captured:
        publish_calendars()
    sql = [query["sql"] for query in captured.captured_queries]
    assert {"rotation_override", "rotation_engineer"} <= tables_read(sql)
    assert tables_read(sql) <= covered_by(("schedule",))


def _installed_triggers() -> dict[str, set[str]]:
    """Each watched table's topics, as the triggers in the database say (the append-only
    triggers, portal/appendonly.py, are not change stamps and are tested on their own)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal "
                "AND t.tgname NOT LIKE 'portal_append_only%%'"
            )
            pattern = r"portal_topic_stamp\('(\w+)'\)"
        else:
            cursor.execute(
                "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND name NOT LIKE 'portal_append_only%%'"
            )
            pattern = r"WHERE topic = '(\w+)'"
        found: dict[str, set[str]] = {}
        for table, definition in cursor.fetchall():
            topic = re.search(pattern, definition)
            found.setdefault(table, set()).add(topic[1] if topic else "(not a topic trigger)")
    return found


def test_the_database_watches_what_the_topics_say() -> None:
    expected = {table: {topic} for topic, tables in WATCHED.items() for table in tables}
    assert _installed_triggers() == expected


def test_every_table_is_watched_derived_or_left_out_on_purpose() -> None:
    decided = {
        STAMPS,
        *UNWATCHED,
        *(t for tables in WATCHED.values() for t in tables),
        *(t for tables in DERIVED.values() for t in tables),
    }
    tables = {
        t
        for t in connection.introspection.table_names()
        if not t.startswith(("runbooks_search_", "sqlite_"))
    }
    assert tables - decided == set()
