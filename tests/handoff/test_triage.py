"""Daily triage: the business days of the primary's week in the rotation's zone (weekends and
holidays skipped, the clocks changing mid-week), ticked once each with a note, and the primary
reminded once when a day is not triaged by its due hour.

The cast (tests/conftest.py): week 1 runs from Tuesday 1 December 10:00 in Los Angeles with
alice primary; time stands at Wednesday 2 December 09:00 there, before the 11:00 due hour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from handoff.jobs import remind_untriaged
from handoff.models import Holiday, TriageDay, WeekSetup
from handoff.triage import TriageError, tick_triage, triage_log
from portal.models import AuditEntry, Notice
from portal.notices import send_pending
from rotation.actions import save_roster
from rotation.models import Engineer, Rotation
from tests.conftest import NOW, login
from tests.rotation.test_swaps_race import at_once


def user_of(engineer: Engineer) -> User:
    assert engineer.user is not None
    return engineer.user


WEEK_1 = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # Tuesday 1 December 10:00 in Los Angeles
WEDNESDAY = date(2026, 12, 2)
PAST_DUE = datetime(2026, 12, 2, 19, 30, tzinfo=UTC)  # Wednesday 11:30 in Los Angeles


@pytest.fixture
def autumn(cast: dict[str, Engineer]) -> Rotation:
    """A rotation whose week of 27 October holds the end of daylight time (1 November)."""
    rotation = Rotation.objects.create(slug="autumn", name="Autumn", starts_on=date(2026, 10, 20))
    with time_machine.travel(datetime(2026, 10, 1, tzinfo=UTC), tick=False):
        save_roster(rotation, [cast["dave"], cast["erin"], cast["alice"]], by=None)
    return rotation


def test_the_week_across_the_clock_change_triages_business_days_but_a_holiday(
    autumn: Rotation,
) -> None:
    Holiday.objects.create(rotation=autumn, day=date(2026, 10, 29), name="Founders' day")
    start = datetime(2026, 10, 27, 17, 0, tzinfo=UTC)  # Tuesday 10:00 PDT
    end = datetime(2026, 11, 3, 18, 0, tzinfo=UTC)  # Tuesday 10:00 PST
    entries = triage_log(autumn, start, end, now=NOW)
    # The next Tuesday's 11:00 falls after the handoff: the next primary's first day.
    assert [e.day for e in entries] == [
        date(2026, 10, 27),
        date(2026, 10, 28),
        date(2026, 10, 30),
        date(2026, 11, 2),
    ]
    # 11:00 on the wall clock each day, whatever the offset.
    assert entries[1].due_at == datetime(2026, 10, 28, 18, 0, tzinfo=UTC)
    assert entries[3].due_at == datetime(2026, 11, 2, 19, 0, tzinfo=UTC)
    assert all(e.is_overdue and e.ticked is None for e in entries)


def test_a_day_triaged_twice_keeps_the_first_tick(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    alice, erin = user_of(cast["alice"]), user_of(cast["erin"])
    first, created = tick_triage(platform, WEDNESDAY, " Quiet. ", by=alice, now=NOW)
    assert created and first.note == "Quiet." and first.done_by == alice
    later = NOW + timedelta(hours=1)
    again, created = tick_triage(platform, WEDNESDAY, "Noisy.", by=erin, now=later)
    assert not created and again.pk == first.pk
    assert (again.done_by, again.done_at, again.note) == (alice, NOW, "Quiet.")
    assert AuditEntry.objects.filter(action="triage.ticked").count() == 1


def test_a_weekend_a_holiday_or_a_week_not_begun_is_not_ticked(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    Holiday.objects.create(rotation=platform, day=date(2026, 12, 3), name="Team day")
    alice = user_of(cast["alice"])
    for day, reason in [
        (date(2026, 12, 5), "not a triage day"),
        (date(2026, 12, 3), "not a triage day"),
        (date(2026, 12, 9), "has not begun"),
    ]:
        with pytest.raises(TriageError, match=reason):
            tick_triage(platform, day, "", by=alice, now=NOW)
    assert not TriageDay.objects.exists()


def test_a_past_weeks_day_may_still_be_ticked(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    ticked, created = tick_triage(
        platform, date(2026, 11, 27), "Late.", by=user_of(cast["dave"]), now=NOW
    )
    assert created and ticked.day == date(2026, 11, 27)


def test_the_log_says_which_days_were_done_by_whom_and_which_are_overdue(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    tick_triage(platform, date(2026, 12, 1), "Two alerts.", by=user_of(cast["alice"]), now=NOW)
    entries = triage_log(platform, WEEK_1, WEEK_1 + timedelta(days=7), now=PAST_DUE)
    assert [e.day.day for e in entries] == [1, 2, 3, 4, 7]
    assert entries[0].done_by == "Alice" and not entries[0].is_overdue
    assert entries[1].is_overdue and not entries[2].is_overdue


@pytest.mark.django_db(transaction=True)
def test_two_people_ticking_a_day_at_once_make_one_tick(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    results: list[bool] = []
    failures = at_once(
        [
            lambda name=name: results.append(  # type: ignore[misc]
                tick_triage(platform, WEDNESDAY, name, by=user_of(cast[name]), now=NOW)[1]
            )
            for name in ("alice", "erin", "carol")
        ]
    )
    assert failures == []
    assert sorted(results) == [False, False, True]
    assert TriageDay.objects.count() == 1


def test_no_reminder_before_the_due_hour(platform: Rotation) -> None:
    remind_untriaged(NOW)
    assert not Notice.objects.exists()


def test_the_primary_is_reminded_once_when_the_day_is_not_triaged_by_the_due_hour(
    platform: Rotation,
) -> None:
    remind_untriaged(PAST_DUE)
    remind_untriaged(PAST_DUE + timedelta(minutes=15))
    notice = Notice.objects.get()
    assert notice.key == f"triage:{platform.pk}:2026-12-02" and notice.to == "alice@example.com"
    assert "due at 11:00" in notice.body and "/rotations/platform/triage/" in notice.body
    send_pending(now=PAST_DUE)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_the_due_hour_is_the_rotations_own(platform: Rotation) -> None:
    WeekSetup.objects.create(rotation=platform, triage_due_at=time(12, 0))
    remind_untriaged(PAST_DUE)
    assert not Notice.objects.exists()
    remind_untriaged(PAST_DUE + timedelta(hours=1))
    assert Notice.objects.count() == 1


def test_no_reminder_once_ticked_nor_on_a_weekend_or_a_holiday(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    tick_triage(platform, WEDNESDAY, "", by=user_of(cast["erin"]), now=NOW)
    remind_untriaged(PAST_DUE)
    remind_untriaged(datetime(2026, 12, 5, 20, 0, tzinfo=UTC))  # Saturday noon
    Holiday.objects.create(rotation=platform, day=date(2026, 12, 3), name="Team day")
    remind_untriaged(PAST_DUE + timedelta(days=1))
    assert not Notice.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_reminding_at_once_send_one_email(platform: Rotation) -> None:
    failures = at_once([lambda: remind_untriaged(PAST_DUE) for _ in range(2)])
    remind_untriaged(PAST_DUE + timedelta(minutes=15))
    assert failures == []
    assert Notice.objects.count() == 1


def test_the_triage_page_ticks_a_day_and_says_who_did_it_first(
    client: Client, platform: Rotation, django_assert_max_num_queries: object
) -> None:
    login(client, "erin")
    page = client.get("/rotations/platform/triage/").content.decode()
    assert 'id="note-2026-12-02"' in page and 'id="note-2026-12-03"' not in page
    response = client.post(
        "/rotations/platform/triage/", {"day": "2026-12-02", "note": "Quiet."}, follow=True
    )
    assert "Wed 2 Dec is triaged." in response.content.decode()
    login(client, "alice")
    again = client.post(
        "/rotations/platform/triage/", {"day": "2026-12-02", "note": "Busy."}, follow=True
    ).content.decode()
    assert "already triaged by Erin" in again and "Quiet." in again and "Busy." not in again
    with django_assert_max_num_queries(25):  # type: ignore[operator]
        client.get("/rotations/platform/triage/")


def test_a_note_too_long_is_refused_and_kept(client: Client, platform: Rotation) -> None:
    login(client, "erin")
    note = "n" * 501
    page = client.post(
        "/rotations/platform/triage/", {"day": "2026-12-02", "note": note}
    ).content.decode()
    assert "has-error" in page and note in page
    assert not TriageDay.objects.exists()
