"""Reminders: a week and a day before a stint, an hour before a shift, the day before a due
post-mortem or action item; each written once, never for a stint already too close.

The platform rotation hands off Tuesdays 10:00 Los Angeles (18:00 UTC): week 2 (8 Dec) is
erin/bob, week 3 (15 Dec) bob/dave, so Dave's stint starts 15 Dec 18:00 UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from django.core import mail
from django.test import Client

from incidents.models import ActionItem, Incident, Postmortem
from portal.models import AuditEntry, Notice, ReminderChoices
from portal.notices import send_pending
from portal.reminders import send_reminders
from rotation.models import Engineer, Rotation
from rotation.swaps import accept_swap, propose_swap
from tests.conftest import login
from tests.rotation.test_swaps import ALICE_STINT, BOB_STINT, handoff
from tests.rotation.test_swaps_race import at_once

DAVE_STINT = datetime(2026, 12, 15, 18, 0, tzinfo=UTC)


def keys(prefix: str) -> list[str]:
    return sorted(Notice.objects.filter(key__startswith=prefix).values_list("key", flat=True))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.mark.django_db
def test_a_week_before_a_stint_its_person_is_reminded_once(platform: Rotation) -> None:
    send_reminders(at(8, 17, 55))
    assert keys("remind-week_before:dave@") == []
    send_reminders(at(8, 18, 0))
    send_reminders(at(8, 18, 5))
    [notice] = Notice.objects.filter(key__startswith="remind-week_before:dave@")
    assert notice.to == "dave@example.com"
    assert "starts in a week" in notice.subject
    # In the rotation's zone: Dave has none of his own.
    assert "Tue 15 Dec 10:00 (America/Los_Angeles)" in notice.body


@pytest.mark.django_db
def test_the_reminder_is_told_in_the_persons_own_zone(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    Engineer.objects.filter(pk=cast["dave"].pk).update(time_zone="Europe/Berlin")
    send_reminders(at(14, 18, 0))
    [notice] = Notice.objects.filter(key__startswith="remind-day_before:dave@")
    assert "starts tomorrow" in notice.subject
    assert "Tue 15 Dec 19:00 (Europe/Berlin)" in notice.body


@pytest.mark.django_db
def test_a_worker_down_for_an_hour_still_sends_the_reminder_it_missed(platform: Rotation) -> None:
    send_reminders(at(8, 17, 50))
    send_reminders(at(8, 19, 10))  # the runs between were lost
    assert len(keys("remind-week_before:dave@")) == 1


@pytest.mark.django_db
def test_a_stint_two_days_away_gets_no_week_before_reminder(platform: Rotation) -> None:
    # As if the stint had just arrived by a swap: its week-before moment passed days ago.
    send_reminders(at(13, 18, 0))
    assert keys("remind-week_before:dave@") == []
    assert keys("remind-day_before:dave@") == []
    send_reminders(at(14, 18, 1))
    assert len(keys("remind-day_before:dave@")) == 1


@pytest.mark.django_db
def test_an_hour_before_a_shift_each_holder_is_reminded(platform: Rotation) -> None:
    send_reminders(at(8, 17, 5))
    hour = Notice.objects.filter(key__startswith="remind-hour:")
    assert {(n.to, n.subject) for n in hour} == {
        ("erin@example.com", "You are primary in Platform in an hour"),
        ("bob@example.com", "You are secondary in Platform in an hour"),
    }


@pytest.mark.django_db
def test_a_shift_already_started_gets_no_hour_before_reminder(platform: Rotation) -> None:
    send_reminders(at(8, 18, 10))
    assert keys("remind-hour:") == []


def owed(owner: Engineer, due_on: date) -> Postmortem:
    incident = Incident.objects.create(title="Queue stalled", severity="SEV2", started_at=at(1, 9))
    return Postmortem.objects.create(incident=incident, owner=owner, due_on=due_on)


@pytest.mark.django_db
def test_a_post_mortem_and_action_item_due_tomorrow_are_reminded_at_nine(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    postmortem = owed(cast["alice"], date(2026, 12, 10))
    ActionItem.objects.create(
        postmortem=postmortem, title="Alert on lag", owner=cast["bob"], due_on=date(2026, 12, 10)
    )
    ActionItem.objects.create(
        postmortem=postmortem,
        title="Done already",
        owner=cast["bob"],
        due_on=date(2026, 12, 10),
        done_at=at(2, 9),
    )
    send_reminders(at(9, 8, 55))
    assert keys("remind-pm:") == keys("remind-action:") == []
    send_reminders(at(9, 9, 5))
    told = {(n.to, n.subject) for n in Notice.objects.filter(key__regex=r"^remind-(pm|action):")}
    assert told == {
        ("alice@example.com", f"Due tomorrow: the post-mortem of {postmortem.incident}"),
        ("bob@example.com", "Due tomorrow: the action item 'Alert on lag'"),
    }


@pytest.mark.django_db
def test_a_reminder_switched_off_is_not_written(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    ReminderChoices.objects.create(engineer=cast["dave"], week_before=False)
    ReminderChoices.objects.create(engineer=cast["erin"], hour_before=False)
    send_reminders(at(8, 17, 5))
    send_reminders(at(8, 18, 5))
    assert keys("remind-week_before:dave@") == []
    hour = Notice.objects.filter(key__startswith="remind-hour:")
    assert [n.to for n in hour] == ["bob@example.com"]  # who did not switch it off


@pytest.mark.django_db
def test_running_again_after_a_restart_writes_nothing_new(platform: Rotation) -> None:
    first = send_reminders(at(8, 17, 5))
    assert first != "reminders: 0 written"
    assert send_reminders(at(8, 17, 5)) == "reminders: 0 written"
    assert send_reminders(at(8, 17, 10)) == "reminders: 0 written"


@pytest.mark.django_db(transaction=True)
def test_two_workers_writing_and_sending_at_once_send_each_reminder_once(
    platform: Rotation,
) -> None:
    now = at(8, 17, 5)
    work: list[Callable[[], object]] = [
        lambda: send_reminders(now),
        lambda: send_pending(now=now),
    ] * 2
    failures = at_once(work)
    failures += at_once([lambda: send_pending(now=now)] * 2)  # what was written after a send
    assert failures == []
    sent = sorted((m.to[0], m.subject) for m in mail.outbox)
    assert sent == [
        ("bob@example.com", "You are secondary in Platform in an hour"),
        ("erin@example.com", "You are primary in Platform in an hour"),
    ]
    assert not Notice.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.django_db
def test_the_switches_on_me_save_through_an_action(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "alice")
    page = client.get("/me/")
    assert b'name="hour_before"' in page.content and b"checked" in page.content
    response = client.post(
        "/me/reminders/", {"week_before": "on", "day_before": "on", "due_items": "on"}
    )
    assert response.status_code == 302
    choices = ReminderChoices.objects.get(engineer=cast["alice"])
    assert (choices.week_before, choices.hour_before, choices.schedule_changes) == (
        True,
        False,
        False,
    )
    entry = AuditEntry.objects.get(action="reminders.chosen")
    assert entry.details == {"hour_before": False, "schedule_changes": False}


@pytest.mark.django_db
def test_who_switched_off_schedule_changes_is_not_told_of_a_swap(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    ReminderChoices.objects.create(engineer=cast["alice"], schedule_changes=False)
    bob = cast["bob"]
    swap = propose_swap(
        platform,
        cast["alice"],
        handoff(platform, ALICE_STINT),
        bob,
        handoff(platform, BOB_STINT),
        by=cast["alice"].user,
    )
    accept_swap(swap, by=bob.user)
    told = set(Notice.objects.filter(key__startswith="swap-accepted").values_list("to", flat=True))
    assert told == {"bob@example.com"}
