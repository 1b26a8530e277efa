"""The portal's own feeds, read by four independent parsers: all give the engine's shifts, to
the minute, across a year's clock changes, for a Los Angeles rotation and a Sydney one."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.test import Client

from feeds.actions import feed_token_of
from feeds.serve import feed_window
from rotation import schedule, stretches
from rotation.actions import create_override, save_roster
from rotation.models import Engineer, Rotation, schedule_of
from tests.conftest import NOW
from tests.feeds.parsers import (
    ParsedEvent,
    read_icalendar,
    read_icaljs,
    read_recurring,
    read_vobject,
)

pytestmark = pytest.mark.django_db

ZONES = {
    # slug: (zone, handoff weekday, first handoff)
    "los-angeles": ("America/Los_Angeles", 1, date(2026, 11, 3)),
    "sydney": ("Australia/Sydney", 0, date(2026, 11, 2)),
}


@pytest.fixture
def rotations(cast: dict[str, Engineer]) -> dict[str, Rotation]:
    made = {}
    for slug, (zone, weekday, starts_on) in ZONES.items():
        rotation = Rotation.objects.create(
            slug=slug,
            name=slug.title(),
            time_zone=zone,
            handoff_weekday=weekday,
            starts_on=starts_on,
        )
        save_roster(rotation, [cast[n] for n in ["alice", "dave", "erin"]], by=None)
        made[slug] = rotation
    # An override across Sydney's April change and one across Los Angeles' March change.
    create_override(
        made["sydney"],
        role="primary",
        engineer=cast["bob"],
        starts_at=datetime(2027, 4, 3, 12, tzinfo=UTC),
        ends_at=datetime(2027, 4, 5, 12, tzinfo=UTC),
        by=None,
    )
    create_override(
        made["los-angeles"],
        role="secondary",
        engineer=cast["bob"],
        starts_at=datetime(2027, 3, 13, 18, tzinfo=UTC),
        ends_at=datetime(2027, 3, 15, 18, tzinfo=UTC),
        by=None,
    )
    return made


def expected(rotation: Rotation) -> list[tuple[datetime, datetime, str]]:
    """The engine's effective schedule over the feed's window, as (start, end, summary)."""
    spec = schedule_of(rotation)
    assert spec is not None
    start, end = feed_window(NOW)
    overrides = [o.as_schedule() for o in rotation.overrides.select_related("engineer")]
    names = dict(Engineer.objects.values_list("email", "name"))
    titles = {schedule.Duty.PRIMARY: "Primary", schedule.Duty.SECONDARY: "Secondary"}
    return sorted(
        (
            shift.start,
            shift.end,
            f"{titles.get(shift.role, 'Shadow')} on call: {names[shift.member]} ({rotation.name})"
            + (f", covering {names[shift.covering]}" if shift.covering else ""),
        )
        for shift in stretches.effective_stretches(spec, overrides, start, end)
    )


def plain(events: list[ParsedEvent]) -> list[tuple[datetime, datetime, str]]:
    return sorted((e.start, e.end, e.summary) for e in events)


def test_four_parsers_read_the_engines_shifts_across_the_clock_changes(
    client: Client, rotations: dict[str, Rotation], cast: dict[str, Engineer]
) -> None:
    user = cast["erin"].user
    assert user is not None
    token = feed_token_of(user).token
    texts = {
        slug: client.get(f"/calendars/{token}/{slug}.all.ics").content.decode() for slug in ZONES
    }
    by_icaljs = dict(zip(texts, read_icaljs(list(texts.values())), strict=True))
    start, end = feed_window(NOW)
    for slug, text in texts.items():
        want = expected(rotations[slug])
        readings = {
            "icalendar": plain(read_icalendar(text)),
            "vobject": plain(read_vobject(text)),
            "recurring-ical-events": plain(read_recurring(text, start, end)),
            "ical.js": plain(by_icaljs[slug]),
        }
        for parser, got in readings.items():
            assert got == want, f"{parser} misreads the {slug} feed"
        hours = {(e - s) / timedelta(hours=1) for s, e, summary in want if "Shadow" not in summary}
        # Both clock changes of the year are inside a shift: 167 and 169 hours happen.
        assert {167.0, 168.0, 169.0} <= hours, slug


def test_instants_in_a_repeated_or_skipped_hour_read_back_exactly(
    client: Client, cast: dict[str, Engineer]
) -> None:
    # Los Angeles falls back on Sun 7 Nov 2027 (01:00-02:00 happens twice) and springs forward
    # on Sun 14 Mar 2027 (02:00-03:00 never happens). A wall time with a TZID cannot say which
    # 01:30 it means, and parsers disagree on the guess: the feed must still give the engine's
    # instants to the second.
    night = Rotation.objects.create(
        slug="night",
        name="Night",
        time_zone="America/Los_Angeles",
        handoff_weekday=6,
        handoff_time=time(1, 30),
        starts_on=date(2026, 11, 29),
    )
    gap = Rotation.objects.create(
        slug="gap",
        name="Gap",
        time_zone="America/Los_Angeles",
        handoff_weekday=6,
        handoff_time=time(2, 30),
        starts_on=date(2026, 11, 29),
    )
    for rotation in (night, gap):
        save_roster(rotation, [cast[n] for n in ["alice", "dave", "erin"]], by=None)
    # Bob's override ends at the second 01:30 (PST), an hour after the first one (PDT).
    create_override(
        night,
        role="primary",
        engineer=cast["bob"],
        starts_at=datetime(2027, 11, 6, 20, tzinfo=UTC),
        ends_at=datetime(2027, 11, 7, 9, 30, tzinfo=UTC),
        by=None,
    )
    user = cast["erin"].user
    assert user is not None
    token = feed_token_of(user).token
    texts = {
        slug: client.get(f"/calendars/{token}/{slug}.all.ics").content.decode()
        for slug in ("night", "gap")
    }
    by_icaljs = dict(zip(texts, read_icaljs(list(texts.values())), strict=True))
    start, end = feed_window(NOW)
    for slug, rotation in (("night", night), ("gap", gap)):
        want = expected(rotation)
        readings = {
            "icalendar": plain(read_icalendar(texts[slug])),
            "vobject": plain(read_vobject(texts[slug])),
            "recurring-ical-events": plain(read_recurring(texts[slug], start, end)),
            "ical.js": plain(by_icaljs[slug]),
        }
        for parser, got in readings.items():
            assert got == want, f"{parser} misreads the {slug} feed"
    night_instants = {instant for s, e, _ in expected(night) for instant in (s, e)}
    # The engine takes the first 01:30 (PDT) for the handoff, as fold=0 does.
    assert datetime(2027, 11, 7, 8, 30, tzinfo=UTC) in night_instants
    assert datetime(2027, 11, 7, 9, 30, tzinfo=UTC) in night_instants
    # Only the events that touch the repeated hour leave the rotation's zone for UTC.
    assert "DTEND:20271107T093000Z" in texts["night"]
    assert "DTSTART;TZID=America/Los_Angeles:20271114T013000" in texts["night"]
    # 02:30 does not exist on 14 March: the handoff is 02:30 PST, which the wall reads as 03:30.
    assert datetime(2027, 3, 14, 10, 30, tzinfo=UTC) in {s for s, _, _ in expected(gap)}
