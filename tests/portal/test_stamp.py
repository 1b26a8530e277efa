"""Remembered answers are never stale: any write, by any path, changes its topic's stamp, and
only that topic's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.utils import timezone

from incidents.actions import add_note, open_incident
from incidents.models import Incident
from pagerduty.models import SyncRun
from portal.models import TopicStamp
from portal.stamp import stamps
from portal.triggers import WATCHED, Topic
from rotation.models import Engineer, Override, Rotation, Shift
from tests.conftest import login

pytestmark = pytest.mark.django_db

TOPICS: tuple[Topic, ...] = tuple(WATCHED)

WRITES: dict[str, tuple[Topic, Callable[[dict[str, Engineer]], object]]] = {
    "engineer renamed with a bulk update": (
        "schedule",
        lambda cast: Engineer.objects.filter(pk=cast["alice"].pk).update(name="Alicia"),
    ),
    "shift deleted": (
        "schedule",
        lambda cast: Shift.objects.filter(engineer=cast["dave"]).delete(),
    ),
    "raw SQL": (
        "schedule",
        lambda cast: connection.cursor().execute("UPDATE rotation_rotation SET name = 'Renamed'"),
    ),
    "user deactivated": (
        "people",
        lambda cast: User.objects.filter(username="mallory").update(is_active=False),
    ),
    "user added to a group": (
        "people",
        lambda cast: User.objects.get(username="mallory").groups.add(
            Group.objects.get_or_create(name="x")[0]
        ),
    ),
    "last login noted": (
        "people",
        lambda cast: User.objects.filter(username="mallory").update(last_login=timezone.now()),
    ),
    "incident note": (
        "incidents",
        lambda cast: add_note(Incident.objects.get(), "Still looking", by=_user(cast)),
    ),
    "sync run recorded": (
        "sync",
        lambda cast: SyncRun.objects.create(
            kind=SyncRun.Kind.POLICY, started_at=timezone.now(), outcome=SyncRun.Outcome.IN_SYNC
        ),
    ),
}


def _user(cast: dict[str, Engineer]) -> User:
    user = cast["alice"].user
    assert user is not None
    return user


@pytest.mark.parametrize("write", WRITES, ids=list(WRITES))
def test_a_write_changes_its_topics_stamp_and_no_other(
    platform: Rotation, cast: dict[str, Engineer], write: str
) -> None:
    now = timezone.now()
    open_incident(
        {"title": "Checkout down", "severity": "SEV2", "started_at": now, "detected_at": now},
        by=_user(cast),
    )
    topic, run = WRITES[write]
    before = stamps(*TOPICS)
    assert before is not None
    run(cast)
    after = stamps(*TOPICS)
    assert after is not None
    changed = {t for (t, old), (_, new) in zip(before, after, strict=True) if old != new}
    assert changed == {topic}


def test_reads_do_not_change_the_stamps(platform: Rotation) -> None:
    before = stamps(*TOPICS)
    list(Shift.objects.all())
    assert stamps(*TOPICS) == before


def test_stamps_come_in_the_order_asked_from_one_query(
    platform: Rotation, django_assert_num_queries: Callable[[int], object]
) -> None:
    with django_assert_num_queries(1):  # type: ignore[attr-defined]
        found = stamps("sync", "schedule")
    assert found is not None
    assert [topic for topic, _ in found] == ["sync", "schedule"]


def test_api_is_fresh_after_a_write_that_bypasses_the_actions(
    client: Client, platform: Rotation, cast: dict[str, Engineer], frozen_now: datetime
) -> None:
    login(client, "alice")
    assert client.get("/api/v1/oncall").json()[0]["primary"]["name"] == "Alice"
    Override.objects.create(
        rotation=platform,
        role="primary",
        engineer=cast["dave"],
        starts_at=frozen_now - timedelta(hours=1),
        ends_at=frozen_now + timedelta(hours=1),
    )
    assert client.get("/api/v1/oncall").json()[0]["primary"]["name"] == "Dave"
    Engineer.objects.filter(pk=cast["dave"].pk).update(name="David")
    assert client.get("/api/v1/oncall").json()[0]["primary"]["name"] == "David"


def test_without_a_topics_row_nothing_is_remembered(client: Client, platform: Rotation) -> None:
    TopicStamp.objects.filter(topic="schedule").delete()
    assert stamps("schedule", "people") is None
    assert stamps("people") is not None
    login(client, "alice")
    assert client.get("/api/v1/oncall").json()[0]["primary"]["name"] == "Alice"
    Engineer.objects.filter(name="Alice").update(name="Alicia")
    assert client.get("/api/v1/oncall").json()[0]["primary"]["name"] == "Alicia"
