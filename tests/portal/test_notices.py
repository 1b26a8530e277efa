"""Email notices: written with the change they tell of, sent once, by one queued task."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from portal.models import Notice
from portal.notices import send_pending, tell

pytestmark = pytest.mark.django_db


def test_a_change_that_tells_many_people_queues_the_sender_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for number in range(50):
            tell(f"test:{number}", f"person{number}@example.com", "Weeks moved", "Details")
    assert len(callbacks) == 1
    assert Notice.objects.count() == 50


def test_the_same_notice_is_written_once_and_sent_once(mailoutbox: list[Any]) -> None:
    assert tell("test:alice", "alice@example.com", "Weeks moved", "Details")
    assert not tell("test:alice", "alice@example.com", "Weeks moved", "Details")
    send_pending()
    send_pending()
    assert [mail.to for mail in mailoutbox] == [["alice@example.com"]]
