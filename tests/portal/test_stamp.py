"""Remembered answers are never stale: any write, by any path, changes the change stamp."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client

from portal.models import ChangeStamp
from portal.stamp import change_stamp
from rotation.models import Engineer, Override, Rotation, Shift
from tests.conftest import login

pytestmark = pytest.mark.django_db

WRITES: dict[str, Callable[[dict[str, Engineer]], object]] = {
    "engineer renamed with a bulk update": lambda cast: Engineer.objects.filter(
        pk=cast["alice"].pk
    ).update(name="Alicia"),
    "shift deleted": lambda cast: Shift.objects.filter(engineer=cast["dave"]).delete(),
    "user deactivated": lambda cast: User.objects.filter(username="mallory").update(
        is_active=False
    ),
    "user added to a group": lambda cast: User.objects.get(username="mallory").groups.add(
        Group.objects.get_or_create(name="x")[0]
    ),
    "raw SQL": lambda cast: connection.cursor().execute(
        "UPDATE rotation_rotation SET name = 'Renamed'"
    ),
}


@pytest.mark.parametrize("write", WRITES, ids=list(WRITES))
def test_any_write_changes_the_stamp(
    platform: Rotation, cast: dict[str, Engineer], write: str
) -> None:
    before = change_stamp()
    assert before is not None
    WRITES[write](cast)
    assert change_stamp() != before


def test_reads_do_not_change_the_stamp(platform: Rotation) -> None:
    before = change_stamp()
    list(Shift.objects.all())
    assert change_stamp() == before


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


def test_without_the_stamp_row_nothing_is_remembered(client: Client, platform: Rotation) -> None:
    ChangeStamp.objects.all().delete()
    assert change_stamp() is None
    login(client, "alice")
    assert client.get("/api/v1/oncall").json()[0]["primary"]["name"] == "Alice"
