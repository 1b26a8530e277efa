"""Publishing records the schedule stamp it read before the schedule, so a write that commits
while the calendars are being published is published by the next poll, never hidden by it."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from django.db import connection
from django.test import Client

from feeds import actions as feed_actions
from rotation.models import Engineer, Rotation
from tests.feeds.test_feeds import fetch, token_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_write_committed_while_publishing_is_published_by_the_next_poll(
    client: Client,
    platform: Rotation,
    cast: dict[str, Engineer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite cannot interleave: publishing writes first, so it holds the database's one "
            "write lock while it reads the schedule, and no other write can commit meanwhile"
        )
    token = token_of(cast["erin"])
    _, _, first = fetch(client, token, "platform.all")
    # A schedule change the publication has not seen: the next poll publishes again.
    Engineer.objects.filter(pk=cast["dave"].pk).update(name="Davey")

    read_schedule = feed_actions._final_schedule
    renamed = threading.Event()

    def rename_alice() -> None:
        try:
            Engineer.objects.filter(pk=cast["alice"].pk).update(name="Alicia")
        finally:
            connection.close()  # this thread's own connection

    def read_then_commit_a_write(rotation: Rotation, start: datetime, end: datetime) -> object:
        """The schedule as read, then another connection's write committing before publishing
        finishes: the interleaving that hid a change when the stamp was read last."""
        schedule = read_schedule(rotation, start, end)
        if not renamed.is_set():
            writer = threading.Thread(target=rename_alice)
            writer.start()
            writer.join()
            renamed.set()
        return schedule

    monkeypatch.setattr(feed_actions, "_final_schedule", read_then_commit_a_write)
    status, body, second = fetch(client, token, "platform.all", if_none_match=first["ETag"])
    monkeypatch.undo()
    assert renamed.is_set()
    assert status == 200
    assert b"Davey" in body
    assert b"Alicia" not in body  # published from the schedule as read, before the rename

    status, body, third = fetch(client, token, "platform.all", if_none_match=second["ETag"])
    assert status == 200  # not 304: the rename changed the schedule stamp
    assert b"Alicia" in body
    assert third["ETag"] != second["ETag"]
    status, _, _ = fetch(client, token, "platform.all", if_none_match=third["ETag"])
    assert status == 304
