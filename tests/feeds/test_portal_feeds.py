"""The portal's own feeds, read by four independent parsers: all give the engine's shifts, to
the minute, across a year's clock changes, for a Los Angeles rotation and a Sydney one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client

from feeds.actions import feed_token_of
from feeds.serve import feed_window
from rotation import schedule
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
            f"{titles.get(shift.role, 'Shadow')} on call: {names[shift.member]} ({rotation.name})",
        )
        for shift in schedule.effective_stretches(spec, overrides, start, end)
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
